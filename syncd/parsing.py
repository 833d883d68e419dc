"""Reading values the way people see them in a cell, property or custom field.

Sources hand over whatever their API gives: numbers, formatted text
(``$1,234.50``, ``99,6 %``, ``(1,234)``), spreadsheet error markers
(``#REF!``), booleans written a dozen ways. Everything here turns that into a
plain value, or into *no value with a reason a person understands*; nothing here
ever raises, because one bad cell must never stop a run.
"""

from __future__ import annotations

import math
import numbers
import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

__all__ = ["Parsed", "parse_number", "parse_percent_fraction", "parse_bool", "parse_date", "parse_threshold"]


class Parsed(NamedTuple):
    """A number, or ``None`` with the reason shown to the user (a tuple: built per cell, so cheap)."""

    value: float | None
    reason: str | None = None


# --- markers that mean "no value" ----------------------------------------------------

_ERRORS = {
    "#N/A": "a lookup that found nothing",
    "#REF!": "a broken formula reference",
    "#DIV/0!": "a division by zero",
    "#VALUE!": "a formula given the wrong type of value",
    "#NAME?": "a formula using an unknown name",
    "#ERROR!": "a formula that could not be read",
    "#NUM!": "a formula result that is not a valid number",
    "#NULL!": "ranges that do not meet",
    "#SPILL!": "a formula result that does not fit",
    "#CALC!": "a formula that could not be calculated",
    "#GETTING_DATA": "data still loading",
    "#FIELD!": "a missing field",
    "#BLOCKED!": "blocked external data",
}
_BLANKS = {"-", "−", "–", "—", "--", "n/a", "na", "n.a.", "none", "null", "nil", "tbd", "?"}
_LOADING = {"loading...", "loading…", "loading"}

# --- number grammar ------------------------------------------------------------------

#: Languages (and regions) that write a decimal comma: ``1.234,5``.
_COMMA_LANGS = {
    "de", "fr", "es", "it", "nl", "pt", "ru", "pl", "sv", "da", "fi", "nb", "nn", "no",
    "tr", "cs", "sk", "hu", "ro", "bg", "uk", "hr", "sl", "sr", "lt", "lv", "et", "el",
    "id", "vi", "be", "ca", "eu", "gl", "is", "az", "kk", "af",
}  # fmt: skip
#: Regions whose language usually has a decimal comma but that write a point.
_POINT_REGIONS = {"CH", "LI", "MX", "US", "PR", "GT", "DO", "SV", "HN", "NI", "PA", "PE"}

_MINUSES = "-\u2212\u2012\u2013\u2014\ufe63\uff0d"
_CURRENCIES = "$€£¥₹₩₽₺"
_GROUP_SPACES = " \u00a0\u202f\u2009\u2007'’"
#: Thousands, millions, billions. A lowercase ``m`` is not here: ``5m`` is as
#: likely five minutes or metres as five million, and a wrong number is worse
#: than no number.
_SUFFIXES = {"k": 1e3, "K": 1e3, "M": 1e6, "MM": 1e6, "mn": 1e6, "B": 1e9, "b": 1e9, "bn": 1e9, "BN": 1e9}
_BODY = re.compile(r"^[0-9.,\u00a0\u202f\u2009\u2007 '’]+(?:[eE][+-]?\d+)?$")
_SUFFIX = re.compile(r"^(.*?\d)\s*(k|K|MM|M|mn|BN|bn|B|b)$")
_GROUPED = re.compile(r"^\d{1,3}(?:X\d{3})+$")


def _decimal_comma(locale: str | None) -> bool:
    """Whether ``locale`` (``de``, ``de_DE``, ``pt-BR``...) writes ``1,5`` for 1.5."""
    if not locale or not isinstance(locale, str):
        return False
    parts = re.split(r"[-_.@]", locale.strip())
    lang = parts[0].lower()
    region = parts[1].upper() if len(parts) > 1 else ""
    return lang in _COMMA_LANGS and region not in _POINT_REGIONS


