"""One pass, one way through: read, normalise, evaluate, diff, write, record.

The engine sees items and patches only. Which service a source talks to is
the connector's business; how values are judged is the evaluation's (pure).
One failing source fails its own items only: the others still sync.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .config import Config, ConfigError
from .diff import desired_patches
from .duplicates import duplicate_warnings
from .evaluate import EvalSettings, evaluate
from .logs import Redactor, secret_values
from .model import KPI, Evaluation, ItemError, KeyResult, Objective, Patch, ReadResult, Warning
from .registry import Registry
from .source import Deferred, Performed, Role, Source, SourceContext, SourceError, perform
from .state import StateStore, open_store

if TYPE_CHECKING:
    from .http import Runtime

__all__ = ["SyncReport", "SourceOutcome", "sync", "select_sources", "paused_gc"]

log = logging.getLogger("syncd.engine")

#: The cache key under which a shared store keeps a KPI source's last KPIs.
_SHARED_KPIS = "kpis:last_pass"
_KEPT_FIELDS = (
    "id", "name", "value", "value_reason", "unit", "direction", "green", "red", "threshold_reason",
    "owner", "cadence", "source", "where", "problems",
)  # fmt: skip


def _kpi_to_json(k: KPI) -> dict[str, Any]:
    """What another replica's OKR pass needs of a KPI (never its write handle)."""
    out = {f: getattr(k, f) for f in _KEPT_FIELDS}
    out["updated"] = k.updated.isoformat() if k.updated is not None else None
    return out


def _kpi_from_json(d: dict[str, Any]) -> KPI:
    values: dict[str, Any] = {f: d.get(f) for f in _KEPT_FIELDS if f in d}
    for band in ("green", "red"):
        if isinstance(values.get(band), list):
            values[band] = tuple(values[band])
    values["problems"] = list(values.get("problems") or [])
    updated = d.get("updated")
    if isinstance(updated, str):
        values["updated"] = datetime.fromisoformat(updated) if "T" in updated else date.fromisoformat(updated)
    return KPI(**values)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector while evaluating, diffing and recording (and a local file's read).

    Each allocates a few objects per item and makes no reference cycles; left
    on, the collector rescans every live item again and again as a run grows,
    which made 100,000 items cost 17 times what 10,000 do, not 10. On the way
    out, what was made meanwhile goes straight to the oldest generation
    (``freeze`` then ``unfreeze`` move lists, they scan nothing): else the first
    allocation after the pause scans every one of those objects as young, 48 ms
    for 100,000 items, to find no garbage.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


@dataclass
class SourceOutcome:
    name: str
    service: str
    role: str
    #: ``ok``, ``partial`` (work deferred to the next pass), ``failed``, or
    #: ``read_only`` (read only to feed key results, not synced).
    outcome: str = "ok"
    items: int = 0
    writes: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    retry_after: float | None = None


@dataclass
class SyncReport:
    now: datetime
    dry_run: bool
    evaluation: Evaluation
    writes: list[Patch]
    errors: list[ItemError]
    api_calls: dict[str, int]
    sources: dict[str, SourceOutcome]
    duration: float = 0.0
    #: The items as read (thresholds, targets, units): the report draws with them.
    items: ReadResult = field(default_factory=ReadResult)

    @property
    def exit_code(self) -> int:
        """0 all went well; 1 a source could not be read or some writes failed."""
        return 1 if self.errors else 0

    def to_json(self) -> dict[str, Any]:
        """The spec's JSON object (section 4); keys may be added, never removed."""
        ev = self.evaluation
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "kpis": [
                {
                    "id": k.id,
                    "name": k.name,
                    "value": k.value,
                    "unit": k.unit,
                    "status": k.status,
                    "stale": k.stale,
                    "reason": k.reason,
                    "trend": k.trend,
                    "change": k.change,
                    "source": k.source,
                }
                for k in ev.kpis
            ],
            "objectives": [
                {
                    "id": o.id,
                    "title": o.title,
                    "cycle": o.cycle,
                    "score": o.score,
                    "status": o.status,
                    "final": o.final,
                    "reason": o.reason,
                    "source": o.source,
                    "parent": o.parent,
                    "children": o.children,
                    "forecast": o.forecast,
                    "key_results": [
                        {
                            "id": kr.id,
                            "title": kr.title,
                            "current": kr.current,
                            "progress": kr.progress,
                            "status": kr.status,
                            "reason": kr.reason,
                            "forecast": kr.forecast,
                        }
                        for kr in o.key_results
                    ],
                }
                for o in ev.objectives
            ],
            "warnings": [{"code": w.code, "item": w.item, "message": w.message} for w in ev.warnings],
            "writes": [
                {"source": p.source, "item": p.item, "field": p.field, "old": p.old, "new": p.new} for p in self.writes
            ],
            "errors": [{"source": e.source, "item": e.item, "message": e.message} for e in self.errors],
            "api_calls": self.api_calls,
            "sources": {
                name: {"outcome": s.outcome, "items": s.items, "writes": s.writes, "notes": s.notes}
                for name, s in self.sources.items()
            },
        }


