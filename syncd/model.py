"""The one model every source is normalised into, and what evaluation gives back.

Sources (CSV, XLSX, Sheets, Notion, Trello) never reach the engine directly:
their mappings turn native records into these objects, and turn the engine's
:class:`Patch` objects back into native writes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Direction = Literal["higher", "lower", "range"]
Cadence = Literal["daily", "weekly", "monthly", "quarterly"]
KpiStatus = Literal["green", "amber", "red", "no_data", "invalid"]
KrKind = Literal["metric", "milestone", "checklist"]
OkrType = Literal["aspirational", "committed"]
OkrStatus = Literal["not_started", "on_track", "at_risk", "off_track", "done", "no_data", "invalid"]
Colour = Literal["green", "amber", "red"]
Trend = Literal["improving", "worsening", "flat"]


# Items are slotted dataclasses, not validated models: a mapping builds one per
# row, page or card from values it has already parsed, and validating them again
# cost more than the rest of the read (and 5 KiB per item).


@dataclass(slots=True, kw_only=True)
class _Item:
    """Common to every item read from a source."""

    source: str = ""
    #: Where a person finds the item: ``kpis.csv row 7``, ``KPIs!A7``, a page URL.
    where: str = ""
    #: Opaque handle the source's mapping uses to write back (row number, page id...).
    ref: Any = None
    #: What the source holds now for each field syncd owns, already normalised
    #: to the same form as the engine's desired values (see :mod:`syncd.diff`).
    #: A field absent here is not writable in this source (no column, no property).
    written: dict[str, Any] = field(default_factory=dict)
    #: Problems met while parsing, as sentences naming the field: they make the
    #: item ``no_data`` or ``invalid`` instead of failing the run.
    problems: list[str] = field(default_factory=list)

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Any:
        """A copy with some fields changed (the name pydantic models use)."""
        return dataclasses.replace(self, **(update or {}))


@dataclass(slots=True, kw_only=True)
class KPI(_Item):
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


@dataclass(slots=True, kw_only=True)
class KeyResult(_Item):
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


@dataclass(slots=True, kw_only=True)
class Objective(_Item):
    id: str
    title: str
    owner: str | None = None
    cycle: str | None = None
    type: OkrType | None = None
    parent: str | None = None
    key_results: list[KeyResult] = field(default_factory=list)


# --- What evaluation gives back ------------------------------------------------
# Plain slotted dataclasses: evaluation builds one per item on every pass, and
# its input is already validated, so validating the output again only costs time.


@dataclass(slots=True)
class KpiResult:
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


@dataclass(slots=True)
class KeyResultResult:
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


@dataclass(slots=True)
class ObjectiveResult:
    id: str
    title: str
    cycle: str | None
    score: float | None
    status: OkrStatus
    final: bool = False
    reason: str | None = None
    key_results: list[KeyResultResult] = field(default_factory=list)
    source: str = ""
    #: The resolved parent objective's id (None: no parent, unresolved, or in a loop).
    parent: str | None = None
    #: Ids of the objectives whose resolved parent this one is.
    children: list[str] = field(default_factory=list)
    #: Weighted mean of the key results' forecasts (progress where none), or None.
    forecast: float | None = None


@dataclass(slots=True)
class Warning:  # noqa: A001 - the spec's word
    code: str
    item: str
    message: str


@dataclass(slots=True)
class Evaluation:
    kpis: list[KpiResult] = field(default_factory=list)
    objectives: list[ObjectiveResult] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)


# --- Between engine and sources -------------------------------------------------


@dataclass(slots=True)
class Patch:
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


@dataclass
class ItemError:
    source: str
    item: str
    message: str
    #: The item's fields that were not written: ``None`` for all of them, ``()``
    #: when the value was written but a side effect failed (a colour, a comment).
    fields: tuple[str, ...] | None = None


@dataclass
class ReadResult:
    """What a source read: items, plus errors for records that made no item."""

    kpis: list[KPI] = field(default_factory=list)
    objectives: list[Objective] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    #: Things the source wants the user to know (``created label On track``).
    notes: list[str] = field(default_factory=list)


#: Recorded values of one item, oldest first: (POSIX seconds of the ``now`` of the
#: pass that first recorded the value, the value). Only passes at or before ``now``.
Points = tuple[tuple[float, float | None], ...]


@dataclass
class KpiHistory:
    """What the state store knows of a KPI, as evaluation input."""

    first_seen: datetime | None = None  # when syncd first saw the current value
    previous: float | None = None  # the previous different value
    #: Every value recorded (for the red streak).
    values: Points = ()
