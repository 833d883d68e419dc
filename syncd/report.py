"""The report: one self-contained HTML page with every KPI, objective and warning.

``syncd report`` builds it from a dry-run pass (nothing written anywhere, the
state store read only for history); ``syncd run`` serves the same page at
``GET /`` from the last completed pass of each source (:class:`LivePage`), so
a request never reads a source. Building is in two steps, both pure: a pass's
report becomes view objects (:func:`views_of`), and views become HTML
(:func:`render`) through a Jinja2 template shipped in ``syncd/templates``.
No script, no stylesheet, font or image from anywhere: inline CSS and SVG.
The same input always gives the same bytes.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from .config import ConfigError
from .cycles import Cycle, elapsed
from .evaluate import EvalSettings
from .model import KPI, Evaluation, ItemError, KeyResult, Objective
from .observe import CSP
from .svg import sparkline

if TYPE_CHECKING:
    from .config import Config
    from .engine import SyncReport
    from .registry import Registry
    from .state import StateStore

__all__ = ["CSP", "Page", "LivePage", "views_of", "render", "write_report", "HISTORY_DAYS"]

log = logging.getLogger("syncd.report")

#: How far back the sparklines go.
HISTORY_DAYS = 90

_WORDS = {
    "green": "Green", "amber": "Amber", "red": "Red", "no_data": "No data", "invalid": "Invalid",
    "not_started": "Not started", "on_track": "On track", "at_risk": "At risk", "off_track": "Off track",
    "done": "Done",
}  # fmt: skip
#: The colour family each status is drawn in (CSS classes ``s-<tone>``).
_TONES = {
    "green": "good", "on_track": "good", "done": "good", "amber": "warn", "at_risk": "warn",
    "red": "bad", "off_track": "bad", "not_started": "idle", "no_data": "none", "invalid": "none",
}  # fmt: skip


# --- view objects -------------------------------------------------------------------------


def _pct(p: float | None) -> str:
    """0.4167 as ``41.7`` (a percent, one decimal at most); empty for none."""
    return "" if p is None else f"{p * 100:.1f}".rstrip("0").rstrip(".")


@dataclass
class KpiView:
    id: str
    name: str
    status: str
    value: str
    stale: bool
    reason: str | None
    trend: str | None  # improving | worsening | flat
    arrow: str | None
    change: str | None
    owner: str | None
    thresholds: str | None
    spark: Markup | None
    spark_range: str | None
    source: str
    word: str = ""
    tone: str = ""

    def __post_init__(self) -> None:
        self.word, self.tone = _WORDS.get(self.status, self.status), _TONES.get(self.status, "none")


@dataclass
class KeyResultView:
    id: str
    title: str
    status: str
    progress: float | None
    progress_json: str
    measure: str
    reason: str | None
    forecast: float | None
    kpi: str | None
    goal: float | None
    word: str = ""
    tone: str = ""
    pct: str = ""
    goal_pct: str = ""
    shown: str = ""  # the line under the bar

    def __post_init__(self) -> None:
        self.word, self.tone = _WORDS.get(self.status, self.status), _TONES.get(self.status, "none")
        self.pct, self.goal_pct = _pct(self.progress) or "0", _pct(self.goal)
        parts = [f"{_pct(self.progress)}%" if self.progress is not None else "\u2013", self.measure]
        if self.forecast is not None:
            parts.append(f"forecast {_pct(self.forecast)}% at cycle end")
        if self.reason:
            parts.append(self.reason)
        self.shown = " \u00b7 ".join(parts)


@dataclass
class ObjectiveView:
    id: str
    title: str
    cycle: str | None
    status: str
    score: float | None
    score_json: str
    final: bool
    goal: float | None
    reason: str | None
    owner: str | None
    type: str
    parent: str | None
    children: list[str]
    forecast: float | None
    key_results: list[KeyResultView]
    source: str
    nodes: list[ObjectiveView] = field(default_factory=list)  # filled when the tree is built
    elsewhere: bool = False  # shown under a parent of another cycle
    word: str = ""
    tone: str = ""
    pct: str = ""
    goal_pct: str = ""

    def __post_init__(self) -> None:
        self.word, self.tone = _WORDS.get(self.status, self.status), _TONES.get(self.status, "none")
        self.pct, self.goal_pct = _pct(self.score) or "0", _pct(self.goal)


@dataclass
class SourceView:
    name: str
    service: str
    role: str
    #: This page's read of the source: ``ok``, ``failed``... (None: served from the last passes).
    read: str | None
    #: The last recorded pass (from the state store or the service): its ``now`` and outcome.
    last_at: datetime | None
    last_outcome: str | None
    items: int | None
    writes: int | None


@dataclass
class Part:
    """What one pass contributes to the page."""

    now: datetime
    kpis: list[KpiView]
    objectives: list[ObjectiveView]
    warnings: list[tuple[str, str, str]]  # (code, item, message)
    errors: list[tuple[str, str, str]]  # (source, item, message)


@dataclass
class Page:
    made: datetime
    timezone: str
    dry_run: bool
    parts: list[Part]
    sources: list[SourceView]
    source_names: list[str] = field(default_factory=list)


# --- numbers as people read them --------------------------------------------------------------


def _number(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{v:,.0f}"
    return f"{v:,.3f}".rstrip("0").rstrip(".")


def _with_unit(v: float | None, unit: str | None) -> str:
    if v is None:
        return "no value"
    text = _number(v)
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def _signed(v: float) -> str:
    return ("+" if v > 0 else "\u2212" if v < 0 else "\u00b1") + _number(abs(v))


def _json(v: float | None) -> str:
    """A number exactly as the JSON output writes it; empty for null."""
    return "" if v is None else json.dumps(v)


def _thresholds(k: KPI) -> tuple[str | None, list[tuple[str, float]]]:
    """Words for the thresholds, and the lines to draw."""
    g, r, unit = k.green, k.red, k.unit

    def w(v: float) -> str:
        return _with_unit(v, unit)

    if k.direction == "range" and isinstance(g, tuple) and isinstance(r, tuple):
        text = f"green {w(g[0])} to {w(g[1])}, amber to {w(r[0])} and {w(r[1])}"
        return text, [("green", g[0]), ("green", g[1]), ("red", r[0]), ("red", r[1])]
    if k.direction in ("higher", "lower") and isinstance(g, float | int) and isinstance(r, float | int):
        if k.direction == "higher":
            return f"green \u2265 {w(g)}, red < {w(r)}", [("green", float(g)), ("red", float(r))]
        return f"green \u2264 {w(g)}, red > {w(r)}", [("green", float(g)), ("red", float(r))]
    return None, []


def _series(
    recorded: Sequence[tuple[datetime, float | None]], current: float | None, now: datetime
) -> tuple[list[tuple[datetime, float]], int]:
    """The sparkline's points: the value held when the window opens, the values
    recorded inside it (up to ``now``), and the value now (it holds until now);
    and how many values those are (the value now counts when it is new)."""
    start = now - timedelta(days=HISTORY_DAYS)
    points: list[tuple[datetime, float | None]] = []
    before: tuple[datetime, float | None] | None = None
    for t, v in recorded:
        if t > now:
            break
        if t < start:
            before = (start, v)
        else:
            points.append((t, v))
    if before is not None:
        points.insert(0, before)
    values = [(t, v) for t, v in points if v is not None and v - v == 0]
    count = len(values)
    if current is not None and current - current == 0 and (not values or values[-1][0] < now):
        count += not values or values[-1][1] != current
        values.append((now, current))
    return values, count


def _kpi_view(r: Any, k: KPI | None, recorded: Sequence[tuple[datetime, float | None]], now: datetime) -> KpiView:
    unit = r.unit
    text, lines = _thresholds(k) if k is not None else (None, [])
    points, count = _series(recorded, r.value, now)
    spark = spark_range = None
    if count >= 2:
        low, high = min(v for _, v in points), max(v for _, v in points)
        label = (
            f"{r.name} from {points[0][0]:%Y-%m-%d} to {points[-1][0]:%Y-%m-%d}: "
            f"between {_with_unit(low, unit)} and {_with_unit(high, unit)}, now {_with_unit(r.value, unit)}"
        )
        drawn = sparkline(points, start=now - timedelta(days=HISTORY_DAYS), end=now, thresholds=lines, label=label)
        spark = Markup(drawn) if drawn else None
        spark_range = (
            f"{_with_unit(low, unit)} \u2013 {_with_unit(high, unit)}" if low != high else _with_unit(low, unit)
        )
    arrow = change = None
    if r.change is not None and r.trend is not None:
        arrow = "\u2191" if r.change > 0 else "\u2193" if r.change < 0 else "\u2192"
        change = _signed(r.change)
    return KpiView(
        id=r.id, name=r.name, status=r.status, value=_with_unit(r.value, unit), stale=r.stale,
        reason=r.reason if r.status in ("no_data", "invalid") else None, trend=r.trend, arrow=arrow, change=change,
        owner=k.owner if k else None, thresholds=text, spark=spark, spark_range=spark_range, source=r.source,
    )  # fmt: skip


def _measure(r: Any, kr: KeyResult | None) -> str:
    """Current and target as a person reads them."""
    if kr is None:
        return _with_unit(r.current, None)
    if kr.kind == "milestone":
        return "done" if kr.done else "not done" if kr.done is not None else "not marked"
    if kr.kind == "checklist":
        return f"{kr.checklist[0]} of {kr.checklist[1]} done" if kr.checklist else "no items"
    current = _with_unit(r.current, kr.unit) if r.current is not None else "no value"
    target = _with_unit(kr.target, kr.unit) if kr.target is not None else "no target"
    start = f" \u00b7 start {_with_unit(kr.start, kr.unit)}" if kr.start is not None else ""
    return f"now {current} \u00b7 target {target}{start}"


def _goal(o: Objective | None, cycle_text: str | None, now: datetime, settings: EvalSettings) -> float | None:
    """Today's goal line: the fraction of the cycle gone times the success score."""
    cycle = settings.cycle(o.cycle if o is not None else cycle_text)
    if not isinstance(cycle, Cycle) or not cycle.started(now):
        return None
    return elapsed(cycle, now) * settings.success(o.type if o is not None else None)