def select_sources(config: Config, only: Sequence[str] | None) -> tuple[list[tuple[Role, Any]], list[tuple[Role, Any]]]:
    """(sources to sync, KPI sources read only to feed key results).

    With ``--source``, only the named sources are synced; KPI sources that key
    results link to are still read, but not written.
    """
    every = config.sources()
    if not only:
        return every, []
    names = {cfg.name for _, cfg in every}
    unknown = [n for n in only if n not in names]
    if unknown:
        raise ConfigError(
            [f"--source {n}: no source of that name; the sources are {', '.join(sorted(names))}" for n in unknown],
            config.path,
        )
    chosen = [(role, cfg) for role, cfg in every if cfg.name in only]
    feeders: list[tuple[Role, Any]] = []
    if any(role == "okrs" for role, _ in chosen):
        feeders = [(role, cfg) for role, cfg in every if role == "kpis" and cfg.name not in only]
    return chosen, feeders


def sync(
    config: Config,
    *,
    now: datetime,
    registry: Registry,
    runtime: Runtime | None = None,
    dry_run: bool = False,
    only: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    state: StateStore | None = None,
    sources: Sequence[tuple[Role, Any]] | None = None,
    feeders_from_state: Collection[str] = (),
) -> SyncReport:
    """Run one pass over the configured (or given) sources.

    ``registry`` opens each source by its type; ``runtime`` (pacers, retry
    policy, stop token) is the composition root's, else one made when a source first asks.
    ``sources`` overrides the selection (the daemon syncs one source at a time);
    ``state`` lets the daemon keep one store open. A dry run opens the store
    read-only and writes nothing anywhere. ``feeders_from_state`` names KPI
    sources another replica holds: their KPIs come from that replica's last
    pass (kept in a shared store), so this one makes no call with their credential.
    """
    started = time.monotonic()
    wall_started = datetime.now(now.tzinfo)
    if sources is not None:
        chosen, feeders = list(sources), list[tuple[Role, Any]]()
        if any(role == "okrs" for role, _ in chosen):
            names = {cfg.name for _, cfg in chosen}
            feeders = [(r, c) for r, c in config.sources() if r == "kpis" and c.name not in names]
    else:
        chosen, feeders = select_sources(config, only)
    own_state = state is None
    if state is None:
        state = open_store(config, readonly=dry_run)
    ctx = SourceContext(
        config=config,
        cache=state,
        env=os.environ if env is None else env,
        dry_run=dry_run,
        now=now,
        runtime=runtime,
    )
    openers = registry.for_pass(ctx)
    outcomes: dict[str, SourceOutcome] = {}
    errors: list[ItemError] = []
    open_sources: dict[str, Source] = {}
    kpis: list[KPI] = []
    objectives: list[Objective] = []
    read_errors: list[Warning] = []
    feeder_names = {cfg.name for _, cfg in feeders}
    try:
        # 1. read and normalise
        for role, cfg in [*chosen, *feeders]:
            outcome = outcomes[cfg.name] = SourceOutcome(cfg.name, cfg.type, role)
            if cfg.name in feeder_names:
                outcome.outcome = "read_only"
                if cfg.name in feeders_from_state:
                    kept = state.get(cfg.name, _SHARED_KPIS) or []
                    kpis.extend(_kpi_from_json(k) for k in kept)  # type: ignore[attr-defined]
                    outcome.items = len(kept)  # type: ignore[arg-type]
                    outcome.notes.append("KPIs from the last pass of the replica that holds this source")
                    continue
            try:
                source = openers.open(role, cfg)
                open_sources[cfg.name] = source
                outcome.service = source.service
                result = source.read()
                # 1b. prepare: schema set-up and pending once-only effects, shown by a dry run
                actions = source.prepare()
                done = Performed(notes=[f"would {a.description}" for a in actions]) if dry_run else perform(actions)
            except Deferred as e:
                _fail(outcome, errors, str(e), "partial")
                outcome.retry_after = e.retry_after
                continue
            except SourceError as e:
                _fail(outcome, errors, str(e), "failed")
                continue
            except Exception as e:  # noqa: BLE001 - a bug or an unforeseen answer fails this source only
                log.debug("reading %s raised", cfg.name, exc_info=True)
                _fail(
                    outcome,
                    errors,
                    f"{cfg.type} source {cfg.name!r} could not be read: the answer was not what syncd expects "
                    f"({type(e).__name__}: {e}); nothing written; check base_url and any proxy in between",
                    "failed",
                )
                continue
            outcome.notes.extend(result.notes)
            outcome.notes.extend(done.notes)
            result.errors.extend(done.errors)
            kpis.extend(result.kpis)
            objectives.extend(result.objectives)
            outcome.items = (
                len(result.kpis) + len(result.objectives) + sum(len(o.key_results) for o in result.objectives)
            )
            read_errors.extend(Warning(code="unreadable_item", item=e.item, message=e.message) for e in result.errors)
            read_errors.extend(
                Warning(code="unreadable_item", item=o.id, message=p) for o in result.objectives for p in o.problems
            )
            read_errors.extend(duplicate_warnings(result))

        # 2. evaluate (pure)
        read_okrs = {n for n, out in outcomes.items() if out.role == "okrs" and out.outcome == "ok"}
        context = _context(config, state, read_okrs, now)  # the OKR sources this pass did not read, as last seen
        history, kr_history = state.history(
            {k.id: k.value for k in kpis}, (kr.id for o in objectives for kr in o.key_results), now
        )
        with paused_gc():
            evaluation = evaluate(
                kpis,
                objectives,
                now=now,
                settings=EvalSettings.from_config(config),
                history=history,
                key_result_history=kr_history,
                context=context,
            )
        evaluation.warnings[:0] = read_errors
        _label_sources(evaluation, kpis, objectives)
        if feeder_names:
            evaluation.kpis = [k for k in evaluation.kpis if k.source not in feeder_names]
            fed = {k.id for k in kpis if k.source in feeder_names}
            evaluation.warnings = [
                w for w in evaluation.warnings if not (w.code == "red_kpi_without_okr" and w.item in fed)
            ]

        # 3. diff
        with paused_gc():
            patches = [p for p in desired_patches(evaluation, kpis, objectives) if p.source not in feeder_names]
        by_source: dict[str, list[Patch]] = defaultdict(list)
        for p in patches:
            by_source[p.source].append(p)

        # 4. write
        written: list[Patch] = []
        for name, source_patches in by_source.items():
            outcome = outcomes[name]
            if dry_run or outcome.outcome != "ok":
                if dry_run:
                    written.extend(source_patches)
                continue
            if runtime is not None and runtime.stop.is_set():  # SIGTERM, or the lease not held: a write in
                _fail(outcome, errors, runtime.stop.reason(), "partial")  # flight finishes, no new one starts
                continue
            written.extend(_write(open_sources[name], source_patches, outcome, errors))
        if not dry_run:  # sources that batch across sources of one service send now
            written = _flush(open_sources, outcomes, written, errors)

        # Every message leaves through the one redactor: output, state store, alerts.
        _redact_pass(Redactor(secret_values(config, ctx.env)), evaluation, errors, outcomes)

        # 5. record
        if not dry_run:
            with paused_gc():  # a row per item and no cycles, as in evaluate: no rescan of every item
                state.record_kpi_values({k.id: k.value for k in kpis if k.source not in feeder_names}, now, history)
                state.record_key_result_values(
                    {kr.id: kr.current for o in evaluation.objectives for kr in o.key_results}, now
                )
                state.record_writes(written, now)
            _record_outlines(state, objectives, read_okrs, now)
            if getattr(state, "shared", False):  # replicas: what an OKR pass elsewhere reads instead of calling
                for name, outcome in outcomes.items():
                    if outcome.role == "kpis" and outcome.outcome == "ok" and name not in feeder_names:
                        state.put(
                            name,
                            _SHARED_KPIS,
                            [_kpi_to_json(k) for k in kpis if k.source == name],
                        )
            for name, outcome in outcomes.items():
                if outcome.outcome == "read_only":
                    continue
                state.record_run(
                    name,
                    started=wall_started,
                    now=now,
                    outcome=outcome.outcome,
                    summary=_summary(name, outcome, evaluation),
                )
            state.prune(now - config.syncd.retention)  # the store stays bounded
    finally:
        for source in open_sources.values():
            try:
                source.close()
            except Exception:  # noqa: BLE001 - closing must not hide the pass's result
                log.debug("closing %s failed", source.name, exc_info=True)
        if own_state:
            state.close()

    api_calls: Counter[str] = Counter()
    for source in open_sources.values():
        if source.service != "local":
            api_calls[source.service] += sum(source.calls.values())
    return SyncReport(
        now=now,
        dry_run=dry_run,
        evaluation=evaluation,
        writes=written,
        errors=errors,
        api_calls=dict(api_calls),
        sources=outcomes,
        duration=time.monotonic() - started,
        items=ReadResult(kpis=kpis, objectives=objectives),
    )


