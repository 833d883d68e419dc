"""Asana source: calls against the floor for 50, 500 and 5,000 goals, and pacing at 150 requests/minute.

    python bench/bench_asana.py            # the whole bench, about two and a half minutes
    python bench/bench_asana.py --quick    # sizes only, no run at the rate limit

The fake runs in a child process so that CPU time is the client's own.

Part 1 uses test-sized pacing: it counts calls. Goals come as trees of one
objective and four subgoals (every fourth follows a KPI) in one time period;
the source selects the workspace and that time period. Per size, four passes:
cold (relationships read), warm with nothing changed, warm after people moved
10% of the metrics, and a full refresh. The floor is the spec's: ceil(goals/100)
``GET /goals`` pages per pass, plus one relationships read per objective when
cold; writes one call per changed field (the patches).

Part 2 runs against a fake enforcing a per-token sliding-window limit with
syncd's real pacing, two sources on one token at once: (a) Asana's free-plan
150 per 60 s, bounded to about a minute; (b) the same ratio scaled ten times
(150 per 6 s, ``asana_per_minute = 1500``, the paid limit), with 20 ms of
latency. It reports utilisation (requests per second over the allowed rate)
and 429s.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncd.model import KPI  # noqa: E402
from tests.asana_helpers import DictCache, open_asana, patches_for  # noqa: E402
from tests.fakes.asana import AsanaFake  # noqa: E402
from tests.fakes.server import RateLimit  # noqa: E402

SIZES = (50, 500, 5000)
TREE = 5  # an objective and four subgoals
KPIS = [KPI(id=f"kpi-{i}", name=f"kpi-{i}", value=float(20 + 7 * i)) for i in range(10)]


def build(fake: AsanaFake, goals: int) -> tuple[str, str]:
    ws = fake.add_workspace(f"Bench {goals}")
    period = fake.add_period("2026-10-01", "2026-12-31")
    for o in range(goals // TREE):
        top = fake.add_goal(ws, f"Objective {o}", period=period, metric=(0, 1, 0), progress_source="subgoal_progress")
        for k in range(TREE - 1):
            notes = f"KPI: kpi-{o % 10}" if k == 3 else ""
            kid = fake.add_goal(ws, f"KR {o}.{k}", period=period, metric=(0, 100, float((o * 13 + k * 37) % 101)),
                                notes=notes)  # fmt: skip
            fake.add_subgoal(top, kid, 1.0 + k)
    return ws, period


def move(fake: AsanaFake, workspace: str, share: float = 0.1) -> int:
    """People update ``share`` of the metrics that do not follow a KPI; returns how many."""
    moved = 0
    free = [g for g in fake.goals.values() if g["workspace"] == workspace and g["name"].startswith("KR")
            and "KPI" not in g["notes"]]  # fmt: skip
    for i, g in enumerate(free):
        if i % round(1 / share) == 0:
            g["metric"]["current_number_value"] = (g["metric"]["current_number_value"] + 45) % 101
            moved += 1
    return moved


def _serve(conn: Any, limit: tuple[int, float] | None, latency: float) -> None:
    fake = AsanaFake().start()
    if limit is not None:
        fake.rate_limit = RateLimit(*limit)
    fake.latency = latency
    conn.send(fake.url)
    while True:
        cmd, arg = conn.recv()
        if cmd == "build":
            conn.send(build(fake, arg))
        elif cmd == "move":
            conn.send(move(fake, arg))
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
    """The client's handle on the fake in the child process (what open_asana needs)."""

    token = "test-token"

    def __init__(self, limit: tuple[int, float] | None = None, latency: float = 0.0):
        ctx = mp.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, limit, latency), daemon=True)
        self.proc.start()
        self.url = self.conn.recv()

    def ask(self, cmd: str, arg: Any = None) -> Any:
        self.conn.send((cmd, arg))
        return self.conn.recv()

    def close(self) -> None:
        self.ask("stop")
        self.proc.join(5)


