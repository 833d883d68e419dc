"""An in-memory source for tests: a KPI table held in a Python object, behind the real HTTP layer.

``MemoryService`` is the "service": rows of KPIs (name, value, thresholds, an
owned ``status`` and a ``note`` syncd must never touch), with switches that
make it refuse an item, answer 429 or 5xx, or vanish. ``MemoryTable`` is the
config table (``type = "memory"``) that names the service it talks to, so no
module state is needed: register the module with
``REGISTRY.with_types(memory="tests.memory_source")`` and hand the engine
``sources=[("kpis", MemoryTable(...))]``.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from syncd.http import ServiceErrors
from syncd.model import KPI, ItemError, Patch, ReadResult
from syncd.source import BaseSource, Role, SourceContext, SourceError

__all__ = ["MemoryService", "MemoryTable", "MemorySource", "open"]

OWNED = ("status",)


@dataclass
class MemoryService:
    #: item id -> {"name", "value", "green", "red", "direction", "status", "note"}
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The secret a source must present (in the variable ``token_env``).
    token: str = "mem-secret-0123456789"
    gone: bool = False
    refuse: set[str] = field(default_factory=set)
    #: Statuses (429, 503) the next calls answer, with a Retry-After each.
    faults: deque[tuple[int, float | None]] = field(default_factory=deque)
    #: (method, item) of every call that reached the service.
    log: list[tuple[str, str]] = field(default_factory=list)

    def answer(self, method: str, item: str = "") -> None:
        """One call: raises the fault it is told to, else records it."""
        if self.faults:
            status, after = self.faults.popleft()
            raise _Answer(status, after)
        if self.gone:
            raise _Answer(404, None)
        self.log.append((method, item))


class _Answer(Exception):
    def __init__(self, status: int, retry_after: float | None):
        self.status, self.retry_after = status, retry_after


@dataclass
class MemoryTable:
    """The config table of one memory source."""

    name: str
    service: MemoryService
    type: str = "memory"
    token_env: str = "MEMORY_TOKEN"


class _Errors(ServiceErrors):
    service = "memory"


class MemorySource(BaseSource):
    service = "memory"

    def __init__(self, role: Role, config: MemoryTable, ctx: SourceContext):
        self.name, self.role, self.config, self.ctx = config.name, role, config, ctx
        self.calls: Counter[str] = Counter()
        self.errors = _Errors()
        self.closed = 0

    def _call(self, method: str, item: str = "", what: str = "") -> None:
        token = self.ctx.env.get(self.config.token_env)
        if not token:
            raise SourceError(f"{self.name}: {self.config.token_env} is not set; set it to the memory service's token")
        if token != self.config.service.token:
            raise self.errors.refused(401, "bad token", what)

        def once() -> None:
            self.calls[method] += 1
            try:
                self.config.service.answer(method, item)
            except _Answer as a:
                if self.errors.kind(a.status) == "transient":
                    headers = {"retry-after": str(a.retry_after)} if a.retry_after is not None else {}
                    raise self.errors.transient(f"memory answered {a.status}", a.status, headers) from None
                raise self.errors.refused(a.status, "gone", what) from None

        pacer = self.ctx.runtime.pacer("memory", token, 1_000_000, 1)
        self.ctx.runtime.call(once, pacer=pacer, service="memory", what=what or self.name)

    def read(self) -> ReadResult:
        self._call("read", what=f"reading {self.name}")
        kpis = [
            KPI(
                id=item,
                name=row["name"],
                value=row["value"],
                direction=row.get("direction", "higher"),
                green=row["green"],
                red=row["red"],
                source=self.name,
                ref=item,
                written={"status": row.get("status")},
            )
            for item, row in self.config.service.rows.items()
        ]
        return ReadResult(kpis=kpis)

    def write(self, patches: Sequence[Patch]) -> list[ItemError]:
        failed: list[ItemError] = []
        for p in patches:
            if p.field not in OWNED:
                failed.append(ItemError(self.name, p.item, f"{p.field} is not a field syncd owns here"))
                continue
            if p.item in self.config.service.refuse:
                failed.append(ItemError(self.name, p.item, f"the memory service refused {p.field} of {p.item}"))
                continue
            self._call("write", p.item, what=f"writing {p.item}")
            self.config.service.rows[p.item][p.field] = p.new
        return failed

    def check(self) -> list[str]:
        try:
            self._call("read", what=f"reaching {self.name}")
        except SourceError as e:
            return [str(e)]
        return []

    def close(self) -> None:
        self.closed += 1


def open(role: Role, config: MemoryTable, ctx: SourceContext) -> MemorySource:  # noqa: A001 - the registry's name
    return MemorySource(role, config, ctx)