def _redact_pass(
    redact: Redactor, evaluation: Evaluation, errors: list[ItemError], outcomes: dict[str, SourceOutcome]
) -> None:
    """A service may echo a token in an error body: no message keeps it."""
    for e in errors:
        e.message = redact(e.message)
    for o in outcomes.values():
        o.errors = [redact(m) for m in o.errors]
        o.notes = [redact(m) for m in o.notes]
    for w in evaluation.warnings:
        w.message = redact(w.message)
    for k in evaluation.kpis:
        if k.reason:
            k.reason = redact(k.reason)
    for ob in evaluation.objectives:
        if ob.reason:
            ob.reason = redact(ob.reason)
        for kr in ob.key_results:
            if kr.reason:
                kr.reason = redact(kr.reason)


def _record_outlines(state: StateStore, objectives: list[Objective], read: set[str], now: datetime) -> None:
    """Keep each OKR source's objectives in outline (id, title, owner, parent, cycle, the KPIs its key
    results follow) for the passes that do not read it: parents resolve across sources, and a
    key result in one source clears ``red_kpi_without_okr`` for a KPI read in another."""
    outlines: dict[str, list[dict[str, Any]]] = {n: [] for n in read}  # read whole this pass
    for o in objectives:
        if o.source in outlines:
            krs = [[kr.kpi, kr.cycle] for kr in o.key_results if kr.kpi and kr.kpi.strip()]
            outlines[o.source].append(
                {"id": o.id, "title": o.title, "owner": o.owner, "parent": o.parent, "cycle": o.cycle, "krs": krs}
            )
    for name, outline in outlines.items():
        state.record_outline(name, outline, now)


