"""KPI evaluation: status against the thresholds, staleness by cadence, trend.

The KPI half of :mod:`syncd.evaluate` (which re-exports :func:`kpi_status` and
:data:`CADENCE_DAYS` and runs it for every KPI), pure for the same reasons: no
I/O and no clock. The number helpers shared with the key result code live in
:mod:`syncd.reasons`; the settings in :mod:`syncd.settings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .model import KPI, KpiHistory, KpiResult, KpiStatus, Trend
from .reasons import at as _at
from .reasons import finite as _finite
from .reasons import fmt as _fmt

if TYPE_CHECKING:
    from .settings import EvalSettings

__all__ = ["kpi_status", "CADENCE_DAYS", "KpiPass"]

#: How old a value may be, by cadence, before the grace period starts.
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92}


def _threshold_problem(kpi: KPI) -> str | None:
    """What is wrong with the direction and thresholds, and what to do; ``None`` if fine."""
    d, g, r = kpi.direction, kpi.green, kpi.red
    if type(g) is float and type(r) is float and g - g == 0 and r - r == 0:  # fast path
        if (d == "higher" and g >= r) or (d == "lower" and g <= r):
            return None
    if d is None:
        # The source's own words name the cell (and what it held: "sideways").
        return kpi.threshold_reason or "no direction: set Direction to higher, lower or range"
    if d not in ("higher", "lower", "range"):
        return f"unknown direction {d!r}: set Direction to higher, lower or range"
    missing = [name for name, v in (("Green", g), ("Red", r)) if v is None]
    if missing:
        why = f" ({kpi.threshold_reason})" if kpi.threshold_reason else ""
        what = "a band low..high each, such as 95..105" if d == "range" else "a number each"
        return f"{' and '.join(missing)} threshold missing{why}: for direction {d}, give Green and Red {what}"
    for name, v in (("Green", g), ("Red", r)):
        if d == "range" and not isinstance(v, tuple):
            return f"for direction range, {name} must be a band low..high (such as 95..105), not {_fmt(v)}"
        if d != "range" and isinstance(v, tuple):
            return (
                f"for direction {d}, {name} must be one number, not the band {_fmt(v)}; use direction range for a band"
            )
        if not _finite(v):
            return f"the {name} threshold {_fmt(v)} is not a finite number"
        if isinstance(v, tuple) and v[0] > v[1]:
            return f"the {name} band {_fmt(v)} has its low end above its high end: write it low..high"
    fix = "swap them or check the direction"
    if d == "higher" and g < r:  # type: ignore[operator]
        return f"for direction higher, Green ({_fmt(g)}) must be at least Red ({_fmt(r)}): {fix}"
    if d == "lower" and g > r:  # type: ignore[operator]
        return f"for direction lower, Green ({_fmt(g)}) must be at most Red ({_fmt(r)}): {fix}"
    if d == "range" and not (r[0] <= g[0] and g[1] <= r[1]):  # type: ignore[index]
        return (
            f"for direction range, the Green band {_fmt(g)} must lie inside the Red band {_fmt(r)} "
            "(the amber band around it): widen Red or narrow Green"
        )
    return None


def _colour(direction: str, v: float, g: Any, r: Any) -> KpiStatus:
    if direction == "higher":
        return "green" if v >= g else "red" if v < r else "amber"
    if direction == "lower":
        return "green" if v <= g else "red" if v > r else "amber"
    return "green" if g[0] <= v <= g[1] else "amber" if r[0] <= v <= r[1] else "red"


def kpi_status(kpi: KPI) -> tuple[KpiStatus, str | None]:
    """A KPI's status and, for ``no_data``/``invalid``, the reason a person can act on.

    Bad thresholds come first: they need the owner's fix whatever the value.
    Parsing problems recorded on the item make it ``no_data`` (no value) or
    ``invalid`` (a value that cannot be trusted), their sentences in the reason.
    """
    problem = _threshold_problem(kpi)
    if problem:
        if not (kpi.threshold_reason and kpi.threshold_reason in problem):
            problem = _at(kpi.where, problem)
        return "invalid", "; ".join([problem, *kpi.problems])
    if not _finite(kpi.value):
        why = kpi.value_reason or ("no value" if kpi.value is None else f"not a finite number ({kpi.value})")
        return "no_data", "; ".join([why, *(p for p in kpi.problems if p != why)])
    if kpi.problems:
        return "invalid", "; ".join(kpi.problems)
    return _colour(kpi.direction, kpi.value, kpi.green, kpi.red), None  # type: ignore[arg-type]


class KpiPass:
    """What every KPI of one pass is judged against, worked out once per pass.

    Ageing a value needs ``now`` as POSIX seconds, its calendar date in the
    team's timezone and each cadence's limit; thousands of KPIs share a handful
    of ``Updated`` moments, so their instants are kept here for the pass.
    """

    __slots__ = ("now_ts", "today", "tz", "limits", "instants")

    def __init__(self, now: datetime, settings: EvalSettings):
        self.now_ts = now.timestamp()
        self.tz = settings.timezone
        self.today = now.astimezone(ZoneInfo(self.tz)).date()
        grace = settings.stale_grace.total_seconds()
        #: Seconds a value may age, by cadence, before it is stale.
        self.limits = {cadence: days * 86400 + grace for cadence, days in CADENCE_DAYS.items()}
        self.instants: dict[datetime, float] = {}

    def instant(self, moment: datetime) -> float:
        """POSIX seconds of a datetime; a naive one is wall-clock time in the team's timezone."""
        ts = self.instants.get(moment)
        if ts is None:
            aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(self.tz))
            ts = self.instants[moment] = aware.timestamp()
        return ts


