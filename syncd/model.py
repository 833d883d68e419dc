"""The one model every source is normalised into, and what evaluation gives back.

Sources (CSV, XLSX, Sheets, Notion, Trello) never reach the engine directly:
their mappings turn native records into these objects, and turn the engine's
:class:`Patch` objects back into native writes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import msgspec

Direction = Literal["higher", "lower", "range"]
Cadence = Literal["daily", "weekly", "monthly", "quarterly"]
KpiStatus = Literal["green", "amber", "red", "no_data", "invalid"]
KrKind = Literal["metric", "milestone", "checklist"]
OkrType = Literal["aspirational", "committed"]
OkrStatus = Literal["not_started", "on_track", "at_risk", "off_track", "done", "no_data", "invalid"]
Colour = Literal["green", "amber", "red"]
Trend = Literal["improving", "worsening", "flat"]


# Items are msgspec structs, not validated models: a mapping builds one per row,
# page or card from values it has already parsed, and validating them again cost
# more than the rest of the read (and 5 KiB per item). A struct is built in C:
# on Python 3.11 a class called with keywords goes through a dict of them, and a
# dataclass of 17 fields cost 1.4 us to build where a struct costs 0.3 us.


class _Item(msgspec.Struct, kw_only=True):
    """Common to every item read from a source."""

    source: str = ""
    #: Where a person finds the item: ``kpis.csv row 7``, ``KPIs!A7``, a page URL.
    where: str = ""
    #: Opaque handle the source's mapping uses to write back (row number, page id...).
    ref: Any = None
    #: What the source holds now for each field syncd owns, already normalised
    #: to the same form as the engine's desired values (see :mod:`syncd.diff`).
    #: A field absent here is not writable in this source (no column, no property).
    written: dict[str, Any] = {}  # (a struct copies an empty default for each instance)
    #: Problems met while parsing, as sentences naming the field: they make the
    #: item ``no_data`` or ``invalid`` instead of failing the run.
    problems: list[str] = []

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Any:
        """A copy with some fields changed (the name pydantic models use)."""
        return msgspec.structs.replace(self, **(update or {}))


class KPI(_Item, kw_only=True):
    id: str
    name: str
    value: float | None = None
    #: Why there is no value (the cell said ``#REF!``, the cell is empty...).
    value_reason: str | None = None
    unit: str | None = None
    direction: Direction | None = None
    #: ``higher``/``lower``: a number each. ``range``: ``(low, high)`` each, the
    #: green band and the amber band around it.
    green: float | tuple[float, float] | None = None
    red: float | tuple[float, float] | None = None
    #: Why the thresholds could not be read (kept for the ``invalid`` reason).
    threshold_reason: str | None = None
    owner: str | None = None
    cadence: Cadence | None = None
    updated: date | datetime | None = None


class KeyResult(_Item, kw_only=True):
    id: str
    title: str
    objective: str = ""
    kind: KrKind = "metric"
    start: float | None = None
    target: float | None = None
    current: float | None = None
    current_reason: str | None = None
    #: Milestones: done or not (``None`` when unreadable).
    done: bool | None = None
    #: Checklists: (items done, items in all).
    checklist: tuple[int, int] | None = None
    unit: str | None = None
    kpi: str | None = None
    weight: float = 1.0
    owner: str | None = None
    #: Only where a source gives a key result its own cycle; else the objective's.
    cycle: str | None = None


class Objective(_Item, kw_only=True):
    id: str
    title: str
    owner: str | None = None
    cycle: str | None = None
    type: OkrType | None = None
    parent: str | None = None
    key_results: list[KeyResult] = []


# --- What evaluation gives back ------------------------------------------------
# Structs too, for the same reason: evaluation builds one per item on every pass.
# They hold text, numbers, lists of each other and (a patch) the item's write
# handle, never a cycle, so the cyclic collector need not track them (gc=False).


class KpiResult(msgspec.Struct, gc=False):
    id: str
    name: str
    value: float | None
    unit: str | None
    status: KpiStatus
    stale: bool = False
    reason: str | None = None
    trend: Trend | None = None
    change: float | None = None
    source: str = ""


class KeyResultResult(msgspec.Struct, gc=False):
    id: str
    title: str
    current: float | None
    progress: float | None
    status: OkrStatus
    reason: str | None = None
    kpi: str | None = None
    source: str = ""
    #: Progress at the cycle's end at the recorded pace (0..1), or None (too little history).
    forecast: float | None = None


class ObjectiveResult(msgspec.Struct, gc=False):
    id: str
    title: str
    cycle: str | None
    score: float | None
    status: OkrStatus
    final: bool = False
    reason: str | None = None
    key_results: list[KeyResultResult] = []
    source: str = ""
    #: The resolved parent objective's id (None: no parent, unresolved, or in a loop).
    parent: str | None = None
    #: Ids of the objectives whose resolved parent this one is.
    children: list[str] = []
    #: Weighted mean of the key results' forecasts (progress where none), or None.
    forecast: float | None = None


class Warning(msgspec.Struct, gc=False):  # noqa: A001 - the spec's word
    code: str
    item: str
    message: str


class Evaluation(msgspec.Struct, gc=False):
    kpis: list[KpiResult] = []
    objectives: list[ObjectiveResult] = []
    warnings: list[Warning] = []


# --- Between engine and sources -------------------------------------------------


class Patch(msgspec.Struct, gc=False):
    """One owned field of one item to set to a new value.

    ``new`` and ``old`` are in the normalised form of :mod:`syncd.diff`
    (``"On track"``, ``0.42``); the source's mapping renders them natively.
    """

    source: str
    item: str  # the item's id
    field: str  # "status" | "progress" | "current" | "score"
    old: Any
    new: Any
    ref: Any = None
    kind: Literal["kpi", "key_result", "objective"] = "kpi"
    #: The colour of the new status, for sources that colour cells or labels.
    colour: Colour | None = None
    #: Beside a status: the item's progress (score), for sources whose status note quotes it.
    progress: float | None = None


class ItemError(msgspec.Struct):
    source: str
    item: str
    message: str
    #: The item's fields that were not written: ``None`` for all of them, ``()``
    #: when the value was written but a side effect failed (a colour, a comment).
    fields: tuple[str, ...] | None = None


class ReadResult(msgspec.Struct):
    """What a source read: items, plus errors for records that made no item."""

    kpis: list[KPI] = []
    objectives: list[Objective] = []
    errors: list[ItemError] = []
    #: Things the source wants the user to know (``created label On track``).
    notes: list[str] = []


#: Recorded values of one item, oldest first: (POSIX seconds of the ``now`` of the
#: pass that first recorded the value, the value). Only passes at or before ``now``.
Points = tuple[tuple[float, float | None], ...]


class KpiHistory(msgspec.Struct):
    """What the state store knows of a KPI, as evaluation input."""

    first_seen: datetime | None = None  # when syncd first saw the current value
    previous: float | None = None  # the previous different value
    #: Every value recorded (for the red streak).
    values: Points = ()
