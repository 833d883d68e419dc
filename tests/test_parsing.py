"""Values read the way people see them; nothing a cell holds can crash a run."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.parsing import Parsed, parse_bool, parse_date, parse_number, parse_percent_fraction, parse_threshold

FAST = settings(max_examples=300, deadline=None, database=None)


@pytest.mark.parametrize(
    "raw, expected",
    [
        (42, 42.0),
        (3.5, 3.5),
        (Decimal("1.25"), 1.25),
        (Fraction(1, 4), 0.25),
        ("42", 42.0),
        ("  42  ", 42.0),
        ("\u00a042\u00a0", 42.0),
        ("1,234.5", 1234.5),
        ("1,234,567.89", 1234567.89),
        ("99.6%", 99.6),
        ("99.6 %", 99.6),
        ("$1,234", 1234.0),
        ("$ 1,234.50", 1234.5),
        ("1,234 €", 1234.0),
        ("£12", 12.0),
        ("€12.5", 12.5),
        ("1.2k", 1200.0),
        ("1.2K", 1200.0),
        ("3M", 3_000_000.0),
        ("3 MM", 3_000_000.0),
        ("3bn", 3_000_000_000.0),
        ("2B", 2_000_000_000.0),
        ("$1.5M", 1_500_000.0),
        ("(1,234)", -1234.0),
        ("($1,234.50)", -1234.5),
        ("\u22125", -5.0),
        ("\u22121,234.5", -1234.5),
        ("-5", -5.0),
        ("+5", 5.0),
        ("-$5", -5.0),
        ("$-5", -5.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("'123", 123.0),  # a sheet's text prefix
        ("0,5", 0.5),  # one comma that cannot be grouping: a decimal comma
        ("99,6 %", 99.6),
    ],
)
def test_numbers_read_as_people_see_them(raw, expected):
    assert parse_number(raw) == Parsed(expected, None)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1.234,5", 1234.5),
        ("99,6 %", 99.6),
        ("99,6%", 99.6),
        ("1,5", 1.5),
        ("1.234", 1234.0),
        ("1 234,5", 1234.5),
        ("1\u202f234,5", 1234.5),
        ("€ 1.234,50", 1234.5),
        ("1.234,50 €", 1234.5),
        ("(1.234,5)", -1234.5),
        ("99.6", 99.6),  # a point that cannot be grouping is read as people read it
        ("1,2k", 1200.0),
    ],
)
@pytest.mark.parametrize("locale", ["de", "de_DE", "fr-FR", "es", "it", "nl", "pt_BR", "ru", "pl", "sv", "tr", "cs"])
def test_decimal_comma_locales(raw, expected, locale):
    assert parse_number(raw, locale=locale).value == pytest.approx(expected)


def test_locale_decides_a_lone_three_digit_group():
    assert parse_number("1,234").value == 1234.0
    assert parse_number("1,234", locale="de").value == pytest.approx(1.234)
    assert parse_number("1.234", locale="en_US").value == pytest.approx(1.234)
    assert parse_number("1.234", locale="de").value == 1234.0
    # Swiss German writes a decimal point (and apostrophes between thousands).
    assert parse_number("1'234.5", locale="de_CH").value == 1234.5


@pytest.mark.parametrize(
    "raw, reason",
    [
        (None, "empty"),
        ("", "empty"),
        ("   ", "empty"),
        ("-", "the cell shows - (no value)"),
        ("n/a", "the cell shows n/a (no value)"),
        ("N/A", "the cell shows N/A (no value)"),
        ("#N/A", "the cell shows #N/A (a lookup that found nothing)"),
        ("#REF!", "the cell shows #REF! (a broken formula reference)"),
        ("#DIV/0!", "the cell shows #DIV/0! (a division by zero)"),
        ("#VALUE!", "the cell shows #VALUE! (a formula given the wrong type of value)"),
        ("#NAME?", "the cell shows #NAME? (a formula using an unknown name)"),
        ("#ERROR!", "the cell shows #ERROR! (a formula that could not be read)"),
        ("#NUM!", "the cell shows #NUM! (a formula result that is not a valid number)"),
        ("#NULL!", "the cell shows #NULL! (ranges that do not meet)"),
        ("#ref!", "the cell shows #REF! (a broken formula reference)"),
        ("#WHATEVER!", "the cell shows #WHATEVER! (a formula error)"),
        ("Loading...", "the cell shows Loading... (its formula had not finished when it was read)"),
        ("abc", "not a number: 'abc'"),
        ("12 apples", "not a number: '12 apples'"),
        ("1,2,3", "not a number: '1,2,3'"),
        ("1.2.3", "not a number: '1.2.3'"),
        ("1,23,456", "not a number: '1,23,456'"),
        ("%", "not a number: '%'"),
        ("$", "not a number: '$'"),
        ("k", "not a number: 'k'"),
        ("5m", "not a number: '5m'"),  # five minutes? metres? never five million
        ("\u2212", "the cell shows \u2212 (no value)"),
        ("()", "not a number: '()'"),
        ("nan", "not a number: 'nan'"),
        ("inf", "not a number: 'inf'"),
        ("1e999", "not a finite number: '1e999'"),
        (float("nan"), "not a finite number: 'nan'"),
        (float("inf"), "not a finite number: 'inf'"),
        (True, "a checkbox (True), not a number"),
        (False, "a checkbox (False), not a number"),
        ([1], "not a number: '[1]'"),
        ({"a": 1}, "not a number: \"{'a': 1}\""),
    ],
)
def test_no_value_comes_with_the_reason(raw, reason):
    assert parse_number(raw) == Parsed(None, reason)


def test_long_text_is_shortened_in_the_reason():
    reason = parse_number("x" * 500).reason
    assert reason is not None and len(reason) < 80 and reason.startswith("not a number: 'xxx")


class _Hostile:
    def __repr__(self):
        raise RuntimeError("no")

    def __float__(self):
        raise RuntimeError("no")


class _HostileStr(str):
    def strip(self, *a):
        raise RuntimeError("no")


def test_hostile_objects_do_not_raise():
    assert parse_number(_Hostile()).value is None
    assert parse_number(_HostileStr("12")).value == 12.0  # still text: read as such
    assert parse_percent_fraction(_Hostile()).value is None
    assert parse_bool(_Hostile()) is None
    assert parse_date(_Hostile()) is None
    assert parse_threshold(_Hostile())[0] is None
    assert parse_number(10**400).value is None  # too big for a float


_ANY = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(), st.binary(), st.lists(st.integers(), max_size=3), st.dates(), st.decimals(),
    st.text(alphabet="0123456789.,-−+()%$€£kMB eE'\u00a0", max_size=12),
)  # fmt: skip


@FAST
@given(_ANY, st.sampled_from([None, "de", "en_US", "fr-FR", "", "xx"]))
def test_parsing_never_raises(raw, locale):
    parsed = parse_number(raw, locale=locale)
    assert (parsed.value is None) != (parsed.reason is None)
    assert parsed.value is None or math.isfinite(parsed.value)
    fraction = parse_percent_fraction(raw, locale=locale)
    assert fraction.value is None or math.isfinite(fraction.value)
    assert parse_bool(raw) in (True, False, None)
    parse_date(raw)
    value, reason = parse_threshold(raw, locale=locale)
    assert (value is None) != (reason is None)


_MONEY = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).map(lambda x: round(x, 2))


@FAST
@given(_MONEY)
def test_formatted_numbers_round_trip(x):
    text = f"{x:,.2f}"
    assert parse_number(text).value == pytest.approx(x, abs=0.005)
    assert parse_number(f"{text}%").value == pytest.approx(x, abs=0.005)
    assert parse_number(f" {text} ").value == pytest.approx(x, abs=0.005)
    money = f"-${abs(x):,.2f}" if x < 0 else f"${x:,.2f}"
    assert parse_number(money).value == pytest.approx(x, abs=0.005)
    accounting = f"({abs(x):,.2f})" if x < 0 else text
    assert parse_number(accounting).value == pytest.approx(x, abs=0.005)


@FAST
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 1)))
def test_k_suffix_round_trips(x):
    assert parse_number(f"{x}k").value == pytest.approx(x * 1000)


@FAST
@given(_MONEY)
def test_german_formatted_numbers_round_trip(x):
    english = f"{x:,.2f}"
    german = english.replace(",", "_").replace(".", ",").replace("_", ".")
    assert parse_number(german, locale="de_DE").value == pytest.approx(x, abs=0.005)
    assert parse_number(german + " %", locale="de_DE").value == pytest.approx(x, abs=0.005)


@pytest.mark.parametrize(
    "raw, expected",
    [("40%", 0.4), ("40 %", 0.4), ("100%", 1.0), ("0%", 0.0), (0.4, 0.4), ("0.4", 0.4), (1, 1.0), ("12,5%", 0.125)],
)
def test_progress_cells_percent_means_fraction(raw, expected):
    assert parse_percent_fraction(raw).value == pytest.approx(expected)


def test_progress_cells_keep_the_reason():
    assert parse_percent_fraction("#REF!").reason == "the cell shows #REF! (a broken formula reference)"
    assert parse_percent_fraction("").reason == "empty"


@pytest.mark.parametrize(
    "raw",
    [
        True,
        "TRUE",
        "true",
        " yes ",
        "Yes",
        "y",
        "done",
        "Done",
        "✓",
        "✔",
        "x",
        "X",
        1,
        1.0,
        "1",
        "checked",
        "complete",
        "completed",
    ],  # fmt: skip
)
def test_done_flags(raw):
    assert parse_bool(raw) is True


@pytest.mark.parametrize(
    "raw", [False, "FALSE", "false", "no", "No", "n", "✗", "✘", 0, "0", "unchecked", "incomplete", "not done"]
)
def test_not_done_flags(raw):
    assert parse_bool(raw) is False


@pytest.mark.parametrize("raw", [None, "", "maybe", 2, 0.5, "#REF!", [True], float("nan")])
def test_unreadable_flags(raw):
    assert parse_bool(raw) is None


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-10-01", date(2026, 10, 1)),
        (" 2026-10-01 ", date(2026, 10, 1)),
        ("2026-10-01T12:30:00", datetime(2026, 10, 1, 12, 30)),
        ("2026-10-01T12:30:00Z", datetime(2026, 10, 1, 12, 30, tzinfo=UTC)),
        ("2026-10-01T12:30:00.000Z", datetime(2026, 10, 1, 12, 30, tzinfo=UTC)),
        ("2026-10-01T12:30:00+02:00", datetime(2026, 10, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))),
        ("2026-10-01 12:30", datetime(2026, 10, 1, 12, 30)),
        (date(2026, 1, 2), date(2026, 1, 2)),
        (datetime(2026, 1, 2, 3), datetime(2026, 1, 2, 3)),
    ],
)
def test_dates(raw, expected):
    got = parse_date(raw)
    assert got == expected and type(got) is type(expected)
    if isinstance(expected, datetime):
        assert got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("raw", [None, "", "yesterday", "2026-13-01", "01/10/2026", 46000, 46000.5, "2026-02-30", True])
def test_not_dates(raw):
    assert parse_date(raw) is None


@pytest.mark.parametrize(
    "raw, expected",
    [
        (95, 95.0),
        ("99.5%", 99.5),
        ("95..105", (95.0, 105.0)),
        ("95 .. 105", (95.0, 105.0)),
        ("2%..5%", (2.0, 5.0)),
        ("-5..5", (-5.0, 5.0)),
        ("105..95", (95.0, 105.0)),
        ("1.234,5..2.000,0", (1234.5, 2000.0)),
        ((1, 2), (1.0, 2.0)),
        ([3, "4%"], (3.0, 4.0)),
    ],
)
def test_thresholds(raw, expected):
    locale = "de" if "," in str(raw) else None
    assert parse_threshold(raw, locale=locale) == (expected, None)


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "empty"),
        (None, "empty"),
        ("#REF!", "the cell shows #REF! (a broken formula reference)"),
        ("abc", "not a number: 'abc'"),
        ("a..5", "not a range: 'a..5' (not a number: 'a'); write it low..high, such as 95..105"),
        ("1..2..3", "not a range: '1..2..3'; write it low..high, such as 95..105"),
        ((1, 2, 3), "a range needs two ends, got '(1, 2, 3)'"),
    ],
)
def test_unreadable_thresholds(raw, reason):
    assert parse_threshold(raw) == (None, reason)


@pytest.mark.parametrize(
    "raw, expected",
    [("4.1M", 4_100_000.0), ("8.2M", 8_200_000.0), ("1.005k", 1005.0), ("2.3B", 2_300_000_000.0),
     ("$4.1M", 4_100_000.0), ("(1.005k)", -1005.0)],
)  # fmt: skip
def test_suffixes_scale_in_decimal_without_float_noise(raw, expected):
    # 4.1 * 1e6 in binary is 4099999.9999999995: a KPI at its threshold would miss it.
    assert parse_number(raw).value == expected


@pytest.mark.parametrize("raw, expected", [("14.3%", 0.143), ("0.7%", 0.007), ("28.6%", 0.286), ("57.99%", 0.5799)])
def test_percent_fractions_are_exact_decimals(raw, expected):
    assert parse_percent_fraction(raw).value == expected
