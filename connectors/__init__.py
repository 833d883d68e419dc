"""One folder per service: transport, source (and the pure mapping in ``syncd.mappings``).

The engine never imports these modules: the composition root (CLI, daemon)
hands it :data:`REGISTRY`, which imports a connector only when a source of its
type is configured, so a CSV-only setup never loads gspread or notion-client.
"""

from __future__ import annotations

import importlib
from typing import Any

from syncd.registry import Registry
from syncd.source import Role, Source, SourceContext

__all__ = ["REGISTRY", "open_source", "push_setup", "push_teardown", "push_check"]

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


_PUSH = {"notion": "syncd.connectors.notion.push", "trello": "syncd.connectors.trello.push"}


def push_setup(role: Role, config: Any, ctx: SourceContext, callback: str) -> dict[str, Any]:
    """Make sure the service sends this source's events to ``callback`` (spec §9); return what was
    set up (JSON, no secret: ``own`` holds syncd's own ids on the service)."""
    return importlib.import_module(_PUSH[config.type]).setup(role, config, ctx, callback)


def push_teardown(name: str, record: dict[str, Any], ctx: SourceContext) -> None:
    """Undo :func:`push_setup` for a source no longer pushed (``record`` is what it returned)."""
    importlib.import_module(_PUSH[record["service"]]).teardown(name, record, ctx)


def push_check(role: Role, config: Any, ctx: SourceContext, callback: str) -> tuple[list[str], list[str]]:
    """``syncd check``: (problems, notes) about this source's push."""
    return importlib.import_module(_PUSH[config.type]).check(role, config, ctx, callback)
