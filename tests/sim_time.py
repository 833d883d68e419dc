"""Simulated time for the scheduler's tests: no test waits for, or depends on, the wall clock.

Passes still run in the scheduler's threads; the clock moves only once every pass started in a
tick has finished (except those the test holds on purpose), so a loaded machine cannot bunch or
skip passes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from syncd.scheduler import Scheduler


class SimTime:
    """A monotonic clock the test moves (pass it as ``Scheduler(clock=...)``)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def drive(self, scheduler: Scheduler, seconds: float, *, step: float = 0.01, held: Iterable[str] = ()) -> None:
        """Tick every ``step`` for ``seconds`` of simulated time; ``held``: sources whose pass
        the test keeps running (they are not waited for)."""
        held = set(held)
        end = self.now + seconds
        while self.now < end:
            scheduler.tick()
            settle(scheduler, held)
            self.now += step


def settle(scheduler: Scheduler, held: set[str], timeout: float = 10.0) -> None:
    """Wait (on the real clock, bounded) until only ``held`` passes are running."""
    deadline = time.monotonic() + timeout
    while not set(busy := scheduler.wait_idle(0)) <= held:  # wait_idle(0) takes in finished passes
        if time.monotonic() > deadline:
            raise AssertionError(f"passes still running after {timeout}s: {busy}")
        time.sleep(0.001)
