"""Source types by name, imported only when used.

The core knows no connector: the composition root (CLI, daemon) hands the
engine a :class:`Registry` mapping each config ``type`` to a module path
(``syncd.connectors.REGISTRY``). A CSV-only setup never imports gspread or
notion-client, and a test registers an in-memory source without patching.

Each connector module has ``open(role, config, ctx) -> Source``. A module whose
sibling sources share something for a pass (the worksheets of one spreadsheet)
also defines ``opener(ctx) -> Opener``: called once per pass, it returns what
opens that pass's sources of its type.
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
    """``type`` -> module path; the module defines ``open`` (and, to share per pass, ``opener``)."""

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
            opener = self._openers[path] = _opener(importlib.import_module(path), self.ctx)
        return opener(role, config)


def _opener(module: Any, ctx: SourceContext) -> Opener:
    """The module's per-pass opener; without one, its sources share nothing and ``open`` serves."""
    if hasattr(module, "opener"):
        return module.opener(ctx)
    return lambda role, config: module.open(role, config, ctx)
