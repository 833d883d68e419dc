"""CSV records with the position of every field in the text.

The standard ``csv`` module gives values but forgets where they stood; syncd
must change a Status field without touching a byte of the rest of the file,
so it needs the spans. Quoting follows RFC 4180 (doubled quotes, delimiters
and newlines inside quotes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Record", "UnterminatedQuote", "field_edits", "iter_records", "parse_records", "render_field", "scan"]


class UnterminatedQuote(ValueError):
    """A quoted field never closes: the rest of the file would be swallowed into it."""

    def __init__(self, row: int, line: int, column: int):
        self.row, self.line, self.column = row, line, column
        super().__init__(f"row {row} (line {line}) opens a quote in field {column} that is never closed")


class Record:
    """One record: its values, and (computed when asked) where each field's text stands."""

    __slots__ = ("values", "_spans", "start", "end")

    def __init__(
        self, values: list[str] | None = None, spans: list[tuple[int, int]] | None = None, start: int = 0, end: int = 0
    ):
        self.values = values if values is not None else []
        self._spans = spans
        #: Where the record starts in the text, and where its content ends (before its line ending).
        self.start = start
        self.end = end

    @property
    def spans(self) -> list[tuple[int, int]]:
        """(start, end) of each field's raw text, quotes included."""
        if self._spans is None:  # an unquoted line: fields are the values, one delimiter apart
            spans, at = [], self.start
            for v in self.values or [""]:
                spans.append((at, at + len(v)))
                at += len(v) + 1
            self._spans = spans
        return self._spans


def _field_pattern(delimiter: str) -> re.Pattern[str]:
    d = re.escape(delimiter)
    # A quoted field (doubled quotes inside, anything kept after the closing
    # quote as csv does), or a bare one up to the delimiter or line end.
    return re.compile(rf'"((?:[^"]|"")*)("?)([^{d}\r\n]*)|([^{d}\r\n]*)')


def parse_records(text: str, delimiter: str = ",") -> list[Record]:
    return list(iter_records(text, delimiter))


#: A record as the read loop takes it, no object per row: (values, start, end, spans),
#: spans ``None`` for an unquoted line (fields one delimiter apart).
Scanned = tuple[list[str], int, int, list[tuple[int, int]] | None]


def iter_records(text: str, delimiter: str = ",", start: int = 0) -> Iterator[Record]:
    """Records one at a time, so a read holds one row, not the whole table."""
    for values, first, end, spans in scan(text, delimiter, start):
        yield Record(values, spans, first, end)


def scan(text: str, delimiter: str = ",", start: int = 0) -> Iterator[Scanned]:
    """Each record's (values, start, end, spans), from ``start`` on.

    A line without quotes (most of them) is split by ``str.split``; only a line
    with a quote goes through the RFC 4180 tokenizer, which may run over lines.
    """
    pattern = _field_pattern(delimiter)
    i, n = start, len(text)
    row = 0
    find = text.find
    while i < n:
        row += 1
        j = find("\n", i)
        if j < 0:
            j = n
        stop = j - 1 if j > i and text[j - 1] == "\r" else j
        line = text[i:stop]
        if '"' not in line and "\r" not in line:
            yield (line.split(delimiter) if line else []), i, stop, None
            i = j + 1
            continue
        first = i
        values: list[str] = []
        spans: list[tuple[int, int]] = []
        while True:
            m = pattern.match(text, i)
            assert m is not None  # the bare branch matches the empty string
            if m.group(4) is None:
                if not m.group(2):
                    line_no = text.count("\n", 0, i) + 1
                    raise UnterminatedQuote(row, line_no, len(values) + 1)
                value = m.group(1).replace('""', '"') + m.group(3)
            else:
                value = m.group(4)
            values.append(value)
            spans.append((i, m.end()))
            i = m.end()
            if i < n and text[i] == delimiter:
                i += 1
                continue
            break
        end = i
        if i < n and text[i] == "\r":
            i += 1
        if i < n and text[i] == "\n":
            i += 1
        if end == spans[0][0]:  # a blank line, as csv reads it
            values = []
        yield values, first, end, spans


def field_edits(
    text: str, delimiter: str, start: int, cells: Mapping[int, str], out: list[tuple[int, int, int, str]]
) -> None:
    """Add to ``out`` the (start, end, order, text) that set ``cells`` (column -> rendered field)
    of the record at ``start`` (an offset a read kept: the write re-reads only these records).
    Columns past the record's end are appended once, in order, with empty fields for any gap."""
    j = text.find("\n", start)
    if j < 0:
        j = len(text)
    stop = j - 1 if j > start and text[j - 1] == "\r" else j
    line = text[start:stop]
    if '"' not in line and "\r" not in line:
        # Unquoted: fields are one delimiter apart; count from the nearer end (a status column is often last).
        values = line.split(delimiter)
        n, end = len(values), stop
        for c, new in cells.items():
            if c < n:
                if 2 * c < n:
                    at = start + sum(map(len, values[:c])) + c
                else:
                    at = stop - sum(map(len, values[c:])) - (n - 1 - c)
                out.append((at, at + len(values[c]), 0, new))
    else:
        _, _, end, spans = next(scan(text, delimiter, start))
        assert spans is not None  # a quoted record always has its spans
        n = len(spans)
        out.extend((*spans[c], 0, new) for c, new in cells.items() if c < n)
    last = max(cells)
    if last >= n:
        out.append((end, end, 1, "".join(delimiter + cells.get(c, "") for c in range(n, last + 1))))


def render_field(value: Any, delimiter: str = ",") -> str:
    """A value as a CSV field, quoted only when it must be."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() else f"{value:.10g}"
    else:
        text = str(value)
    if any(c in text for c in (delimiter, '"', "\n", "\r")) or text != text.strip():
        text = '"' + text.replace('"', '""') + '"'
    return text