def one_pass(remote: Remote, ws: str, period: str, cache: DictCache, *, clock: float | None = None,
             limits: dict[str, float] | None = None, name: str = "bench") -> dict[str, Any]:  # fmt: skip
    source = open_asana(remote, ws, cache=cache, time_period=period, limits=limits, name=name)
    if limits is not None:
        from syncd.http import RetryPolicy

        source.policy = RetryPolicy()  # real waits at the real limit
    if clock is not None:
        source.clock = lambda: clock
    wall, cpu = time.perf_counter(), time.process_time()
    result = source.read()
    result.kpis.extend(KPIS)
    patches = [p for p in patches_for(source, result) if p.source == source.name]
    errors = source.write(patches)
    out = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "reads": source.calls["read"],
           "writes": source.calls["write"], "patches": len(patches), "errors": len(errors),
           "objectives": len(result.objectives)}  # fmt: skip
    source.close()
    return out


def sizes() -> None:
    print("Part 1: goals in trees of 1 objective + 4 subgoals, one time period, test-sized pacing\n")
    head = (f"{'goals':>6} {'pass':<16} {'reads':>6} {'floor':>6} {'writes':>7} {'floor':>6} {'ratio':>6}"
            f" {'wall s':>7} {'CPU s':>6}")  # fmt: skip
    print(head)
    print("-" * len(head))
    remote = Remote()
    try:
        for n in SIZES:
            ws, period = remote.ask("build", n)
            cache = DictCache()
            pages = math.ceil(n / 100)
            objectives = n // TREE
            t0 = time.time()
            rows = [("cold", one_pass(remote, ws, period, cache, clock=t0), pages + objectives)]
            rows.append(("warm, same", one_pass(remote, ws, period, cache, clock=t0 + 60), pages))
            moved = remote.ask("move", ws)
            rows.append((f"warm, {moved} moved", one_pass(remote, ws, period, cache, clock=t0 + 120), pages))
            rows.append(("full refresh", one_pass(remote, ws, period, cache, clock=t0 + 86_401), pages + objectives))
            for label, r, floor in rows:
                assert r["errors"] == 0 and r["objectives"] == objectives, r
                total, floor_total = r["reads"] + r["writes"], floor + r["patches"]
                print(f"{n:>6} {label:<16} {r['reads']:>6} {floor:>6} {r['writes']:>7} {r['patches']:>6}"
                      f" {total / floor_total:>6.2f} {r['wall']:>7.2f} {r['cpu']:>6.2f}")  # fmt: skip
            assert rows[1][1]["writes"] == 0 and rows[1][1]["reads"] == pages
    finally:
        remote.close()
    print("\n(reads: GET calls; floor: ceil(goals/100) pages, plus one relationships read per objective when"
          " cold or on a full refresh; writes: PUT /goals and setMetricCurrentValue calls, floor = one per"
          " changed field (the patches); ratio: all calls over the floor. Over a time period syncd also reads"
          " each objective's parentGoals on those passes, for alignment: those are the reads above the floor.)\n")  # fmt: skip


def real_limit(label: str, limit: tuple[int, float], per_minute: float, goals: int, latency: float) -> None:
    allowed = limit[0] / limit[1]
    print(f"Part 2{label}: {limit[0]} requests per {limit[1]:g} s per token enforced by the fake, syncd paced at"
          f" asana_per_minute = {per_minute:g}, {latency * 1000:.0f} ms latency, two sources on one token\n")  # fmt: skip
    remote = Remote(limit=limit, latency=latency)
    try:
        trees = [remote.ask("build", goals) for _ in range(2)]
        remote.ask("reset")
        results: list[dict[str, Any]] = []
        start = time.perf_counter()
        threads = [threading.Thread(target=lambda t=t, i=i: results.append(
            one_pass(remote, *t, DictCache(), limits={"asana_per_minute": per_minute}, name=f"goals{i}")))
            for i, t in enumerate(trees)]  # fmt: skip
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
    print(f"  requests {total} in {elapsed:.1f} s = {rate:.2f}/s of {allowed:.2f}/s allowed:"
          f" utilisation {rate / allowed:.0%}")  # fmt: skip
    print(f"  429 responses {r429}; most requests in any {limit[1]:g} s window: {max(peak.values(), default=0)}"
          f" (limit {limit[0]})")  # fmt: skip
    print("  per source: " + "; ".join(f"{r['reads']} reads + {r['writes']} writes, {r['errors']} errors"
                                       for r in results) + "\n")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the runs at the rate limit")
    args = parser.parse_args()
    started = time.perf_counter()
    sizes()
    if not args.quick:
        # Two cold passes of 50 goals: ~75 calls each, about a minute at 150/min.
        real_limit("a", (150, 60.0), 150, 50, 0.0)
        real_limit("b", (150, 6.0), 1500, 250, 0.02)
    print(f"bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
