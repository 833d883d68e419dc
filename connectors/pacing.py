"""Pacing below each service's documented rate limit.

One :class:`Pacer` per service and credential, shared by every source that
uses that credential (so two Notion sources with one token together stay under
3 requests/second). Requests are spaced evenly at a little under the limit,
which keeps a large run busy at ~92% of the limit without a burst ever
crossing it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

__all__ = ["Pacer", "pacer_for", "fingerprint", "reset_pacers", "stopping"]

#: The service's stop hook (set on SIGTERM): a wait for a slot ends at once,
#: and :func:`syncd.connectors.retry.call` then starts no new call.
stopping = threading.Event()

#: Fraction of the documented limit actually used. At Notion's 3 requests/s
#: this leaves ~85 ms of slack per second for a request delayed on its way
#: (0.95 left 53 ms, and a busy machine was seen to eat that).
SAFETY = 0.92


class Pacer:
    """Spaces calls at least ``period / limit`` apart (thread-safe)."""

    def __init__(
        self,
        limit: float,
        period: float = 1.0,
        *,
        safety: float = SAFETY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = stopping.wait,
    ):
        self.interval = period / (limit * safety)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0
        self.waited = 0.0  # seconds spent waiting, for benchmarks

    def acquire(self) -> None:
        """Wait for this call's slot."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            self.waited += delay
            self._sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (a server's Retry-After)."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


_pacers: dict[tuple[str, str], Pacer] = {}
_registry_lock = threading.Lock()


def fingerprint(secret: str) -> str:
    """A short, irreversible name for a credential (safe to log)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def pacer_for(service: str, credential: str, limit: float, period: float = 1.0) -> Pacer:
    """The pacer shared by every source using ``credential`` on ``service``.

    ``credential`` is hashed before it is kept. The first caller's limit wins
    until :func:`reset_pacers` (a config reload) is called.
    """
    key = (service, fingerprint(credential))
    with _registry_lock:
        pacer = _pacers.get(key)
        if pacer is None:
            pacer = _pacers[key] = Pacer(limit, period)
        return pacer


def reset_pacers() -> None:
    with _registry_lock:
        _pacers.clear()
