"""OKR cycles: ``2026-Q4`` and friends, as exact instants in the team's timezone.

A cycle starts at 00:00 of its first day and ends at 24:00 of its last day in
the configured timezone, so a Berlin team's Q4 starts at 2026-10-01T00:00+02:00
and not at midnight UTC.

A fiscal-year start month shifts quarters and halves: with
``fiscal_year_start=4``, the year ``2026`` runs from 2026-04-01 to 2027-03-31,
``2026-Q1`` is April to June 2026 and ``2026-Q4`` January to March 2027 (the
year is the calendar year in which the fiscal year starts). With the default
January start, fiscal and calendar years are the same. Months (``2026-11``)
and explicit ranges are always calendar dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Cycle", "parse_cycle", "cycle_or_reason", "elapsed", "FORMS"]

#: The accepted forms, for messages.
FORMS = "2026-Q4, 2026-H2, 2026 (a year), 2026-11 (a month) or 2026-10-01..2026-12-31"


@dataclass(frozen=True)
class Cycle:
    """A named stretch of time; ``start`` inclusive, ``end`` exclusive, both tz-aware."""

    label: str
    start: datetime
    end: datetime
    # POSIX seconds of start and end: evaluation compares them for every item.
    _start_ts: float = field(init=False, repr=False, compare=False)
    _end_ts: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_start_ts", self.start.timestamp())
        object.__setattr__(self, "_end_ts", self.end.timestamp())

    def started(self, now: datetime) -> bool:
        """Whether ``now`` is at or after the first instant of the cycle."""
        return _aware(now, self).timestamp() >= self._start_ts

    def ended(self, now: datetime) -> bool:
        """Whether ``now`` is at or after 24:00 of the cycle's last day."""
        return _aware(now, self).timestamp() >= self._end_ts


_PART = re.compile(r"^(?:FY\s*)?(\d{4})\s*[-/ ]?\s*([QH])\s*(\d)$")
_PART_FIRST = re.compile(r"^([QH])\s*(\d)\s*[-/ ]?\s*(?:FY\s*)?(\d{4})$")
_YEAR = re.compile(r"^(?:FY\s*)?(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|…)\s*(\d{4}-\d{2}-\d{2})$")


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown timezone {tz!r}; use an IANA name such as UTC or Europe/Berlin") from None


def _aware(now: datetime, cycle: Cycle) -> datetime:
    """A naive ``now`` is taken in the cycle's own timezone."""
    return now if now.tzinfo is not None else now.replace(tzinfo=cycle.start.tzinfo)


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _months(label: str, year: int, month: int, count: int, zone: ZoneInfo) -> Cycle:
    """``count`` whole months from the first of ``year-month``."""
    end_year, end_month = _add_months(year, month, count)
    try:
        return Cycle(label, datetime(year, month, 1, tzinfo=zone), datetime(end_year, end_month, 1, tzinfo=zone))
    except (ValueError, OverflowError):
        raise ValueError(f"the cycle {label!r} is outside the years syncd can handle (1 to 9999)") from None


def _fiscal_start(fy: int, fiscal_year_start: int) -> tuple[int, int]:
    """First month of fiscal year ``fy`` (named by the calendar year it starts in)."""
    return (fy, fiscal_year_start)


def parse_cycle(text: str, *, fiscal_year_start: int = 1, tz: str = "UTC") -> Cycle:
    """Turn a cycle as people write it into exact instants.

    Accepts ``2026-Q4``, ``2026-H2``, ``2026``, ``2026-11`` and
    ``2026-10-01..2026-12-31`` (end inclusive), in any case and with
    surrounding spaces (also ``Q4 2026`` and ``FY2026-Q4``). Raises
    :class:`ValueError` naming the text and the accepted forms.
    """
    if not isinstance(fiscal_year_start, int) or not 1 <= fiscal_year_start <= 12:
        raise ValueError(f"fiscal_year_start must be a month from 1 to 12, got {fiscal_year_start!r}")
    zone = _zone(tz)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"no cycle given; write one of {FORMS}")
    raw = text.strip()
    s = raw.upper()
    bad = f"cannot read the cycle {raw!r}; write one of {FORMS}"
    m = _PART.match(s)
    first = _PART_FIRST.match(s)
    if m or first:
        year, kind, n = (
            (int(m.group(1)), m.group(2), int(m.group(3)))
            if m
            else (int(first.group(3)), first.group(1), int(first.group(2)))  # type: ignore[union-attr]
        )
        per, length = (4, 3) if kind == "Q" else (2, 6)
        if not 1 <= n <= per:
            raise ValueError(f"{raw!r}: there is no {kind}{n}, a year has {kind}1 to {kind}{per}; write one of {FORMS}")
        fy_year, fy_month = _fiscal_start(year, fiscal_year_start)
        y, mo = _add_months(fy_year, fy_month, (n - 1) * length)
        return _months(f"{year:04d}-{kind}{n}", y, mo, length, zone)
    m = _YEAR.match(s)
    if m:
        year = int(m.group(1))
        return _months(f"{year:04d}", *_fiscal_start(year, fiscal_year_start), 12, zone)
    m = _MONTH.match(s)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"{raw!r}: there is no month {month}; write one of {FORMS}")
        return _months(f"{year:04d}-{month:02d}", year, month, 1, zone)
    m = _RANGE.match(s)
    if m:
        try:
            first_day, last_day = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        except ValueError as e:
            raise ValueError(f"{raw!r}: {e}; write one of {FORMS}") from None
        if last_day < first_day:
            raise ValueError(f"{raw!r}: the cycle ends before it starts; write the first day, then the last")
        if last_day == date.max:
            raise ValueError(f"{raw!r}: the cycle ends after the last date syncd can handle")
        after = last_day + timedelta(days=1)
        return Cycle(
            f"{first_day.isoformat()}..{last_day.isoformat()}",
            datetime(first_day.year, first_day.month, first_day.day, tzinfo=zone),
            datetime(after.year, after.month, after.day, tzinfo=zone),
        )
    raise ValueError(bad)


def elapsed(cycle: Cycle, now: datetime) -> float:
    """The fraction of ``cycle`` gone at ``now``, clamped to 0..1.

    Measured in real seconds (not wall-clock hours), so a DST change inside the
    cycle does not bend the goal line.
    """
    start, end, at = cycle._start_ts, cycle._end_ts, _aware(now, cycle).timestamp()
    if end <= start:
        return 1.0
    return min(1.0, max(0.0, (at - start) / (end - start)))


@lru_cache(maxsize=4096)
def cycle_or_reason(text: str | None, *, fiscal_year_start: int = 1, tz: str = "UTC") -> Cycle | str:
    """:func:`parse_cycle`, but the error comes back as its message (and answers are cached).

    Evaluation asks for the same few cycle texts for thousands of items, and a
    bad cycle is a result for that item, not an exception.
    """
    if text is None or not str(text).strip():
        return f"no cycle: set Cycle to one of {FORMS}"
    try:
        return parse_cycle(str(text), fiscal_year_start=fiscal_year_start, tz=tz)
    except ValueError as e:
        return str(e)
