"""One folder per service: transport, source (and the pure mapping in ``syncd.mappings``).

The engine never imports these modules: the composition root (CLI, daemon)
hands it :data:`REGISTRY`, which imports a connector only when a source of its
type is configured, so a CSV-only setup never loads gspread or notion-client.
"""

from __future__ import annotations

from typing import Any

from syncd.registry import Registry
from syncd.source import Role, Source, SourceContext

__all__ = ["REGISTRY", "open_source"]

REGISTRY = Registry(
    {
        "csv": "syncd.connectors.local",
        "xlsx": "syncd.connectors.local",
        "sheets": "syncd.connectors.sheets",
        "notion": "syncd.connectors.notion",
        "trello": "syncd.connectors.trello",
        "asana": "syncd.connectors.asana",
    }
)


def open_source(role: Role, config: Any, ctx: SourceContext) -> Source:
    """One source of the built-in types, outside an engine pass."""
    return REGISTRY.open(role, config, ctx)
