"""Evaluation: KPI health against thresholds, OKR progress against the calendar.

Pure on purpose: data in, statuses out. No I/O and no clock (time is the
caller's ``now``), so a run is reproducible with ``--now``, and cheap enough to
run for every item on every pass. A bad row is a result (``no_data``,
``invalid``) with a reason, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from .alignment import align
from .cycles import Cycle, elapsed
from .history import day, forecast, red_since
from .hygiene import hygiene_warnings
from .kpi_status import CADENCE_DAYS, _kpi_result, kpi_status
from .model import (
    KPI,
    Colour,
    Evaluation,
    KeyResult,
    KeyResultResult,
    KpiHistory,
    KpiResult,
    Objective,
    ObjectiveResult,
    OkrStatus,
    Points,
    Warning,
)
from .reasons import at as _at
from .reasons import finite as _finite
from .reasons import fmt as _fmt
from .settings import EvalSettings

if TYPE_CHECKING:
    pass

__all__ = ["EvalSettings", "kpi_status", "evaluate", "colour_of", "CADENCE_DAYS"]

#: Comparisons at the inclusive bounds must survive float noise (0.7*0.5-0.1).
_EPS = 1e-9


_DEFAULT = EvalSettings()


_COLOURS: dict[str, Colour] = {
    "green": "green", "amber": "amber", "red": "red",
    "on_track": "green", "done": "green", "at_risk": "amber", "off_track": "red",
}  # fmt: skip


def colour_of(status: str | None) -> Colour | None:
    """The colour a status is shown in: on track and done green, at risk amber, off track red."""
    return _COLOURS.get(status or "")


# --- Key results and objectives --------------------------------------------------------


class _Measure(NamedTuple):
    """What a key result measures, before the calendar is looked at."""

    current: float | None
    progress: float | None
    problem: OkrStatus | None  # "no_data" | "invalid" | None
    reason: str | None


def _metric(kr: KeyResult, current: float | None, current_reason: str | None) -> _Measure:
    """(current - start) / (target - start), clamped: a decreasing target works the same."""
    s, t = kr.start, kr.target
    # Finite checks inlined (``x - x == 0`` is false for NaN and infinities): this runs per key result.
    if not (s is not None and s - s == 0 and t is not None and t - t == 0):
        missing = " and ".join(name for name, v in (("Start", s), ("Target", t)) if not _finite(v))
        why = f"{missing} missing: give the key result a start and a target value"
        return _Measure(current, None, "invalid", _at(kr.where, why))
    if t == s:
        why = f"Target ({_fmt(t)}) equals Start: progress cannot be measured; set a target that differs from the start"
        return _Measure(current, None, "invalid", _at(kr.where, why))
    if current is None or current - current != 0:
        return _Measure(None, None, "no_data", current_reason or _at(kr.where, "no current value"))
    p = (current - s) / (t - s)
    return _Measure(current, min(1.0, max(0.0, p)), None, None)


def _measure(kr: KeyResult, linked: KPI | None) -> _Measure:
    """Progress 0..1 of a key result, or why there is none."""
    current, why = (linked.value, linked.value_reason) if linked else (kr.current, kr.current_reason)
    if linked and (current is None or current - current != 0):
        why = f"KPI {linked.name!r} has no value ({why or 'empty'})"
    if kr.kind == "milestone":
        unmarked = kr.current_reason or "not marked done or not done"
        m = _Measure(current, None, "no_data", unmarked) if kr.done is None else \
            _Measure(current, 1.0 if kr.done else 0.0, None, None)  # fmt: skip
    elif kr.kind == "checklist":
        done, total = kr.checklist if kr.checklist else (0, 0)
        why = kr.current_reason or _at(kr.where, "the checklist has no items")
        m = _Measure(current, None, "no_data", why) if total <= 0 else \
            _Measure(current, min(1.0, max(0.0, done / total)), None, None)  # fmt: skip
    elif kr.kind == "metric":
        m = _metric(kr, current, why)
    else:
        m = _Measure(current, None, "invalid", f"unknown kind {kr.kind!r}: use metric, milestone or checklist")
    if kr.problems:
        problem: OkrStatus = "no_data" if m.problem == "no_data" else "invalid"
        return _Measure(m.current, None, problem, "; ".join([*([m.reason] if m.reason else []), *kr.problems]))
    return m


class _Clock(NamedTuple):
    """Where ``now`` stands in a cycle: computed once per objective, not per key result."""

    started: bool
    elapsed: float
    ended: bool

    @classmethod
    def of(cls, cycle: Cycle, now: datetime) -> _Clock:
        return cls(cycle.started(now), elapsed(cycle, now), cycle.ended(now))


def _pace(p: float, clock: _Clock, okr_type: str | None, settings: EvalSettings) -> OkrStatus:
    """Where progress ``p`` stands against the goal line of the cycle."""
    if not clock.started:
        return "not_started"
    if p + _EPS >= 1.0:
        return "done"
    goal = clock.elapsed * settings.success(okr_type)
    if p + _EPS >= goal - settings.on_track_tolerance:
        return "on_track"
    if p + _EPS >= goal - settings.at_risk_tolerance:
        return "at_risk"
    return "off_track"


class _KpiIndex:
    """KPIs by id first, then by name (case-insensitive, stripped); the first one wins."""

    def __init__(self, kpis: Sequence[KPI]):
        self.by_id: dict[str, KPI] = {}
        self.by_name: dict[str, KPI] = {}
        for k in kpis:
            self.by_id.setdefault(k.id, k)
            self.by_id.setdefault(k.id.strip(), k)
            self.by_name.setdefault(k.name.strip().casefold(), k)

    def find(self, ref: str) -> KPI | None:
        return self.by_id.get(ref) or self.by_id.get(ref.strip()) or self.by_name.get(ref.strip().casefold())


class _History:
    """The pass's recorded key result values, and what it learns for the KPI rules."""

    __slots__ = ("points", "now_ts", "followed")

    def __init__(self, points: Mapping[str, Points], now: datetime):
        self.points = points
        self.now_ts = now.timestamp()
        #: KPIs followed by a key result of a started, unended cycle.
        self.followed: set[str] = set()


