"""The HTTP side of the Trello connector: one httpx client, paced, retried, counted.

Credentials travel in the ``Authorization: OAuth ...`` header, never in a URL,
so they never reach a log line or an error message.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx

from syncd.source import SourceError

from ..pacing import Pacer
from ..retry import RetryPolicy, Transient, call, parse_retry_after

__all__ = ["Transport", "TrelloError", "Pacers"]


class TrelloError(Exception):
    """A 4xx answer (not retried)."""

    def __init__(self, status: int, text: str):
        super().__init__(f"{status} {text}")
        self.status, self.text = status, text


class Pacers:
    """Both limits (per token and per key) for each call."""

    def __init__(self, *pacers: Pacer):
        self.pacers = pacers

    def acquire(self) -> None:
        for p in self.pacers:
            p.acquire()

    def pause(self, seconds: float) -> None:
        for p in self.pacers:
            p.pause(seconds)


def error_text(response: httpx.Response) -> str:
    """Trello's error, short: JSON ``{"error","message"}`` or plain text."""
    try:
        data = response.json()
    except ValueError:
        return " ".join(response.text.split())[:120]
    if isinstance(data, dict):
        return " ".join(str(data.get(k)) for k in ("error", "message") if data.get(k))[:120]
    return str(data)[:120]


def retry_after(response: httpx.Response) -> float | None:
    """How long to hold every call on these credentials back.

    ``Retry-After`` when sent; Trello's 429 rarely has one, so then the rate
    window its ``X-Rate-Limit-*-Interval-Ms`` headers name is waited out (a key
    that keeps hitting 429 is locked out for the rest of the window). Without
    either, the policy's exponential backoff decides.
    """
    after = parse_retry_after(response.headers.get("retry-after"))
    if after is not None:
        return after
    if response.status_code != 429:
        return None
    windows = []
    for name in ("x-rate-limit-api-token-interval-ms", "x-rate-limit-api-key-interval-ms"):
        try:
            windows.append(float(response.headers[name]) / 1000)
        except (KeyError, ValueError):
            continue
    return max(windows) if windows else None


class Transport:
    """One API call at a time per worker: paced by both pacers, retried by the one policy."""

    def __init__(self, origin: str, key: str, token: str, *, pacer: Pacers, calls: Counter[str],
                 timeout: float, workers: int):  # fmt: skip
        self.pacer = pacer
        self.calls = calls
        self._lock = threading.Lock()
        self.client = httpx.Client(
            base_url=origin,
            timeout=timeout,
            headers={
                "Authorization": f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"',
                "Accept": "application/json",
                "User-Agent": "syncd",
            },
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
        )

    def request(self, method: str, path: str, *, policy: RetryPolicy, params: dict[str, str] | None = None,
                body: Any = None, what: str, parse: bool = True) -> Any:  # fmt: skip
        """``/1{path}``; the JSON body (when ``parse``). Raises :class:`TrelloError` on 4xx."""
        kind = "read" if method == "GET" else "write"

        def once() -> httpx.Response:
            with self._lock:
                self.calls[kind] += 1
            try:
                r = self.client.request(method, "/1" + path, params=params, json=body)
            except httpx.TimeoutException:
                raise Transient(f"Trello did not answer in time while {what}") from None
            except httpx.TransportError as e:
                raise Transient(f"the connection to Trello failed while {what} ({type(e).__name__})") from None
            if r.status_code == 429 or r.status_code >= 500:
                raise Transient(f"Trello answered {r.status_code} ({error_text(r)}) while {what}",
                                retry_after=retry_after(r), status=r.status_code)  # fmt: skip
            return r

        r = call(once, policy=policy, pacer=self.pacer, service="trello", what=what)  # type: ignore[arg-type]
        if r.status_code >= 400:
            raise TrelloError(r.status_code, error_text(r))
        if not parse or not r.content:
            return None
        try:
            return r.json()
        except ValueError:
            kind_of = r.headers.get("content-type", "no content type")
            raise SourceError(f"Trello answered with a body that is not JSON ({kind_of}) while {what}; "
                              "check base_url, or try again if Trello is having trouble") from None  # fmt: skip

    def close(self) -> None:
        self.client.close()
