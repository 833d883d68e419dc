"""The core HTTP layer every connector and the alert sender use.

A new HTTP connector gets everything from ``ctx.runtime`` (a :class:`Runtime`):

    pacer = ctx.runtime.pacer("asana", token, config.limits.asana_per_minute, 60)
    errors = AsanaErrors(...)          # a ServiceErrors subclass: hints, extra retryable statuses

    def once() -> httpx.Response:
        r = client.get(url)            # raise errors.transient(...) on httpx.TransportError
        if r.status_code >= 400 and errors.kind(r.status_code) == "transient":
            raise errors.transient(f"Asana answered {r.status_code}", r.status_code, r.headers)
        return r

    r = ctx.runtime.call(once, pacer=pacer, service="asana", what="reading goals")
    if r.status_code >= 400:
        raise errors.refused(r.status_code, r.text, "reading goals")  # a SourceError with the hint

:meth:`Runtime.call` paces every attempt, retries :class:`Transient` with the
one :class:`RetryPolicy` (``Retry-After`` obeyed and shared on the pacer),
defers a wait beyond the policy as :class:`syncd.source.Deferred`, tells the
retry listeners (``/metrics``), and stops starting calls once the
:class:`StopToken` is set.
"""

from ._classify import Kind, Refused, ServiceErrors, classify
from ._pacing import UTILISATION, Pacer, fingerprint
from ._retry import Acquirer, RetryListener, RetryPolicy, Transient, call, parse_retry_after, sleep_until_stopped
from ._runtime import Runtime
from ._stop import STOPPING, StopToken

__all__ = [
    "Acquirer",
    "Kind",
    "Pacer",
    "Refused",
    "RetryListener",
    "RetryPolicy",
    "Runtime",
    "STOPPING",
    "ServiceErrors",
    "StopToken",
    "Transient",
    "UTILISATION",
    "call",
    "classify",
    "fingerprint",
    "parse_retry_after",
    "sleep_until_stopped",
]
