"""Local files: CSV and XLSX, for KPIs and OKRs, read and written in place.

Write-back changes only the owned cells. In a CSV every other byte stays as
it was (other fields, their quoting, order, encoding, BOM, line endings): the
file is edited at the byte spans of the changed fields. In an XLSX, openpyxl
keeps every other cell, formula and format. Writes go to a temporary file that
replaces the original in one rename, so a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from syncd.engine import paused_gc
from syncd.mappings.table import CellWrite, TableMapping, col_letters
from syncd.model import ItemError, Patch, ReadResult
from syncd.source import BaseSource, Role, SourceContext, SourceError

from ._csv import Scanned, UnterminatedQuote, field_edits, render_field, scan

__all__ = ["CsvFile", "XlsxFile", "open"]

_BOM = b"\xef\xbb\xbf"


def open(role: Role, config: Any, ctx: SourceContext) -> CsvFile | XlsxFile:  # noqa: A001 - the registry's name
    path = ctx.config.resolve(config.path)
    cls = CsvFile if config.type == "csv" else XlsxFile
    return cls(role, config, path)


def _replace_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path``, then rename it over ``path``."""
    mode = path.stat().st_mode
    if not os.access(path, os.W_OK) or not mode & 0o222:
        raise SourceError(f"{path}: the file is read-only; make it writable by the user running syncd")
    # A process killed between writing and renaming leaves its temporary file:
    # the state lock says no other syncd is writing, so it is safe to remove.
    for leftover in path.parent.glob(f".{path.name}.*.syncd-tmp"):
        leftover.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".syncd-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise SourceError(f"{path}: cannot write it ({e.strerror}); nothing was changed") from None


class _LocalFile(BaseSource):
    service = "local"

    def __init__(self, role: Role, config: Any, path: Path):
        self.name = config.name
        self.role = role
        self.config = config
        self.path = path
        self._file = path.name
        self.calls: Counter[str] = Counter()
        self.mapping = TableMapping(
            role, config.columns, source=config.name, header_row=config.header_row, label=self._label
        )
        self._digest: str | None = None

    def _label(self, row: int, col: int) -> str:
        raise NotImplementedError

    def _load(self) -> bytes:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such file; check the path (relative to the config file)") from None
        except PermissionError:
            raise SourceError(f"{self.path}: permission denied; make it readable by the user running syncd") from None
        except OSError as e:
            raise SourceError(f"{self.path}: cannot read it ({e.strerror})") from None
        if not data.strip(_BOM + b" \r\n\t"):
            raise SourceError(f"{self.path}: the file is empty; it needs a header row and a row per item")
        return data

    def _check_unchanged(self, data: bytes) -> None:
        if self._digest is not None and hashlib.sha256(data).hexdigest() != self._digest:
            raise SourceError(
                f"{self.path}: the file changed while syncd was syncing it; nothing was written, "
                "the next pass will read it again"
            )

    def _require_rows(self, result: ReadResult) -> ReadResult:
        if not (result.kpis or result.objectives or result.errors):
            raise SourceError(f"{self.path}: only a header row, no items below it; add a row per item")
        return result

    def check(self) -> list[str]:
        try:
            self.read()  # type: ignore[attr-defined]
        except SourceError as e:
            return [str(e)]
        if not os.access(self.path, os.W_OK) or not self.path.stat().st_mode & 0o222:
            return [f"{self.path}: the file is read-only; syncd cannot write statuses back"]
        return []

    def close(self) -> None:
        pass


