"""``GET /`` of ``syncd run`` with 1,000 items: how long a request takes.

Builds the live page as the service does (one KPI source with 400 KPIs, each
with 30 recorded values, and one OKR source with 100 objectives of 5 key
results: 1,000 items), serves it with the service's own HTTP server on
loopback, and times requests from a client, idle and while passes keep ending
(each builds the page again in another thread, as the page's worker does after every pass).
The promise: under 50 ms for 1,000 items. Run: ``python3 bench/bench_report.py [requests]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from syncd.config import load_config
from syncd.engine import SourceOutcome, SyncReport
from syncd.evaluate import EvalSettings, evaluate
from syncd.model import KPI, KeyResult, Objective, ReadResult
from syncd.observe import HealthServer, Metrics
from syncd.report import LivePage
from syncd.state import SQLiteStore

NOW = datetime(2026, 11, 15, 9, tzinfo=UTC)


def _items() -> tuple[list[KPI], list[Objective]]:
    kpis = [
        KPI(
            id=f"K{i}",
            name=f"KPI number {i}",
            value=90.0 + i % 10,
            unit="%",
            direction="higher",
            green=95.0,
            red=90.0,
            owner="Ops",
            cadence="weekly",
            source="kpis",
        )  # fmt: skip
        for i in range(400)
    ]
    objectives = [
        Objective(
            id=f"O{o}",
            title=f"Objective {o}: make something measurably better",
            owner=f"Team {o % 7}",
            cycle="2026-Q4",
            source="okrs",
            key_results=[
                KeyResult(
                    id=f"O{o}-{k}",
                    title=f"Key result {k} of objective {o}",
                    start=0,
                    target=100,
                    current=float((o * 7 + k * 13) % 100),
                    source="okrs",
                )
                for k in range(5)
            ],
        )  # fmt: skip
        for o in range(100)
    ]
    return kpis, objectives


def _report(kpis: list[KPI], objectives: list[Objective], name: str, role: str) -> SyncReport:
    ev = evaluate(kpis, objectives, now=NOW, settings=EvalSettings())
    items = len(kpis) + len(objectives) + sum(len(o.key_results) for o in objectives)
    return SyncReport(
        now=NOW, dry_run=False, evaluation=ev, writes=[], errors=[], api_calls={},
        sources={name: SourceOutcome(name, "csv", role, items=items)},
        items=ReadResult(kpis=kpis, objectives=objectives),
    )  # fmt: skip


def main(n: int = 200) -> None:
    kpis, objectives = _items()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "k.csv").write_text("KPI,Value\n", encoding="utf-8")
        (folder / "o.csv").write_text("Objective,Key result\n", encoding="utf-8")
        (folder / "syncd.toml").write_text(
            '[syncd]\nstate = "s.db"\n[[kpis]]\nname = "kpis"\ntype = "csv"\npath = "k.csv"\n'
            '[[okrs]]\nname = "okrs"\ntype = "csv"\npath = "o.csv"\n',
            encoding="utf-8",
        )
        config = load_config(folder / "syncd.toml")
        store = SQLiteStore(folder / "s.db")
        for day in range(30, 0, -1):  # 30 recorded values each, one per 3 days
            at = NOW - timedelta(days=3 * day)
            store.record_kpi_values({k.id: (k.value or 0) - day % 7 for k in kpis}, at)
        page = LivePage(config, background=False)  # passes build in the benchmark's own threads
        started = time.perf_counter()
        page.observe("kpis", _report(kpis, [], "kpis", "kpis"), store)
        page.observe("okrs", _report([], objectives, "okrs", "okrs"), store)
        built = time.perf_counter() - started
        server = HealthServer("127.0.0.1:0", Metrics(), lambda: (True, {}), page=page.html)
        try:
            with httpx.Client() as client:
                first = client.get(server.url + "/")
                assert first.status_code == 200 and first.text.count("data-kr-id") == 500
                size = len(first.content)
                cached = []
                for _ in range(n):
                    t = time.perf_counter()
                    r = client.get(server.url + "/")
                    cached.append(time.perf_counter() - t)
                    assert r.status_code == 200
                busy, renders = [], []
                stop = threading.Event()

                def passes() -> None:  # passes ending one after another, in another thread
                    while not stop.is_set():
                        t = time.perf_counter()
                        page.observe("okrs", _report([], objectives, "okrs", "okrs"), store)
                        renders.append(time.perf_counter() - t)

                worker = threading.Thread(target=passes)
                worker.start()
                try:
                    for _ in range(n):
                        t = time.perf_counter()
                        r = client.get(server.url + "/")
                        busy.append(time.perf_counter() - t)
                        assert r.status_code == 200
                finally:
                    stop.set()
                    worker.join()
        finally:
            server.close()
            store.close()

    def ms(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1] * 1000

    print(f"1,000 items (400 KPIs with 30 values each, 100 objectives x 5 key results); page {size / 1024:.0f} KiB")
    print(
        f"first build of the page after both passes (template compiled, history read; never in a request): {built * 1000:.1f} ms"
    )
    print(f"GET / served as rendered:    p50 {ms(cached, 50):.2f} ms, p95 {ms(cached, 95):.2f} ms ({n} requests)")
    print(
        f"GET / while passes end:      p50 {ms(busy, 50):.2f} ms, p95 {ms(busy, 95):.2f} ms, "
        f"max {max(busy) * 1000:.2f} ms ({n} requests, {len(renders)} passes of {statistics.median(renders) * 1000:.0f} ms)"
    )
    worst = max(ms(cached, 95), ms(busy, 95))
    print(f"promise: p95 under 50 ms -> {'kept' if worst < 50 else 'BROKEN'} (worst p95 {worst:.1f} ms)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
