"""One module per service: transport, paging, pacing and retries.

The engine never imports these modules; it calls :func:`open_source`, which
picks the implementation from the config table's ``type``.
"""

from __future__ import annotations

import importlib
from typing import Any

from syncd.source import Role, Source, SourceContext

__all__ = ["open_source"]

_MODULES = {
    "csv": "syncd.connectors.local",
    "xlsx": "syncd.connectors.local",
    "sheets": "syncd.connectors.sheets",
    "notion": "syncd.connectors.notion",
    "trello": "syncd.connectors.trello",
    "asana": "syncd.connectors.asana",
}


def open_source(role: Role, config: Any, ctx: SourceContext) -> Source:
    """Build the source for one ``[[kpis]]`` or ``[[okrs]]`` table.

    Each connector module has ``open(role, config, ctx) -> Source``; it is
    imported only when a source of its type is configured, so a CSV-only
    setup never loads gspread or notion-client.
    """
    module = importlib.import_module(_MODULES[config.type])
    return module.open(role, config, ctx)
