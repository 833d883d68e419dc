"""Evaluation and diffing are not the bottleneck: CPU and memory as sources grow.

Builds N items (KPIs, and objectives of 4 key results each, half of them
linked to KPIs), then measures the CPU time of ``evaluate`` + ``desired_patches``
and the peak memory they allocate, without history and with the history a
weekly check-in leaves six weeks into the quarter (a value a week for every KPI
and key result: the history-based rules at work); then a whole local
``syncd sync --dry-run`` of a CSV with N KPI rows, on an empty state store and
on one holding those weeks. Run: ``python3 bench/bench_evaluate.py [N ...]``.
"""

from __future__ import annotations

import inspect
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncd.config import load_config  # noqa: E402
from syncd.connectors import REGISTRY  # noqa: E402
from syncd.diff import desired_patches  # noqa: E402
from syncd.engine import paused_gc, sync  # noqa: E402
from syncd.evaluate import EvalSettings, evaluate  # noqa: E402
from syncd.model import KPI, KeyResult, KpiHistory, Objective  # noqa: E402

NOW = datetime(2026, 11, 15, 9, tzinfo=UTC)
#: Weekly passes recorded before NOW, from the first week of Q4.
WEEKS = [NOW - timedelta(weeks=w) for w in range(6, 0, -1)]


def _history(kpis: list[KPI], objectives: list[Objective]) -> tuple[dict, dict]:
    """A value a week for every KPI and key result, drifting: what six weekly passes recorded."""
    rnd = random.Random(len(kpis))
    kpi_history = {}
    for k in kpis:
        base = k.value or 0.0
        values = tuple((t.timestamp(), base + rnd.uniform(-5, 5)) for t in WEEKS)
        try:
            kpi_history[k.id] = KpiHistory(previous=values[-1][1], values=values)
        except TypeError:  # a syncd from before the history-based rules: the trend is all it reads
            kpi_history[k.id] = KpiHistory(previous=values[-1][1])
    kr_history = {}
    for o in objectives:
        for kr in o.key_results:
            cur = kr.current or 0.0
            kr_history[kr.id] = tuple((t.timestamp(), max(0.0, cur - 3 * (6 - i))) for i, t in enumerate(WEEKS))
    return kpi_history, kr_history


def _items(n: int) -> tuple[list[KPI], list[Objective]]:
    rnd = random.Random(n)
    kpis = [
        KPI(
            id=f"k{i}",
            name=f"KPI {i}",
            value=rnd.uniform(0, 100),
            direction="higher",
            green=80.0,
            red=50.0,
            cadence="weekly",
            updated=datetime(2026, 11, rnd.randint(1, 14), tzinfo=UTC),
            source="bench",
            written={"status": "Green"},
        )
        for i in range(n // 2)
    ]
    objectives = []
    for o in range(n // 10):
        krs = [
            KeyResult(
                id=f"o{o}k{k}",
                title=f"Raise thing {k}",
                objective=f"o{o}",
                start=0,
                target=100,
                current=rnd.uniform(0, 100),
                kpi=f"k{rnd.randrange(len(kpis))}" if k % 2 else None,
                source="bench",
                written={"progress": 0.5, "status": "On track"},
            )
            for k in range(4)
        ]
        objectives.append(
            Objective(
                id=f"o{o}",
                title=f"Objective {o}",
                owner=f"team {o % 50}",
                cycle="2026-Q4",
                key_results=krs,
                source="bench",
                written={"status": "On track"},
            )
        )
    return kpis, objectives


def bench_evaluation(n: int, with_history: bool = False) -> tuple[int, float, float, float]:
    kpis, objectives = _items(n)
    history: dict = {k.id: KpiHistory() for k in kpis}
    extra: dict = {}
    if with_history:
        history, kr_history = _history(kpis, objectives)
        if "key_result_history" in inspect.signature(evaluate).parameters:
            extra = {"key_result_history": kr_history}
    settings = EvalSettings()

    def run() -> list:
        with paused_gc():  # as the engine runs them
            result = evaluate(kpis, objectives, now=NOW, settings=settings, history=history, **extra)
            return desired_patches(result, kpis, objectives)

    cpu = time.process_time()
    patches = run()
    cpu = time.process_time() - cpu
    # Memory in a second run: tracemalloc slows Python down, so it never times.
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    items = len(kpis) + len(objectives) + sum(len(o.key_results) for o in objectives)
    assert len(patches) > 0
    # The steady state: every source already shows what syncd wants.
    by_id = {i.id: i for i in [*kpis, *objectives, *(kr for o in objectives for kr in o.key_results)]}
    for p in patches:
        by_id[p.item].written[p.field] = p.new
    steady = time.process_time()
    assert run() == []
    steady = time.process_time() - steady
    return items, cpu, steady, peak / 2**20


def bench_csv_sync(n: int, with_history: bool = False) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "k.csv"
        rnd = random.Random(n)
        with path.open("w") as f:
            f.write("KPI,Value,Direction,Green,Red,Cadence,Updated,Status\n")
            for i in range(n):
                f.write(f"KPI {i},{rnd.uniform(0, 100):.1f}%,higher,80,50,weekly,2026-11-10,\n")
        cfg = Path(tmp) / "s.toml"
        cfg.write_text('[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\n')
        config = load_config(cfg)
        if with_history:  # the state store of six weekly passes
            from syncd.state import open_store

            store = open_store(config)
            for t in WEEKS:
                store.record_kpi_values({f"k:KPI {i}": rnd.uniform(0, 100) for i in range(n)}, t)
            store.close()
        cpu, wall = time.process_time(), time.perf_counter()
        report = sync(config, now=NOW, registry=REGISTRY, dry_run=True)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        tracemalloc.start()
        sync(config, now=NOW, registry=REGISTRY, dry_run=True)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(report.writes) == n
        return cpu, wall, peak / 2**20


def main(sizes: list[int]) -> None:
    print("evaluate + diff (pure): CPU when every item changes, and when none does")
    print(f"{'items':>9} {'history':>8} {'CPU s':>8} {'steady s':>9} {'peak MiB':>9} {'KiB/item':>9}")
    for n in sizes:
        for with_history in (False, True):
            items, cpu, steady, peak = bench_evaluation(n, with_history)
            print(
                f"{items:>9,} {'6 weeks' if with_history else 'none':>8} {cpu:>8.3f} {steady:>9.3f} "
                f"{peak:>9.1f} {peak * 1024 / items:>9.2f}"
            )
    print("\nsyncd sync --dry-run of a CSV KPI source (read, parse, history read, evaluate, diff)")
    print(f"{'rows':>9} {'history':>8} {'CPU s':>8} {'wall s':>8} {'peak MiB':>9} {'KiB/row':>9}")
    for n in sizes:
        for with_history in (False, True):
            cpu, wall, peak = bench_csv_sync(n, with_history)
            label = "6 weeks" if with_history else "none"
            print(f"{n:>9,} {label:>8} {cpu:>8.3f} {wall:>8.3f} {peak:>9.1f} {peak * 1024 / n:>9.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000])
