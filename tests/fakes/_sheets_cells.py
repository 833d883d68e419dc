"""The fake's spreadsheets: books of worksheets of cells, what a
spreadsheets:batchUpdate request does to them, and values the way Sheets takes
what a person types (per locale) and shows it back FORMATTED or UNFORMATTED.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .server import HTTPError

__all__ = ["Cell", "Sheet", "Book", "apply_request", "show_number", "typed", "raw_cell", "render"]

_EPOCH = date(1899, 12, 30)


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


# --- spreadsheets:batchUpdate ----------------------------------------------------


def apply_request(book: Book, req: dict[str, Any], ids: Iterator[int]) -> dict[str, Any]:
    """What one spreadsheets:batchUpdate request does to a book (its reply);
    ``ids`` numbers the sheets it adds."""
    ((kind, body),) = req.items()
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
        sheet = Sheet(
            props.get("sheetId", next(ids)), props["title"], grid.get("rowCount", 1000), grid.get("columnCount", 26)
        )
        book.sheets.append(sheet)
        return {
            "addSheet": {
                "properties": {
                    "sheetId": sheet.sheet_id,
                    "title": sheet.title,
                    "index": len(book.sheets) - 1,
                    "sheetType": "GRID",
                    "gridProperties": {"rowCount": sheet.rows, "columnCount": sheet.cols},
                }
            }
        }
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


def render(cell: Cell, option: str, dates: str) -> Any:
    if option == "FORMULA" and cell.formula:
        return cell.formula
    if option in ("UNFORMATTED_VALUE", "FORMULA"):
        if cell.is_date and dates == "FORMATTED_STRING":
            return cell.formatted
        v = cell.value
        return int(v) if isinstance(v, float) and v.is_integer() else v
    return cell.formatted if cell.formatted is not None else str(cell.value)
