"""Tables (CSV, XLSX, Google Sheets) to and from the model.

One row per KPI, or one row per key result (its objective named in a column).
Header cells are matched ignoring case and surrounding spaces; a source may
rename any column with its ``columns`` table (model field = header). Blank
rows are skipped and do not end the table. Every problem names its cell.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, NamedTuple

from syncd.diff import normalise_status, same
from syncd.fields import KPI_COLUMNS, OKR_COLUMNS
from syncd.model import KPI, ItemError, KeyResult, Objective, Patch, ReadResult
from syncd.parsing import parse_bool, parse_date, parse_number, parse_percent_fraction, parse_threshold
from syncd.source import Role, SourceError

__all__ = ["TableMapping", "CellWrite", "KPI_COLUMNS", "OKR_COLUMNS", "col_letters", "render"]

_REQUIRED = {"kpis": ("name", "value"), "okrs": ("objective", "title")}
#: Owned columns created at the end of the header row when missing.
_CREATE = {"kpis": ("status",), "okrs": ("progress", "status")}
_DIRECTIONS = {
    "higher": "higher", "high": "higher", "up": "higher", "max": "higher", "higher is better": "higher",
    "lower": "lower", "low": "lower", "down": "lower", "min": "lower", "lower is better": "lower",
    "range": "range", "band": "range", "between": "range",
}  # fmt: skip
_CADENCES = ("daily", "weekly", "monthly", "quarterly")
_KINDS = ("metric", "milestone", "checklist")


class CellWrite(NamedTuple):
    """One cell to set (a tuple: a first sync builds one per row)."""

    row: int  # 1-based, as people number rows
    col: int  # 0-based
    value: Any


@dataclass
class _ObjectiveRows:
    objective: Objective
    rows: list[int] = field(default_factory=list)
    #: Per row, what the objective's owned cells hold now (normalised).
    held: dict[str, list[Any]] = field(default_factory=dict)


def col_letters(col: int) -> str:
    """0 -> ``A``, 26 -> ``AA``: how people name a column."""
    if col < 26:
        return chr(65 + col)  # every row names column A
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def render(field_name: str, value: Any) -> Any:
    """A normalised value as a table cell holds it: ``40%`` for progress."""
    if field_name == "progress" and isinstance(value, (int, float)):
        text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
        return f"{text}%"
    return value


def _text(cell: Any) -> str:
    if type(cell) is str:  # most cells
        return cell.strip()
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _blank(row: Sequence[Any]) -> bool:
    for c in row:
        if c.strip() if type(c) is str else _text(c):
            return False
    return True


#: Where a row's KPI fields stand: a 0-based column, or past any row's end when
#: the table has no such column (so ``i < len(row)`` says whether the cell is there).
class _KpiAt(NamedTuple):
    name: int
    value: int
    direction: int
    green: int
    red: int
    cadence: int
    updated: int
    unit: int
    id: int
    owner: int
    status: int


_ABSENT = sys.maxsize


class TableMapping:
    """Reads a grid of cells into items and turns patches into cell writes."""

    def __init__(
        self,
        role: Role,
        columns: dict[str, str] | None = None,
        *,
        source: str,
        header_row: int = 1,
        locale: str | None = None,
        label: Callable[[int, int], str],
    ):
        defaults = KPI_COLUMNS if role == "kpis" else OKR_COLUMNS
        unknown = sorted(set(columns or {}) - set(defaults))
        if unknown:
            raise SourceError(f"columns: unknown field(s) {', '.join(unknown)}; the fields are {', '.join(defaults)}")
        self.role = role
        self.headers = {**defaults, **(columns or {})}
        self.source = source
        self.header_row = header_row
        self.locale = locale
        self.label = label
        #: field -> 0-based column, filled by :meth:`read`.
        self.columns: dict[str, int] = {}
        self.width = 0
        self._created: dict[str, int] = {}
        self._at = _KpiAt(*(_ABSENT,) * len(_KpiAt._fields))

    # -- reading -------------------------------------------------------------------

    def read(self, rows: Iterable[Sequence[Any]]) -> ReadResult:
        """Items from every row below the header (``rows`` starts at row 1)."""
        result = ReadResult()
        objectives: dict[str, _ObjectiveRows] = {}
        header_seen = False
        numbered = enumerate(rows, start=1)
        for number, row in numbered:
            if number == self.header_row:
                self._match_header(row)
                header_seen = True
                break
        if self.role == "kpis":
            kpis = result.kpis
            kpi = self._kpi
            for number, row in numbered:
                if not _blank(row):  # a blank row is skipped and does not end the table
                    item = kpi(number, row, result)
                    if item is not None:
                        kpis.append(item)
        else:
            for number, row in numbered:
                if not _blank(row):
                    self._key_result(number, row, result, objectives)
        if not header_seen:
            raise SourceError(
                f"no header row: row {self.header_row} is empty or missing; "
                f"expected headers such as {', '.join(self.headers[f] for f in _REQUIRED[self.role])}"
            )
        for group in objectives.values():
            o = group.objective
            o.ref = {"rows": group.rows, "held": group.held}
            for f, held in group.held.items():
                # Rows that disagree: leave written empty so the diff writes them all.
                o.written[f] = held[0] if all(h == held[0] for h in held) else None
            result.objectives.append(o)
        return result

    def _match_header(self, row: Sequence[Any]) -> None:
        found = {_text(c).casefold(): i for i, c in reversed(list(enumerate(row))) if _text(c)}
        self.width = max((i + 1 for i, c in enumerate(row) if _text(c)), default=0)
        self.columns = {
            f: found[h.strip().casefold()] for f, h in self.headers.items() if h.strip().casefold() in found
        }
        missing = [self.headers[f] for f in _REQUIRED[self.role] if f not in self.columns]
        if missing:
            seen = ", ".join(repr(_text(c)) for c in row if _text(c)) or "none"
            where = self.label(self.header_row, 0).split("!")[0]
            raise SourceError(
                f"{where}: no column {' or '.join(repr(m) for m in missing)} in header row {self.header_row} "
                f"(found {seen}); rename the column or map it with columns = {{ "
                + ", ".join(f'{f} = "..."' for f in _REQUIRED[self.role] if self.headers[f] in missing)
                + " }"
            )
        self._at = _KpiAt(*(self.columns.get(f, _ABSENT) for f in _KpiAt._fields))
        self._created = {}
        next_col = self.width
        for f in _CREATE[self.role]:
            if f not in self.columns:
                self._created[f] = next_col
                next_col += 1

    def _cell(self, row: Sequence[Any], name: str) -> Any:
        i = self.columns.get(name)
        return row[i] if i is not None and i < len(row) else None

    def _where(self, number: int, name: str) -> str:
        col = self.columns.get(name, self._created.get(name, 0))
        return self.label(number, col)

    def _num(self, number: int, row: Sequence[Any], name: str, problems: list[str]) -> float | None:
        raw = self._cell(row, name)
        if name not in self.columns or _text(raw) == "":
            return None
        parsed = parse_number(raw, locale=self.locale)
        if parsed.value is None:
            problems.append(f"{self.headers[name]} at {self._where(number, name)}: {parsed.reason}")
        return parsed.value

    def _written(self, number: int, row: Sequence[Any], names: Iterable[str]) -> dict[str, Any]:
        written: dict[str, Any] = {}
        for name in names:
            if name in self.columns:
                raw = self._cell(row, name)
                if name == "progress":
                    written[name] = parse_percent_fraction(raw, locale=self.locale).value
                else:
                    written[name] = normalise_status(raw)
            elif name in self._created:
                written[name] = None
        return written

    def _kpi(self, number: int, row: Sequence[Any], result: ReadResult) -> KPI | None:
        # Once per row, so cells are taken by index and nothing is built for what is fine.
        n = len(row)
        i_name, i_value, i_direction, i_green, i_red, i_cadence, i_updated, i_unit, i_id, i_owner, i_status = self._at
        name = _text(row[i_name]) if i_name < n else ""
        if not name:
            result.errors.append(
                ItemError(
                    self.source,
                    self.label(number, 0),
                    f"{self._where(number, 'name')}: no KPI name; "
                    f"fill the {self.headers['name']} column or delete the row",
                )
            )
            return None
        locale, source = self.locale, self.source
        value_raw = row[i_value] if i_value < n else None
        parsed = parse_number(value_raw, locale=locale)
        value_reason = None if parsed.value is not None else f"{self._where(number, 'value')}: {parsed.reason}"
        direction_text = _text(row[i_direction]).casefold() if i_direction < n else ""
        direction = _DIRECTIONS.get(direction_text)
        threshold_reason = None
        if not direction:
            threshold_reason = f"{self._where(number, 'direction')}: " + (
                f"direction {direction_text!r} is not higher, lower or range"
                if direction_text
                else "no direction; write higher, lower or range"
            )
        green, reason = parse_threshold(row[i_green] if i_green < n else None, locale=locale)
        if green is None and threshold_reason is None:
            threshold_reason = f"{self.headers['green']} threshold at {self._where(number, 'green')}: {reason}"
        red, reason = parse_threshold(row[i_red] if i_red < n else None, locale=locale)
        if red is None and threshold_reason is None:
            threshold_reason = f"{self.headers['red']} threshold at {self._where(number, 'red')}: {reason}"
        # A bad Cadence or Updated cell does not make the value untrustworthy: the
        # KPI keeps its colour, and the cell is reported as a warning.
        cadence = (_text(row[i_cadence]).casefold() or None) if i_cadence < n else None
        if cadence is not None and cadence not in _CADENCES:
            result.errors.append(
                ItemError(
                    source,
                    f"{source}:{name}",
                    f"{self._where(number, 'cadence')}: cadence {cadence!r} is not daily, weekly, monthly or "
                    "quarterly; staleness is not checked until it is fixed",
                )
            )
            cadence = None
        updated = self._date(number, row[i_updated], name, result) if i_updated < n else None
        unit = (_text(row[i_unit]) if i_unit < n else "") or ("%" if _text(value_raw).endswith("%") else None)
        return KPI(
            id=(_text(row[i_id]) if i_id < n else "") or f"{source}:{name}",
            name=name,
            value=parsed.value,
            value_reason=value_reason,
            unit=unit,
            direction=direction,  # type: ignore[arg-type]
            green=green,
            red=red,
            threshold_reason=threshold_reason,
            owner=(_text(row[i_owner]) if i_owner < n else "") or None,
            cadence=cadence,  # type: ignore[arg-type]
            updated=updated,
            source=source,
            where=self.label(number, 0),
            ref=number,
            # Status is a column, or one created at the end of the header: always writable.
            written={"status": normalise_status(row[i_status]) if i_status < n else None},
        )

    def _date(self, number: int, raw: Any, name: str, result: ReadResult) -> date | datetime | None:
        if _text(raw) == "":
            return None
        value = parse_date(raw)
        if value is None:
            result.errors.append(
                ItemError(
                    self.source,
                    f"{self.source}:{name}",
                    f"{self._where(number, 'updated')}: Updated {_text(raw)!r} is not a date; write YYYY-MM-DD "
                    "(meanwhile the age counts from when syncd first saw the value)",
                )
            )
        if isinstance(value, datetime) and value.tzinfo is None and value.time() == time(0):
            # An XLSX date cell arrives as a naive midnight: it is a date, aged in days.
            return value.date()
        return value

    def _key_result(
        self, number: int, row: Sequence[Any], result: ReadResult, objectives: dict[str, _ObjectiveRows]
    ) -> None:
        title = _text(self._cell(row, "objective"))
        if not title:
            result.errors.append(
                ItemError(
                    self.source,
                    self.label(number, 0),
                    f"{self._where(number, 'objective')}: no objective; "
                    f"fill the {self.headers['objective']} column or delete the row",
                )
            )
            return
        group = objectives.get(title.casefold())
        if group is None:
            obj_type = _text(self._cell(row, "type")).casefold() or None
            objective = Objective(
                id=f"{self.source}:{title}",
                title=title,
                owner=_text(self._cell(row, "owner")) or None,
                cycle=_text(self._cell(row, "cycle")) or None,
                type=obj_type if obj_type in ("aspirational", "committed") else None,  # type: ignore[arg-type]
                source=self.source,
                where=self.label(number, self.columns["objective"]),
            )
            if obj_type and obj_type not in ("aspirational", "committed"):
                objective.problems.append(
                    f"Type {obj_type!r} at {self._where(number, 'type')} is not aspirational or committed; "
                    "the configured default is used"
                )
            group = objectives[title.casefold()] = _ObjectiveRows(objective)
        group.rows.append(number)
        for f, column in (("score", "objective_score"), ("status", "objective_status")):
            if column in self.columns:
                raw = self._cell(row, column)
                group.held.setdefault(f, []).append(
                    parse_percent_fraction(raw, locale=self.locale).value if f == "score" else normalise_status(raw)
                )
        o = group.objective
        o.cycle = o.cycle or _text(self._cell(row, "cycle")) or None
        o.parent = o.parent or _text(self._cell(row, "parent")) or None  # on any row of the objective
        kr_title = _text(self._cell(row, "title"))
        if not kr_title:
            return  # a row that only names its objective
        o.key_results.append(self._kr(number, row, o, kr_title))

    def _kr(self, number: int, row: Sequence[Any], o: Objective, title: str) -> KeyResult:
        problems: list[str] = []
        kind_text = _text(self._cell(row, "kind")).casefold()
        current_raw = self._cell(row, "current")
        start = self._num(number, row, "start", problems)
        target = self._num(number, row, "target", problems)
        kpi = _text(self._cell(row, "kpi")) or None
        if kind_text in _KINDS:
            kind = kind_text
        else:
            if kind_text:
                problems.append(
                    f"kind {kind_text!r} at {self._where(number, 'kind')} is not metric, milestone "
                    "or checklist; write one of those (empty is metric)"
                )
            looks_bool = parse_bool(current_raw) is not None and parse_number(current_raw).value is None
            kind = "milestone" if (start is None and target is None and looks_bool) else "metric"
        kr = KeyResult(
            id=_text(self._cell(row, "id")) or f"{o.id}:{title}",
            title=title,
            objective=o.id,
            kind=kind,  # type: ignore[arg-type]
            start=start,
            target=target,
            kpi=kpi,
            owner=_text(self._cell(row, "owner")) or None,
            source=self.source,
            where=self.label(number, self.columns["title"]),
            ref=number,
            problems=problems,
        )
        if kind == "milestone":
            kr.done = parse_bool(current_raw)
            if kr.done is None:
                kr.current_reason = f"{self._where(number, 'current')}: {_text(current_raw)!r} is not done/not done"
        elif kind == "checklist":
            kr.checklist = _fraction_pair(_text(current_raw))
            if kr.checklist is not None and kr.checklist[1] == 0:
                kr.current_reason = (
                    f"{self._where(number, 'current')}: {_text(current_raw)!r} is a checklist with no items; "
                    "write it as done/all, e.g. 3/5"
                )
            if kr.checklist is None:
                shown = _text(current_raw)
                kr.current_reason = (
                    f"{self._where(number, 'current')}: "
                    + (f"{shown!r} is not checklist progress; " if shown else "empty; ")
                    + "write it as done/all, e.g. 3/5"
                )
        else:
            parsed = parse_number(current_raw, locale=self.locale)
            kr.current = parsed.value
            if parsed.value is None:
                kr.current_reason = f"{self._where(number, 'current')}: {parsed.reason}"
        weight_raw = self._cell(row, "weight")
        if _text(weight_raw):
            weight = parse_number(weight_raw, locale=self.locale).value
            if weight is None or weight <= 0:
                # A problem marks the key result invalid: say how to fix it, not "1 is used".
                # (On the key result's own list: the model copied ``problems`` when it was built.)
                kr.problems.append(
                    f"weight {_text(weight_raw)!r} at {self._where(number, 'weight')} is not a positive "
                    "number; write a number above 0, or leave it empty for 1"
                )
            else:
                kr.weight = weight
        kr.written = self._written(number, row, ("progress", "status"))
        if kpi and "current" in self.columns:
            kr.written["current"] = parse_number(current_raw, locale=self.locale).value
        return kr

    # -- writing -------------------------------------------------------------------

    def cell_writes(self, patches: Sequence[Patch]) -> list[CellWrite]:
        """The cells to set for ``patches``, plus headers of owned columns to create."""
        writes: list[CellWrite] = []
        created: set[str] = set()
        for p in patches:
            name = (
                {"score": "objective_score", "status": "objective_status"}[p.field]
                if p.kind == "objective"
                else p.field
            )
            col = self.columns.get(name)
            if col is None:
                col = self._created.get(name)
                if col is None:
                    continue  # not a column this table has
                created.add(name)
            value = render(p.field, p.new)
            if p.kind == "objective":
                rows, held = p.ref["rows"], p.ref["held"].get(p.field, [])
                for i, row in enumerate(rows):
                    if i >= len(held) or not same(p.field, held[i], p.new):
                        writes.append(CellWrite(row, col, value))
            else:
                writes.append(CellWrite(p.ref, col, value))
        for name in sorted(created, key=self._created.__getitem__):
            writes.append(CellWrite(self.header_row, self._created[name], self.headers[name]))
        return writes


def _fraction_pair(text: str) -> tuple[int, int] | None:
    parts = text.replace(" of ", "/").split("/")
    if len(parts) != 2:
        return None
    try:
        done, total = int(parts[0].strip()), int(parts[1].strip())
    except ValueError:
        return None
    return (done, total) if 0 <= done <= total else None
