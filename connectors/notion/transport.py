"""notion-client wired the syncd way: one retry policy, shared pacing, every call counted.

notion-client's own retry is off (``retry=False``): it retries neither 529,
timeouts nor dropped connections, and its hidden attempts would distort the
call counts. Every HTTP attempt goes through :meth:`syncd.http.Runtime.call`
behind the pacer shared by all sources using the same token, and is counted
(per endpoint) by an httpx event hook.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from notion_client import Client
from notion_client.errors import HTTPResponseError, RequestTimeoutError

from syncd.http import Kind, Pacer, RetryPolicy, Runtime, ServiceErrors, Transient
from syncd.source import SourceError

__all__ = ["NotionError", "NotionErrors", "Ambiguous", "Transport", "endpoint_of"]

T = TypeVar("T")
log = logging.getLogger("syncd.notion")
#: notion-client logs each failed attempt at WARNING; syncd reports failures itself.
_sdk_log = logging.getLogger("syncd.notion.sdk")
_sdk_log.setLevel(logging.ERROR)
_sdk_log.propagate = False
_sdk_log.addHandler(logging.NullHandler())

_ENDPOINTS = [
    ("POST", re.compile(r"/v1/data_sources/[^/]+/query$"), "data_sources.query"),
    ("GET", re.compile(r"/v1/data_sources/[^/]+$"), "data_sources.retrieve"),
    ("GET", re.compile(r"/v1/databases/[^/]+$"), "databases.retrieve"),
    ("GET", re.compile(r"/v1/pages/[^/]+/properties/[^/]+$"), "pages.properties.retrieve"),
    ("GET", re.compile(r"/v1/pages/[^/]+$"), "pages.retrieve"),
    ("PATCH", re.compile(r"/v1/pages/[^/]+$"), "pages.update"),
    ("POST", re.compile(r"/v1/comments$"), "comments.create"),
    ("GET", re.compile(r"/v1/comments$"), "comments.list"),
]


def endpoint_of(method: str, path: str) -> str:
    for m, pattern, name in _ENDPOINTS:
        if m == method and pattern.search(path):
            return name
    return f"{method} {path}"


class NotionError(SourceError):
    """A call Notion answered with an error that another attempt will not fix."""

    def __init__(self, message: str, code: str = "", status: int | None = None, detail: str = ""):
        super().__init__(message)
        self.code, self.status, self.detail = code, status, detail


class Ambiguous(Exception):
    """A non-idempotent call failed in a way that may or may not have taken effect."""


#: Notion's error codes for the kinds whose hint differs from the status's.
_KIND_OF_CODE: dict[str, Kind] = {
    "unauthorized": "auth",
    "object_not_found": "not_found",
    "restricted_resource": "forbidden",
}


class NotionErrors(ServiceErrors):
    """Notion's reading of the one classification: error codes and the hints."""

    service = "notion"

    def __init__(self, token_env: str):
        self.token_env = token_env

    def of_code(self, code: str, status: int) -> Kind:
        return _KIND_OF_CODE.get(code) or self.kind(status)

    def hint(self, kind: Kind, *, status: int, text: str, what: str, code: str = "") -> str:
        env = self.token_env
        if kind == "auth":
            return (f"Notion refused the token in {env} (unauthorized): check that {env} "
                    "holds the integration's secret (notion.so/profile/integrations → your integration → "
                    "Internal Integration Secret)")  # fmt: skip
        if kind in ("not_found", "forbidden"):
            return (f"Notion cannot open {what} ({code}): share it with the integration: open the database in "
                    "Notion, choose ••• → Connections → Connect to, and pick the integration "
                    "(and check the id or URL in the config)")  # fmt: skip
        if code == "validation_error":
            return f"Notion refused the request for {what} (validation_error): {text}"
        return f"Notion answered {status} {code} for {what}: {text}"

    def reading(self, exc: BaseException) -> Transient | None:
        """The retryable reading of a failure of notion-client, or None when retrying will not help."""
        if isinstance(exc, RequestTimeoutError):
            return self.transient("Notion did not answer in time")
        if isinstance(exc, HTTPResponseError):
            if self.kind(exc.status) == "transient":
                code = exc.code.value if hasattr(exc.code, "value") else exc.code
                if code == "notionhq_client_response_error":
                    code = {529: "service_overload", 502: "bad_gateway"}.get(exc.status, f"HTTP {exc.status}")
                return self.transient(f"Notion answered {exc.status} {code}", exc.status, exc.headers or {})
            return None
        if isinstance(exc, httpx.TransportError):
            return self.transient(f"the connection to Notion failed ({type(exc).__name__})")
        if isinstance(exc, json.JSONDecodeError):
            return self.transient("Notion answered with a body that is not JSON")
        return None


