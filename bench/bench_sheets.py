"""Benchmark: the Google Sheets source against the loopback fake.

    python bench/bench_sheets.py [--sizes 100,1000,10000] [--pacing-calls 70]

Part 1, floor and cost: for each size, a KPI sheet of that many rows (Status
empty) is synced twice through the engine (`syncd.engine.sync`): the first
run writes every Status cell, the second finds nothing to change. Reported:
API calls by kind (from the fake's counters), wall time, CPU time of the
syncd process, and peak Python memory (tracemalloc, in a separate third run).
The fake runs in a child process so CPU and memory are syncd's alone.
Pacing is lifted for this part (`sheets_per_minute` = 1e6) so the figures
show syncd's own cost, not the rate limit's waits.

Part 2, pacing: N calls (default 70, i.e. about 74 s; bounded on purpose)
through the real default pacer (60 requests per minute per service account)
against a fake that enforces 60/min with Google's 429. Reported: 429s seen,
the most requests the fake saw in any 60 s window, and the achieved rate.
`--pacing-calls 0` skips it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = "1BenchSheetKeyAbCdEfGhIj"
HEADER = ["KPI", "Value", "Unit", "Direction", "Green", "Red", "Owner", "Status", "Notes"]
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _rows(n: int) -> list[list[Any]]:
    values = ["99.6%", "98.0%", "90.1%", "1,234.5", "n/a"]
    return [HEADER] + [
        [f"KPI {i}", values[i % 5], "%", "higher", "99.5", "95", "ops", "", f"={i}+1"] for i in range(1, n + 1)
    ]


def _serve(conn: Any) -> None:
    """The fake, in its own process, driven by commands over a pipe."""
    from tests.fakes.server import RateLimit
    from tests.fakes.sheets import FakeSheets

    with FakeSheets() as fake:
        conn.send((fake.url, fake.service_account()))
        while True:
            cmd, *args = conn.recv()
            if cmd == "seed":
                fake.add_spreadsheet(KEY, {"KPIs": _rows(args[0])})
                fake.reset_counts()
                conn.send(None)
            elif cmd == "reset":
                fake.reset_counts()
                conn.send(None)
            elif cmd == "rate":
                fake.rate_limit = RateLimit(args[0], args[1])
                conn.send(None)
            elif cmd == "calls":
                peak = dict(fake.rate_limit.peak) if fake.rate_limit else {}
                conn.send((dict(fake.calls), fake.responses_429, peak))
            elif cmd == "stop":
                conn.send(None)
                return


class Fake:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self.proc.start()
        self.url, self.account = self.conn.recv()

    def __call__(self, *cmd: Any) -> Any:
        self.conn.send(cmd)
        return self.conn.recv()

    def stop(self) -> None:
        self("stop")
        self.proc.join(5)


def _config(url: str, state: Path, per_minute: float) -> Any:
    from syncd.config import Config

    return Config(
        kpis=[{"name": "bench", "type": "sheets", "spreadsheet": KEY, "worksheet": "KPIs", "base_url": url}],
        limits={"sheets_per_minute": per_minute},
        syncd={"state": str(state)},
    )


def _split(calls: dict[str, int]) -> tuple[int, int]:
    reads = sum(calls.get(k, 0) for k in ("spreadsheets.get", "values.get", "values.batchGet"))
    writes = sum(calls.get(k, 0) for k in ("values.batchUpdate", "values.update", "spreadsheets.batchUpdate"))
    return reads, writes


def _timed_sync(fake: Fake, cfg: Any, env: dict[str, str]) -> tuple[Any, float, float, dict[str, int]]:
    from syncd.connectors import REGISTRY
    from syncd.engine import sync

    fake("reset")
    wall, cpu = time.perf_counter(), time.process_time()
    report = sync(cfg, now=NOW, env=env, registry=REGISTRY)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    calls, _, _ = fake("calls")
    if report.errors:
        raise SystemExit(f"sync failed: {report.errors[0].message}")
    return report, wall, cpu, calls


def part_sizes(fake: Fake, sizes: list[int], env: dict[str, str], tmp: Path) -> None:
    print("Part 1: sync of a KPI sheet (pacing lifted; the fake runs in its own process)\n")
    print(f"{'rows':>7} {'run':<10} {'reads':>5} {'writes':>6} {'cells':>6} {'wall s':>7} {'CPU s':>6} {'peak MiB':>8}")
    for n in sizes:
        fake("seed", n)
        state = tmp / f"state-{n}.db"
        cfg = _config(fake.url, state, 1e6)
        first, w1, c1, calls1 = _timed_sync(fake, cfg, env)
        second, w2, c2, calls2 = _timed_sync(fake, cfg, env)
        # memory: a fresh first run again, traced
        fake("seed", n)
        state.unlink(missing_ok=True)
        tracemalloc.start()
        _timed_sync(fake, cfg, env)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        r1, wr1 = _split(calls1)
        r2, wr2 = _split(calls2)
        print(f"{n:>7} {'first':<10} {r1:>5} {wr1:>6} {len(first.writes):>6} {w1:>7.2f} {c1:>6.2f} {peak:>8.1f}")
        print(f"{n:>7} {'unchanged':<10} {r2:>5} {wr2:>6} {len(second.writes):>6} {w2:>7.2f} {c2:>6.2f} {'':>8}")
    print(
        f"\n(max RSS of the syncd process over part 1: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)\n"
    )


def part_pacing(fake: Fake, calls: int, env: dict[str, str]) -> None:
    import syncd.connectors.sheets.source as sheets
    from syncd.source import SourceContext

    limit = 60
    print(f"Part 2: {calls} calls through the real pacer ({limit}/min) against a fake enforcing {limit}/min")
    fake("seed", 10)
    fake("rate", limit, 60.0)
    cfg = _config(fake.url, Path(tempfile.gettempdir()) / "unused.db", limit)

    class _Cache:
        def get(self, *a: Any) -> None:
            return None

        def put(self, *a: Any) -> None:
            pass

    table = sheets.open("kpis", cfg.kpis[0], SourceContext(config=cfg, cache=_Cache(), env=env))
    http = table._client()
    started = time.perf_counter()
    for _ in range(calls):
        http.fetch_sheet_metadata(KEY)
    elapsed = time.perf_counter() - started
    seen, n429, peak = fake("calls")
    window = max(peak.values(), default=0)
    rate = (calls - 1) / elapsed * 60 if elapsed else 0.0
    print(f"  calls {seen.get('spreadsheets.get', 0)}, 429s {n429}, most in any 60 s window {window} (limit {limit}),")
    print(f"  {elapsed:.1f} s, {rate:.1f} requests/min = {rate / limit:.0%} of the limit\n")
    table.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--pacing-calls", type=int, default=70)
    args = parser.parse_args()
    fake = Fake()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sa = Path(tmp) / "sa.json"
            sa.write_text(json.dumps(fake.account))
            env = {"GOOGLE_APPLICATION_CREDENTIALS": str(sa)}
            part_sizes(fake, [int(s) for s in args.sizes.split(",") if s], env, Path(tmp))
            if args.pacing_calls > 0:
                part_pacing(fake, args.pacing_calls, env)
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
