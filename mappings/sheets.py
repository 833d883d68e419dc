"""What Google Sheets needs beyond the table mapping: A1 notation, merged
header cells, and turning cell writes into the fewest ranges and requests.

The row <-> model mapping itself is :mod:`syncd.mappings.table`, shared with CSV and
XLSX; this module only speaks the Sheets API's dialect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from syncd.mappings.table import CellWrite, col_letters

__all__ = [
    "COLOURS",
    "col_letters",
    "cell_label",
    "quote_title",
    "sheet_range",
    "fill_merged_header",
    "shown",
    "value_ranges",
    "colour_requests",
]

#: Background colours of Status cells: Google's own light green/yellow/red
#: (the ones its conditional-formatting presets use), readable with black text.
COLOURS: dict[str, dict[str, float]] = {
    "green": {"red": 0.718, "green": 0.882, "blue": 0.804},  # #b7e1cd
    "amber": {"red": 0.988, "green": 0.910, "blue": 0.698},  # #fce8b2
    "red": {"red": 0.957, "green": 0.780, "blue": 0.765},  # #f4c7c3
}


def quote_title(title: str) -> str:
    """A sheet title as A1 notation needs it: ``KPIs`` or ``'Q4 KPIs'``."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(r"[A-Za-z]{1,3}\d+", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def cell_label(title: str, row: int, col: int) -> str:
    """``KPIs!C7`` for row 7 (1-based), column 2 (0-based): how people find a cell."""
    return f"{quote_title(title)}!{col_letters(col)}{row}"


def sheet_range(title: str) -> str:
    """The whole worksheet, always quoted (safe for any title)."""
    return "'" + title.replace("'", "''") + "'"


def fill_merged_header(grid: list[list[Any]], merges: Iterable[dict[str, int]], header_row: int) -> list[list[Any]]:
    """Give header cells hidden under a merge from above their label.

    In a two-row header, ``Name`` merged over A1:A2 is read as A1 only; with
    ``header_row = 2`` the header cell A2 would be blank. Only the merge's
    first column is filled, so a wide merge never makes duplicate headers.
    """
    hr = header_row - 1
    for m in merges:
        top, bottom = m.get("startRowIndex", 0), m.get("endRowIndex", 0)
        col = m.get("startColumnIndex", 0)
        if not (top < hr < bottom):
            continue
        label = grid[top][col] if top < len(grid) and col < len(grid[top]) else ""
        if label in ("", None):
            continue
        while len(grid) <= hr:
            grid.append([])
        row = grid[hr]
        while len(row) <= col:
            row.append("")
        if row[col] in ("", None):
            row[col] = label
    return grid


def shown(grid: Sequence[Sequence[Any]], row: int, col: int) -> str:
    """What the cell at ``row`` (1-based), ``col`` (0-based) shows now ("" if empty)."""
    if row - 1 < len(grid) and col < len(grid[row - 1]):
        value = grid[row - 1][col]
        return "" if value is None else _as_text(value)
    return ""


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def value_ranges(title: str, cells: Iterable[CellWrite]) -> list[dict[str, Any]]:
    """The ``data`` of one values:batchUpdate: runs of adjacent cells in a column
    become one range, and nothing outside the given cells is touched."""
    data: list[dict[str, Any]] = []
    for col, start, values in _runs(cells):
        end = start + len(values) - 1
        box = f"{col_letters(col)}{start}" + (f":{col_letters(col)}{end}" if end > start else "")
        data.append({"range": f"{sheet_range(title)}!{box}", "values": [[v] for v in values]})
    return data


def _runs(cells: Iterable[CellWrite]) -> list[tuple[int, int, list[Any]]]:
    runs: list[tuple[int, int, list[Any]]] = []
    for cell in sorted(cells, key=lambda c: (c.col, c.row)):
        if runs:
            col, start, values = runs[-1]
            if col == cell.col and start + len(values) == cell.row:
                values.append(cell.value)
                continue
            if col == cell.col and start + len(values) - 1 == cell.row:
                values[-1] = cell.value  # the same cell twice: the last write wins
                continue
        runs.append((cell.col, cell.row, [cell.value]))
    return runs


def colour_requests(sheet_id: int, cells: Iterable[tuple[int, int, str | None]]) -> list[dict[str, Any]]:
    """repeatCell requests setting the background of (row, col, colour) cells.

    Adjacent cells of one colour share a request. A cell with no colour (no
    data, invalid) has its background cleared back to the sheet's default.
    Only the background is in the field mask: fonts, borders and number
    formats stay as they are.
    """
    requests: list[dict[str, Any]] = []
    last: tuple[int, int, int, str | None] | None = None  # col, start, end (exclusive), colour
    for row, col, colour in sorted(cells, key=lambda c: (c[1], c[0])):
        if last and last[0] == col and last[2] == row and last[3] == colour:
            last = (col, last[1], row + 1, colour)
            continue
        if last:
            requests.append(_repeat(sheet_id, *last))
        last = (col, row, row + 1, colour)
    if last:
        requests.append(_repeat(sheet_id, *last))
    return requests


def _repeat(sheet_id: int, col: int, start: int, end: int, colour: str | None) -> dict[str, Any]:
    fmt: dict[str, Any] = {"backgroundColor": dict(COLOURS[colour])} if colour in COLOURS else {}
    return {
        "repeatCell": {
            "range": {
                "sheetId": sheet_id,
                "startRowIndex": start - 1,
                "endRowIndex": end - 1,
                "startColumnIndex": col,
                "endColumnIndex": col + 1,
            },
            "cell": {"userEnteredFormat": fmt},
            "fields": "userEnteredFormat.backgroundColor",
        }
    }