def _stale(kpi: KPI, clock: KpiPass, seen: KpiHistory | None) -> bool:
    """Older than the cadence allows, plus grace; a value seen for the first time is fresh.

    A date without a time (``Updated`` = 2026-11-07) is aged in calendar days in the
    configured timezone, as a person counts: on 2026-11-15, at any hour, it is 8 days
    old, so a weekly KPI (7 days + 1 day grace) is not stale until the 16th. A moment
    (a date-time, or when syncd first saw the value) is aged to the second.
    """
    limit = clock.limits.get(kpi.cadence)  # type: ignore[arg-type]
    if limit is None:  # the caller asks only for a KPI that has a value
        return False
    since = kpi.updated if kpi.updated is not None else (seen.first_seen if seen is not None else None)
    if since is None:
        return False
    if not isinstance(since, datetime):
        return (clock.today - since).days * 86400 > limit
    ts = clock.instants.get(since)
    return clock.now_ts - (ts if ts is not None else clock.instant(since)) > limit


def _distance(v: float, band: tuple[float, float]) -> float:
    return max(band[0] - v, 0.0, v - band[1])


def _trend(kpi: KPI, previous: float | None) -> tuple[Trend | None, float | None]:
    """The change since the previous different value, and whether it is for the better."""
    if not _finite(kpi.value) or not _finite(previous):
        return None, None
    v, p = float(kpi.value), float(previous)  # type: ignore[arg-type]
    change = round(v - p, 9)
    if kpi.direction == "higher":
        better = v - p
    elif kpi.direction == "lower":
        better = p - v
    elif kpi.direction == "range" and isinstance(kpi.green, tuple) and _finite(kpi.green):
        better = _distance(p, kpi.green) - _distance(v, kpi.green)
    else:
        return None, change
    return ("improving" if better > 0 else "worsening" if better < 0 else "flat"), change


def _kpi_result(kpi: KPI, clock: KpiPass, history: Mapping[str, KpiHistory]) -> KpiResult:
    v, d, g, r = kpi.value, kpi.direction, kpi.green, kpi.red
    # The hot path of 100,000 KPIs, inlined: a finite value, one-number thresholds in the
    # right order, nothing wrong on the item. Anything else goes the long way (kpi_status).
    if (
        type(v) is float and v - v == 0 and type(g) is float and type(r) is float and g - g == 0 and r - r == 0
        and not kpi.problems and ((d == "higher" and g >= r) or (d == "lower" and g <= r))
    ):  # fmt: skip
        status: KpiStatus = (
            ("green" if v >= g else "red" if v < r else "amber")
            if d == "higher"
            else ("green" if v <= g else "red" if v > r else "amber")
        )
        reason = None
        has_value = True
    else:
        status, reason = kpi_status(kpi)
        has_value = v is not None and v - v == 0
    seen = history.get(kpi.id) if history else None  # a first sync has none
    previous = seen.previous if seen is not None else None
    trend, change = _trend(kpi, previous) if has_value and previous is not None else (None, None)
    return KpiResult(
        kpi.id, kpi.name, v if has_value else None, kpi.unit, status,
        has_value and _stale(kpi, clock, seen), reason, trend, change, kpi.source,
    )  # fmt: skip