def _key_result(
    kr: KeyResult, objective: Objective, ocycle: Cycle | str, oclock: _Clock | None, index: _KpiIndex,
    now: datetime, settings: EvalSettings, warnings: list[Warning], hist: _History,
) -> tuple[KeyResultResult, float | None]:  # fmt: skip
    """The key result's result, and the progress its objective's score counts."""
    linked = None
    if kr.kpi and kr.kpi.strip():
        linked = index.find(kr.kpi)
        if linked is None:
            warnings.append(Warning(code="unknown_kpi", item=kr.id, message=(
                f"Key result {kr.title!r} follows KPI {kr.kpi!r}, but no KPI has that id or name: "
                "check the spelling against the KPI source; meanwhile its own current value is used.")))  # fmt: skip
    m = _measure(kr, linked)
    if kr.cycle and kr.cycle.strip():
        cycle = settings.cycle(kr.cycle)
        clock = _Clock.of(cycle, now) if isinstance(cycle, Cycle) else None
    else:
        cycle, clock = ocycle, oclock
    progress = round(m.progress, 3) if m.progress is not None else None
    reasons = [r for r in (m.reason, cycle if isinstance(cycle, str) else None) if r]
    if m.problem == "invalid" or clock is None:
        status: OkrStatus = "invalid"
    elif not clock.started:
        status, reasons = "not_started", []
    elif m.problem == "no_data" or progress is None:
        status = "no_data"
    else:
        # Judged on the exact progress: shown as 1.0, 0.9996 is still not done.
        status = _pace(m.progress, clock, objective.type, settings)  # type: ignore[arg-type]
    result = KeyResultResult(
        id=kr.id, title=kr.title, current=m.current if m.current is not None and m.current - m.current == 0 else None, progress=progress,
        status=status, reason="; ".join(reasons) or None, kpi=linked.id if linked else None, source=kr.source,
    )  # fmt: skip
    if m.problem and status in ("no_data", "invalid"):
        warnings.append(Warning(code="missing_data", item=kr.id, message=(
            f"Key result {kr.title!r} of objective {objective.title!r} has no usable data ({m.reason}): "
            "it counts as 0 in the objective's score until it is fixed in the source.")))  # fmt: skip
    elif clock is not None and clock.started and not clock.ended:
        if linked is not None:
            hist.followed.add(linked.id)
        points = hist.points.get(kr.id) if kr.kind == "metric" and m.progress is not None else None
        if points:  # inlined: this runs for every key result of a running cycle
            fc, last = forecast(points, kr.start, kr.target, m.progress, hist.now_ts, cycle._start_ts, cycle._end_ts)  # type: ignore[arg-type,union-attr]
            if fc is not None:
                result.forecast = round(fc, 3)
            if last is not None and last[1] == m.current and status != "done":
                _check_in(kr, objective, m, last[0], hist.now_ts, settings, warnings)
    return result, m.progress