class Transport:
    """One notion-client Client for one source."""

    def __init__(
        self,
        *,
        token: str,
        token_env: str,
        base_url: str | None,
        version: str,
        timeout: float,
        pacer: Pacer,
        policy: RetryPolicy,
        runtime: Runtime,
        calls: Counter[str],
    ):
        self.token_env = token_env
        self.errors = NotionErrors(token_env)
        self.pacer = pacer
        self.policy = policy
        self.runtime = runtime
        self.calls = calls
        #: The server's clock (``Date`` of the last response), for incremental reads.
        self.server_date: datetime | None = None
        hooks = {"request": [self._count], "response": [self._date]}
        self._http = httpx.Client(event_hooks=hooks)  # type: ignore[arg-type]
        self.client = Client(
            client=self._http,
            auth=token,
            base_url=(base_url or "https://api.notion.com").rstrip("/"),
            notion_version=version,
            retry=False,
            timeout_ms=int(timeout * 1000),
            logger=_sdk_log,
            log_level=logging.ERROR,
        )

    def _count(self, request: httpx.Request) -> None:
        self.calls[endpoint_of(request.method, request.url.path)] += 1

    def _date(self, response: httpx.Response) -> None:
        value = response.headers.get("date")
        if value:
            try:
                self.server_date = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                pass

    def close(self) -> None:
        self.client.close()

    # -- calls -------------------------------------------------------------------------

    def call(self, fn: Callable[[], T], what: str) -> T:
        """One API call, paced and retried; errors become :class:`NotionError` naming ``what``."""

        def attempt() -> T:
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - sorted into retryable or not
                transient = self.errors.reading(exc)
                if transient is not None:
                    raise transient from None
                raise

        try:
            return self.runtime.call(attempt, policy=self.policy, pacer=self.pacer, service="notion", what=what)
        except HTTPResponseError as exc:
            raise self.error(exc, what) from None
        except NotionError:
            raise
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - a client bug must not crash the run
            raise NotionError(f"Notion call for {what} failed: {type(exc).__name__}: {exc}") from None

    def call_once(self, fn: Callable[[], T], what: str) -> T:
        """A call that must not be repeated blindly (comments.create).

        Retried only on 429 (Notion did not take it); any other failure that
        may have taken effect raises :class:`Ambiguous`.
        """

        def attempt() -> T:
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001
                transient = self.errors.reading(exc)
                if transient is not None and transient.status == 429:
                    raise transient from None
                if transient is not None:
                    raise Ambiguous(str(transient)) from None
                raise

        try:
            return self.runtime.call(attempt, policy=self.policy, pacer=self.pacer, service="notion", what=what)
        except HTTPResponseError as exc:
            raise self.error(exc, what) from None

    def error(self, exc: HTTPResponseError, what: str) -> NotionError:
        code = exc.code.value if hasattr(exc.code, "value") else str(exc.code)
        message = str(exc)
        kind = self.errors.of_code(code, exc.status)
        text = self.errors.hint(kind, status=exc.status, text=message, what=what, code=code)
        return NotionError(text, code=code, status=exc.status, detail=message)

    # -- paging ------------------------------------------------------------------------

    def pages(self, what: str, fetch: Callable[[str | None], dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Follow ``next_cursor`` to the end, one response at a time (never the whole list)."""
        cursor: str | None = None
        while True:
            response = self.call(lambda: fetch(cursor), what)
            if not isinstance(response, dict) or not isinstance(response.get("results"), list):
                raise NotionError(f"Notion's answer for {what} has no results list; is base_url pointing at Notion?")
            more, cursor = response.get("has_more"), response.get("next_cursor")
            yield response
            del response  # else held through the next call: one answer in memory at a time
            if not more or not cursor:
                return
