"""CSV records with the position of every field in the text.

The standard ``csv`` module gives values but forgets where they stood; syncd
must change a Status field without touching a byte of the rest of the file,
so it needs the spans. Quoting follows RFC 4180 (doubled quotes, delimiters
and newlines inside quotes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Record", "parse_records", "render_field"]


@dataclass
class Record:
    values: list[str] = field(default_factory=list)
    #: (start, end) of each field's raw text, quotes included.
    spans: list[tuple[int, int]] = field(default_factory=list)
    #: Where the record's content ends (before its line ending).
    end: int = 0


def parse_records(text: str, delimiter: str = ",") -> list[Record]:
    records: list[Record] = []
    i, n = 0, len(text)
    while i < n:
        record = Record()
        while True:
            start = i
            if i < n and text[i] == '"':
                i += 1
                chunks: list[str] = []
                while i < n:
                    j = text.find('"', i)
                    if j < 0:
                        chunks.append(text[i:])
                        i = n
                        break
                    chunks.append(text[i:j])
                    if j + 1 < n and text[j + 1] == '"':
                        chunks.append('"')
                        i = j + 2
                    else:
                        i = j + 1
                        break
                # Anything between the closing quote and the delimiter is kept, as csv does.
                k = i
                while k < n and text[k] not in (delimiter, "\n", "\r"):
                    k += 1
                value = "".join(chunks) + text[i:k]
                i = k
            else:
                k = i
                while k < n and text[k] not in (delimiter, "\n", "\r"):
                    k += 1
                value = text[i:k]
                i = k
            record.values.append(value)
            record.spans.append((start, i))
            if i < n and text[i] == delimiter:
                i += 1
                continue
            break
        record.end = i
        if i < n and text[i] == "\r":
            i += 1
        if i < n and text[i] == "\n":
            i += 1
        if record.values == [""]:
            record.values = []
        records.append(record)
    return records


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
