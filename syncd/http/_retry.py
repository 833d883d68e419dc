"""The one retry policy, built on tenacity.

A connector runs each HTTP call through :func:`call` (or :meth:`Runtime.call`)
and raises :class:`Transient` for a failure worth another attempt (see
:mod:`._classify`); everything else goes through untouched. Waits are
exponential with full jitter; a ``Retry-After`` is obeyed and shared with every
source on the same pacer. A wait longer than the policy allows is not slept
through: it becomes :class:`syncd.source.Deferred`, so the rest of that
source's work moves to its next pass. Once the stop token is set no new
attempt starts and the waits between attempts end at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from syncd.source import Deferred, SourceError

from ._stop import StopToken

if TYPE_CHECKING:  # imported by the first call: a pass of local files only never loads it
    import tenacity

__all__ = ["Transient", "RetryPolicy", "RetryListener", "Acquirer", "call", "parse_retry_after"]

T = TypeVar("T")

#: Called as ``listener(service, exception)`` on every failed attempt that will
#: be retried (the daemon counts 429s and retries for /metrics with this).
RetryListener = Callable[[str, BaseException], None]


class Acquirer(Protocol):
    """What :func:`call` needs of a pacer (a :class:`Pacer`, or several in one)."""

    def acquire(self) -> None: ...

    def pause(self, seconds: float) -> None: ...

    def held_for(self) -> float: ...


class Transient(Exception):
    """A failure worth another attempt (429, 5xx, a timeout, a dropped connection)."""

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
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def sleep_until_stopped(seconds: float) -> None:
    """The default wait between attempts. :func:`call` swaps it for the stop
    token's wait, which ends early when syncd stops; alone it simply sleeps."""
    time.sleep(seconds)


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
    #: The wait between attempts (tests record it instead of sleeping).
    sleep: Callable[[float], None] = field(default=sleep_until_stopped, repr=False)

    @classmethod
    def from_config(cls, config: Any) -> RetryPolicy:
        """``[syncd] retries`` and ``max_retry_wait`` of a :class:`syncd.config.Config`."""
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
    pacer: Acquirer | None = None,
    service: str = "",
    what: str = "",
    stop: StopToken | None = None,
    listeners: Iterable[RetryListener] = (),
) -> T:
    """Run ``fn`` (one HTTP call), paced, retried on :class:`Transient`.

    ``what`` names the thing for messages (``spreadsheet 1AbC``). Raises
    :class:`Deferred` for a ``Retry-After`` beyond the policy or once ``stop``
    is set, and :class:`SourceError` when the attempts or the time run out.
    """
    sleep = stop.wait if stop is not None and policy.sleep is sleep_until_stopped else policy.sleep

    def check_stop() -> None:
        if stop is not None and stop.is_set():
            raise Deferred(stop.reason(), retry_after=0)

    def attempt() -> T:
        check_stop()
        held = pacer.held_for() if pacer is not None else 0.0
        if held > policy.max_wait:  # another source on this credential was told to wait that long
            raise Deferred(
                f"{service or 'the service'} asked to wait {held:.0f}s more before the next call on these "
                "credentials; the rest of this source's work moves to its next pass",
                retry_after=held,
            )
        if pacer is not None:
            pacer.acquire()
            check_stop()  # the pacer may have held this call back a while
        return fn()

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        if pacer is not None and after:
            pacer.pause(float(after))
        for listener in list(listeners):
            listener(service, exc)  # type: ignore[arg-type]

    def retryable(exc: BaseException) -> bool:
        if not isinstance(exc, Transient):
            return False
        return exc.retry_after is None or exc.retry_after <= policy.max_wait

    import tenacity

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts) | tenacity.stop_after_delay(policy.total),
        wait=_wait(policy),
        retry=tenacity.retry_if_exception(retryable),
        sleep=sleep,
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
