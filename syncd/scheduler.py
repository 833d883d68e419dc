"""When each source syncs: its interval, a little jitter, backoff after failures.

Each source has a due time on the monotonic clock (never the wall clock: a clock
stepped by NTP or an operator, or a daylight-saving change, neither stalls the
passes nor runs them twice). The scheduler's thread only decides and
dispatches: each pass runs in a thread of its own, so a slow source never
delays the others, and a source whose pass is still running is skipped, so it
never has two passes at once. After a pass, its outcome sets the next run:
the interval when it went well, exponential backoff (capped) after failures,
and the service's ``Retry-After`` after a partial pass.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .source import Role

__all__ = ["PassResult", "Slot", "Scheduler", "next_delay", "BACKOFF_CAP"]

log = logging.getLogger("syncd.scheduler")

#: Longest wait between attempts of a failing source (unless its interval is longer).
BACKOFF_CAP = 3600.0
#: Jitter: up to this fraction of the delay, and never more than ``_MAX_JITTER`` seconds.
_JITTER = 0.1
_MAX_JITTER = 30.0


@dataclass
class PassResult:
    outcome: str  # ok | partial | failed
    retry_after: float | None = None
    #: Why it failed, for the log line.
    reason: str = ""


@dataclass(eq=False)
class Slot:
    """One source as the scheduler sees it."""

    name: str
    role: Role
    cfg: Any
    interval: float
    #: When the next pass is due, on the scheduler's (monotonic) clock.
    due: float = 0.0
    running: bool = False
    #: Failed passes in a row (a partial or good pass ends the streak).
    failures: int = 0
    last_outcome: str | None = None
    passes: int = 0
    started: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    #: What started the pass running now (or the last one): ``schedule`` or ``push``.
    trigger: str = "schedule"
    #: The next pass was moved forward by an event (see :meth:`Scheduler.push`).
    pushed: bool = False
    #: An event came during the running pass: the monotonic time its follow-up is due.
    again: float | None = None


def next_delay(
    interval: float,
    outcome: str,
    failures: int,
    retry_after: float | None = None,
    *,
    cap: float = BACKOFF_CAP,
    rng: random.Random | None = None,
) -> float:
    """Seconds until a source's next pass, jitter included.

    ``failed``: the interval, doubled for each failure in a row after the first,
    at most ``cap`` (or the interval, when that is longer). ``partial``: the
    service's ``Retry-After``. Otherwise the interval.
    """
    if outcome == "failed":
        base = min(interval * 2 ** max(failures - 1, 0), max(cap, interval))
    elif outcome == "partial" and retry_after:
        base = float(retry_after)
    else:
        base = interval
    return base + (rng or random).uniform(0, min(_JITTER * base, _MAX_JITTER))


class Scheduler:
    """Dispatches passes of sources; call :meth:`tick` from one thread.

    ``run_pass(slot)`` runs one pass in a worker thread and returns its
    :class:`PassResult`; an exception counts as a failed pass.
    """

    def __init__(
        self,
        run_pass: Callable[[Slot], PassResult],
        *,
        cap: float = BACKOFF_CAP,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._run_pass = run_pass
        self._cap = cap
        self._rng = rng or random.Random()
        self._clock = clock
        self._done: queue.SimpleQueue[tuple[Slot, PassResult]] = queue.SimpleQueue()
        self._pushes: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()
        self.slots: dict[str, Slot] = {}
        #: Set to wake :meth:`tick`'s caller early (a pass ended, a signal came).
        self.wake = threading.Event()
        self.paused = False

    # -- configuration ---------------------------------------------------------------

    def configure(self, sources: Iterable[tuple[Role, Any, float]], failures: Mapping[str, int] | None = None) -> None:
        """Set the sources, as (role, config table, interval in seconds).

        New sources run soon (after a little jitter, so sources sharing a
        service do not fire together); removed ones stop (a pass in flight
        finishes); changed ones keep their place in time.
        """
        failures = failures or {}
        wanted = {cfg.name: (role, cfg, interval) for role, cfg, interval in sources}
        for name in list(self.slots):
            if name not in wanted:
                self.slots.pop(name)
                log.info("source %s removed from the schedule", name, extra={"source": name})
        for name, (role, cfg, interval) in wanted.items():
            slot = self.slots.get(name)
            if slot is None:
                slot = self.slots[name] = Slot(name, role, cfg, interval, failures=failures.get(name, 0))
                self.run_soon(name, self._rng.uniform(0, min(_JITTER * interval, 5.0)))
                continue
            slot.role, slot.cfg = role, cfg
            if interval != slot.interval:
                slot.interval = interval
                self.run_soon(name, min(self.seconds_to(name), interval))

    def seconds_to(self, name: str) -> float:
        """Seconds until the next pass of source ``name`` is due."""
        return max(0.0, self.slots[name].due - self._clock())

    def run_soon(self, name: str, seconds: float = 0.0) -> None:
        """Set the next pass of source ``name`` ``seconds`` from now (a pass running finishes first)."""
        self.slots[name].due = self._clock() + seconds
        self.wake.set()

    # -- the loop --------------------------------------------------------------------

    def push(self, name: str, delay: float) -> None:
        """An event says source ``name`` changed: its next pass starts ``delay`` from now at the latest.

        Callable from any thread. Events while the pass is already moved share
        it; events during a running pass lead to at most one pass after it.
        """
        self._pushes.put((name, self._clock() + max(delay, 0.0)))
        self.wake.set()

    def _apply_pushes(self) -> None:
        while True:
            try:
                name, due = self._pushes.get_nowait()
            except queue.Empty:
                return
            slot = self.slots.get(name)
            if slot is None:
                continue
            if slot.running:
                slot.again = due if slot.again is None else min(slot.again, due)
                continue
            if slot.due > due:
                slot.due, slot.pushed = due, True
                log.debug("source %s: an event moves its pass to %s from now", name, _human(due - self._clock()))

    def tick(self) -> float:
        """Apply finished passes and events, start due ones; return how long to sleep (at most 1s)."""
        self._collect()
        self._apply_pushes()
        now = self._clock()
        if not self.paused:
            for slot in list(self.slots.values()):
                if slot.due <= now:
                    slot.due = now + slot.interval  # until the pass's outcome sets it
                    self._fire(slot)
        idle = min((s.due - now for s in self.slots.values()), default=1.0)
        return max(0.0, min(idle, 1.0))

    def running(self) -> list[str]:
        return [s.name for s in self.slots.values() if s.running]

    def wait_idle(self, timeout: float) -> list[str]:
        """Wait until no pass runs (or ``timeout``); return the sources still running."""
        deadline = time.monotonic() + timeout
        while True:
            self._collect()
            busy = self.running()
            if not busy or time.monotonic() >= deadline:
                return busy
            self.wake.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            self.wake.clear()

    def _fire(self, slot: Slot) -> None:
        if slot.running:
            log.debug("source %s: previous pass still running; skipped", slot.name)
            return
        slot.running = True
        slot.started = time.monotonic()
        slot.trigger, slot.pushed = ("push" if slot.pushed else "schedule"), False
        threading.Thread(target=self._work, args=(slot,), name=f"pass-{slot.name}", daemon=True).start()

    def _work(self, slot: Slot) -> None:
        try:
            result = self._run_pass(slot)
        except Exception:  # noqa: BLE001 - one source's bug must not stop the others
            log.exception("pass of %s crashed", slot.name, extra={"source": slot.name})
            result = PassResult("failed")
        self._done.put((slot, result))
        self.wake.set()

    def _collect(self) -> None:
        while True:
            try:
                slot, result = self._done.get_nowait()
            except queue.Empty:
                return
            slot.running = False
            slot.passes += 1
            slot.last_outcome = result.outcome
            if result.outcome != "standby":  # standby: another replica holds its lease
                slot.failures = slot.failures + 1 if result.outcome == "failed" else 0
            if self.slots.get(slot.name) is not slot:
                continue  # removed (or replaced) while it ran
            delay = next_delay(
                slot.interval, result.outcome, slot.failures, result.retry_after, cap=self._cap, rng=self._rng
            )
            if slot.again is not None:  # an event came while it ran: one more pass, no sooner than it asked
                delay, slot.pushed = min(delay, max(0.0, slot.again - self._clock())), True
                slot.again = None
            slot.due = self._clock() + delay
            if result.outcome == "failed":
                log.warning(
                    "source %s: failed (%d pass(es) in a row): %s; next try in %s",
                    slot.name,
                    slot.failures,
                    result.reason or "see above",
                    _human(delay),
                    extra={
                        "event": "pass",
                        "source": slot.name,
                        "outcome": "failed",
                        "failures_in_a_row": slot.failures,
                        "retry_in": round(delay, 3),
                    },
                )
            elif result.outcome == "partial":
                log.info(
                    "source %s: the rest of its work moves to the next pass, in %s",
                    slot.name,
                    _human(delay),
                    extra={"source": slot.name, "retry_in": round(delay, 3)},
                )


def _human(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"