def _show(raw: Any, limit: int = 40) -> str:
    """A short, safe rendering of what the user typed, for a reason."""
    try:
        text = raw if isinstance(raw, str) else repr(raw)
    except Exception:  # a hostile __repr__ must not break parsing
        text = f"<{type(raw).__name__}>"
    text = str(text)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _marker_reason(text: str) -> str | None:
    """The reason when ``text`` is one of the markers that mean "no value"."""
    upper = text.upper()
    if upper in _ERRORS:
        return f"the cell shows {upper} ({_ERRORS[upper]})"
    if text.startswith("#") and (text.endswith("!") or text.endswith("?")) and len(text) <= 16:
        return f"the cell shows {text} (a formula error)"
    low = text.lower()
    if low in _LOADING:
        return "the cell shows Loading... (its formula had not finished when it was read)"
    if low in _BLANKS:
        return f"the cell shows {text} (no value)"
    return None


def _digits(body: str, comma_decimal: bool) -> str | None:
    """``1.234,5`` -> ``1234.5`` (plain digits and a point), or ``None``.

    The rightmost of ``.``/``,`` is the decimal separator when both appear; a
    separator that appears once and cannot be grouping (``99,6``) is decimal
    whatever the locale, since that is how a person reads it.
    """
    exp = ""
    m = re.search(r"[eE][+-]?\d+$", body)
    if m:
        body, exp = body[: m.start()], m.group(0)
    for ch in _GROUP_SPACES:
        body = body.replace(ch, "X")
    seps = [c for c in body if c in ".,"]
    kinds = set(seps)
    dec: str | None
    if len(kinds) == 2:
        dec = body[max(body.rfind("."), body.rfind(","))]
        if body.count(dec) > 1:
            return None
    elif len(kinds) == 1:
        (sep,) = kinds
        if len(seps) > 1:
            dec = None  # repeated: grouping (1,234,567)
        elif sep == ("," if comma_decimal else "."):
            dec = sep
        else:
            whole, _, frac = body.partition(sep)
            grouping = len(frac) == 3 and whole.replace("X", "") != "0" and bool(whole)
            dec = None if grouping else sep
    else:
        dec = None
    whole, _, frac = body.partition(dec) if dec else (body, "", "")
    group = {".", ","} - {dec} if dec else {".", ","}
    for g in group:
        whole = whole.replace(g, "X")
    if "X" in whole and not _GROUPED.match(whole):
        return None
    whole = whole.replace("X", "")
    if not frac.isdigit() and frac != "":
        return None
    if not whole and not frac:
        return None
    if whole and not whole.isdigit():
        return None
    return f"{whole or '0'}.{frac or '0'}{exp}"


def _text_number(text: str, comma_decimal: bool) -> tuple[float | None, bool]:
    """Parse formatted text; return (value or None, whether it had a percent sign)."""
    s = text.strip(_GROUP_SPACES + "\t\n\r")
    negative = paren = False
    if s.startswith("(") and s.endswith(")"):  # accounting negative
        negative, paren, s = True, True, s[1:-1].strip()
    percent = False
    if s.endswith("%"):
        percent, s = True, s[:-1].strip()
    if s[:1] in _CURRENCIES:
        s = s[1:].strip()
    elif s[-1:] in _CURRENCIES:
        s = s[:-1].strip()
    if s[:1] in _MINUSES or s[:1] == "+":
        if s[:1] != "+":
            if negative:  # (-5): a minus inside an accounting negative is ambiguous, not +5
                return None, percent
            negative = True
        s = s[1:].strip()
        if s[:1] in _CURRENCIES:  # -$5
            s = s[1:].strip()
    if s.startswith("(") and s.endswith(")"):  # $(1,234); but ((5)) is no number, never +5
        if paren or negative:  # -(5) as much as ((5))
            return None, percent
        negative, s = True, s[1:-1].strip()
    if "(" in s or ")" in s:
        return None, percent
    if not percent and s.endswith("%"):
        percent, s = True, s[:-1].strip()
    scale = 1.0
    m = _SUFFIX.match(s)
    if m and not percent:
        s, scale = m.group(1), _SUFFIXES[m.group(2)]
    if not s or not _BODY.match(s):
        return None, percent
    plain = _digits(s, comma_decimal)
    if plain is None:
        return None, percent
    try:
        # In decimal, not binary: 4.1M must be 4100000 exactly, not 4099999.9999999995,
        # or a value written at an inclusive threshold would miss it.
        value = float(Decimal(plain) * Decimal(int(scale))) if scale != 1.0 else float(plain)
    except (ValueError, ArithmeticError):
        return None, percent
    return (-value if negative else value), percent


