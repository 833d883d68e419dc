"""Notion source: API calls, time and memory for 100, 1,000 and 5,000 pages, and pacing at 3 req/s.

Run from the repository root: ``python bench/bench_notion.py`` (about a minute).

Part 1 syncs an OKR workspace in the loopback fake through the engine with a
test-sized pace (so it measures syncd, not the rate limit): a first-ever sync
(everything written), a second sync (nothing to write), and a warm sync after
1% of the key results changed. Peak memory is measured on a separate dry run
(tracemalloc slows everything down) of the same size.

Part 2 is a short run at the real pace, 3 requests/second, against a fake
that enforces 3 requests/second with a sliding window and answers 429 with a
whole-second Retry-After, like Notion: it reports utilisation of the limit and
any 429s, first clean, then through an injected 429 storm.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncd.config import Config  # noqa: E402
from syncd.connectors import REGISTRY  # noqa: E402
from syncd.engine import sync  # noqa: E402
from tests.fakes.notion import NotionFake, RateLimit, okr_workspace  # noqa: E402

TOKEN = "secret_bench"
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def _config(fake: NotionFake, ws: dict, state: Path, per_second: float) -> Config:
    return Config(
        syncd={"state": str(state), "retries": 10},
        limits={"notion_per_second": per_second},
        okrs=[{"type": "notion", "name": "okrs", "objectives": ws["objectives_db"],
               "key_results": ws["key_results_db"], "base_url": fake.url}],
    )  # fmt: skip


def _run(fake: NotionFake, config: Config, *, dry_run: bool = False) -> dict:
    fake.reset_counts()
    wall, cpu = time.perf_counter(), time.process_time()
    report = sync(config, now=NOW, registry=REGISTRY, dry_run=dry_run, env={"NOTION_TOKEN": TOKEN})
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert not report.errors, report.errors[:3]
    calls = fake.calls
    return {
        "query": calls["data_sources.query"],
        "other": calls.total() - calls["data_sources.query"] - calls["pages.update"],
        "write": calls["pages.update"],
        "wall": wall,
        "cpu": cpu,
        "writes": len(report.writes),
    }


def _warm_up() -> None:
    """One tiny sync first, so that import-time allocations do not count as the first size's memory."""
    with NotionFake((TOKEN,)) as fake, tempfile.TemporaryDirectory() as tmp:
        ws = okr_workspace(fake, objectives=1, key_results=3)
        _run(fake, _config(fake, ws, Path(tmp) / "state.db", per_second=100_000), dry_run=True)


def part1(sizes: tuple[int, ...]) -> list[tuple]:
    _warm_up()
    rows = []
    for pages in sizes:
        objectives = max(1, pages // 25)
        with NotionFake((TOKEN,)) as fake, tempfile.TemporaryDirectory() as tmp:
            ws = okr_workspace(fake, objectives=objectives, key_results=pages - objectives)
            fake.advance(hours=1)
            config = _config(fake, ws, Path(tmp) / "state.db", per_second=100_000)
            # peak memory of a full read + evaluation (dry run, nothing kept)
            tracemalloc.start()
            _run(fake, config, dry_run=True)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            first = _run(fake, config)
            fake.advance(minutes=15)
            second = _run(fake, config)
            fake.advance(minutes=15)
            for page in ws["key_results"][: max(1, len(ws["key_results"]) // 100)]:
                fake.edit(page, {"Current": 3})
            warm = _run(fake, config)
            floor = math.ceil((pages - objectives) / 100) + math.ceil(objectives / 100)
            for label, r in (("first-ever sync", first), ("second sync", second), ("warm, 1% edited", warm)):
                rows.append(
                    (
                        pages,
                        label,
                        r["query"],
                        r["other"],
                        r["write"],
                        r["wall"],
                        r["cpu"],
                        peak if label == "first-ever sync" else None,
                        floor,
                    )
                )
    return rows


def part2(calls_wanted: int = 36, storm: int = 3) -> list[tuple]:
    rows = []
    for label, injected in (("clean", 0), (f"{storm} x 429 storm", storm)):
        with NotionFake((TOKEN,)) as fake, tempfile.TemporaryDirectory() as tmp:
            ws = okr_workspace(fake, objectives=2, key_results=calls_wanted - 8)
            fake.advance(hours=1)
            fake.rate_limit = RateLimit(3, 1.0)
            config = _config(fake, ws, Path(tmp) / "state.db", per_second=3)
            if injected:
                fake.storm(injected, retry_after=1)
            r = _run(fake, config)
            total = r["query"] + r["other"] + r["write"]
            limited = fake.responses_429 - injected
            useful = total - injected
            ideal = useful / 3.0  # seconds the limit allows for the useful calls
            rows.append(
                (label, total, injected, limited, fake.rate_limit.peak[f"Bearer {TOKEN}"], r["wall"], ideal / r["wall"])
            )
    return rows


def main() -> None:
    started = time.perf_counter()
    sizes = (100, 1000, 5000)
    print("Part 1: calls, time and memory (test-sized pace; the fake on 127.0.0.1)")
    print(
        f"{'pages':>6} {'run':<17} {'query':>6} {'floor':>6} {'other':>6} {'writes':>7} {'wall s':>7} {'CPU s':>6} {'peak MiB':>9}"
    )
    for pages, label, q, other, w, wall, cpu, peak, floor in part1(sizes):
        peak_text = f"{peak:9.1f}" if peak is not None else f"{'':>9}"
        print(f"{pages:>6} {label:<17} {q:>6} {floor:>6} {other:>6} {w:>7} {wall:>7.2f} {cpu:>6.2f} {peak_text}")
    print()
    print("Part 2: pacing at the real 3 requests/second against a fake enforcing 3/s (Retry-After in whole seconds)")
    print(
        f"{'run':<16} {'calls':>6} {'storm 429':>9} {'limit 429':>9} {'peak/1s':>8} {'wall s':>7} {'utilisation':>11}"
    )
    for label, total, injected, limited, peak, wall, used in part2():
        print(f"{label:<16} {total:>6} {injected:>9} {limited:>9} {peak:>8} {wall:>7.1f} {used:>10.0%}")
    print(f"\n(bench took {time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
