"""CSV records with the position of every field in the text.

The standard ``csv`` module gives values but forgets where they stood; syncd
must change a Status field without touching a byte of the rest of the file,
so it needs the spans. Quoting follows RFC 4180 (doubled quotes, delimiters
and newlines inside quotes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Record", "UnterminatedQuote", "iter_records", "parse_records", "render_field"]


class UnterminatedQuote(ValueError):
    """A quoted field never closes: the rest of the file would be swallowed into it."""

    def __init__(self, row: int, line: int, column: int):
        self.row, self.line, self.column = row, line, column
        super().__init__(f"row {row} (line {line}) opens a quote in field {column} that is never closed")


@dataclass
class Record:
    values: list[str] = field(default_factory=list)
    #: (start, end) of each field's raw text, quotes included.
    spans: list[tuple[int, int]] = field(default_factory=list)
    #: Where the record's content ends (before its line ending).
    end: int = 0


def _field_pattern(delimiter: str) -> re.Pattern[str]:
    d = re.escape(delimiter)
    # A quoted field (doubled quotes inside, anything kept after the closing
    # quote as csv does), or a bare one up to the delimiter or line end.
    return re.compile(rf'"((?:[^"]|"")*)("?)([^{d}\r\n]*)|([^{d}\r\n]*)')


def parse_records(text: str, delimiter: str = ",") -> list[Record]:
    return list(iter_records(text, delimiter))


def iter_records(text: str, delimiter: str = ",") -> Iterator[Record]:
    """Records one at a time, so a read holds one row, not the whole table."""
    pattern = _field_pattern(delimiter)
    i, n = 0, len(text)
    row = 0
    while i < n:
        record = Record()
        row += 1
        while True:
            m = pattern.match(text, i)
            assert m is not None  # the bare branch matches the empty string
            if m.group(4) is None:
                if not m.group(2):
                    line = text.count("\n", 0, i) + 1
                    raise UnterminatedQuote(row, line, len(record.values) + 1)
                value = m.group(1).replace('""', '"') + m.group(3)
            else:
                value = m.group(4)
            record.values.append(value)
            record.spans.append((i, m.end()))
            i = m.end()
            if i < n and text[i] == delimiter:
                i += 1
                continue
            break
        record.end = i
        if i < n and text[i] == "\r":
            i += 1
        if i < n and text[i] == "\n":
            i += 1
        if record.end == record.spans[0][0]:  # a blank line, as csv reads it
            record.values = []
        yield record


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