def _context(config: Config, state: StateStore, read: set[str], now: datetime) -> list[Objective]:
    """The outline of every OKR source this pass did not read, as the last pass at or before ``now`` left it."""
    out: list[Objective] = []
    for cfg in config.okrs:
        if cfg.name in read:
            continue
        outline = state.outline(cfg.name, now)
        if outline is None:
            continue
        for i, o in enumerate(outline):
            try:
                krs = [
                    KeyResult(id=f"{o['id']}#{k}", title="", kpi=kpi, cycle=cycle, source=cfg.name)
                    for k, (kpi, cycle) in enumerate(o.get("krs") or [])
                ]
                out.append(Objective(id=o["id"], title=o["title"], owner=o.get("owner"), parent=o.get("parent"),
                                     cycle=o.get("cycle"), key_results=krs, source=cfg.name))  # fmt: skip
            except (KeyError, TypeError, ValueError):
                log.debug("outline of %s: entry %d unreadable; skipped", cfg.name, i)
    return out


def _label_sources(evaluation: Evaluation, kpis: list[KPI], objectives: list[Objective]) -> None:
    """Name each result's source (the JSON and the per-source summaries use it)."""
    kpi_source = {k.id: k.source for k in kpis}
    objective_source = {o.id: o.source for o in objectives}
    for k in evaluation.kpis:
        k.source = k.source or kpi_source.get(k.id, "")
    for o in evaluation.objectives:
        o.source = o.source or objective_source.get(o.id, "")


