"""The history-based rules: check-ins, red streaks and forecasts.

Pure: the recorded values come in as data (one read of the state store per
pass, each value stamped with the ``now`` of the pass that first recorded it),
so ``syncd sync --now T`` over a series of times replays them exactly. A value
recorded at or after ``now`` is not history yet and is ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .model import Points

__all__ = ["forecast", "red_since", "day"]

_DAY = 86400.0
#: A forecast needs at least this many points spanning at least this many days.
MIN_POINTS = 3
MIN_SPAN_DAYS = 7.0


@lru_cache(maxsize=1024)
def day(ts: float) -> str:
    """POSIX seconds as the calendar date a person reads (UTC)."""
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def forecast(
    points: Points | None, start: float, target: float, progress_now: float, now_ts: float, since: float, end: float
) -> tuple[float | None, tuple[float, float | None] | None]:
    """Progress at ``end`` on the least-squares line through the recorded progress,
    and the last (time, value) recorded before now (for the check-in rule).

    The points are (when each value was first recorded, its progress) for the
    values recorded in ``since``..``now``, plus (now, ``progress_now``). With
    fewer than 3 points or a span under 7 days there is no forecast (None).
    ``points`` are oldest first. Time is in seconds from ``now``, so the sums
    stay small; this runs for every key result on every pass: one loop, no calls.
    """
    if not points:
        return None, None
    inv = 1.0 / (target - start)
    n, sx, sy, sxx, sxy, first = 1, 0.0, progress_now, 0.0, 0.0, 1.0
    for ts, v in points:
        if ts >= now_ts:
            break  # not history yet
        if v is None or ts < since:
            continue
        x = ts - now_ts
        p = (v - start) * inv
        if p < 0.0:
            p = 0.0
        elif p > 1.0:
            p = 1.0
        if first > 0.0:
            first = x
        n += 1
        sx += x
        sy += p
        sxx += x * x
        sxy += x * p
    last: tuple[float, float | None] | None = points[-1]
    if last[0] >= now_ts:  # type: ignore[index]
        last = next((point for point in reversed(points) if point[0] < now_ts), None)
    if n < MIN_POINTS or first > -MIN_SPAN_DAYS * _DAY:
        return None, last
    var = sxx - sx * sx / n
    if var <= 0:
        return None, last
    at_end = sy / n + (sxy - sx * sy / n) / var * ((end - now_ts) - sx / n)
    return (0.0 if at_end < 0.0 else 1.0 if at_end > 1.0 else at_end), last


def red_since(points: Points | None, now_ts: float, direction: str, red: Any) -> float:
    """The start of the current red streak of a KPI red now: the first recorded value of the
    run of values that are red under today's ``direction`` and ``red`` threshold (a value
    that is not, or no value, ends the run)."""
    since = now_ts
    for ts, v in reversed(points or ()):
        if ts >= now_ts:
            continue
        if v is None:
            break
        if direction == "higher":
            if not v < red:
                break
        elif direction == "lower":
            if not v > red:
                break
        elif red[0] <= v <= red[1] or v != v:
            break
        since = ts
    return since