_PLAIN = re.compile(r"-?\d{1,15}(?:\.\d{1,15})?")
#: The common cells, ``42``, ``99.6`` and ``99.6%``, in one match.
_PLAIN_PERCENT = re.compile(r"-?\d{1,15}(?:\.\d{1,15})?%?")
_TEXT_SPACES = _GROUP_SPACES + "\t\n\r\ufeff"


def _parse(raw: Any, locale: str | None) -> tuple[Parsed, bool]:
    if type(raw) is str:  # most cells: checked first, before the slower isinstance tests
        return _parse_text(raw, locale)
    if raw is None:
        return Parsed(None, "empty"), False
    if isinstance(raw, bool):
        return Parsed(None, f"a checkbox ({raw}), not a number"), False
    if isinstance(raw, (numbers.Real, Decimal)):
        try:
            value = float(raw)
        except (OverflowError, ValueError, TypeError):
            return Parsed(None, f"not a number: {_show(raw)}"), False
        if not math.isfinite(value):
            return Parsed(None, f"not a finite number: {_show(raw)}"), False
        return Parsed(value), False
    if isinstance(raw, (bytes, bytearray)):
        return _parse_text(bytes(raw).decode("utf-8", errors="replace"), locale)
    if not isinstance(raw, str):
        return Parsed(None, f"not a number: {_show(raw)}"), False
    return _parse_text(str(raw), locale)


def _parse_text(raw: str, locale: str | None) -> tuple[Parsed, bool]:
    text = raw.strip(_TEXT_SPACES)
    if not text:
        return Parsed(None, "empty"), False
    if text.isdecimal() and len(text) <= 15:  # what ``\d{1,15}`` matches, without the regex
        return Parsed(float(text)), False
    if _PLAIN_PERCENT.fullmatch(text) and (not locale or "." not in text or not _decimal_comma(locale)):
        if text[-1] == "%":
            return Parsed(float(text[:-1])), True  # 99.6%, as common
        return Parsed(float(text)), False  # the common case, fast
    marker = _marker_reason(text)
    if marker:
        return Parsed(None, marker), False
    value, percent = _text_number(text, _decimal_comma(locale))
    if value is None:
        return Parsed(None, f"not a number: {_show(text)}"), percent
    if not math.isfinite(value):
        return Parsed(None, f"not a finite number: {_show(text)}"), percent
    return Parsed(value), percent


def parse_number(raw: Any, *, locale: str | None = None) -> Parsed:
    """Read a number as a person sees it (``99.6%`` is 99.6, ``(1,234)`` is -1234).

    ``locale`` (``de``, ``fr_FR``...) says whether ``1.234,5`` means 1234.5.
    Anything that is not a number gives ``Parsed(None, reason)``; never raises.
    """
    try:
        return _parse(raw, locale)[0]
    except Exception:  # the promise is "never raises"; this is the last guard
        return Parsed(None, f"not a number: {_show(raw)}")


def parse_percent_fraction(raw: Any, *, locale: str | None = None) -> Parsed:
    """Read a progress or score cell: ``40%`` is 0.4, a bare ``0.4`` stays 0.4.

    Sheets show progress as percent text while APIs give fractions; both must
    compare equal so that syncd does not rewrite an unchanged value.
    """
    try:
        parsed, percent = _parse(raw, locale)
    except Exception:
        return Parsed(None, f"not a number: {_show(raw)}")
    if percent and parsed.value is not None:
        # Decimal division: 14.3% is 0.143, not 0.14300000000000002.
        return Parsed(float(Decimal(repr(parsed.value)) / 100))
    return parsed


_TRUE = {"true", "yes", "y", "done", "x", "1", "checked", "complete", "completed", "on", "ok",
         "✓", "✔", "✔️", "☑", "☑️", "✅", "[x]", "wahr", "ja", "oui", "sí", "si"}  # fmt: skip
_FALSE = {"false", "no", "n", "0", "unchecked", "incomplete", "not done", "open", "off", "todo",
          "to do", "✗", "✘", "☐", "❌", "[ ]", "falsch", "nein", "non"}  # fmt: skip


