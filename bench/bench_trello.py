"""Trello source: calls and time for 30, 300 and 3,000 key result cards, and pacing at the real limit.

    python bench/bench_trello.py            # the whole bench, under ~3 minutes
    python bench/bench_trello.py --quick    # sizes only, no real-limit run

The fake runs in a child process so that CPU time and memory are the client's
own. Part 1 uses test-sized pacing (the limits set far above the fake's
speed): it measures calls and the client's cost. Part 2 runs against a fake
enforcing Trello's 100 requests per 10 s per token (300 per key) with 50 ms of
latency, with syncd's real pacing, two boards on one token at once, and reports
how busy the limit was kept and how many 429s came back.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncd.http import Runtime  # noqa: E402
from tests.fakes.trello import TrelloFake, TrelloRateLimit  # noqa: E402
from tests.trello_helpers import okr_board, open_trello, patches_for  # noqa: E402

OBJECTIVES = 10
SIZES = (30, 300, 3000)
REAL = {"trello_per_10s": 100, "trello_key_per_10s": 300}


def _serve(conn: Any, limited: bool, latency: float) -> None:
    """The child: a fake answering commands over a pipe."""
    fake = TrelloFake().start()
    if limited:
        fake.rate_limit = TrelloRateLimit(per_token=100, per_key=300, period=10.0)
    fake.latency = latency
    conn.send(fake.url)
    while True:
        cmd, arg = conn.recv()
        if cmd == "board":
            conn.send(okr_board(fake, OBJECTIVES, arg, name=f"Bench {arg}"))
        elif cmd == "calls":
            conn.send((dict(fake.calls), fake.responses_429, dict(fake.rate_limit.peak) if fake.rate_limit else {}))
        elif cmd == "reset":
            fake.reset_counts()
            conn.send(None)
        else:
            fake.stop()
            conn.send(None)
            return


class Remote:
    """The client's handle on the fake in the child process (what open_trello needs)."""

    def __init__(self, limited: bool = False, latency: float = 0.0):
        self.conn, child = mp.get_context("fork").Pipe()
        self.proc = mp.get_context("fork").Process(target=_serve, args=(child, limited, latency), daemon=True)
        self.proc.start()
        self.url = self.conn.recv()
        self.key, self.token = "test-key", "test-token"

    def ask(self, cmd: str, arg: Any = None) -> Any:
        self.conn.send((cmd, arg))
        return self.conn.recv()

    def close(self) -> None:
        self.ask("stop")
        self.proc.join(5)


def _sync(
    remote: Remote, board: str, limits: dict[str, float] | None = None, name: str = "bench", runtime: Any = None
) -> dict[str, Any]:
    source = open_trello(remote, board, limits=limits, name=name, runtime=runtime)
    if limits is not None:
        from syncd.http import RetryPolicy

        source.policy = RetryPolicy()  # real sleeps at the real limit
    wall, cpu = time.perf_counter(), time.process_time()
    result = source.read()
    patches = patches_for(source, result)
    errors = source.write(patches)
    out = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "reads": source.calls["read"],
           "writes": source.calls["write"], "patches": len(patches), "errors": len(errors)}  # fmt: skip
    source.close()
    return out


def sizes() -> None:
    print("Part 1: one board of 10 objectives, test-sized pacing (fake in a child process)\n")
    head = (f"{'KRs':>6} {'read calls':>10} {'write calls':>11} {'wall s':>7} {'CPU s':>6} {'peak MiB':>8}"
            f" {'calls/card':>10} | {'2nd run: calls':>14} {'wall s':>7}")  # fmt: skip
    print(head)
    print("-" * len(head))
    remote = Remote()
    try:
        for n in SIZES:
            board, twin = remote.ask("board", n), remote.ask("board", n)
            first = _sync(remote, board)
            second = _sync(remote, board)
            tracemalloc.start()
            _sync(remote, twin)  # the same first sync, for memory (tracemalloc slows it down)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            assert first["errors"] == 0 and second["patches"] == 0, (first, second)
            cards = n + OBJECTIVES
            print(f"{n:>6} {first['reads']:>10} {first['writes']:>11} {first['wall']:>7.2f} {first['cpu']:>6.2f}"
                  f" {peak:>8.1f} {first['writes'] / cards:>10.2f} | {second['reads'] + second['writes']:>14}"
                  f" {second['wall']:>7.2f}")  # fmt: skip
    finally:
        remote.close()
    print("\n(KRs: key result cards, plus 10 objective cards; write calls: one customFields PUT per changed"
          " card plus one label POST per new status; reads past 1,000 cards are pages of 1,000;"
          " 2nd run: nothing changed, so no write)\n")  # fmt: skip


def real_limit(cards_per_board: int = 100) -> None:
    print("Part 2: the real limit, 100 requests / 10 s per token (300 per key), enforced by the fake,"
          " 50 ms latency, two boards on one token synced at once\n")  # fmt: skip
    remote = Remote(limited=True, latency=0.05)
    try:
        boards = [remote.ask("board", cards_per_board) for _ in range(2)]
        remote.ask("reset")
        results: list[dict[str, Any]] = []
        runtime = Runtime()  # one per process, as the CLI and the daemon build it: one pacer per token
        start = time.perf_counter()
        threads = [threading.Thread(target=lambda b=b, i=i: results.append(_sync(remote, b, REAL, f"board{i}", runtime)))
                   for i, b in enumerate(boards)]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        calls, r429, peak = remote.ask("calls")
    finally:
        remote.close()
    total = sum(calls.values())
    rate = total / elapsed
    token_peak = max((v for k, v in peak.items() if k.startswith("token:")), default=0)
    print(f"  requests {total} in {elapsed:.1f} s = {rate:.2f}/s of 10/s allowed: utilisation {rate / 10:.0%}")
    print(f"  429 responses {r429}; most requests in any 10 s window on the token: {token_peak} (limit 100)")
    print(
        "  per board: "
        + "; ".join(f"{r['reads']} read + {r['writes']} write calls, {r['errors']} errors" for r in results)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the run at the real rate limit")
    args = parser.parse_args()
    started = time.perf_counter()
    sizes()
    if not args.quick:
        real_limit()
    print(f"\nbench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
