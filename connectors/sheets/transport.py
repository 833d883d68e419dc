"""The Sheets HTTP transport, the per-pass write batches, and service-account credentials.

Every HTTP request of :mod:`syncd.connectors.sheets` goes through :class:`Transport`,
gspread's HTTPClient with the origin swapped for ``base_url`` and the project's
one retry policy and pacing (gspread's BackOffHTTPClient retries forever and
misses non-JSON 429s). Each attempt is counted by endpoint kind. The sources
of one spreadsheet queue their writes in one :class:`WriteBatch` per pass, so
the spreadsheet gets one ``values:batchUpdate`` however many sources it holds.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import google.auth.exceptions
import requests
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from syncd.http import Kind, Pacer, RetryPolicy, Runtime, ServiceErrors, fingerprint
from syncd.source import SourceError

__all__ = ["API_ORIGIN", "SCOPES", "Transport", "SheetsErrors", "Queued", "WriteBatch", "load_credentials"]

API_ORIGIN = "https://sheets.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]


# --- transport -------------------------------------------------------------------


def _kind(method: str, url: str) -> str:
    path = unquote(urlsplit(url).path)
    if path.endswith("/values:batchGet"):
        return "values.batchGet"
    if path.endswith("/values:batchUpdate"):
        return "values.batchUpdate"
    if path.endswith(":batchUpdate"):
        return "spreadsheets.batchUpdate"
    if "/values/" in path:
        return "values.get" if method.upper() == "GET" else "values.update"
    return "spreadsheets.get"


class SheetsErrors(ServiceErrors):
    """Google's reading of the one classification: 408 is worth another attempt too."""

    service = "sheets"
    retryable = frozenset({408})

    def __init__(self, *, where: Any, source: str, credentials_env: str, email: Any):
        #: Callables: the spreadsheet's title and the account are known only once read.
        self.where, self.source, self.credentials_env, self.email = where, source, credentials_env, email

    def hint(self, kind: Kind, *, status: int, text: str, what: str) -> str:
        where, email = self.where(), self.email()
        if kind == "not_found":
            return (
                f"{where} was not found ({what}); check `spreadsheet` in source {self.source!r} "
                "(a key or the sheet's URL)"
            )
        if kind == "forbidden":
            return (
                f"{where}: {email} may not open it ({what}); share the spreadsheet with {email} "
                "(Editor, to write back) and make sure the Sheets API is enabled for its project"
            )
        if kind == "auth":
            return f"{where}: the credentials were refused ({what}); check {self.credentials_env}"
        return f"{where}: {what} failed with {status}: {text}"


class Transport(HTTPClient):
    """gspread's HTTP client: origin rewritten to ``base_url``; each request
    paced and retried once, here, with :meth:`syncd.http.Runtime.call`."""

    def __init__(
        self,
        auth: Any,
        session: Any,
        *,
        base_url: str | None,
        policy: RetryPolicy,
        pacer: Pacer | None,
        calls: Counter[str],
        timeout: float | None,
        runtime: Runtime,
        errors: ServiceErrors,
    ):
        super().__init__(auth, session)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.policy, self.pacer, self.calls, self.runtime = policy, pacer, calls, runtime
        self.errors = errors
        self.set_timeout(timeout)

    def request(
        self,
        method: str,
        endpoint: str,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        files: Any = None,
        headers: Any = None,
    ) -> requests.Response:
        url = (
            self.base_url + endpoint[len(API_ORIGIN) :]
            if self.base_url and endpoint.startswith(API_ORIGIN)
            else endpoint
        )
        kind = _kind(method, url)

        def attempt() -> requests.Response:
            self.calls[kind] += 1
            try:
                response = self.session.request(
                    method, url, params=params, data=data, json=json, files=files, headers=headers, timeout=self.timeout
                )
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
                raise self.errors.transient(f"{kind} to {urlsplit(url).netloc}: {_network_problem(e)}") from None
            except google.auth.exceptions.RefreshError as e:
                if getattr(e, "retryable", False):
                    raise self.errors.transient(f"getting an access token: {_first_line(e)}") from None
                raise SourceError(
                    f"the token endpoint refused the service account ({_first_line(e)}); "
                    "check that the key in the credentials file is current"
                ) from None
            except google.auth.exceptions.TransportError as e:
                raise self.errors.transient(f"getting an access token: {_first_line(e)}") from None
            status = response.status_code
            if status >= 400 and self.errors.kind(status) == "transient":
                raise self.errors.transient(
                    f"{kind} answered {status} {_google_message(response)}", status, response.headers
                )
            if not response.ok:
                raise APIError(response)
            try:
                response.json()
            except ValueError:
                raise SourceError(
                    f"{kind} answered {status} with a body that is not JSON "
                    f"({response.headers.get('content-type', 'no content type')})"
                ) from None
            return response

        return self.runtime.call(attempt, policy=self.policy, pacer=self.pacer, service="sheets", what=kind)