def parse_bool(raw: Any) -> bool | None:
    """Read a milestone's done flag (``TRUE``, ``yes``, ``✓``, a checkbox); ``None`` if unreadable."""
    try:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, numbers.Real):
            return {1: True, 0: False}.get(raw) if raw in (0, 1) else None  # type: ignore[call-overload]
        if isinstance(raw, str):
            text = raw.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
    except Exception:
        return None
    return None


def parse_date(raw: Any) -> date | datetime | None:
    """Read an ISO 8601 date or date-time (``Z`` and offsets kept), or an API's date object.

    Spreadsheet serial numbers are not dates here: only the caller knows the
    cell was date-formatted.
    """
    if type(raw) is str:
        return _parse_date_text(raw)  # a column repeats a handful of dates: cached
    return _parse_date(raw)


@lru_cache(maxsize=4096)
def _parse_date_text(raw: str) -> date | datetime | None:
    return _parse_date(raw)


def _parse_date(raw: Any) -> date | datetime | None:
    """Read an ISO 8601 date or date-time (``Z`` and offsets kept), or an API's date object.

    Spreadsheet serial numbers are not dates here: only the caller knows the
    cell was date-formatted.
    """
    try:
        if isinstance(raw, (date, datetime)):
            return raw
        if not isinstance(raw, str):
            return None
        text = raw.strip()
        if not text or not text[:4].isdigit():
            return None
        if len(text) <= 10:
            return date.fromisoformat(text)
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        return datetime.fromisoformat(text)
    except Exception:
        return None


_RANGE = re.compile(r"\s*(?:\.\.|…)\s*")


def parse_threshold(raw: Any, *, locale: str | None = None) -> tuple[float | tuple[float, float] | None, str | None]:
    """Read a threshold: a number, or a band ``low..high`` (``95..105``, ``2%..5%``).

    A band written high-first (``105..95``) is the same band and is put in
    order. Gives ``(None, reason)`` when unreadable; never raises.
    """
    try:
        if type(raw) is str:  # the common cases, fast: 80, then 99.5
            if raw.isdecimal() and len(raw) <= 15:  # what ``\d{1,15}`` matches, without the regex
                return float(raw), None
            if _PLAIN.fullmatch(raw) and (not locale or "." not in raw or not _decimal_comma(locale)):
                return float(raw), None
        if isinstance(raw, (tuple, list)):
            if len(raw) != 2:
                return None, f"a range needs two ends, got {_show(raw)}"
            ends = [parse_number(x, locale=locale) for x in raw]
        elif isinstance(raw, str) and _RANGE.search(raw.strip()):
            text = raw.strip()
            pieces = _RANGE.split(text)
            if len(pieces) != 2:
                return None, f"not a range: {_show(text)}; write it low..high, such as 95..105"
            ends = [parse_number(p, locale=locale) for p in pieces]
        else:
            one = parse_number(raw, locale=locale)
            return (one.value, None) if one.value is not None else (None, one.reason)
        bad = [e for e in ends if e.value is None]
        if bad:
            return None, f"not a range: {_show(raw)} ({bad[0].reason}); write it low..high, such as 95..105"
        low, high = sorted((ends[0].value, ends[1].value))  # type: ignore[type-var]
        return (low, high), None  # type: ignore[return-value]
    except Exception:
        return None, f"not a threshold: {_show(raw)}"


#: A Notion id: 32 hex digits (in a URL or not), or dashed.
_HEX32 = re.compile(r"([0-9a-fA-F]{32})(?![0-9a-fA-F])")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def parse_database_id(text: str) -> str:
    """A database (or data source) id from an id or a Notion URL, in dashed form."""
    text = (text or "").strip()
    if _UUID.match(text):
        raw = text.replace("-", "")
    else:
        path = urlsplit(text).path if "://" in text or text.startswith("www.") else text.split("?")[0]
        found = _HEX32.findall(path.replace("-", ""))
        if not found:
            raise ValueError(
                f"{text!r} is not a Notion database id or URL; copy the database's link "
                "(••• → Copy link) or its 32-character id"
            )
        raw = found[-1]
    raw = raw.lower()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
