"""A loopback fake of the Google Sheets v4 API, shaped after the recorded
traffic in /work/shared/reference/sheets/cassettes (see test_sheets_contract).

It holds spreadsheets as grids of :class:`Cell` (what the cell shows, what it
holds, its formula and background), answers the OAuth token endpoint, the
metadata, values.get, values:batchGet, values.update, values:batchUpdate,
values:clear and spreadsheets:batchUpdate calls with Google's body shapes and
Google's error bodies, and counts calls by endpoint so tests and benchmarks can
assert the floor. Seeded text is taken the way a person typing it into Sheets
would see it parsed (``99.6%`` is the number 0.996 shown as ``99.6%``,
``1.234,5`` in a German sheet is 1234.5).
"""

from __future__ import annotations

import ast
import base64
import itertools
import json
import math
import operator
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs, unquote

from .server import FakeServer, HTTPError, Request, Response

__all__ = ["FakeSheets", "Cell", "Sheet", "Book", "a1", "col_letters"]

_EPOCH = date(1899, 12, 30)
_ID = r"(?P<key>[A-Za-z0-9_-]+)"


@dataclass
class Cell:
    """One cell: ``value`` is what the API calls the unformatted value."""

    value: Any = None
    formatted: str | None = None
    formula: str | None = None
    #: userEnteredFormat, as set by repeatCell.
    format: dict[str, Any] | None = None
    is_date: bool = False

    @property
    def empty(self) -> bool:
        return self.value is None and self.formula is None


@dataclass
class Sheet:
    sheet_id: int
    title: str
    rows: int = 1000
    cols: int = 26
    grid: list[list[Cell | None]] = field(default_factory=list)
    merges: list[dict[str, int]] = field(default_factory=list)

    def cell(self, r: int, c: int) -> Cell | None:
        if r < len(self.grid) and c < len(self.grid[r]):
            return self.grid[r][c]
        return None

    def put(self, r: int, c: int, cell: Cell | None) -> None:
        while len(self.grid) <= r:
            self.grid.append([])
        row = self.grid[r]
        while len(row) <= c:
            row.append(None)
        old = row[c]
        if cell is not None and old is not None and old.format is not None and cell.format is None:
            cell.format = old.format  # values writes keep the formatting
        row[c] = cell


@dataclass
class Book:
    key: str
    title: str
    locale: str = "en_US"
    time_zone: str = "Etc/GMT"
    sheets: list[Sheet] = field(default_factory=list)
    private: bool = False

    def sheet(self, title: str) -> Sheet | None:
        return next((s for s in self.sheets if s.title == title), None)

    def by_id(self, sheet_id: int) -> Sheet:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        raise HTTPError(400, "INVALID_ARGUMENT", f"Invalid requests[0]: No grid with id: {sheet_id}")


# --- A1 notation -----------------------------------------------------------------


def col_letters(c: int) -> str:
    out = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        out = chr(65 + rem) + out
    return out


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def quote_title(title: str) -> str:
    """Quote a sheet title the way the API does in the ranges it answers with."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(r"[A-Za-z]{1,3}\d+", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def a1(title: str, r0: int, c0: int, r1: int, c1: int) -> str:
    """``Title!A1:B2`` for the half-open box rows r0..r1, columns c0..c1."""
    start = f"{col_letters(c0)}{r0 + 1}"
    end = f"{col_letters(c1 - 1)}{r1}"
    return f"{quote_title(title)}!{start}" + ("" if (r1 - r0, c1 - c0) == (1, 1) else f":{end}")


_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")


def _split_range(text: str) -> tuple[str | None, str | None]:
    text = text.strip()
    if text.startswith("'"):
        i, title = 1, ""
        while i < len(text):
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    title += "'"
                    i += 2
                    continue
                break
            title += text[i]
            i += 1
        rest = text[i + 1 :]
        return title, (rest[1:] if rest.startswith("!") else None) if rest else None
    if "!" in text:
        title, _, box = text.rpartition("!")
        return title, box
    return None, text


def resolve(book: Book, text: str) -> tuple[Sheet, int, int, int, int]:
    """(sheet, r0, c0, r1, c1) for an A1 range; open ends run to the grid's edge."""
    title, box = _split_range(text)
    if title is None:
        sheet = book.sheet(box or "")
        if sheet is not None:
            return sheet, 0, 0, sheet.rows, sheet.cols
        sheet = book.sheets[0]
    else:
        sheet = book.sheet(title)
        if sheet is None:
            raise HTTPError(400, "INVALID_ARGUMENT", f"Unable to parse range: {text}")
        if not box:
            return sheet, 0, 0, sheet.rows, sheet.cols
    parts = box.split(":")
    if len(parts) > 2 or not all(_CELL.match(p) and p for p in parts):
        raise HTTPError(400, "INVALID_ARGUMENT", f"Unable to parse range: {text}")
    m0 = _CELL.match(parts[0])
    m1 = _CELL.match(parts[-1])
    assert m0 and m1
    c0 = _col_index(m0.group(1)) if m0.group(1) else 0
    r0 = int(m0.group(2)) - 1 if m0.group(2) else 0
    c1 = _col_index(m1.group(1)) + 1 if m1.group(1) else sheet.cols
    r1 = int(m1.group(2)) if m1.group(2) else sheet.rows
    if len(parts) == 1 and m0.group(1) and m0.group(2):
        c1, r1 = c0 + 1, r0 + 1
    return sheet, r0, c0, r1, c1


