"""Cycles as exact instants in the team's timezone, fiscal years included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.cycles import FORMS, Cycle, cycle_or_reason, elapsed, parse_cycle

UTC = UTC
FAST = settings(max_examples=200, deadline=None, database=None)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, label, start, end",
    [
        ("2026-Q1", "2026-Q1", utc(2026, 1, 1), utc(2026, 4, 1)),
        ("2026-Q4", "2026-Q4", utc(2026, 10, 1), utc(2027, 1, 1)),
        ("2026-q4", "2026-Q4", utc(2026, 10, 1), utc(2027, 1, 1)),
        ("  2026-Q4 ", "2026-Q4", utc(2026, 10, 1), utc(2027, 1, 1)),
        ("Q4 2026", "2026-Q4", utc(2026, 10, 1), utc(2027, 1, 1)),
        ("2026 Q4", "2026-Q4", utc(2026, 10, 1), utc(2027, 1, 1)),
        ("FY2026-Q4", "2026-Q4", utc(2026, 10, 1), utc(2027, 1, 1)),
        ("2026-H1", "2026-H1", utc(2026, 1, 1), utc(2026, 7, 1)),
        ("2026-h2", "2026-H2", utc(2026, 7, 1), utc(2027, 1, 1)),
        ("2026", "2026", utc(2026, 1, 1), utc(2027, 1, 1)),
        ("2026-11", "2026-11", utc(2026, 11, 1), utc(2026, 12, 1)),
        ("2026-2", "2026-02", utc(2026, 2, 1), utc(2026, 3, 1)),
        ("2026-12", "2026-12", utc(2026, 12, 1), utc(2027, 1, 1)),
        ("2026-10-01..2026-12-31", "2026-10-01..2026-12-31", utc(2026, 10, 1), utc(2027, 1, 1)),
        ("2026-10-01 .. 2026-10-01", "2026-10-01..2026-10-01", utc(2026, 10, 1), utc(2026, 10, 2)),
    ],
)
def test_cycle_forms(text, label, start, end):
    cycle = parse_cycle(text)
    assert (cycle.label, cycle.start, cycle.end) == (label, start, end)
    assert cycle.start.tzinfo is not None and cycle.end.tzinfo is not None


def test_a_berlin_cycle_starts_at_local_midnight():
    q4 = parse_cycle("2026-Q4", tz="Europe/Berlin")
    assert q4.start.isoformat() == "2026-10-01T00:00:00+02:00"
    # 24:00 of Dec 31, after the switch back to winter time.
    assert q4.end.isoformat() == "2027-01-01T00:00:00+01:00"
    assert q4.start == utc(2026, 9, 30, 22)
    assert not q4.started(utc(2026, 9, 30, 21, 59, 59))
    assert q4.started(utc(2026, 9, 30, 22))
    assert q4.ended(utc(2026, 12, 31, 23))
    assert not q4.ended(utc(2026, 12, 31, 22, 59))


def test_a_cycle_east_and_west_of_utc():
    tokyo = parse_cycle("2026-11", tz="Asia/Tokyo")
    assert tokyo.start == utc(2026, 10, 31, 15)
    ny = parse_cycle("2026-10-01..2026-10-31", tz="America/New_York")
    assert ny.start == utc(2026, 10, 1, 4) and ny.end == utc(2026, 11, 1, 4)


def test_naive_now_is_in_the_cycles_timezone():
    q4 = parse_cycle("2026-Q4", tz="Europe/Berlin")
    assert elapsed(q4, datetime(2026, 10, 1, 0, 0)) == 0.0
    assert q4.started(datetime(2026, 10, 1, 0, 0))
    assert not q4.started(datetime(2026, 9, 30, 23, 59))


def test_elapsed_counts_real_seconds_across_dst():
    # October 2026 in Berlin has 31*24+1 hours (summer time ends on the 25th).
    oct_ = parse_cycle("2026-10", tz="Europe/Berlin")
    hours = (oct_.end - oct_.start) / timedelta(hours=1)  # aware, same zone: wall clock
    real = (oct_.end.timestamp() - oct_.start.timestamp()) / 3600
    assert hours == 744 and real == 745
    assert elapsed(oct_, oct_.start.astimezone(UTC) + timedelta(hours=372.5)) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "text, fy, start, end",
    [
        # The start month shifts quarters and halves: 2026 = Apr 2026 .. Mar 2027.
        ("2026", 4, utc(2026, 4, 1), utc(2027, 4, 1)),
        ("2026-Q1", 4, utc(2026, 4, 1), utc(2026, 7, 1)),
        ("2026-Q2", 4, utc(2026, 7, 1), utc(2026, 10, 1)),
        ("2026-Q3", 4, utc(2026, 10, 1), utc(2027, 1, 1)),
        ("2026-Q4", 4, utc(2027, 1, 1), utc(2027, 4, 1)),
        ("2026-H1", 4, utc(2026, 4, 1), utc(2026, 10, 1)),
        ("2026-H2", 4, utc(2026, 10, 1), utc(2027, 4, 1)),
        ("2027-Q1", 7, utc(2027, 7, 1), utc(2027, 10, 1)),
        ("2026-Q4", 12, utc(2027, 9, 1), utc(2027, 12, 1)),
        ("2026-Q1", 2, utc(2026, 2, 1), utc(2026, 5, 1)),
        # Months and explicit ranges stay calendar dates.
        ("2026-11", 4, utc(2026, 11, 1), utc(2026, 12, 1)),
        ("2026-10-01..2026-12-31", 4, utc(2026, 10, 1), utc(2027, 1, 1)),
    ],
)
def test_fiscal_year_start_shifts_quarters_halves_and_years(text, fy, start, end):
    cycle = parse_cycle(text, fiscal_year_start=fy)
    assert (cycle.start, cycle.end) == (start, end)


@FAST
@given(st.integers(1900, 2200), st.integers(1, 12), st.sampled_from(["UTC", "Europe/Berlin", "America/Los_Angeles"]))
def test_quarters_and_halves_tile_the_fiscal_year(year, fy, tz):
    whole = parse_cycle(str(year), fiscal_year_start=fy, tz=tz)
    quarters = [parse_cycle(f"{year}-Q{n}", fiscal_year_start=fy, tz=tz) for n in range(1, 5)]
    halves = [parse_cycle(f"{year}-H{n}", fiscal_year_start=fy, tz=tz) for n in range(1, 3)]
    for parts in (quarters, halves):
        assert parts[0].start == whole.start and parts[-1].end == whole.end
        for a, b in zip(parts, parts[1:]):
            assert a.end == b.start  # no gap, no overlap
    # Named by the calendar year it starts in; it starts in month ``fy``.
    assert whole.start.year == year and whole.start.month == fy
    next_year = parse_cycle(str(year + 1), fiscal_year_start=fy, tz=tz)
    assert next_year.start == whole.end


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no cycle given"),
        ("   ", "no cycle given"),
        ("soon", "cannot read the cycle 'soon'"),
        ("2026-Q5", "there is no Q5, a year has Q1 to Q4"),
        ("2026-Q0", "there is no Q0"),
        ("2026-H3", "there is no H3, a year has H1 to H2"),
        ("2026-13", "there is no month 13"),
        ("2026-00", "there is no month 0"),
        ("2026-02-30..2026-03-01", "'2026-02-30..2026-03-01'"),
        ("2026-12-31..2026-10-01", "the cycle ends before it starts"),
        ("2026-10-01..", "cannot read the cycle"),
        ("26-Q4", "cannot read the cycle"),
        ("9999-Q4", "outside the years syncd can handle"),
    ],
)
def test_bad_cycles_say_what_is_wrong(text, message):
    with pytest.raises(ValueError) as e:
        parse_cycle(text)
    assert message in str(e.value)
    assert FORMS in str(e.value) or "ends before" in str(e.value) or "outside" in str(e.value)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="fiscal_year_start must be a month from 1 to 12"):
        parse_cycle("2026", fiscal_year_start=13)
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        parse_cycle("2026", tz="Mars/Olympus")


def test_cycle_or_reason_gives_the_message_instead_of_raising():
    assert isinstance(cycle_or_reason("2026-Q4"), Cycle)
    assert cycle_or_reason(None) == f"no cycle: set Cycle to one of {FORMS}"
    assert cycle_or_reason("Q9").startswith("cannot read the cycle 'Q9'")


@pytest.mark.parametrize(
    "now, expected",
    [
        (utc(2026, 9, 1), 0.0),
        (utc(2026, 10, 1), 0.0),
        (utc(2026, 11, 16), 46 / 92),
        (utc(2027, 1, 1), 1.0),
        (utc(2027, 6, 1), 1.0),
    ],
)
def test_elapsed(now, expected):
    assert elapsed(parse_cycle("2026-Q4"), now) == pytest.approx(expected)


_TIMES = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC))


@FAST
@given(
    st.sampled_from(["2026-Q4", "2026-H1", "2026", "2026-02", "2026-03-29..2026-03-29"]),
    st.sampled_from(["UTC", "Europe/Berlin", "Australia/Lord_Howe"]),
    _TIMES,
    _TIMES,
)
def test_elapsed_is_a_fraction_and_monotone_in_now(text, tz, a, b):
    cycle = parse_cycle(text, tz=tz)
    early, late = sorted((a, b))
    assert 0.0 <= elapsed(cycle, early) <= elapsed(cycle, late) <= 1.0
