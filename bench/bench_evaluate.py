"""Evaluation and diffing are not the bottleneck: CPU and memory as sources grow.

Builds N items (KPIs, and objectives of 4 key results each, half of them
linked to KPIs), then measures the CPU time of ``evaluate`` + ``desired_patches``
and the peak memory they allocate; then a whole local ``syncd sync --dry-run``
of a CSV with N KPI rows. Run: ``python3 bench/bench_evaluate.py [N ...]``.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncd.config import load_config  # noqa: E402
from syncd.diff import desired_patches  # noqa: E402
from syncd.engine import paused_gc, sync  # noqa: E402
from syncd.evaluate import EvalSettings, evaluate  # noqa: E402
from syncd.model import KPI, KeyResult, KpiHistory, Objective  # noqa: E402

NOW = datetime(2026, 11, 15, 9, tzinfo=UTC)


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


def bench_evaluation(n: int) -> tuple[int, float, float, float]:
    kpis, objectives = _items(n)
    history = {k.id: KpiHistory() for k in kpis}
    settings = EvalSettings()

    def run() -> list:
        with paused_gc():  # as the engine runs them
            result = evaluate(kpis, objectives, now=NOW, settings=settings, history=history)
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


def bench_csv_sync(n: int) -> tuple[float, float, float]:
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
        cpu, wall = time.process_time(), time.perf_counter()
        report = sync(config, now=NOW, dry_run=True)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        tracemalloc.start()
        sync(config, now=NOW, dry_run=True)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(report.writes) == n
        return cpu, wall, peak / 2**20


def main(sizes: list[int]) -> None:
    print("evaluate + diff (pure): CPU when every item changes, and when none does")
    print(f"{'items':>9} {'CPU s':>8} {'steady s':>9} {'peak MiB':>9} {'KiB/item':>9}")
    for n in sizes:
        items, cpu, steady, peak = bench_evaluation(n)
        print(f"{items:>9,} {cpu:>8.3f} {steady:>9.3f} {peak:>9.1f} {peak * 1024 / items:>9.2f}")
    print("\nsyncd sync --dry-run of a CSV KPI source (read, parse, evaluate, diff)")
    print(f"{'rows':>9} {'CPU s':>8} {'wall s':>8} {'peak MiB':>9} {'KiB/row':>9}")
    for n in sizes:
        cpu, wall, peak = bench_csv_sync(n)
        print(f"{n:>9,} {cpu:>8.3f} {wall:>8.3f} {peak:>9.1f} {peak * 1024 / n:>9.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000])