# --- values as people type and see them ------------------------------------------


def _decimal_comma(locale: str) -> bool:
    return locale.split("_")[0] in {"de", "fr", "es", "it", "nl", "pt", "ru", "pl", "sv", "da", "fi", "nb", "tr", "cs"}


def show_number(value: float | int, locale: str) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value) if isinstance(value, int) else f"{value:.15g}"
    return text.replace(".", ",") if _decimal_comma(locale) else text


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.left), _arith(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_arith(node.operand)
    raise ValueError("not arithmetic")


def typed(raw: Any, locale: str) -> Cell | None:
    """A cell as Sheets makes it from what a person types (USER_ENTERED)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, Cell):
        return raw
    if isinstance(raw, bool):
        return Cell(raw, "TRUE" if raw else "FALSE")
    if isinstance(raw, (int, float)):
        return Cell(raw, show_number(raw, locale))
    text = str(raw)
    if text.startswith("="):
        try:
            value: Any = _arith(ast.parse(text[1:].strip(), mode="eval").body)
            return Cell(value, show_number(value, locale), formula=text)
        except (ValueError, SyntaxError, ZeroDivisionError):
            return Cell("#ERROR!", "#ERROR!", formula=text)
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
    if m:
        serial = (date(*map(int, m.groups())) - _EPOCH).days
        return Cell(serial, text, is_date=True)
    if text.upper() in {"TRUE", "FALSE"}:
        return Cell(text.upper() == "TRUE", text.upper())
    body = text.strip()
    percent = body.endswith("%")
    body = body.rstrip("%").strip().lstrip("$€£").strip()
    thousands, decimal = (".", ",") if _decimal_comma(locale) else (",", ".")
    if re.fullmatch(rf"-?\d{{1,3}}(\{thousands}\d{{3}})*(\{decimal}\d+)?|-?\d+(\{decimal}\d+)?", body):
        number = float(body.replace(thousands, "").replace(decimal, "."))
        if percent:
            number = round(number / 100, 15)
        if number.is_integer() and not percent:
            number = int(number)
        return Cell(number, text)
    return Cell(text, text)


def raw_cell(raw: Any, locale: str) -> Cell | None:
    """A cell as Sheets stores a RAW value: text stays text."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return Cell(raw, "TRUE" if raw else "FALSE")
    if isinstance(raw, (int, float)):
        return Cell(raw, show_number(raw, locale))
    return Cell(str(raw), str(raw))


def _render(cell: Cell, option: str, dates: str) -> Any:
    if option == "FORMULA" and cell.formula:
        return cell.formula
    if option in ("UNFORMATTED_VALUE", "FORMULA"):
        if cell.is_date and dates == "FORMATTED_STRING":
            return cell.formatted
        v = cell.value
        return int(v) if isinstance(v, float) and v.is_integer() else v
    return cell.formatted if cell.formatted is not None else str(cell.value)


# --- the server ------------------------------------------------------------------


_KEY_PEM: list[str] = []


def _throwaway_key() -> str:
    if not _KEY_PEM:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _KEY_PEM.append(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode())
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
        return "" if cell is None else _render(cell, "FORMATTED_VALUE", "")

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
        google = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                  429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
                  504: "DEADLINE_EXCEEDED"}
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
            return Response(429, b"<html><body>Too Many Requests</body></html>", {"content-type": "text/html", **headers})
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
                return self._formats(book, request.query["ranges"])
            return self.metadata(book)

    def _formats(self, book: Book, ranges: list[str]) -> dict[str, Any]:
        out = []
        for text in ranges:
            sheet, r0, c0, r1, c1 = resolve(book, text)
            rows = []
            for r in range(r0, r1):
                values = []
                for c in range(c0, c1):
                    cell = sheet.cell(r, c)
                    fmt = json.loads(json.dumps(cell.format)) if cell and cell.format else None
                    values.append({"userEnteredFormat": _with_styles(fmt)} if fmt else {})
                rows.append({"values": values})
            out.append({"data": [{"rowData": rows}]})
        return {"sheets": out}

    def _value_range(self, book: Book, text: str, request: Request) -> dict[str, Any]:
        sheet, r0, c0, r1, c1 = resolve(book, text)
        r1, c1 = min(r1, sheet.rows), min(c1, sheet.cols)
        option = request.arg("valueRenderOption") or "FORMATTED_VALUE"
        dates = request.arg("dateTimeRenderOption") or "SERIAL_NUMBER"
        rows: list[list[Any]] = []
        for r in range(r0, min(r1, len(sheet.grid))):
            row = sheet.grid[r]
            out = [_render(c, option, dates) if c is not None and not c.empty else "" for c in row[c0:c1]]
            while out and out[-1] == "":
                out.pop()
            rows.append(out)
        while rows and not rows[-1]:
            rows.pop()
        result: dict[str, Any] = {"range": a1(sheet.title, r0, c0, r1, c1), "majorDimension": "ROWS"}
        if rows:
            result["values"] = rows
        return result

    def _values_get(self, request: Request) -> Any:
        with self._book_lock:
            return self._value_range(self._book(request), request.params["range"], request)

    def _values_batch_get(self, request: Request) -> Any:
        with self._book_lock:
            book = self._book(request)
            ranges = request.query.get("ranges", [])
            return {"spreadsheetId": book.key, "valueRanges": [self._value_range(book, t, request) for t in ranges]}

    def _write(self, book: Book, text: str, values: Any, option: str | None) -> dict[str, Any]:
        if option not in ("RAW", "USER_ENTERED"):
            raise HTTPError(400, "INVALID_ARGUMENT", "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
            raise HTTPError(
                400,
                "INVALID_ARGUMENT",
                f"Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue), {json.dumps(values)}",
                details=[{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                    {"field": "data.values", "description": "Invalid value at 'data.values' "
                     f"(type.googleapis.com/google.protobuf.ListValue), {json.dumps(values)}"}]}],
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
            replies = [self._apply(book, req) for req in (request.json() or {}).get("requests") or []]
            return {"spreadsheetId": book.key, "replies": replies}

    def _apply(self, book: Book, req: dict[str, Any]) -> dict[str, Any]:
        (kind, body), = req.items()
        if kind == "repeatCell":
            rng = body["range"]
            sheet = book.by_id(rng.get("sheetId", 0))
            fields = body.get("fields", "")
            fmt = (body.get("cell") or {}).get("userEnteredFormat") or {}
            for r in range(rng.get("startRowIndex", 0), rng.get("endRowIndex", sheet.rows)):
                for c in range(rng.get("startColumnIndex", 0), rng.get("endColumnIndex", sheet.cols)):
                    cell = sheet.cell(r, c) or Cell()
                    current = dict(cell.format or {})
                    for name in re.findall(r"\w+", fields.replace("userEnteredFormat", "")) or list(fmt):
                        if name in fmt:
                            current[name] = fmt[name]
                        else:
                            current.pop(name, None)
                    cell.format = current or None
                    sheet.put(r, c, cell)
            return {}
        if kind == "appendDimension":
            sheet = book.by_id(body["sheetId"])
            if body["dimension"] == "COLUMNS":
                sheet.cols += body["length"]
            else:
                sheet.rows += body["length"]
            return {}
        if kind == "updateSheetProperties":
            props = body["properties"]
            sheet = book.by_id(props.get("sheetId", 0))
            grid = props.get("gridProperties", {})
            sheet.rows = grid.get("rowCount", sheet.rows)
            sheet.cols = grid.get("columnCount", sheet.cols)
            sheet.title = props.get("title", sheet.title)
            sheet.grid = [row[: sheet.cols] for row in sheet.grid[: sheet.rows]]
            return {}
        if kind == "updateSpreadsheetProperties":
            props = body["properties"]
            book.locale = props.get("locale", book.locale)
            book.time_zone = props.get("timeZone", book.time_zone)
            book.title = props.get("title", book.title)
            return {}
        if kind == "addSheet":
            props = body.get("properties", {})
            grid = props.get("gridProperties", {})
            sheet = Sheet(props.get("sheetId", next(self._ids)), props["title"],
                          grid.get("rowCount", 1000), grid.get("columnCount", 26))
            book.sheets.append(sheet)
            return {"addSheet": {"properties": {
                "sheetId": sheet.sheet_id, "title": sheet.title, "index": len(book.sheets) - 1,
                "sheetType": "GRID", "gridProperties": {"rowCount": sheet.rows, "columnCount": sheet.cols}}}}
        if kind == "deleteSheet":
            book.sheets.remove(book.by_id(body["sheetId"]))
            return {}
        if kind == "mergeCells":
            rng = dict(body["range"])
            sheet = book.by_id(rng.pop("sheetId", 0))
            for r in range(rng["startRowIndex"], rng["endRowIndex"]):
                for c in range(rng["startColumnIndex"], rng["endColumnIndex"]):
                    if (r, c) != (rng["startRowIndex"], rng["startColumnIndex"]) and sheet.cell(r, c):
                        sheet.put(r, c, None)
            sheet.merges.append(rng)
            return {}
        if kind == "setDataValidation":
            return {}
        raise HTTPError(400, "INVALID_ARGUMENT", f"Invalid requests[0]: unsupported request {kind} (fake)")


def _with_styles(fmt: dict[str, Any]) -> dict[str, Any]:
    """Google answers every colour twice: ``xColor`` and ``xColorStyle.rgbColor``."""
    for key in list(fmt):
        value = fmt[key]
        if isinstance(value, dict):
            _with_styles(value)
            if key.endswith("Color"):
                fmt[key + "Style"] = {"rgbColor": dict(value)}
    return fmt


def query_ranges(query: str) -> list[str]:
    """The ``ranges=`` of a query string, decoded (helper for tests)."""
    return [unquote(r) for r in parse_qs(query).get("ranges", [])]