def _check_in(
    kr: KeyResult, objective: Objective, m: _Measure, since: float, now_ts: float, settings: EvalSettings,
    warnings: list[Warning],
) -> None:  # fmt: skip
    """``no_check_in``: the current value has not changed since the pass that first recorded it, at ``since``."""
    if now_ts - since >= settings.check_in_days * 86400:
        days = int((now_ts - since) // 86400)
        warnings.append(Warning(code="no_check_in", item=kr.id, message=(
            f"Key result {kr.title!r} of objective {objective.title!r} has not changed for {days} days "
            f"(current {_fmt(m.current)} since {day(since)}): check in with its owner and update the current "
            "value, or say why it has not moved.")))  # fmt: skip


def _weight(kr: KeyResult, warnings: list[Warning]) -> float:
    """A weight must be a positive number; anything else counts as 1, with a warning."""
    w = kr.weight
    if w - w == 0 and w > 0:
        return float(w)
    warnings.append(Warning(code="invalid_weight", item=kr.id, message=(
        f"Key result {kr.title!r} has weight {_fmt(kr.weight)}: a weight must be a positive number; "
        "it is counted with weight 1 until that is fixed.")))  # fmt: skip
    return 1.0


def _objective(
    obj: Objective, index: _KpiIndex, now: datetime, settings: EvalSettings, warnings: list[Warning], hist: _History
) -> ObjectiveResult:
    """Score (weighted mean of progress, missing counts 0) and pace of one objective."""
    cycle = settings.cycle(obj.cycle)
    clock = _Clock.of(cycle, now) if isinstance(cycle, Cycle) else None
    results, total, weights, missing = [], 0.0, 0.0, 0
    ftotal, forecasts = 0.0, 0
    for kr in obj.key_results:
        result, progress = _key_result(kr, obj, cycle, clock, index, now, settings, warnings, hist)
        results.append(result)
        w = _weight(kr, warnings)
        total += w * (progress or 0.0)
        weights += w
        missing += progress is None and result.status in ("no_data", "invalid")
        if result.forecast is not None:
            forecasts += 1
            ftotal += w * result.forecast
        else:
            ftotal += w * (progress or 0.0)
    exact = total / weights if results else None
    score = round(exact, 3) if exact is not None else None
    reason = None
    if isinstance(cycle, str):
        status: OkrStatus = "invalid"
        reason = cycle
    elif not results:
        status, reason = "no_data", "no key results: add 2 to 5 measurable key results"
    elif not clock.started:  # type: ignore[union-attr]
        status = "not_started"
    else:
        status = _pace(exact, clock, obj.type, settings)  # type: ignore[arg-type]
        if missing:
            reason = f"{missing} of {len(results)} key results have no usable data and count as 0"
    label = cycle.label if isinstance(cycle, Cycle) else ((obj.cycle or "").strip() or None)
    fc = ftotal / weights if forecasts else None
    if fc is not None and status == "on_track":
        short = settings.success(obj.type) - settings.on_track_tolerance
        if fc + _EPS < short:
            warnings.append(Warning(code="forecast_short", item=obj.id, message=(
                f"Objective {obj.title!r} is on track today; at this pace it ends at {fc:.2f}, below "
                f"{short:.2f} (success {settings.success(obj.type):.2f} less the on-track tolerance): "
                "look at the key results that are not moving.")))  # fmt: skip
    return ObjectiveResult(
        id=obj.id, title=obj.title, cycle=label,
        score=score, status=status, final=clock is not None and clock.ended,
        reason=reason, key_results=results, source=obj.source,
        forecast=round(fc, 3) if fc is not None else None,
    )  # fmt: skip


def _follows(obj: Objective, index: _KpiIndex, now: datetime, settings: EvalSettings, hist: _History) -> None:
    """Note the KPIs an objective of another source follows in a started, unended cycle."""
    for kr in obj.key_results:
        linked = index.find(kr.kpi) if kr.kpi else None
        cycle = settings.cycle(kr.cycle if kr.cycle and kr.cycle.strip() else obj.cycle)
        if linked is not None and isinstance(cycle, Cycle) and cycle.started(now) and not cycle.ended(now):
            hist.followed.add(linked.id)


def _red_kpis(
    kpis: Sequence[KPI], results: Sequence[KpiResult], history: Mapping[str, KpiHistory], hist: _History,
    settings: EvalSettings,
) -> list[Warning]:  # fmt: skip
    """``red_kpi_without_okr``: red for ``red_days`` or more, and no key result of a running cycle follows it."""
    out: list[Warning] = []
    limit = settings.red_days * 86400
    now_ts = hist.now_ts
    for k, r in zip(kpis, results):
        if r.status != "red" or k.id in hist.followed:
            continue
        seen = history.get(k.id)
        if seen is None or not seen.values:
            continue
        since = red_since(seen.values, now_ts, k.direction, k.red)  # type: ignore[arg-type]
        if now_ts - since >= limit:
            days = int((now_ts - since) // 86400)
            out.append(Warning(code="red_kpi_without_okr", item=k.id, message=(
                f"KPI {k.name!r} has been red for {days} days (since {day(since)}) and no key result of a "
                "running cycle follows it: set a key result to bring it back, or review its thresholds.")))  # fmt: skip
    return out


def evaluate(
    kpis: Sequence[KPI],
    objectives: Sequence[Objective],
    *,
    now: datetime,
    settings: EvalSettings = _DEFAULT,
    history: Mapping[str, KpiHistory] | None = None,
    key_result_history: Mapping[str, Points] | None = None,
    context: Sequence[Objective] = (),
) -> Evaluation:
    """Evaluate every KPI and objective at ``now``; warnings include the hygiene checks
    and the history-based rules (alignment, check-ins, red KPIs, forecasts).

    ``history`` and ``key_result_history`` are what the state store recorded on
    earlier passes (:meth:`syncd.state.StateStore.history`). ``context``: the
    objectives of OKR sources this pass did not read, as last recorded; parents
    may name them and their key results may follow KPIs, but they are not
    evaluated. A naive ``now`` is wall-clock time in ``settings.timezone``.
    """
    now = settings.local(now)
    history = history or {}
    kpi_results = [_kpi_result(k, now, settings, history) for k in kpis]
    index = _KpiIndex(kpis)
    warnings: list[Warning] = []
    hist = _History(key_result_history or {}, now)
    objective_results = [_objective(o, index, now, settings, warnings, hist) for o in objectives]
    warnings.extend(hygiene_warnings(objectives, objective_results, now=now, settings=settings))
    for o in context:
        _follows(o, index, now, settings, hist)
    warnings.extend(align(objectives, objective_results, company_sources=settings.company_sources, context=context))
    warnings.extend(_red_kpis(kpis, kpi_results, history, hist, settings))
    return Evaluation(kpis=kpi_results, objectives=objective_results, warnings=warnings)