def _kr_goal(
    kr: KeyResult | None, o: Objective | None, goal: float | None, now: datetime, settings: EvalSettings
) -> float | None:
    """A key result takes its objective's type, and its own cycle where it has one."""
    if kr is None or not (kr.cycle and kr.cycle.strip()):
        return goal
    cycle = settings.cycle(kr.cycle)
    if not isinstance(cycle, Cycle) or not cycle.started(now):
        return None
    return elapsed(cycle, now) * settings.success(o.type if o is not None else None)


def views_of(
    evaluation: Evaluation,
    *,
    kpis: Sequence[KPI],
    objectives: Sequence[Objective],
    errors: Sequence[ItemError],
    now: datetime,
    settings: EvalSettings,
    history: Mapping[str, Sequence[tuple[datetime, float | None]]],
) -> Part:
    """One pass's results as view objects, at that pass's ``now``."""
    now = settings.local(now)
    kpi_in = {k.id: k for k in kpis}
    obj_in = {o.id: o for o in objectives}
    kr_in = {kr.id: kr for o in objectives for kr in o.key_results}
    kpi_views = [_kpi_view(r, kpi_in.get(r.id), history.get(r.id, ()), now) for r in evaluation.kpis]
    obj_views = []
    for r in evaluation.objectives:
        o = obj_in.get(r.id)
        goal = _goal(o, r.cycle, now, settings)
        krs = [
            KeyResultView(
                id=kr.id,
                title=kr.title,
                status=kr.status,
                progress=kr.progress,
                progress_json=_json(kr.progress),
                measure=_measure(kr, kr_in.get(kr.id)),
                reason=kr.reason if kr.status in ("no_data", "invalid") else None,
                forecast=getattr(kr, "forecast", None),
                kpi=kr.kpi,
                goal=_kr_goal(kr_in.get(kr.id), o, goal, now, settings),
            )  # fmt: skip
            for kr in r.key_results
        ]
        obj_views.append(
            ObjectiveView(
                id=r.id,
                title=r.title,
                cycle=r.cycle,
                status=r.status,
                score=r.score,
                score_json=_json(r.score),
                final=r.final,
                goal=goal,
                reason=r.reason,
                owner=o.owner if o else None,
                type=(o.type if o and o.type else settings.default_type),
                parent=getattr(r, "parent", None),
                children=list(getattr(r, "children", None) or []),
                forecast=getattr(r, "forecast", None),
                key_results=krs,
                source=r.source,
            )  # fmt: skip
        )
    return Part(
        now=now,
        kpis=kpi_views,
        objectives=obj_views,
        warnings=[(w.code, w.item, w.message) for w in evaluation.warnings],
        errors=[(e.source, e.item, e.message) for e in errors],
    )