def _network_problem(e: Exception) -> str:
    if isinstance(e, requests.Timeout):
        return "timed out"
    if isinstance(e, requests.exceptions.ChunkedEncodingError):
        return "the connection broke mid-answer"
    return "the connection failed or was dropped"


def _first_line(e: BaseException) -> str:
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__


def _google_message(response: requests.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")[:200]
    except (ValueError, KeyError, TypeError):
        return "(no JSON error body)"


# --- writes shared between the sources of one spreadsheet -------------------------


@dataclass
class Queued:
    """One source's share of a spreadsheet's writes in one pass."""

    source: Any  # the SheetsTable
    patches: list[Any]
    cells: list[Any]  # CellWrite
    colours: list[tuple[int, int, str | None]]


class WriteBatch:
    """The writes of every source of one spreadsheet in one pass, sent once by
    whichever of them flushes first; the others only collect their part."""

    def __init__(self) -> None:
        self.queued: list[Queued] = []
        self.lock = threading.Lock()
        self.sent = False
        #: (what was being done, what was raised) when nothing was written.
        self.failure: tuple[str, Exception] | None = None
        #: The same when the values went out but the colours did not.
        self.colour_failure: tuple[str, Exception] | None = None


# --- credentials -------------------------------------------------------------------


class _ProxiedCredentials(service_account.Credentials):
    """For a ``base_url`` (a proxy, a test server): no side lookups at Google.

    google-auth >= 2.5x asks iamcredentials.googleapis.com for the account's
    regional access boundary after each token refresh; behind a proxy that
    call would bypass the proxy, so it is switched off there.
    """

    def _is_regional_access_boundary_lookup_required(self) -> bool:
        return False


def load_credentials(
    variable: str, env: Any, runtime: Runtime, proxied: bool = False
) -> tuple[service_account.Credentials, str]:
    """Service-account credentials from the file the variable names (kept by the
    runtime per key, so sources on one account fetch one token)."""
    value = (env.get(variable) or "").strip()
    if not value:
        raise SourceError(f"{variable} is not set; set it to the path of a service-account JSON key file")
    if value.startswith("{"):
        text, origin = value, f"{variable} (inline JSON)"
    else:
        path = Path(os.path.expanduser(value))
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SourceError(
                f"{variable} names {path}, which does not exist; point it at the service-account JSON key file"
            ) from None
        except OSError as e:
            raise SourceError(f"{variable} names {path}, which cannot be read ({e.strerror})") from None
        origin = str(path)
    try:
        info = json.loads(text)
    except ValueError:
        raise SourceError(f"{origin} is not JSON; download the service account's key as JSON") from None
    missing = [k for k in ("client_email", "private_key", "token_uri") if not isinstance(info, dict) or not info.get(k)]
    if missing:
        raise SourceError(
            f"{origin} is not a service-account key (no {', '.join(missing)}); "
            "download a key of type service_account from the Google Cloud console"
        )

    def make() -> service_account.Credentials:
        try:
            kind = _ProxiedCredentials if proxied else service_account.Credentials
            return kind.from_service_account_info(info, scopes=SCOPES)
        except (ValueError, TypeError):
            raise SourceError(f"{origin}: the private key in it cannot be read; download a new key") from None

    creds = runtime.keep(("sheets-credentials", fingerprint(text), "proxied" if proxied else ""), make)
    return creds, info["client_email"]
