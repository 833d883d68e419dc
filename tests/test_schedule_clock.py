"""The pass schedule runs on the monotonic clock: a wall clock stepped back an hour (a daylight-saving
change seen in local time, an NTP correction) or forward two neither stalls the passes nor runs them twice."""

from __future__ import annotations

import random
import time
from datetime import datetime

from syncd.scheduler import PassResult, Scheduler
from tests.test_daemon_units import _cfg

INTERVAL = 60.0


def test_a_stepped_wall_clock_neither_stalls_nor_doubles_the_passes(monkeypatch):
    mono = [10_000.0]
    wall = [datetime(2026, 10, 25, 0, 30).timestamp()]  # the night European clocks go back
    passes: list[float] = []

    def run_pass(slot):
        passes.append(mono[0])
        return PassResult("ok")

    monkeypatch.setattr(time, "time", lambda: wall[0])
    scheduler = Scheduler(run_pass, rng=random.Random(3), clock=lambda: mono[0])
    scheduler.configure([("kpis", _cfg("a"), INTERVAL)])
    step = 5.0
    for i in range(int(2 * 3600 / step)):  # two hours, in 5 s ticks
        if i == 360:
            wall[0] -= 3600  # 02:59:59 -> 02:00:00 again
        if i == 900:
            wall[0] += 7200  # a clock corrected two hours forward
        scheduler.tick()
        assert scheduler.wait_idle(5) == []
        mono[0] += step
        wall[0] += step
    gaps = [b - a for a, b in zip(passes, passes[1:], strict=False)]
    assert min(gaps) >= INTERVAL  # never twice
    assert max(gaps) <= INTERVAL * 1.1 + 2 * step  # never stalled (interval + jitter + one tick)
    assert 2 * 3600 / (INTERVAL * 1.1 + step) <= len(passes) <= 2 * 3600 / INTERVAL + 1


def test_a_failed_pass_backs_off_on_the_same_clock():
    mono = [0.0]
    outcomes = iter(["failed", "failed", "ok", "ok"])
    passes: list[float] = []

    def run_pass(slot):
        passes.append(mono[0])
        return PassResult(next(outcomes))

    scheduler = Scheduler(run_pass, rng=random.Random(1), clock=lambda: mono[0])
    scheduler.configure([("kpis", _cfg("a"), 10.0)])
    while len(passes) < 4:
        scheduler.tick()
        scheduler.wait_idle(5)
        mono[0] += 0.5
    gaps = [b - a for a, b in zip(passes, passes[1:], strict=False)]
    assert 10 <= gaps[0] <= 11.5 and 20 <= gaps[1] <= 22.5 and 10 <= gaps[2] <= 11.5  # 1x, 2x, then the interval
