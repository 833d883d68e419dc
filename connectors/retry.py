"""One retry policy for the whole project, built on tenacity.

Every connector wraps each HTTP call in :func:`call`. The connector translates
its client's exceptions into :class:`Transient` (worth another attempt: 429,
5xx, 529, timeouts, dropped connections) and lets everything else through.
Waits are exponential with jitter; a ``Retry-After`` from the server is obeyed
and shared with every source on the same pacer. A wait longer than the policy
allows is not slept through: it becomes :class:`syncd.source.Deferred`, so the
rest of that source's work moves to its next pass.

:data:`stopping` is the service's stop hook: once set (SIGTERM), no new
attempt starts (one already in flight finishes) and waits between attempts end
at once, so a pass over HTTP ends at its next call boundary as partial.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import tenacity

from syncd.source import Deferred, SourceError

from .pacing import Pacer, stopping

__all__ = ["Transient", "RetryPolicy", "call", "parse_retry_after", "retry_listeners", "stopping", "STOPPING"]

T = TypeVar("T")

#: Called as ``listener(service, exception)`` on every failed attempt that will
#: be retried (the daemon counts 429s and retries for /metrics with this).
retry_listeners: list[Callable[[str, BaseException], None]] = []

#: :data:`stopping` (from :mod:`.pacing`, whose waits it also ends) is set by
#: ``syncd run`` on SIGTERM/SIGINT: :func:`call` starts no new attempt and ends
#: its waits early. Cleared when the service (re)starts.
STOPPING = "syncd is stopping; the rest of this source's work moves to its next pass"


def _stoppable_sleep(seconds: float) -> None:
    """The default wait between attempts: ``time.sleep`` that ends when syncd stops."""
    stopping.wait(seconds)


class Transient(Exception):
    """A failure worth another attempt."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass
class RetryPolicy:
    attempts: int = 6
    #: Longest single wait; a longer ``Retry-After`` defers the source's work.
    max_wait: float = 60.0
    #: First backoff; doubles each attempt, with full jitter, up to ``max_backoff``.
    initial: float = 0.5
    max_backoff: float = 32.0
    #: Bound on the time one call may spend retrying.
    total: float = 300.0
    #: The wait between attempts; the default ends early when syncd stops.
    sleep: Callable[[float], None] = field(default=_stoppable_sleep, repr=False)

    @classmethod
    def from_config(cls, config) -> RetryPolicy:  # noqa: ANN001 - syncd.config.Config
        s = config.syncd
        return cls(attempts=s.retries, max_wait=s.max_retry_wait.total_seconds())


def _wait(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], float]:
    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        if after is not None:
            return float(after) + random.uniform(0, min(1.0, policy.initial))
        cap = min(policy.max_backoff, policy.initial * 2 ** (state.attempt_number - 1))
        return random.uniform(policy.initial / 2, cap)

    return wait


def call(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    pacer: Pacer | None = None,
    service: str = "",
    what: str = "",
) -> T:
    """Run ``fn`` (one HTTP call), paced, retried on :class:`Transient`.

    ``what`` names the thing for messages (``spreadsheet 1AbC``). Raises
    :class:`Deferred` for a ``Retry-After`` beyond the policy, and
    :class:`SourceError` when the attempts or the time run out.
    """

    def attempt() -> T:
        _check_stopping()
        if pacer is not None:
            pacer.acquire()
            _check_stopping()  # the pacer may have held this call back a while
        return fn()

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        if pacer is not None and after:
            pacer.pause(float(after))
        for listener in list(retry_listeners):
            listener(service, exc)  # type: ignore[arg-type]

    def retryable(exc: BaseException) -> bool:
        if not isinstance(exc, Transient):
            return False
        return exc.retry_after is None or exc.retry_after <= policy.max_wait

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts) | tenacity.stop_after_delay(policy.total),
        wait=_wait(policy),
        retry=tenacity.retry_if_exception(retryable),
        sleep=policy.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except Transient as exc:
        where = f" {what}" if what else ""
        if exc.retry_after is not None and exc.retry_after > policy.max_wait:
            if pacer is not None:
                pacer.pause(exc.retry_after)
            raise Deferred(
                f"{service or 'the service'} asked to wait {exc.retry_after:.0f}s before the next call{where and ' to' + where}; "
                "the rest of this source's work moves to its next pass",
                retry_after=exc.retry_after,
            ) from None
        raise SourceError(f"{exc} ({where.strip() or service}: gave up after {policy.attempts} attempts)") from None


def _check_stopping() -> None:
    if stopping.is_set():
        raise Deferred(STOPPING, retry_after=0)
