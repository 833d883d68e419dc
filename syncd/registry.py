"""Source types by name, imported only when used.

The core knows no connector: the composition root (CLI, daemon) hands the
engine a :class:`Registry` mapping each config ``type`` to a module path
(``syncd.connectors.REGISTRY``). A CSV-only setup never imports gspread or
notion-client, and a test registers an in-memory source without patching.

Each connector module has ``opener(ctx) -> Opener``: called once per pass, it
returns what opens that pass's sources of its type, so sibling sources (the
worksheets of one spreadsheet) can share one per-pass object.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from .source import Role, Source, SourceContext

__all__ = ["Registry", "Opener", "PassOpeners"]

#: Opens one source of a pass: ``opener(role, config_table) -> Source``.
Opener = Callable[[Role, Any], Source]


class Registry:
    """``type`` -> module path; the module defines ``opener(ctx) -> Opener``."""

    def __init__(self, modules: Mapping[str, str]):
        self.modules = dict(modules)

    def with_types(self, **modules: str) -> Registry:
        """A copy with more (or replaced) types: ``REGISTRY.with_types(memory="tests.memory")``."""
        return Registry({**self.modules, **modules})

    def for_pass(self, ctx: SourceContext) -> PassOpeners:
        return PassOpeners(self, ctx)

    def open(self, role: Role, config: Any, ctx: SourceContext) -> Source:
        """One source outside a pass (``syncd check``, tests)."""
        return self.for_pass(ctx).open(role, config)


class PassOpeners:
    """The openers of one pass, one per connector module, made when first needed."""

    def __init__(self, registry: Registry, ctx: SourceContext):
        self.registry, self.ctx = registry, ctx
        self._openers: dict[str, Opener] = {}

    def open(self, role: Role, config: Any) -> Source:
        path = self.registry.modules[config.type]
        opener = self._openers.get(path)
        if opener is None:
            opener = self._openers[path] = importlib.import_module(path).opener(self.ctx)
        return opener(role, config)
