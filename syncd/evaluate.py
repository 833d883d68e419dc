"""Evaluation: KPI health against thresholds, OKR progress against the calendar.

Pure on purpose: data in, statuses out. No I/O and no clock (time is the
caller's ``now``), so a run is reproducible with ``--now``, and cheap enough to
run for every item on every pass. A bad row is a result (``no_data``,
``invalid``) with a reason, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from .alignment import align
from .cycles import Cycle, elapsed
from .diff import colour_of
from .history import day, forecast, red_since
from .hygiene import hygiene_warnings
from .kpi_status import CADENCE_DAYS, KpiPass, _kpi_result, kpi_status
from .model import (
    KPI,
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

__all__ = ["EvalSettings", "kpi_status", "evaluate", "colour_of", "CADENCE_DAYS"]

#: Comparisons at the inclusive bounds must survive float noise (0.7*0.5-0.1).
_EPS = 1e-9


_DEFAULT = EvalSettings()
#: Plain numbers (not bools, not Decimals): what the hot path takes as is.
_NUMBER = frozenset({float, int})


# --- Key results and objectives --------------------------------------------------------


def _round3(x: float) -> float:
    """``round(x, 3)``, the very same float, in a third of the time for a fraction 0..1 (a pass
    rounds one or two per key result and objective). There ``x * 1000`` is within 1e-13 of its
    exact value, so it names the right thousandth unless it sits a hair from a half, which is left
    to ``round``'s exact decimal rounding; and ``k / 1000`` is the float nearest k thousandths,
    which is what ``round`` returns."""
    if 0.0 < x <= 1.0:  # (not 0.0 itself: -0.0 stays -0.0)
        y = x * 1000.0
        k = int(y)
        d = y - k
        if not 0.4999 < d < 0.5001:
            return (k + 1 if d > 0.5 else k) / 1000.0
    return round(x, 3)


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


class _Goal(NamedTuple):
    """Where ``now`` stands in a cycle, and the goal line there for one grade of success:
    worked out once per cycle and grade in a pass, not per key result."""

    started: bool
    ended: bool
    #: Progress at or above which a key result or objective is on track, or at risk.
    on_track: float
    at_risk: float

    @classmethod
    def of(cls, cycle: Cycle, now: datetime, success: float, settings: EvalSettings) -> _Goal:
        goal = elapsed(cycle, now) * success  # the goal line: ``success`` at the cycle's end
        return cls(
            cycle.started(now), cycle.ended(now), goal - settings.on_track_tolerance, goal - settings.at_risk_tolerance
        )

    def status(self, p: float) -> OkrStatus:
        """Where progress ``p`` stands against the goal line."""
        if not self.started:
            return "not_started"
        q = p + _EPS
        if q >= 1.0:
            return "done"
        if q >= self.on_track:
            return "on_track"
        return "at_risk" if q >= self.at_risk else "off_track"


class _KpiIndex:
    """KPIs by id first, then by id stripped, then by name (case-insensitive, stripped);
    the first one wins. Key results name KPIs by id, nearly always exactly: the other
    two indexes are built the first time an exact id misses."""

    __slots__ = ("kpis", "by_id", "_loose")

    def __init__(self, kpis: Sequence[KPI]):
        self.kpis = kpis
        self.by_id: dict[str, KPI] = {k.id: k for k in reversed(kpis)}
        self._loose: tuple[dict[str, KPI], dict[str, KPI]] | None = None

    def find(self, ref: str) -> KPI | None:
        found = self.by_id.get(ref)
        if found is not None:
            return found
        if self._loose is None:
            rev = self.kpis[::-1]
            self._loose = ({k.id.strip(): k for k in rev}, {k.name.strip().casefold(): k for k in rev})
        stripped, by_name = self._loose
        return stripped.get(ref.strip()) or by_name.get(ref.strip().casefold())


class _Pass:
    """One evaluation pass: its ``now``, settings and KPI index, the warnings it gathers,
    the recorded key result values, and each cycle text read once (thousands of items
    share a handful)."""

    __slots__ = ("now", "now_ts", "settings", "index", "warnings", "points", "followed", "_goals")

    def __init__(self, now: datetime, settings: EvalSettings, index: _KpiIndex, points: Mapping[str, Points]):
        self.now = now
        self.now_ts = now.timestamp()
        self.settings = settings
        self.index = index
        self.warnings: list[Warning] = []
        self.points = points
        #: KPIs followed by a key result of a started, unended cycle.
        self.followed: set[str] = set()
        self._goals: dict[tuple[str | None, float], tuple[Cycle | str, _Goal | None]] = {}

    def goal(self, text: str | None, success: float) -> tuple[Cycle | str, _Goal | None]:
        """The cycle ``text`` names (or why it cannot be read) and its goal line for ``success``."""
        known = self._goals.get((text, success))
        if known is None:
            cycle = self.settings.cycle(text)
            goal = _Goal.of(cycle, self.now, success, self.settings) if isinstance(cycle, Cycle) else None
            known = self._goals[text, success] = (cycle, goal)
        return known


def _key_result(
    kr: KeyResult, objective: Objective, success: float, ocycle: Cycle | str, ogoal: _Goal | None, run: _Pass
) -> tuple[KeyResultResult, float | None]:
    """The key result's result, and the progress its objective's score counts."""
    linked = None
    if kr.kpi and kr.kpi.strip():
        linked = run.index.find(kr.kpi)
        if linked is None:
            run.warnings.append(Warning(code="unknown_kpi", item=kr.id, message=(
                f"Key result {kr.title!r} follows KPI {kr.kpi!r}, but no KPI has that id or name: "
                "check the spelling against the KPI source; meanwhile its own current value is used.")))  # fmt: skip
    cycle, goal = run.goal(kr.cycle, success) if kr.cycle and kr.cycle.strip() else (ocycle, ogoal)
    s, t = kr.start, kr.target
    current = linked.value if linked is not None else kr.current
    # (mypy narrows on isinstance, not on type(): these three are numbers where they are used)
    if (
        goal is not None and kr.kind == "metric" and not kr.problems and type(s) in _NUMBER
        and type(t) in _NUMBER and type(current) in _NUMBER
        and s - s == 0 and t - t == 0 and t != s and current - current == 0  # type: ignore[operator]
    ):  # fmt: skip
        # The hot path, inlined (it runs for every key result): a metric with a start, a
        # target and a current value, in a cycle that can be read.
        exact = (current - s) / (t - s)  # type: ignore[operator]
        exact = 0.0 if exact <= 0.0 else 1.0 if exact > 1.0 else exact  # and never -0.0
        # Judged on the exact progress: shown as 1.0, 0.9996 is still not done.
        result = KeyResultResult(
            kr.id, kr.title, current, _round3(exact), goal.status(exact), None, linked.id if linked else None,
            kr.source,
        )  # fmt: skip
        if goal.started and not goal.ended:
            _running(kr, objective, result, linked, current, exact, cycle, run)  # type: ignore[arg-type]
        return result, exact
    m = _measure(kr, linked)
    progress = _round3(m.progress) if m.progress is not None else None
    status: OkrStatus
    if m.problem == "invalid" or goal is None:
        status = "invalid"
    elif not goal.started:
        status = "not_started"
    elif m.problem == "no_data" or progress is None:
        status = "no_data"
    else:
        status = goal.status(m.progress)  # type: ignore[arg-type]
    if status == "not_started":
        reason = None
    elif isinstance(cycle, str):
        reason = f"{m.reason}; {cycle}" if m.reason else cycle
    else:
        reason = m.reason or None
    finite_current = m.current if m.current is not None and m.current - m.current == 0 else None
    result = KeyResultResult(
        kr.id, kr.title, finite_current, progress, status, reason, linked.id if linked else None, kr.source
    )
    if m.problem and status in ("no_data", "invalid"):
        run.warnings.append(Warning(code="missing_data", item=kr.id, message=(
            f"Key result {kr.title!r} of objective {objective.title!r} has no usable data ({m.reason}): "
            "it counts as 0 in the objective's score until it is fixed in the source.")))  # fmt: skip
    elif goal is not None and goal.started and not goal.ended:
        _running(kr, objective, result, linked, m.current, m.progress, cycle, run)  # type: ignore[arg-type]
    return result, m.progress


def _running(
    kr: KeyResult, objective: Objective, result: KeyResultResult, linked: KPI | None, current: float | None,
    exact: float | None, cycle: Cycle, run: _Pass,
) -> None:  # fmt: skip
    """What a key result of a started, unended cycle tells: the KPI it follows is being worked
    on, and from history its ``forecast`` and whether it is checked in (``no_check_in``)."""
    if linked is not None:
        run.followed.add(linked.id)
    points = run.points.get(kr.id) if run.points and kr.kind == "metric" and exact is not None else None
    if points:
        fc, last = forecast(points, kr.start, kr.target, exact, run.now_ts, cycle._start_ts, cycle._end_ts)  # type: ignore[arg-type]
        if fc is not None:
            result.forecast = _round3(fc)
        if last is not None and last[1] == current and result.status != "done":
            _check_in(kr, objective, current, last[0], run.now_ts, run.settings, run.warnings)


def _check_in(
    kr: KeyResult, objective: Objective, current: float | None, since: float, now_ts: float, settings: EvalSettings,
    warnings: list[Warning],
) -> None:  # fmt: skip
    """``no_check_in``: the current value has not changed since the pass that first recorded it, at ``since``."""
    if now_ts - since >= settings.check_in_days * 86400:
        days = int((now_ts - since) // 86400)
        warnings.append(Warning(code="no_check_in", item=kr.id, message=(
            f"Key result {kr.title!r} of objective {objective.title!r} has not changed for {days} days "
            f"(current {_fmt(current)} since {day(since)}): check in with its owner and update the current "
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


def _objective(obj: Objective, run: _Pass) -> ObjectiveResult:
    """Score (weighted mean of progress, missing counts 0) and pace of one objective."""
    settings, warnings = run.settings, run.warnings
    success = settings.success(obj.type)
    cycle, goal = run.goal(obj.cycle, success)
    results, total, weights, missing = [], 0.0, 0.0, 0
    ftotal, forecasts = 0.0, 0
    for kr in obj.key_results:
        result, progress = _key_result(kr, obj, success, cycle, goal, run)
        results.append(result)
        w = kr.weight
        if not (type(w) is float and w - w == 0 and w > 0):
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
    score = _round3(exact) if exact is not None else None
    reason = None
    if isinstance(cycle, str):
        status: OkrStatus = "invalid"
        reason = cycle
    elif not results:
        status, reason = "no_data", "no key results: add 2 to 5 measurable key results"
    elif not goal.started:  # type: ignore[union-attr]
        status = "not_started"
    else:
        status = goal.status(exact)  # type: ignore[union-attr, arg-type]
        if missing:
            reason = f"{missing} of {len(results)} key results have no usable data and count as 0"
    label = cycle.label if isinstance(cycle, Cycle) else ((obj.cycle or "").strip() or None)
    fc = ftotal / weights if forecasts else None
    if fc is not None and status == "on_track":
        short = success - settings.on_track_tolerance
        if fc + _EPS < short:
            warnings.append(Warning(code="forecast_short", item=obj.id, message=(
                f"Objective {obj.title!r} is on track today; at this pace it ends at {fc:.2f}, below "
                f"{short:.2f} (success {success:.2f} less the on-track tolerance): "
                "look at the key results that are not moving.")))  # fmt: skip
    return ObjectiveResult(
        obj.id,
        obj.title,
        label,
        score,
        status,
        goal is not None and goal.ended,
        reason,
        results,
        obj.source,
        None,  # parent and children: the alignment pass fills them in
        [],
        _round3(fc) if fc is not None else None,
    )


def _follows(obj: Objective, run: _Pass) -> None:
    """Note the KPIs an objective of another source follows in a started, unended cycle."""
    for kr in obj.key_results:
        linked = run.index.find(kr.kpi) if kr.kpi else None
        _, goal = run.goal(kr.cycle if kr.cycle and kr.cycle.strip() else obj.cycle, 1.0)
        if linked is not None and goal is not None and goal.started and not goal.ended:
            run.followed.add(linked.id)


def _red_kpis(
    kpis: Sequence[KPI], results: Sequence[KpiResult], history: Mapping[str, KpiHistory], run: _Pass
) -> list[Warning]:
    """``red_kpi_without_okr``: red for ``red_days`` or more, and no key result of a running cycle follows it."""
    out: list[Warning] = []
    if not history:  # a red streak is read from the recorded values
        return out
    limit = run.settings.red_days * 86400
    now_ts = run.now_ts
    for k, r in zip(kpis, results):
        if r.status != "red" or k.id in run.followed:
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
    clock = KpiPass(now, settings)
    kpi_results = [_kpi_result(k, clock, history) for k in kpis]
    run = _Pass(now, settings, _KpiIndex(kpis), key_result_history or {})
    objective_results = [_objective(o, run) for o in objectives]
    warnings = run.warnings
    warnings.extend(hygiene_warnings(objectives, objective_results, now=now, settings=settings, context=context))
    for o in context:
        _follows(o, run)
    warnings.extend(align(objectives, objective_results, company_sources=settings.company_sources, context=context))
    warnings.extend(_red_kpis(kpis, kpi_results, history, run))
    return Evaluation(kpis=kpi_results, objectives=objective_results, warnings=warnings)
