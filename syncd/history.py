"""The history-based rules: check-ins, red streaks and forecasts.

Pure: the recorded values come in as data (one read of the state store per
pass, each value stamped with the ``now`` of the pass that first recorded it),
so ``syncd sync --now T`` over a series of times replays them exactly. A value
recorded at or after ``now`` is not history yet and is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from .model import Points

__all__ = ["forecast", "unchanged_since", "red_since", "day"]

_DAY = 86400.0
#: A forecast needs at least this many points spanning at least this many days.
MIN_POINTS = 3
MIN_SPAN_DAYS = 7.0


def day(ts: float) -> str:
    """POSIX seconds as the calendar date a person reads (UTC)."""
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def forecast(
    points: Points | None, start: float, target: float, progress_now: float, now_ts: float, since: float, end: float
) -> float | None:
    """Progress at ``end`` on the least-squares line through the recorded progress.

    The points are (when each value was first recorded, its progress) for the
    values recorded in ``since``..``now``, plus (now, ``progress_now``). With
    fewer than 3 points or a span under 7 days there is no forecast (None).
    Time is in days from ``now``, so the sums stay small and exact.
    """
    if not points:
        return None
    span = target - start
    n, sx, sy, sxx, sxy, first = 1, 0.0, progress_now, 0.0, 0.0, 0.0
    for ts, v in points:
        if ts < since or ts >= now_ts or v is None or v - v != 0:
            continue
        x = (ts - now_ts) / _DAY
        p = (v - start) / span
        p = 0.0 if p < 0.0 else 1.0 if p > 1.0 else p
        if n == 1:
            first = x
        n += 1
        sx += x
        sy += p
        sxx += x * x
        sxy += x * p
    if n < MIN_POINTS or -first < MIN_SPAN_DAYS:
        return None
    var = sxx - sx * sx / n
    if var <= 0:
        return None
    slope = (sxy - sx * sy / n) / var
    at_end = sy / n + slope * ((end - now_ts) / _DAY - sx / n)
    return 0.0 if at_end < 0.0 else 1.0 if at_end > 1.0 else at_end


def unchanged_since(points: Points | None, value: float, now_ts: float) -> float | None:
    """When the pass that first recorded ``value`` ran, if it is still the latest value recorded before now."""
    if not points:
        return None
    for ts, v in reversed(points):
        if ts < now_ts:
            return ts if v == value else None
    return None


def red_since(points: Points | None, now_ts: float, is_red: Callable[[float], bool]) -> float:
    """The start of the current red streak (the KPI is red now): the first recorded value of
    the run of red values, judged by ``is_red`` (today's thresholds), that reaches now."""
    since = now_ts
    for ts, v in reversed(points or ()):
        if ts >= now_ts:
            continue
        if v is None or v - v != 0 or not is_red(v):
            break
        since = ts
    return since