# --- the page ---------------------------------------------------------------------------


def _age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return ""
    seconds = (now - then).total_seconds()
    if seconds < 0:
        return "after this page's time"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _tree(objectives: list[ObjectiveView]) -> list[tuple[str, list[ObjectiveView]]]:
    """Objectives per cycle, each cycle a forest along ``parent``.

    A child sits under its parent even when the parent's cycle is another
    (a quarter's objective under the year's); a parent that is not on the page
    leaves the child a root. Loops are cut where they close.
    """
    by_id = {o.id: o for o in objectives}
    for o in objectives:
        o.nodes = []
    placed: set[str] = set()

    def root_of(o: ObjectiveView) -> ObjectiveView:
        seen = {o.id}
        while o.parent in by_id and o.parent not in seen:
            seen.add(o.parent)
            o = by_id[o.parent]
        return o

    roots: list[ObjectiveView] = []
    for o in objectives:
        if o.parent in by_id and root_of(o) is not o:
            continue
        roots.append(o)

    def attach(node: ObjectiveView) -> None:
        placed.add(node.id)
        for child in objectives:
            if child.parent == node.id and child.id not in placed and child is not node:
                child.elsewhere = child.cycle != node.cycle
                node.nodes.append(child)
                attach(child)

    for root in roots:
        if root.id not in placed:
            attach(root)
    leftovers = [o for o in objectives if o.id not in placed]  # loops without a root: cut at the first
    for o in leftovers:
        if o.id not in placed:
            roots.append(o)
            attach(o)
    cycles: dict[str, list[ObjectiveView]] = {}
    for root in roots:
        cycles.setdefault(root.cycle or "", []).append(root)
    return list(cycles.items())


