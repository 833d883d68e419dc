"""The one reading of an HTTP answer: is it worth another attempt, and if not, why.

Every connector (and the alert sender) asks :class:`ServiceErrors` about each
response status instead of deciding "is this transient" itself:

``transient``
    429, any 5xx, plus the statuses a service adds (Sheets: 408). Retried by
    :func:`syncd.http.call`; the service's ``Retry-After`` is obeyed.
``auth``
    401: the credentials were refused. ``forbidden`` (403): they may not do
    this. ``not_found`` (404): the thing is gone or not shared.
``fatal``
    anything else: another attempt will not help.

A connector subclasses :class:`ServiceErrors` to add retryable statuses, to
read its service's rate-limit headers, and to word the hint for each kind
(which variable to check, whom to share with); the instance carries what the
hint names (the board, the variable).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

from syncd.source import SourceError

from ._retry import Transient, parse_retry_after

__all__ = ["Kind", "classify", "ServiceErrors", "Refused"]

Kind = Literal["transient", "auth", "not_found", "forbidden", "fatal"]

_BY_STATUS: dict[int, Kind] = {401: "auth", 403: "forbidden", 404: "not_found"}


def classify(status: int, *, retryable: Collection[int] = ()) -> Kind:
    """The kind of an HTTP status (2xx/3xx never reach here)."""
    if status == 429 or status >= 500 or status in retryable:
        return "transient"
    return _BY_STATUS.get(status, "fatal")


class Refused(SourceError):
    """An answer another attempt will not fix; the message is the service's hint."""

    def __init__(self, message: str, *, kind: Kind, status: int | None, text: str = ""):
        super().__init__(message)
        self.kind, self.status, self.text = kind, status, text


class ServiceErrors:
    """The per-service hook of the classification (override what differs)."""

    #: The service's name in messages and in retry listeners (``"trello"``).
    service: str = "the service"
    #: Statuses besides 429 and 5xx that are worth another attempt.
    retryable: frozenset[int] = frozenset()

    def kind(self, status: int) -> Kind:
        return classify(status, retryable=self.retryable)

    def retry_after(self, status: int, headers: Mapping[str, str]) -> float | None:
        """How long the server asked every caller to wait (``Retry-After``)."""
        return parse_retry_after(headers.get("retry-after"))

    def transient(self, message: str, status: int | None = None, headers: Mapping[str, str] | None = None) -> Transient:
        """The exception to raise for a retryable answer (or a failed connection: no status)."""
        after = self.retry_after(status, headers) if status is not None and headers is not None else None
        return Transient(message, retry_after=after, status=status)

    def hint(self, kind: Kind, *, status: int, text: str, what: str) -> str:
        """A sentence saying what went wrong and what to do."""
        return f"{self.service} answered {status} ({text}) while {what}"

    def refused(self, status: int, text: str, what: str) -> Refused:
        kind = self.kind(status)
        return Refused(self.hint(kind, status=status, text=text, what=what), kind=kind, status=status, text=text)
