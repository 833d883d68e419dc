"""Small helpers for the sentences evaluation writes: numbers as a person writes them, and where."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["fmt", "finite", "at"]


def fmt(x: float | tuple[float, float] | None) -> str:
    """A number as a person would write it in a sheet: ``90``, ``99.5``, ``95..105``."""
    if x is None:
        return "none"
    if isinstance(x, tuple):
        return "..".join(fmt(v) for v in x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.10g}"


def finite(x: Any) -> bool:
    """A real number (not a bool), not NaN or infinite; a band: both ends so."""
    if type(x) is float or type(x) is int:  # the common case, fast
        return x - x == 0
    if isinstance(x, tuple):
        return len(x) == 2 and all(finite(v) for v in x)
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def at(where: str, reason: str) -> str:
    """A reason syncd worked out itself, prefixed with where a person finds the item
    (the source's own reasons already name their cell)."""
    return f"{where}: {reason}" if where and where not in reason else reason