def _counts(statuses: Iterable[str]) -> list[tuple[str, int]]:
    counted: dict[str, int] = {}
    for s in statuses:
        counted[s] = counted.get(s, 0) + 1
    return [(s, counted[s]) for s in _WORDS if s in counted]


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("syncd", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["word"] = lambda s: _WORDS.get(s, str(s).replace("_", " "))
    env.filters["tone"] = lambda s: _TONES.get(s, "none")
    env.filters["pct"] = _pct
    env.filters["score"] = lambda v: "\u2013" if v is None else f"{v:.2f}"
    env.filters["when"] = lambda t: f"{t.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if t else ""
    return env


def render(page: Page) -> str:
    """The page as HTML: deterministic for the same :class:`Page`."""
    kpis = [k for part in page.parts for k in part.kpis]
    objectives = [o for part in page.parts for o in part.objectives]
    # Two passes may report one problem (a KPI source read to feed key results): shown once.
    warnings = list(dict.fromkeys(w for part in page.parts for w in part.warnings))
    errors = list(dict.fromkeys(e for part in page.parts for e in part.errors))
    titles = {o.id: o.title for o in objectives}
    for o in objectives:
        titles.update((kr.id, kr.title) for kr in o.key_results)
    titles.update((k.id, k.name) for k in kpis)
    made = page.made
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            csp=CSP,
            history_days=HISTORY_DAYS,
            made=made,
            dry_run=page.dry_run,
            kpis=kpis,
            kpi_counts=_counts(k.status for k in kpis),
            cycles=_tree(objectives),
            objective_counts=_counts(o.status for o in objectives),
            warnings=warnings,
            errors=errors,
            titles=titles,
            sources=[(s, _age(s.last_at, made)) for s in page.sources],
            only=page.source_names,
        )
    )


