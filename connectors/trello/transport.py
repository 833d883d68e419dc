"""The HTTP side of the Trello connector: one httpx client, paced, retried, counted.

Credentials travel in the ``Authorization: OAuth ...`` header, never in a URL,
so they never reach a log line or an error message.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx

from syncd.http import Kind, Pacer, RetryPolicy, Runtime, ServiceErrors, parse_retry_after
from syncd.source import SourceError

__all__ = ["Transport", "TrelloError", "TrelloErrors", "Pacers"]


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

    def held_for(self) -> float:
        return max(p.held_for() for p in self.pacers)


def error_text(response: httpx.Response) -> str:
    """Trello's error, short: JSON ``{"error","message"}`` or plain text."""
    try:
        data = response.json()
    except ValueError:
        return " ".join(response.text.split())[:120]
    if isinstance(data, dict):
        return " ".join(str(data.get(k)) for k in ("error", "message") if data.get(k))[:120]
    return str(data)[:120]


class TrelloErrors(ServiceErrors):
    """Trello's reading of the one classification: rate-window headers and the hints."""

    service = "trello"

    def __init__(self, *, board: str, source: str, key_env: str, token_env: str):
        self.board, self.source, self.key_env, self.token_env = board, source, key_env, token_env

    def kind(self, status: int) -> Kind:
        return "not_found" if status == 400 else super().kind(status)  # a malformed board id

    def retry_after(self, status: int, headers: Any) -> float | None:
        """How long to hold every call on these credentials back.

        ``Retry-After`` when sent; Trello's 429 rarely has one, so then the rate
        window its ``X-Rate-Limit-*-Interval-Ms`` headers name is waited out (a key
        that keeps hitting 429 is locked out for the rest of the window). Without
        either, the policy's exponential backoff decides.
        """
        after = parse_retry_after(headers.get("retry-after"))
        if after is not None:
            return after
        if status != 429:
            return None
        windows = []
        for name in ("x-rate-limit-api-token-interval-ms", "x-rate-limit-api-key-interval-ms"):
            try:
                windows.append(float(headers[name]) / 1000)
            except (KeyError, ValueError):
                continue
        return max(windows) if windows else None

    def hint(self, kind: Kind, *, status: int, text: str, what: str) -> str:
        board, key, token = self.board, self.key_env, self.token_env
        if kind == "auth":
            low = text.lower()
            if "invalid key" in low:
                hint = f"check {key}: it is not a valid Trello API key"
            elif "token" in low:
                hint = f"check {token}: the token is invalid, expired or revoked (and that it was made for the key in {key})"
            else:
                hint = f"check {token}: the token may be expired or lack access to this board (and {key}, the key it was made for)"
            return f'Trello refused the credentials for board "{board}" (401 {text}); {hint}'
        if kind == "not_found":
            return (f'board "{board}" was not found ({status} {text}); check the board id, short link '
                    f'or URL of source "{self.source}", and that the token in {token} can see the board')  # fmt: skip
        if kind == "forbidden":
            return f'Trello forbade {what} (403 {text}); check the token in {token} may write to board "{board}"'
        return f"Trello answered {status} ({text}) while {what}"


class Transport:
    """One API call at a time per worker: paced by both pacers, retried by the one policy."""

    def __init__(self, origin: str, key: str, token: str, *, pacer: Pacers, calls: Counter[str],
                 timeout: float, workers: int, runtime: Runtime, errors: TrelloErrors):  # fmt: skip
        self.pacer = pacer
        self.calls = calls
        self.runtime, self.errors = runtime, errors
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
                raise self.errors.transient(f"Trello did not answer in time while {what}") from None
            except httpx.TransportError as e:
                raise self.errors.transient(
                    f"the connection to Trello failed while {what} ({type(e).__name__})"
                ) from None
            if r.status_code >= 400 and self.errors.kind(r.status_code) == "transient":
                raise self.errors.transient(f"Trello answered {r.status_code} ({error_text(r)}) while {what}",
                                            r.status_code, r.headers)  # fmt: skip
            return r

        r = self.runtime.call(once, policy=policy, pacer=self.pacer, service="trello", what=what)
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
