"""Asana's REST API over httpx, the syncd way: one retry policy, a pacer shared per token, every call counted.

Not the ``asana`` package: it is synchronous, generated, retries on its own
terms and never retries a POST, so the project's one retry policy would be
bypassed. Lists are paged ``limit=100`` with the ``offset`` from each
``next_page``; answers are ``{"data": ...}`` envelopes and errors
``{"errors": [{"message": ...}]}``, turned into :class:`AsanaError`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from syncd.http import Pacer, RetryPolicy, Runtime, Transient, parse_retry_after
from syncd.source import SourceError

__all__ = ["AsanaError", "Ambiguous", "Transport", "error_text", "PAGE"]

#: Asana's largest page.
PAGE = 100


class AsanaError(Exception):
    """A 4xx answer (not retried): the status and Asana's message."""

    def __init__(self, status: int, text: str):
        super().__init__(f"{status} {text}")
        self.status, self.text = status, text


class Ambiguous(Exception):
    """A call that is not safe to repeat failed in a way that may or may not have taken effect."""


def error_text(response: httpx.Response) -> str:
    """Asana's error messages, short (``Not Authorized``); the body's text when it is not Asana's envelope."""
    try:
        data = response.json()
    except ValueError:
        return " ".join(response.text.split())[:160] or response.reason_phrase
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list):
        texts = [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
        if texts:
            return "; ".join(texts)[:240]
    return str(data)[:160]


class Transport:
    """Calls at ``base_url`` with ``Authorization: Bearer <token>``, paced and retried."""

    def __init__(self, base_url: str, token: str, *, pacer: Pacer, policy: RetryPolicy, calls: Counter[str],
                 timeout: float, runtime: Runtime, workers: int = 4):  # fmt: skip
        self.pacer, self.policy, self.calls, self.runtime = pacer, policy, calls, runtime
        self._lock = threading.Lock()
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": "syncd"},
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
        )

    def _count(self, method: str) -> None:
        with self._lock:
            self.calls["read" if method == "GET" else "write"] += 1

    def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Any = None,
                what: str, once: bool = False) -> Any:  # fmt: skip
        """The JSON answer. Raises :class:`AsanaError` on 4xx.

        ``once``: the call is not safe to repeat (``POST /status_updates``):
        only a 429 or a connection never made is retried; a timeout, a dropped
        connection or a 5xx raises :class:`Ambiguous`.
        """

        def attempt() -> httpx.Response:
            self._count(method)
            try:
                r = self.client.request(method, path, params=params, json=body)
            except httpx.ConnectError as e:
                raise Transient(f"the connection to Asana failed while {what} ({type(e).__name__})") from None
            except httpx.TimeoutException:
                if once:
                    raise Ambiguous(f"Asana did not answer in time while {what}") from None
                raise Transient(f"Asana did not answer in time while {what}") from None
            except httpx.TransportError as e:
                if once:
                    raise Ambiguous(f"the connection to Asana broke while {what} ({type(e).__name__})") from None
                raise Transient(f"the connection to Asana failed while {what} ({type(e).__name__})") from None
            if r.status_code == 429:
                raise Transient(f"Asana answered 429 ({error_text(r)}) while {what}",
                                retry_after=parse_retry_after(r.headers.get("retry-after")), status=429)  # fmt: skip
            if r.status_code >= 500:
                message = f"Asana answered {r.status_code} ({error_text(r)}) while {what}"
                if once:
                    raise Ambiguous(message)
                raise Transient(message, retry_after=parse_retry_after(r.headers.get("retry-after")),
                                status=r.status_code)  # fmt: skip
            return r

        r = self.runtime.call(attempt, policy=self.policy, pacer=self.pacer, service="asana", what=what)
        if r.status_code >= 400:
            raise AsanaError(r.status_code, error_text(r))
        try:
            return r.json()
        except ValueError:
            kind = r.headers.get("content-type", "no content type")
            raise SourceError(f"Asana answered with a body that is not JSON ({kind}) while {what}; "
                              "check base_url, or try again if Asana is having trouble") from None  # fmt: skip

    def data(self, method: str, path: str, **kwargs: Any) -> Any:
        """The ``data`` of the envelope."""
        answer = self.request(method, path, **kwargs)
        if not isinstance(answer, dict) or "data" not in answer:
            raise SourceError(f"Asana answered without a data envelope while {kwargs.get('what')}; check base_url")
        return answer["data"]

    def pages(self, path: str, params: Mapping[str, str], *, what: str) -> Iterator[dict[str, Any]]:
        """Every record of a list, ``limit=100`` a page, following ``next_page.offset``."""
        query = {**params, "limit": str(PAGE)}
        while True:
            answer = self.request("GET", path, params=query, what=what)
            data = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(data, list):
                raise SourceError(f"Asana answered with something that is not a list while {what}; check base_url")
            yield from (x for x in data if isinstance(x, dict) and x.get("gid"))
            offset = ((answer.get("next_page") or {}) if isinstance(answer, dict) else {}).get("offset")
            if not offset:
                return
            query["offset"] = str(offset)

    def close(self) -> None:
        self.client.close()