# --- syncd report ---------------------------------------------------------------------------


def _history(state: StateStore, kpis: Iterable[Any], now: datetime) -> dict[str, list[tuple[datetime, float | None]]]:
    """The values recorded for each KPI up to ``now``, oldest first."""
    found, _ = state.history({k.id: k.value for k in kpis}, (), now)
    return {kpi: [(datetime.fromtimestamp(ts, UTC), value) for ts, value in h.values] for kpi, h in found.items()}


def _last_passes(state: StateStore) -> dict[str, dict[str, Any]]:
    return {r["source"]: r for r in state.last_runs()}


def _source_views(config: Config, report: SyncReport | None, runs: Mapping[str, Mapping[str, Any]]) -> list[SourceView]:
    out = []
    for role, cfg in config.sources():
        outcome = report.sources.get(cfg.name) if report is not None else None
        run = runs.get(cfg.name)
        out.append(
            SourceView(
                name=cfg.name,
                service=(outcome.service if outcome else None) or cfg.type,
                role=role,
                read=outcome.outcome if outcome else None,
                last_at=_parse(run.get("now")) if run else None,
                last_outcome=run.get("outcome") if run else None,
                items=run.get("items") if run else None,
                writes=run.get("writes") if run else None,
            )
        )
    return out


def _parse(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def write_report(config: Config, *, now: datetime, output: str, only: Sequence[str] | None, registry: Registry) -> int:
    """``syncd report``: a dry-run pass drawn as one HTML file; the exit status of ``syncd sync``."""
    from .engine import sync
    from .state import open_store

    state = open_store(config, readonly=True)
    try:
        report = sync(config, now=now, registry=registry, dry_run=True, only=only, state=state)
        history = _history(state, report.evaluation.kpis, now)
        runs = _last_passes(state)
    finally:
        state.close()
    settings = EvalSettings.from_config(config)
    part = views_of(
        report.evaluation,
        kpis=report.items.kpis,
        objectives=report.items.objectives,
        errors=report.errors,
        now=now,
        settings=settings,
        history=history,
    )
    page = Page(
        made=settings.local(now),
        timezone=config.syncd.timezone,
        dry_run=True,
        parts=[part],
        sources=_source_views(config, report, runs),
        source_names=list(only or []),
    )
    html = render(page)
    if output == "-":
        sys.stdout.write(html)
        sys.stdout.flush()
    else:
        try:
            _write_atomically(Path(output), html)
        except OSError as e:
            raise ConfigError([f"--output {output}: cannot write the page there: {e.strerror or e}"]) from None
    return report.exit_code


def _write_atomically(path: Path, text: str) -> None:
    """A reader (a browser, a mail job) never sees half a page."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- GET / in syncd run ------------------------------------------------------------------------


class LivePage:
    """The page of ``syncd run``: each completed pass replaces its source's part.

    A pass only hands its report over (:meth:`observe`): the views
    (sparklines included) and the HTML are built by a worker thread of the
    page's own, so the page never lengthens a pass (nor delays a stop), and a
    request only sends bytes already made: it never reads a source and never
    waits for a render. A page whose ages are a minute old is still served at
    once, and brought up to date behind it.
    """

    #: How long a rendered page is served before its ages are brought up to date.
    MAX_AGE = 60.0

    def __init__(self, config: Config, *, background: bool = True):
        self._lock = threading.Lock()  # the data below
        self._build_lock = threading.Lock()  # one build (views, then HTML) at a time
        self._config = config
        self._settings = EvalSettings.from_config(config)
        self._parts: dict[str, Part] = {}
        self._runs: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, tuple[SyncReport, StateStore]] = {}
        self._html: bytes | None = None
        self._rendered = 0.0
        self._background = background
        self._wake = threading.Event()
        self._closed = False
        self._worker: threading.Thread | None = None

    def seed(self, runs: Iterable[Mapping[str, Any]]) -> None:
        """The passes recorded before this start (``StateStore.last_runs``): their time and outcome."""
        with self._lock:
            for run in runs:
                self._runs.setdefault(run["source"], dict(run))

    def configure(self, config: Config) -> None:
        """After a reload: sources no longer configured leave the page."""
        names = {cfg.name for _, cfg in config.sources()}
        with self._lock:
            self._config = config
            self._settings = EvalSettings.from_config(config)
            self._parts = {n: p for n, p in self._parts.items() if n in names}
            self._pending = {n: p for n, p in self._pending.items() if n in names}
        self._kick()

    def observe(self, name: str, report: SyncReport, state: StateStore) -> None:
        """Take the pass of source ``name`` that just ended (the page is built behind it)."""
        outcome = report.sources[name]
        with self._lock:
            self._pending[name] = (report, state)
            self._runs[name] = {
                "now": report.now.isoformat(),
                "outcome": outcome.outcome,
                "items": outcome.items,
                "writes": outcome.writes,
            }
        self._kick()

    def crashed(self, name: str, now: datetime, reason: str) -> None:
        """A pass of ``name`` that ended in an exception: its last items stay, with the error."""
        with self._lock:
            self._pending.pop(name, None)
            kept = self._parts.get(name)
            self._parts[name] = Part(
                now=kept.now if kept else now, kpis=kept.kpis if kept else [],
                objectives=kept.objectives if kept else [], warnings=kept.warnings if kept else [],
                errors=[(name, "", reason)],
            )  # fmt: skip
            self._runs[name] = {"now": now.isoformat(), "outcome": "failed"}
        self._kick()

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker (before the state store it reads history from is closed)."""
        self._closed = True
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout)

    def _kick(self) -> None:
        if not self._background:
            self.build()
            return
        with self._lock:
            if self._closed:
                return
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="report-page", daemon=True)
                self._worker.start()
        self._wake.set()

    def _work(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            try:
                self.build()
            except Exception:  # noqa: BLE001 - the page must never take the service down
                log.exception("report page: could not build the page")

    def build(self, now: datetime | None = None) -> bytes:
        """Build the parts of the passes handed over, then the page (``now``: its time, default the clock).

        Builds run one at a time, each from the data as it is when it starts,
        so the last one to finish is the newest.
        """
        with self._build_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
                settings = self._settings
            for name, (report, state) in pending.items():
                part = self._part(name, report, state, settings)
                with self._lock:
                    self._parts[name] = part
            with self._lock:
                order = [cfg.name for _, cfg in self._config.sources()]
                page = Page(
                    made=now or datetime.now(UTC),
                    timezone=self._config.syncd.timezone,
                    dry_run=False,
                    parts=[self._parts[n] for n in order if n in self._parts],
                    sources=_source_views(self._config, None, self._runs),
                )
            html = render(page).encode("utf-8")
            with self._lock:
                self._html, self._rendered = html, time.monotonic()
            return html

    def _part(self, name: str, report: SyncReport, state: StateStore, settings: EvalSettings) -> Part:
        history = _history(state, report.evaluation.kpis, report.now)
        part = views_of(
            report.evaluation,
            kpis=report.items.kpis,
            objectives=report.items.objectives,
            errors=report.errors,
            now=report.now,
            settings=settings,
            history=history,
        )
        kept = self._parts.get(name)
        if report.sources[name].outcome == "failed" and kept is not None:
            # A failed read knows nothing of the items: keep the last good ones, show the error.
            part = Part(now=kept.now, kpis=kept.kpis, objectives=kept.objectives, warnings=kept.warnings,
                        errors=part.errors)  # fmt: skip
        return part

    def html(self) -> bytes:
        """``GET /``: the page as last built (built now only before the first build)."""
        with self._lock:
            html = self._html
            stale = time.monotonic() - self._rendered > self.MAX_AGE
        if html is None:
            return self.build()
        if stale:
            self._kick()
        return html
