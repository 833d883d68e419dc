"""A loopback fake of the Google Sheets v4 API, shaped after the recorded
traffic in tests/recordings/sheets (see test_sheets_contract).

It holds spreadsheets as grids of :class:`Cell` (what the cell shows, what it
holds, its formula and background), answers the OAuth token endpoint, the
metadata, values.get, values:batchGet, values.update, values:batchUpdate,
values:clear and spreadsheets:batchUpdate calls with Google's body shapes and
Google's error bodies, and counts calls by endpoint so tests and benchmarks can
assert the floor. Seeded text is taken the way a person typing it into Sheets
would see it parsed (``99.6%`` is the number 0.996 shown as ``99.6%``,
``1.234,5`` in a German sheet is 1234.5).

The grid model and the values as typed and shown live in
:mod:`tests.fakes._sheets_cells`; A1 notation and the answers for a range in
:mod:`tests.fakes._sheets_ranges`.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import threading
from typing import Any

from ._sheets_cells import (
    Book,
    Cell,
    Sheet,
    apply_request,
    raw_cell,
    render,
    show_number,  # noqa: F401 - still importable from here
    typed,
)
from ._sheets_ranges import a1, col_letters, formats, query_ranges, quote_title, resolve, value_range  # noqa: F401 - still importable from here
from .server import FakeServer, HTTPError, Request, Response

__all__ = ["FakeSheets", "Cell", "Sheet", "Book", "a1", "col_letters"]

_ID = r"(?P<key>[A-Za-z0-9_-]+)"


# --- the server ------------------------------------------------------------------


_KEY_PEM: list[str] = []


def _throwaway_key() -> str:
    if not _KEY_PEM:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _KEY_PEM.append(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
        )
    return _KEY_PEM[0]


def _jwt_claims(assertion: str) -> dict[str, Any]:
    try:
        payload = assertion.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


class FakeSheets(FakeServer):
    """The Sheets v4 API on 127.0.0.1 (plus the OAuth token endpoint)."""

    service = "sheets"

    def __init__(self) -> None:
        super().__init__()
        self.books: dict[str, Book] = {}
        #: access token -> service-account email (the quota "user").
        self.tokens: dict[str, str] = {}
        #: Send ``Retry-After`` with 429s (Google usually does not).
        self.retry_after_header = False
        #: Answer 429s with an HTML page instead of Google's JSON.
        self.html_429 = False
        self._ids = itertools.count(1_000_001)
        self._tokens = itertools.count(1)
        self._book_lock = threading.RLock()
        base = r"/v4/spreadsheets/" + _ID
        self.route("POST", r"/token", "token", self._token)
        self.route("GET", base, "spreadsheets.get", self._get)
        self.route("POST", base + r":batchUpdate", "spreadsheets.batchUpdate", self._batch_update)
        self.route("GET", base + r"/values:batchGet", "values.batchGet", self._values_batch_get)
        self.route("POST", base + r"/values:batchUpdate", "values.batchUpdate", self._values_batch_update)
        self.route("POST", base + r"/values/(?P<range>.+):clear", "values.clear", self._values_clear)
        self.route("GET", base + r"/values/(?P<range>.+)", "values.get", self._values_get)
        self.route("PUT", base + r"/values/(?P<range>.+)", "values.update", self._values_update)

    # -- seeding and inspection ----------------------------------------------------

    def add_spreadsheet(
        self,
        key: str,
        sheets: dict[str, list[list[Any]]] | None = None,
        *,
        title: str | None = None,
        locale: str = "en_US",
        time_zone: str = "Etc/GMT",
        rows: int | None = None,
        cols: int | None = None,
        merges: dict[str, list[dict[str, int]]] | None = None,
        private: bool = False,
    ) -> Book:
        """Create a spreadsheet; cell text is taken as typed by a person."""
        book = Book(key, title or f"Spreadsheet {key}", locale, time_zone, private=private)
        for index, (name, grid) in enumerate((sheets or {"Sheet1": []}).items()):
            width = max((len(r) for r in grid), default=0)
            sheet = Sheet(
                0 if index == 0 else next(self._ids),
                name,
                rows=rows or max(1000, len(grid)),
                cols=cols or max(26, width),
            )
            for r, row in enumerate(grid):
                for c, raw in enumerate(row):
                    cell = typed(raw, locale)
                    if cell is not None:
                        sheet.put(r, c, cell)
            sheet.merges = list((merges or {}).get(name, []))
            book.sheets.append(sheet)
        self.books[key] = book
        return book

    def cell(self, key: str, ref: str) -> Cell | None:
        """The cell at ``Title!C7`` (for assertions)."""
        sheet, r0, c0, _, _ = resolve(self.books[key], ref)
        return sheet.cell(r0, c0)

    def shown(self, key: str, ref: str) -> str:
        cell = self.cell(key, ref)
        return "" if cell is None else render(cell, "FORMATTED_VALUE", "")

    def snapshot(self, key: str, title: str) -> list[list[tuple[Any, str | None, str | None]]]:
        """Every cell's (value, formula, background) for "nothing else changed" checks."""
        sheet = self.books[key].sheet(title)
        assert sheet is not None
        return [
            [(c.value, c.formula, json.dumps(c.format, sort_keys=True)) if c else (None, None, None) for c in row]
            for row in sheet.grid
        ]

    def service_account(self, email: str = "syncd-test@example.iam.gserviceaccount.com") -> dict[str, Any]:
        """A service-account key (throwaway RSA) whose token_uri is this fake."""
        return {
            "type": "service_account",
            "project_id": "fake-project",
            "private_key_id": "0" * 40,
            "private_key": _throwaway_key(),
            "client_email": email,
            "client_id": "1",
            "token_uri": self.url + "/token",
        }

    @property
    def reads(self) -> int:
        return self.calls["spreadsheets.get"] + self.calls["values.get"] + self.calls["values.batchGet"]

    @property
    def writes(self) -> int:
        return (
            self.calls["values.batchUpdate"]
            + self.calls["values.update"]
            + self.calls["values.clear"]
            + self.calls["spreadsheets.batchUpdate"]
        )

    def exempt(self, request: Any) -> bool:
        """The token endpoint is another Google service (oauth2.googleapis.com):
        the Sheets switches (faults, rate limit) do not apply to it."""
        return request.path == "/token"

    # -- Google's shapes -----------------------------------------------------------

    def error_body(self, status: int, code: str, message: str, **extra: Any) -> Response:
        google = {
            400: "INVALID_ARGUMENT",
            401: "UNAUTHENTICATED",
            403: "PERMISSION_DENIED",
            404: "NOT_FOUND",
            429: "RESOURCE_EXHAUSTED",
            500: "INTERNAL",
            502: "UNAVAILABLE",
            503: "UNAVAILABLE",
            504: "DEADLINE_EXCEEDED",
        }
        if code == "FAULT":
            code = google.get(status, "UNKNOWN")
            message = {500: "Internal error encountered.", 503: "The service is currently unavailable."}.get(
                status, message
            )
        error: dict[str, Any] = {"code": status, "message": message, "status": code}
        error.update(extra)
        return Response(status, {"error": error})

    def rate_limited(self, request: Request, wait: float) -> Response:
        headers = {"Retry-After": str(max(1, math.ceil(wait)))} if self.retry_after_header and wait else {}
        if self.html_429:
            return Response(
                429, b"<html><body>Too Many Requests</body></html>", {"content-type": "text/html", **headers}
            )
        response = self.error_body(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' "
            "of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.",
            details=[
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "RATE_LIMIT_EXCEEDED",
                    "domain": "googleapis.com",
                    "metadata": {
                        "quota_metric": "sheets.googleapis.com/read_requests",
                        "quota_limit": "ReadRequestsPerMinutePerUser",
                        "service": "sheets.googleapis.com",
                        "consumer": "projects/000000000000",
                    },
                }
            ],
        )
        response.headers.update(headers)
        return response

    def rate_limit_key(self, request: Request) -> str:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return self.tokens.get(token, token)

    def authorize(self, request: Request) -> None:
        if request.path == "/token":
            return
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            raise HTTPError(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                "or other valid authentication credential.",
            )

    # -- handlers ------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        form = request.form()
        claims = _jwt_claims(form.get("assertion", [""])[0])
        if form.get("grant_type", [""])[0] != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not claims.get("iss"):
            return Response(400, {"error": "invalid_grant", "error_description": "Invalid JWT."})
        token = f"ya29.fake-{next(self._tokens)}"
        self.tokens[token] = claims["iss"]
        return Response(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _book(self, request: Request) -> Book:
        book = self.books.get(request.params["key"])
        if book is None:
            raise HTTPError(404, "NOT_FOUND", "Requested entity was not found.")
        if book.private:
            raise HTTPError(403, "PERMISSION_DENIED", "The caller does not have permission")
        return book

    def metadata(self, book: Book) -> dict[str, Any]:
        sheets = []
        for index, s in enumerate(book.sheets):
            entry: dict[str, Any] = {
                "properties": {
                    "sheetId": s.sheet_id,
                    "title": s.title,
                    "index": index,
                    "sheetType": "GRID",
                    "gridProperties": {"rowCount": s.rows, "columnCount": s.cols},
                }
            }
            if s.merges:
                entry["merges"] = [dict(m) for m in s.merges]
            sheets.append(entry)
        return {
            "spreadsheetId": book.key,
            "properties": {
                "title": book.title,
                "locale": book.locale,
                "autoRecalc": "ON_CHANGE",
                "timeZone": book.time_zone,
                "defaultFormat": {"backgroundColor": {"red": 1, "green": 1, "blue": 1}},
            },
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.key}/edit",
        }

    def _get(self, request: Request) -> Any:
        with self._book_lock:
            book = self._book(request)
            if "rowData" in (request.arg("fields") or "") and request.query.get("ranges"):
                return formats(book, request.query["ranges"])
            return self.metadata(book)

    def _values_get(self, request: Request) -> Any:
        with self._book_lock:
            return value_range(self._book(request), request.params["range"], request)

    def _values_batch_get(self, request: Request) -> Any:
        with self._book_lock:
            book = self._book(request)
            ranges = request.query.get("ranges", [])
            return {"spreadsheetId": book.key, "valueRanges": [value_range(book, t, request) for t in ranges]}

    def _write(self, book: Book, text: str, values: Any, option: str | None) -> dict[str, Any]:
        if option not in ("RAW", "USER_ENTERED"):
            raise HTTPError(400, "INVALID_ARGUMENT", "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
            raise HTTPError(
                400,
                "INVALID_ARGUMENT",
                f"Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue), {json.dumps(values)}",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [
                            {
                                "field": "data.values",
                                "description": "Invalid value at 'data.values' "
                                f"(type.googleapis.com/google.protobuf.ListValue), {json.dumps(values)}",
                            }
                        ],
                    }
                ],
            )
        sheet, r0, c0, _, _ = resolve(book, text)
        height, width = len(values), max((len(r) for r in values), default=0)
        if r0 + height > sheet.rows or c0 + width > sheet.cols:
            raise HTTPError(
                400,
                "INVALID_ARGUMENT",
                f"Range ({a1(sheet.title, r0, c0, r0 + height, c0 + width)}) exceeds grid limits. "
                f"Max rows: {sheet.rows}, max columns: {sheet.cols}",
            )
        make = typed if option == "USER_ENTERED" else raw_cell
        cells = 0
        for r, row in enumerate(values):
            for c, raw in enumerate(row):
                if raw is None:
                    continue  # null leaves the cell as it is
                sheet.put(r0 + r, c0 + c, make(raw, book.locale))
                cells += 1
        return {
            "spreadsheetId": book.key,
            "updatedRange": a1(sheet.title, r0, c0, r0 + max(height, 1), c0 + max(width, 1)),
            "updatedRows": height,
            "updatedColumns": width,
            "updatedCells": cells,
        }

    def _values_update(self, request: Request) -> Any:
        with self._book_lock:
            book = self._book(request)
            body = request.json() or {}
            return self._write(book, request.params["range"], body.get("values"), request.arg("valueInputOption"))

    def _values_batch_update(self, request: Request) -> Any:
        with self._book_lock:
            book = self._book(request)
            body = request.json() or {}
            option = body.get("valueInputOption")
            responses = [self._write(book, d["range"], d.get("values"), option) for d in body.get("data") or []]
            titles = {r["updatedRange"].rpartition("!")[0] for r in responses}
            return {
                "spreadsheetId": book.key,
                "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
                "totalUpdatedColumns": max((r["updatedColumns"] for r in responses), default=0),
                "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
                "totalUpdatedSheets": len(titles),
                "responses": responses,
            }

    def _values_clear(self, request: Request) -> Any:
        with self._book_lock:
            book = self._book(request)
            sheet, r0, c0, r1, c1 = resolve(book, request.params["range"])
            for r in range(r0, min(r1, len(sheet.grid))):
                for c in range(c0, min(c1, len(sheet.grid[r]))):
                    old = sheet.grid[r][c]
                    sheet.grid[r][c] = Cell(format=old.format) if old is not None and old.format else None
            return {"spreadsheetId": book.key, "clearedRange": a1(sheet.title, r0, c0, r1, c1)}

    def _batch_update(self, request: Request) -> Any:
        with self._book_lock:
            book = self._book(request)
            replies = [apply_request(book, req, self._ids) for req in (request.json() or {}).get("requests") or []]
            return {"spreadsheetId": book.key, "replies": replies}
