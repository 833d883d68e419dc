"""Google Sheets: KPI and OKR tables through gspread, at the API's floor.

A read is one metadata call (sheet ids, titles, grid size, merges, the
locale) and one ``values:batchGet`` of FORMATTED values (what people see)
for every worksheet the configuration uses in that spreadsheet; a write is one
``values:batchUpdate`` of the changed cells only, plus one
``spreadsheets:batchUpdate`` when Status cells are coloured or a missing owned
column needs room. gspread's ``Worksheet`` objects are never used: each of
them re-fetches the metadata.

Every HTTP request goes through :class:`_Transport`, gspread's HTTPClient with
the origin swapped for ``base_url`` and the project's one retry policy and
pacing (gspread's BackOffHTTPClient retries forever and misses non-JSON 429s).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import google.auth.exceptions
import gspread
import requests
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from mappings.sheets import cell_label, colour_requests, fill_merged_header, shown, sheet_range, value_ranges
from mappings.table import CellWrite, TableMapping
from syncd.model import ItemError, Patch, ReadResult
from syncd.source import Deferred, Role, SourceContext, SourceError

from .pacing import Pacer, fingerprint, pacer_for
from .retry import RetryPolicy, Transient, call

__all__ = ["SheetsTable", "open", "spreadsheet_key"]

API_ORIGIN = "https://sheets.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
_METADATA_FIELDS = "spreadsheetId,properties(title,locale,timeZone),sheets(properties(sheetId,title,index,gridProperties),merges)"
_KEY = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
#: How long worksheets fetched for a sibling source stay usable (one pass).
_PREFETCH_TTL = 60.0


def open(role: Role, config: Any, ctx: SourceContext) -> "SheetsTable":  # noqa: A001 - the registry's name
    return SheetsTable(role, config, ctx)


def spreadsheet_key(text: str) -> str:
    """The key from a key or any URL of the spreadsheet."""
    text = text.strip()
    m = _KEY.search(text)
    if m:
        return m.group(1)
    if re.fullmatch(r"[A-Za-z0-9_-]{10,}", text):
        return text
    raise SourceError(
        f"spreadsheet: {text!r} is neither a spreadsheet key nor a docs.google.com/spreadsheets/d/... URL"
    )


# --- transport -------------------------------------------------------------------


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


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


class _Transport(HTTPClient):
    """gspread's HTTP client: origin rewritten to ``base_url``; each request
    paced and retried once, here, with :func:`connectors.retry.call`."""

    def __init__(self, auth: Any, session: Any, *, base_url: str | None, policy: RetryPolicy,
                 pacer: Pacer | None, calls: Counter[str], timeout: float | None):
        super().__init__(auth, session)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.policy, self.pacer, self.calls = policy, pacer, calls
        self.set_timeout(timeout)

    def request(self, method: str, endpoint: str, params: Any = None, data: Any = None,  # type: ignore[override]
                json: Any = None, files: Any = None, headers: Any = None) -> requests.Response:
        url = self.base_url + endpoint[len(API_ORIGIN):] if self.base_url and endpoint.startswith(API_ORIGIN) else endpoint
        kind = _kind(method, url)

        def attempt() -> requests.Response:
            self.calls[kind] += 1
            try:
                response = self.session.request(method, url, params=params, data=data, json=json, files=files,
                                                headers=headers, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
                raise Transient(f"{kind} to {urlsplit(url).netloc}: {_network_problem(e)}") from None
            except google.auth.exceptions.RefreshError as e:
                if getattr(e, "retryable", False):
                    raise Transient(f"getting an access token: {_first_line(e)}") from None
                raise SourceError(f"the token endpoint refused the service account ({_first_line(e)}); "
                                  "check that the key in the credentials file is current") from None
            except google.auth.exceptions.TransportError as e:
                raise Transient(f"getting an access token: {_first_line(e)}") from None
            status = response.status_code
            if status in (408, 429) or status >= 500:
                raise Transient(f"{kind} answered {status} {_google_message(response)}",
                                retry_after=_retry_after(response), status=status)
            if not response.ok:
                raise APIError(response)
            try:
                response.json()
            except ValueError:
                raise SourceError(f"{kind} answered {status} with a body that is not JSON "
                                  f"({response.headers.get('content-type', 'no content type')})") from None
            return response

        return call(attempt, policy=self.policy, pacer=self.pacer, service="sheets", what=kind)


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


# --- credentials -------------------------------------------------------------------

_credentials: dict[str, service_account.Credentials] = {}
_credentials_lock = threading.Lock()


class _ProxiedCredentials(service_account.Credentials):
    """For a ``base_url`` (a proxy, a test server): no side lookups at Google.

    google-auth >= 2.5x asks iamcredentials.googleapis.com for the account's
    regional access boundary after each token refresh; behind a proxy that
    call would bypass the proxy, so it is switched off there.
    """

    def _is_regional_access_boundary_lookup_required(self) -> bool:
        return False


def _load_credentials(variable: str, env: Any, proxied: bool = False) -> tuple[service_account.Credentials, str]:
    """Service-account credentials from the file the variable names (shared per key,
    so sources on one account fetch one token)."""
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
            raise SourceError(f"{variable} names {path}, which does not exist; point it at the service-account "
                              "JSON key file") from None
        except OSError as e:
            raise SourceError(f"{variable} names {path}, which cannot be read ({e.strerror})") from None
        origin = str(path)
    try:
        info = json.loads(text)
    except ValueError:
        raise SourceError(f"{origin} is not JSON; download the service account's key as JSON") from None
    missing = [k for k in ("client_email", "private_key", "token_uri") if not isinstance(info, dict) or not info.get(k)]
    if missing:
        raise SourceError(f"{origin} is not a service-account key (no {', '.join(missing)}); "
                          "download a key of type service_account from the Google Cloud console")
    cache_key = fingerprint(text) + (":proxied" if proxied else "")
    with _credentials_lock:
        creds = _credentials.get(cache_key)
        if creds is None:
            try:
                kind = _ProxiedCredentials if proxied else service_account.Credentials
                creds = kind.from_service_account_info(info, scopes=SCOPES)
            except (ValueError, TypeError):
                raise SourceError(f"{origin}: the private key in it cannot be read; download a new key") from None
            _credentials[cache_key] = creds
    return creds, info["client_email"]


# --- reads shared between sources of one spreadsheet -------------------------------

#: (ctx id, ...) -> (time, ctx, metadata, grid). The context itself is kept and
#: compared, so a later pass (a new context) never takes an old pass's grid.
_prefetched: dict[tuple[Any, ...], tuple[float, Any, dict[str, Any], list[list[Any]]]] = {}
_prefetch_lock = threading.Lock()


def _take_prefetched(key: tuple[Any, ...], ctx: Any) -> tuple[dict[str, Any], list[list[Any]]] | None:
    now = time.monotonic()
    with _prefetch_lock:
        for k in [k for k, entry in _prefetched.items() if now - entry[0] > _PREFETCH_TTL]:
            del _prefetched[k]
        hit = _prefetched.pop(key, None)
    return (hit[2], hit[3]) if hit and hit[1] is ctx else None


# --- the source ----------------------------------------------------------------------


class SheetsTable:
    """One ``[[kpis]]`` or ``[[okrs]]`` table in a Google Sheets worksheet."""

    service = "sheets"

    def __init__(self, role: Role, config: Any, ctx: SourceContext, *,
                 policy: RetryPolicy | None = None, pacer: Pacer | None = None):
        self.name = config.name
        self.role = role
        self.config = config
        self.ctx = ctx
        self.calls: Counter[str] = Counter()
        self.key = spreadsheet_key(config.spreadsheet)
        self.policy = policy or RetryPolicy.from_config(ctx.config)
        self._pacer = pacer
        self._http: HTTPClient | None = None
        self.mapping: TableMapping | None = None
        self.title = ""
        self.sheet: dict[str, Any] = {}
        self.locale: str | None = None
        self._grid: list[list[Any]] = []

    # -- plumbing ------------------------------------------------------------------

    def _where(self) -> str:
        return f"spreadsheet {self.key}" + (f" ({self.title})" if self.title else "")

    def _client(self) -> HTTPClient:
        if self._http is None:
            creds, email = _load_credentials(self.config.credentials_env, self.ctx.env, bool(self.config.base_url))
            pacer = self._pacer or pacer_for("sheets", email, self.ctx.config.limits.sheets_per_minute, 60)
            timeout = self.ctx.config.syncd.timeout.total_seconds()

            def factory(auth: Any, session: Any) -> _Transport:
                return _Transport(auth, session, base_url=self.config.base_url, policy=self.policy, pacer=pacer,
                                  calls=self.calls, timeout=timeout)

            self.email = email
            self._http = gspread.Client(auth=creds, http_client=factory).http_client  # type: ignore[arg-type]
        return self._http

    def _api(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one gspread call; turn its failures into a clear SourceError."""
        try:
            return fn(*args, **kwargs)
        except APIError as e:
            raise SourceError(self._explain(what, e)) from None
        except Deferred:
            raise
        except SourceError as e:
            raise SourceError(f"{self._where()}: {what}: {e}") from None
        except (ValueError, KeyError, TypeError) as e:
            raise SourceError(f"{self._where()}: {what}: the answer was not what the Sheets API sends "
                              f"({type(e).__name__})") from None

    def _explain(self, what: str, e: APIError) -> str:
        status = e.response.status_code
        message = str(e.error.get("message", ""))[:300] if isinstance(e.error, dict) else ""
        email = getattr(self, "email", "the service account")
        if status == 404:
            return (f"{self._where()} was not found ({what}); check `spreadsheet` in source {self.name!r} "
                    "(a key or the sheet's URL)")
        if status == 403:
            return (f"{self._where()}: {email} may not open it ({what}); share the spreadsheet with {email} "
                    "(Editor, to write back) and make sure the Sheets API is enabled for its project")
        if status == 401:
            return f"{self._where()}: the credentials were refused ({what}); check {self.config.credentials_env}"
        return f"{self._where()}: {what} failed with {status}: {message}"

    # -- reading -------------------------------------------------------------------

    def _siblings(self) -> list[str | None]:
        """Worksheets that other sheets sources of this run read from this spreadsheet."""
        out: list[str | None] = []
        for _, cfg in self.ctx.config.sources():
            if cfg is self.config or getattr(cfg, "type", None) != "sheets":
                continue
            try:
                same = spreadsheet_key(cfg.spreadsheet) == self.key
            except SourceError:
                continue
            if same and cfg.base_url == self.config.base_url and cfg.credentials_env == self.config.credentials_env:
                out.append(cfg.worksheet)
        return out

    def _prefetch_key(self, worksheet: str | None) -> tuple[Any, ...]:
        return (id(self.ctx), self.config.base_url, self.config.credentials_env, self.key, worksheet)

    def _fetch(self) -> tuple[dict[str, Any], list[list[Any]]]:
        hit = _take_prefetched(self._prefetch_key(self.config.worksheet), self.ctx)
        if hit is not None:
            return hit
        http = self._client()
        meta = self._api("reading its metadata", http.fetch_sheet_metadata, self.key,
                         params={"includeGridData": "false", "fields": _METADATA_FIELDS})
        sheets = sorted(meta.get("sheets") or [], key=lambda s: s["properties"].get("index", 0))
        if not sheets:
            raise SourceError(f"{self._where()} has no worksheets")
        by_title = {s["properties"]["title"]: s for s in sheets}

        def pick(title: str | None) -> dict[str, Any] | None:
            return sheets[0] if title is None else by_title.get(title)

        mine = pick(self.config.worksheet)
        if mine is None:
            raise SourceError(
                f"{self._where()} has no worksheet {self.config.worksheet!r}; its worksheets are "
                + ", ".join(repr(t) for t in by_title) + f"; fix `worksheet` in source {self.name!r}"
            )
        wanted: dict[str, tuple[str | None, dict[str, Any]]] = {mine["properties"]["title"]: (self.config.worksheet, mine)}
        for other in self._siblings():
            sheet = pick(other)
            if sheet is not None and sheet["properties"]["title"] not in wanted:
                wanted[sheet["properties"]["title"]] = (other, sheet)
        titles = list(wanted)
        answer = self._api("reading its values", http.values_batch_get, self.key, [sheet_range(t) for t in titles],
                           params={"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "ROWS"})
        ranges = answer.get("valueRanges")
        if not isinstance(ranges, list) or len(ranges) != len(titles):
            raise SourceError(f"{self._where()}: values:batchGet answered without the {len(titles)} ranges asked for")
        now = time.monotonic()
        result = None
        for title, vr in zip(titles, ranges):
            name, sheet = wanted[title]
            grid = [list(r) for r in (vr.get("values") or [])]
            entry = {**meta, "sheet": sheet}
            if title == titles[0]:
                result = (entry, grid)
            else:
                with _prefetch_lock:
                    _prefetched[self._prefetch_key(name)] = (now, self.ctx, entry, grid)
        assert result is not None
        return result

    def read(self) -> ReadResult:
        meta, grid = self._fetch()
        self.sheet = meta["sheet"]
        self.title = self.sheet["properties"]["title"]
        self.locale = (meta.get("properties") or {}).get("locale")
        self._grid = fill_merged_header(grid, self.sheet.get("merges") or [], self.config.header_row)
        title = self.title
        self.mapping = TableMapping(
            self.role, self.config.columns, source=self.name, header_row=self.config.header_row,
            locale=self.locale, label=lambda row, col: cell_label(title, row, col),
        )
        try:
            return self.mapping.read(self._grid)
        except SourceError as e:
            raise SourceError(f"{self._where()}: {e}") from None

    # -- writing -------------------------------------------------------------------

    def write(self, patches: Sequence[Patch]) -> list[ItemError]:
        if not patches or self.ctx.dry_run:
            return []
        if self.mapping is None:
            self.read()
        assert self.mapping is not None
        cells = self._changed(self.mapping.cell_writes(patches))
        if not cells:
            return []
        http = self._client()
        sheet_id = self.sheet["properties"]["sheetId"]
        columns = self.sheet["properties"].get("gridProperties", {}).get("columnCount", 26)
        changed = {(c.row, c.col) for c in cells}
        colours = self._colours(patches, changed) if self.config.colour else []
        layout: list[dict[str, Any]] = []
        need = max(c.col for c in cells) + 1
        if need > columns:
            layout.append({"appendDimension": {"sheetId": sheet_id, "dimension": "COLUMNS", "length": need - columns}})
        if layout:  # room first, then values, in as few calls as the order allows
            self._api("making room for new columns", http.batch_update, self.key,
                      {"requests": layout + colour_requests(sheet_id, colours)})
            self.sheet["properties"].setdefault("gridProperties", {})["columnCount"] = need
        body = {"valueInputOption": "RAW", "data": value_ranges(self.title, cells)}
        self._api(f"writing {len(cells)} cells", http.values_batch_update, self.key, body)
        for c in cells:
            self._remember(c)
        if colours and not layout:
            try:
                self._api("colouring Status cells", http.batch_update, self.key,
                          {"requests": colour_requests(sheet_id, colours)})
            except SourceError as e:
                return [ItemError(self.name, p.item, f"status written, but not coloured: {e}")
                        for p in patches if p.field == "status" and p.colour is not None]
        return []

    def _changed(self, cells: list[CellWrite]) -> list[CellWrite]:
        """Only cells that do not already show the value (a re-run writes nothing)."""
        return [c for c in cells if shown(self._grid, c.row, c.col) != _text(c.value)]

    def _colours(self, patches: Sequence[Patch], changed: set[tuple[int, int]]) -> list[tuple[int, int, str | None]]:
        assert self.mapping is not None
        out = []
        for p in patches:
            if p.field != "status":
                continue
            for c in self.mapping.cell_writes([p]):
                if c.row != self.config.header_row and (c.row, c.col) in changed:
                    out.append((c.row, c.col, p.colour))
        return out

    def _remember(self, c: CellWrite) -> None:
        while len(self._grid) < c.row:
            self._grid.append([])
        row = self._grid[c.row - 1]
        while len(row) <= c.col:
            row.append("")
        row[c.col] = _text(c.value)

    # -- the rest of the protocol ------------------------------------------------------

    def check(self) -> list[str]:
        try:
            self.read()
        except SourceError as e:
            return [str(e)]
        return []

    def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.session.close()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
