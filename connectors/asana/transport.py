"""Asana's REST API over httpx, the syncd way: one retry policy, a pacer shared per token, every call counted.

Not the ``asana`` package: it is synchronous, generated, retries on its own
terms and never retries a POST, so the project's one retry policy would be
bypassed. Lists are paged ``limit=100`` with the ``offset`` from each
``next_page``; answers are ``{"data": ...}`` envelopes and errors
``{"errors": [{"message": ...}]}``, read by :class:`AsanaErrors` (the one
classification of :mod:`syncd.http`, with Asana's hints) into
:class:`syncd.http.Refused` naming the goal and what to check.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from syncd.http import Kind, Pacer, Refused, RetryPolicy, Runtime, ServiceErrors
from syncd.source import SourceError

__all__ = ["AsanaErrors", "Ambiguous", "Transport", "error_text", "PAGE"]

#: Asana's largest page.
PAGE = 100


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


class AsanaErrors(ServiceErrors):
    """Asana's reading of the one classification: hints naming the goal (or workspace) and what to check."""

    service = "asana"

    def __init__(self, *, source: str, workspace: str, scope: str, token_env: str):
        self.source, self.workspace, self.scope, self.token_env = source, workspace, scope, token_env

    def hint(self, kind: Kind, *, status: int, text: str, what: str, goal: str | None = None) -> str:
        var, ws = self.token_env, self.workspace
        if kind == "auth":
            return (f"Asana refused the token in {var} while {what} (401 {text}); check that {var} holds a valid "
                    "personal access token that has not been revoked")  # fmt: skip
        if status == 402:
            return (f"Asana refused {what} (402 {text}): Goals need a paid Asana plan (Starter or above) for "
                    f'workspace {ws}; upgrade it or remove source "{self.source}"')  # fmt: skip
        if kind == "forbidden":
            thing = goal or f"a goal of {self.scope}"
            return (f"Asana forbade {what} (403 {text}): {thing} is private to someone; ask its owner to share it "
                    f"with the user of the token in {var}, or make it public to the workspace")  # fmt: skip
        if kind == "not_found":
            if goal:
                return (f"Asana does not know {goal} (404 {text}); it may have been deleted, or the token in {var} "
                        "cannot see it")  # fmt: skip
            return (f"Asana does not know {self.scope} (404 {text}); check the gids of source \"{self.source}\" "
                    f"(workspace, team, time_period) and that the token in {var} can see them")  # fmt: skip
        return f"Asana refused {what} ({status} {text})" + (f" on {goal}" if goal else "")

    def refused(self, status: int, text: str, what: str, goal: str | None = None) -> Refused:
        kind = self.kind(status)
        message = self.hint(kind, status=status, text=text, what=what, goal=goal)
        return Refused(message, kind=kind, status=status, text=text)

    @staticmethod
    def stops_the_source(error: Refused) -> bool:
        """The token or the plan was refused: no other call of this source will fare better."""
        return error.kind == "auth" or error.status == 402


class Transport:
    """Calls at ``base_url`` with ``Authorization: Bearer <token>``, paced and retried."""

    def __init__(self, base_url: str, token: str, *, pacer: Pacer, policy: RetryPolicy, calls: Counter[str],
                 timeout: float, runtime: Runtime, errors: AsanaErrors, workers: int = 4):  # fmt: skip
        self.pacer, self.policy, self.calls, self.runtime, self.errors = pacer, policy, calls, runtime, errors
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
                what: str, goal: str | None = None, once: bool = False) -> Any:  # fmt: skip
        """The JSON answer. Raises :class:`syncd.http.Refused` on 4xx (its hint names ``goal`` when given).

        ``once``: the call is not safe to repeat (``POST /status_updates``):
        only a 429 or a connection never made is retried; a timeout, a dropped
        connection or a 5xx raises :class:`Ambiguous`.
        """

        errors = self.errors

        def attempt() -> httpx.Response:
            self._count(method)
            try:
                r = self.client.request(method, path, params=params, json=body)
            except httpx.ConnectError as e:  # never reached Asana: safe to repeat
                raise errors.transient(f"the connection to Asana failed while {what} ({type(e).__name__})") from None
            except httpx.TimeoutException:
                if once:
                    raise Ambiguous(f"Asana did not answer in time while {what}") from None
                raise errors.transient(f"Asana did not answer in time while {what}") from None
            except httpx.TransportError as e:
                if once:
                    raise Ambiguous(f"the connection to Asana broke while {what} ({type(e).__name__})") from None
                raise errors.transient(f"the connection to Asana failed while {what} ({type(e).__name__})") from None
            if r.status_code >= 400 and errors.kind(r.status_code) == "transient":
                message = f"Asana answered {r.status_code} ({error_text(r)}) while {what}"
                if once and r.status_code != 429:  # a 429 was not processed; a 5xx may have been
                    raise Ambiguous(message)
                raise errors.transient(message, r.status_code, r.headers)
            return r

        r = self.runtime.call(attempt, policy=self.policy, pacer=self.pacer, service="asana", what=what)
        if r.status_code >= 400:
            raise errors.refused(r.status_code, error_text(r), what, goal)
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

    def pages(
        self, path: str, params: Mapping[str, str], *, what: str, goal: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every record of a list, ``limit=100`` a page, following ``next_page.offset``."""
        query = {**params, "limit": str(PAGE)}
        while True:
            answer = self.request("GET", path, params=query, what=what, goal=goal)
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
