"""Pacing below a service's documented rate limit, on a sliding window of real start times.

Servers count requests in a sliding window (Notion: 3 in any second). A pacer
that hands out slots on a fixed interval breaks there as soon as a caller
wakes up late: the slots after it were computed from the slot, not from when
the call really started, so the calls bunch up behind it. A :class:`Pacer`
records when each call really started and keeps two rules on those times:

- at most ``burst`` calls start in any ``window`` seconds, where the window is
  the documented period stretched by the headroom (``period / utilisation``);
- consecutive calls start at least ``window / burst`` apart, so a documented
  "100 per 10 s" is never spent in one burst that a shorter window of the
  server would refuse.

A caller that wakes up and finds that a call before it started late waits the
difference, so scheduling jitter on this side only ever widens the gaps the
server sees.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["Pacer", "fingerprint", "UTILISATION"]

#: Fraction of the documented limit used. At Notion's 3 requests/second the
#: window is 1.11 s: a request may reach the server 110 ms later than the one
#: three places before it without the server seeing 4 in a second.
UTILISATION = 0.9


class _Start:
    """When one call starts (planned, then the real time once it has)."""

    __slots__ = ("at",)

    def __init__(self, at: float):
        self.at = at


class Pacer:
    """Paces calls below ``limit`` per ``period`` seconds (thread-safe).

    A fractional limit (0.5 per second) becomes one call per stretched window.
    """

    def __init__(
        self,
        limit: float,
        period: float = 1.0,
        *,
        utilisation: float = UTILISATION,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limit, self.period = limit, period
        self.burst = max(1, math.floor(limit))
        self.window = period * self.burst / limit / utilisation
        self.spacing = self.window / self.burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        #: The last ``burst + 1`` starts, oldest first.
        self._starts: deque[_Start] = deque(maxlen=self.burst + 1)
        self._held_until = 0.0
        self.waited = 0.0  # seconds spent waiting, for benchmarks

    def _earliest(self, before: list[_Start], now: float) -> float:
        at = max(now, self._held_until)
        if before:
            at = max(at, before[-1].at + self.spacing)
        if len(before) >= self.burst:
            at = max(at, before[-self.burst].at + self.window)
        return at

    def acquire(self) -> None:
        """Wait for this call's slot."""
        with self._lock:
            now = self._clock()
            mine = _Start(self._earliest(list(self._starts), now))
            self._starts.append(mine)
        delay = mine.at - now
        if delay <= 0:
            return
        self._wait(delay)
        with self._lock:  # a call before this one may have started late: keep the gaps
            now = self._clock()
            starts = list(self._starts)
            before = starts[: starts.index(mine)] if mine in starts else []
            again = self._earliest(before, now) - max(now, mine.at)
            mine.at = max(mine.at, now)
        if again > 0:
            self._wait(again)
            with self._lock:
                mine.at = max(mine.at, self._clock())

    def _wait(self, seconds: float) -> None:
        self.waited += seconds
        self._sleep(seconds)

    def held_for(self) -> float:
        """Seconds every caller is still held back by a server's Retry-After."""
        with self._lock:
            return max(0.0, self._held_until - self._clock())

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (a server's Retry-After)."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)


def fingerprint(secret: str) -> str:
    """A short, irreversible name for a credential (safe to log and to key by)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]