def _fail(outcome: SourceOutcome, errors: list[ItemError], message: str, kind: str) -> None:
    outcome.outcome = kind
    outcome.errors.append(message)
    errors.append(ItemError(outcome.name, "", message))
    log.warning("source %s %s: %s", outcome.name, kind, message)


def _write(source: Source, patches: list[Patch], outcome: SourceOutcome, errors: list[ItemError]) -> list[Patch]:
    try:
        failed = source.write(patches)
    except Deferred as e:
        _fail(outcome, errors, str(e), "partial")
        outcome.retry_after = e.retry_after
        return []
    except SourceError as e:
        _fail(outcome, errors, f"nothing written: {e}", "failed")
        return []
    except Exception as e:  # noqa: BLE001 - a bug or an unforeseen answer fails this source only
        log.debug("writing %s raised", source.name, exc_info=True)
        _fail(outcome, errors, f"nothing written ({type(e).__name__}: {e})", "failed")
        return []
    unwritten: set[tuple[str, str | None]] = set()
    for f in failed:
        errors.append(f)
        outcome.errors.append(f.message)
        if f.fields is None:
            unwritten.add((f.item, None))
        else:
            unwritten.update((f.item, name) for name in f.fields)
    if failed and outcome.outcome == "ok":
        outcome.outcome = "failed"
    if not unwritten:  # all landed (a first sync writes a field per row: no key built per patch)
        outcome.writes = len(patches)
        return list(patches)
    done = [p for p in patches if (p.item, None) not in unwritten and (p.item, p.field) not in unwritten]
    outcome.writes = len(done)
    return done


def _flush(
    sources: Mapping[str, Source], outcomes: dict[str, SourceOutcome], written: list[Patch], errors: list[ItemError]
) -> list[Patch]:
    """Call each open source's ``flush``; drop the patches it did not write.

    An item error is charged to the source it names (a batch may span sources),
    else to the source that flushed; a raise loses all of that source's writes.
    """
    lost: set[str] = set()
    unwritten: set[tuple[str, str, str | None]] = set()
    for name, source in sources.items():
        outcome = outcomes[name]
        try:
            failed = source.flush()
        except Deferred as e:
            _fail(outcome, errors, str(e), "partial")
            outcome.retry_after = e.retry_after
            lost.add(name)
            continue
        except SourceError as e:
            _fail(outcome, errors, f"nothing written: {e}", "failed")
            lost.add(name)
            continue
        for f in failed or []:
            owner = outcomes.get(f.source, outcome)
            errors.append(f)
            owner.errors.append(f.message)
            if owner.outcome == "ok":
                owner.outcome = "failed"
            if f.fields is None:
                unwritten.add((owner.name, f.item, None))
            else:
                unwritten.update((owner.name, f.item, field) for field in f.fields)
    if not lost and not unwritten:
        return written
    done = [
        p
        for p in written
        if p.source not in lost
        and (p.source, p.item, None) not in unwritten
        and (p.source, p.item, p.field) not in unwritten
    ]
    for name in lost | {s for s, _, _ in unwritten}:
        if name in outcomes:
            outcomes[name].writes = sum(1 for p in done if p.source == name)
    return done


def _summary(name: str, outcome: SourceOutcome, evaluation: Evaluation) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    for k in evaluation.kpis:
        if k.source == name:
            statuses[k.status] += 1
    for o in evaluation.objectives:
        if o.source == name:
            statuses[o.status] += 1  # every item counted: the statuses add up to "items"
            for kr in o.key_results:
                statuses[kr.status] += 1
    return {
        "service": outcome.service,
        "items": outcome.items,
        "writes": outcome.writes,
        "statuses": dict(statuses),
        "errors": outcome.errors[:20],
    }
