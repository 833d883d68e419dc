"""Pacing at Notion's real limit: N calls through syncd's pacer against a loopback fake that
enforces 3 requests per sliding second (429 otherwise). Reports utilisation and 429s.

    python bench/bench_pacing.py [--calls 60] [--threads 2]

Run it on a loaded machine too (the jitter the sliding-window pacer is built for).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from syncd.http import Pacer  # noqa: E402
from tests.fakes.server import FakeServer, RateLimit, Response  # noqa: E402


class Echo(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.route("GET", "/ping", "ping", lambda r: {"ok": True})

    def rate_limited(self, request, wait):  # type: ignore[no-untyped-def]
        return Response(429, {"error": "slow down"}, {"Retry-After": "1"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with Echo() as fake:
        fake.rate_limit = RateLimit(3, 1.0)
        pacer = Pacer(3, 1.0)
        per = args.calls // args.threads

        def worker() -> None:
            with httpx.Client() as client:
                for _ in range(per):
                    pacer.acquire()
                    client.get(fake.url + "/ping")

        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        total = per * args.threads
        utilisation = total / elapsed / 3
        print(f"{total} calls in {elapsed:.1f} s: utilisation {utilisation:.0%} of 3/s; 429s: {fake.responses_429}")
        print(f"most requests the fake saw in any 1 s window: {max(fake.rate_limit.peak.values())} (limit 3)")


if __name__ == "__main__":
    main()
