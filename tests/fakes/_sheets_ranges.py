"""A1 notation in the fake: reading the ranges a client sends, naming the
ranges the API answers with, and answering a range (values per
valueRenderOption, cell formats the way Google spells colours).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote

from ._sheets_cells import Book, Sheet, render
from .server import HTTPError, Request

__all__ = ["col_letters", "quote_title", "a1", "resolve", "query_ranges", "value_range", "formats"]


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


def query_ranges(query: str) -> list[str]:
    """The ``ranges=`` of a query string, decoded (helper for tests)."""
    return [unquote(r) for r in parse_qs(query).get("ranges", [])]


# --- ranges answered -------------------------------------------------------------


def value_range(book: Book, text: str, request: Request) -> dict[str, Any]:
    """One ValueRange as values.get and values:batchGet answer it: cells shown per
    ``valueRenderOption``, trailing empty cells and rows left out."""
    sheet, r0, c0, r1, c1 = resolve(book, text)
    r1, c1 = min(r1, sheet.rows), min(c1, sheet.cols)
    option = request.arg("valueRenderOption") or "FORMATTED_VALUE"
    dates = request.arg("dateTimeRenderOption") or "SERIAL_NUMBER"
    rows: list[list[Any]] = []
    for r in range(r0, min(r1, len(sheet.grid))):
        row = sheet.grid[r]
        out = [render(c, option, dates) if c is not None and not c.empty else "" for c in row[c0:c1]]
        while out and out[-1] == "":
            out.pop()
        rows.append(out)
    while rows and not rows[-1]:
        rows.pop()
    result: dict[str, Any] = {"range": a1(sheet.title, r0, c0, r1, c1), "majorDimension": "ROWS"}
    if rows:
        result["values"] = rows
    return result


def formats(book: Book, ranges: list[str]) -> dict[str, Any]:
    """The cells' userEnteredFormat, as spreadsheets.get with ``ranges`` and rowData fields answers it."""
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


def _with_styles(fmt: dict[str, Any]) -> dict[str, Any]:
    """Google answers every colour twice: ``xColor`` and ``xColorStyle.rgbColor``."""
    for key in list(fmt):
        value = fmt[key]
        if isinstance(value, dict):
            _with_styles(value)
            if key.endswith("Color"):
                fmt[key + "Style"] = {"rgbColor": dict(value)}
    return fmt