class CsvFile(_LocalFile):
    _starts: array[int] | None = None

    def _label(self, row: int, col: int) -> str:
        return f"{self._file} row {row}, column {col_letters(col)}"  # every item has one: kept cheap

    def _decode(self, data: bytes) -> tuple[bytes, str]:
        bom = _BOM if data.startswith(_BOM) else b""
        try:
            return bom, data[len(bom) :].decode(self.config.encoding)
        except UnicodeDecodeError as e:
            raise SourceError(
                f"{self.path}: not {self.config.encoding} text (byte {e.start}); save it as UTF-8 "
                'or set encoding = "..." in the source\'s config'
            ) from None

    def _records(self, text: str) -> Iterator[Scanned]:
        """The file's records, refusing a header that looks separated by another delimiter."""
        header_at = self.config.header_row - 1
        try:
            for index, record in enumerate(scan(text, self.config.delimiter)):
                if index == header_at and len(record[0]) == 1:
                    self._check_delimiter(record[0][0])
                yield record
        except UnterminatedQuote as e:
            raise SourceError(
                f"{self.path}: {e} (column {col_letters(e.column - 1)}), so every row after it would be lost; "
                "close the quote or remove it, then sync again (nothing was read or written)"
            ) from None

    def _check_delimiter(self, header: str) -> None:
        for other in (";", "\t", "|"):
            if other != self.config.delimiter and other in header:
                shown = "\\t" if other == "\t" else other
                raise SourceError(
                    f"{self.path}: the header looks {shown!r}-separated ({header[:60]!r}); "
                    f'set delimiter = "{shown}" in the source\'s config'
                )

    def read(self) -> ReadResult:
        data = self._load()
        self._digest = hashlib.sha256(data).hexdigest()
        _, text = self._decode(data)
        # Where each record starts, kept for the write (8 bytes a row): the file is
        # tokenised once, and the write re-reads only the records it changes.
        self._starts = starts = array("q")

        def values() -> Iterator[list[str]]:
            for values, start, _, _ in self._records(text):
                starts.append(start)
                yield values

        # An item per row and no reference cycles: the collector would only rescan
        # the items read so far, again and again as the table grows.
        with paused_gc():
            return self._require_rows(self.mapping.read(values()))

    def write(self, patches: Sequence[Patch]) -> list[ItemError]:
        with paused_gc():  # as in read: a cell write per row, no cycles
            writes = self.mapping.cell_writes(patches)
            if not writes:
                return []
            data = self._load()
            self._check_unchanged(data)
            bom, text = self._decode(data)
            text = self._edited(text, writes)
        _replace_atomically(self.path, bom + text.encode(self.config.encoding))
        self._digest = None
        return []

    def _edited(self, text: str, writes: list[CellWrite]) -> str:
        """The text with the cells of ``writes`` set, every other byte as it was."""
        starts = self._starts if self._digest is not None else None
        if starts is None:  # not read in this pass: tokenise it all
            starts = array("q", (r[1] for r in self._records(text)))
        d = self.config.delimiter
        rendered: dict[str, str] = {}  # a status column holds a handful of values: each rendered once
        by_row: dict[int, dict[int, str]] = {}
        for row, col, value in writes:
            if type(value) is str:
                field = rendered.get(value)
                if field is None:
                    field = rendered[value] = render_field(value, d)
            else:
                field = render_field(value, d)
            cells = by_row.get(row)
            if cells is None:
                by_row[row] = {col: field}
            else:
                cells[col] = field
        edits: list[tuple[int, int, int, str]] = []
        for row, cells in by_row.items():
            if row <= len(starts):  # the file check above makes a vanished row unreachable
                field_edits(text, d, starts[row - 1], cells, edits)
        return _apply(text, edits)


def _apply(text: str, edits: list[tuple[int, int, int, str]]) -> str:
    """The text with each (start, end) span replaced, in one pass (not one copy per edit)."""
    pieces: list[str] = []
    at = 0
    for start, end, _, new in sorted(edits):
        pieces.append(text[at:start])
        pieces.append(new)
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


class XlsxFile(_LocalFile):
    def _label(self, row: int, col: int) -> str:
        sheet = self.config.worksheet or "first sheet"
        return f"{self.path.name} {sheet}!{col_letters(col)}{row}"

    def _sheet(self, workbook: Any) -> Any:
        if self.config.worksheet is None:
            return workbook.worksheets[0]
        for ws in workbook.worksheets:
            if ws.title.strip().casefold() == self.config.worksheet.strip().casefold():
                return ws
        titles = ", ".join(repr(ws.title) for ws in workbook.worksheets)
        raise SourceError(f"{self.path}: no worksheet {self.config.worksheet!r} (found {titles}); fix worksheet =")

    def _open(self, *, read_only: bool) -> Any:
        import zipfile

        import openpyxl

        data = self._load()
        try:
            import io

            return data, openpyxl.load_workbook(io.BytesIO(data), read_only=read_only, data_only=read_only)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
            raise SourceError(f"{self.path}: not a readable .xlsx workbook ({e}); save it as Excel .xlsx") from None

    def read(self) -> ReadResult:
        data, workbook = self._open(read_only=True)
        self._digest = hashlib.sha256(data).hexdigest()
        try:
            sheet = self._sheet(workbook)
            rows = ([_display(c) for c in row] for row in sheet.iter_rows())
            return self._require_rows(self.mapping.read(rows))
        finally:
            workbook.close()

    def write(self, patches: Sequence[Patch]) -> list[ItemError]:
        import io

        writes = self.mapping.cell_writes(patches)
        if not writes:
            return []
        data, workbook = self._open(read_only=False)
        self._check_unchanged(data)
        sheet = self._sheet(workbook)
        for w in writes:
            sheet.cell(row=w.row, column=w.col + 1).value = w.value
        out = io.BytesIO()
        workbook.save(out)
        _replace_atomically(self.path, out.getvalue())
        self._digest = None
        return []


def _display(cell: Any) -> Any:
    """A cell's value as people see it where the format matters (``99.6%``)."""
    value = getattr(cell, "value", None)
    fmt = getattr(cell, "number_format", "") or ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in fmt:
        return f"{value * 100:.10g}%"
    return value
