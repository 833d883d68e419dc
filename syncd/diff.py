"""What syncd wants each owned field to hold, and whether the source differs.

Values are compared as people see them: ``0.4`` and ``"40%"`` are the same
progress, ``"on track"`` and ``"On track"`` the same status. Every mapping
normalises what its source holds with the functions here (into
``item.written``), so the engine compares like with like and a run in which
nothing changed writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from .model import KPI, Colour, Evaluation, Objective, Patch
from .parsing import parse_number, parse_percent_fraction

__all__ = [
    "AnyOf",
    "COLOURS",
    "colour_of",
    "KPI_STATUS_LABELS",
    "OKR_STATUS_LABELS",
    "kpi_status_label",
    "okr_status_label",
    "normalise_status",
    "normalise_fraction",
    "normalise_number",
    "same",
    "desired_patches",
]

KPI_STATUS_LABELS = {
    "green": "Green",
    "amber": "Amber",
    "red": "Red",
    "no_data": "No data",
    "invalid": "Invalid",
}
OKR_STATUS_LABELS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "done": "Done",
    "not_started": "Not started",
    "no_data": "No data",
    "invalid": "Invalid",
}
STALE_SUFFIX = " (stale)"
#: The colour a status is shown in (cells, labels, the page).
COLOURS: dict[str, Colour] = {
    "green": "green", "amber": "amber", "red": "red",
    "on_track": "green", "done": "green", "at_risk": "amber", "off_track": "red",
}  # fmt: skip
_CANONICAL = {label.lower(): label for label in [*KPI_STATUS_LABELS.values(), *OKR_STATUS_LABELS.values()]}

#: Fields holding a fraction 0..1 (written as ``40%`` where text is needed).
FRACTION_FIELDS = frozenset({"progress", "score"})
#: How finely fractions are compared: progress is rounded to 3 decimals.
_FRACTION_TOLERANCE = 0.0005


class AnyOf(frozenset):
    """What a source holds when it cannot tell some values apart: a Trello card
    with no status label shows Not started, No data and Invalid alike. Any of
    them counts as already written, so an unchanged card is never re-reported."""


def kpi_status_label(status: str, stale: bool = False) -> str:
    return KPI_STATUS_LABELS[status] + (STALE_SUFFIX if stale else "")


def okr_status_label(status: str) -> str:
    return OKR_STATUS_LABELS[status]


def colour_of(status: str | None) -> Colour | None:
    """The colour a status is shown in: on track and done green, at risk amber, off track red."""
    return COLOURS.get(status or "")


def normalise_status(raw: Any) -> str | None:
    """A status as found in a source, in canonical spelling where syncd knows it."""
    if raw is None:
        return None
    text = " ".join(str(raw).split())
    if not text:
        return None
    lowered = text.lower()
    stale = lowered.endswith(STALE_SUFFIX)
    base = lowered.removesuffix(STALE_SUFFIX).strip() if stale else lowered
    if base.replace("_", " ") in _CANONICAL:
        base = base.replace("_", " ")
    if base in _CANONICAL:
        return _CANONICAL[base] + (STALE_SUFFIX if stale else "")
    return text


def normalise_fraction(raw: Any) -> float | None:
    """Progress or score as found in a source: ``"40%"``, ``0.4`` or ``"0.4"``."""
    return parse_percent_fraction(raw).value


def normalise_number(raw: Any) -> float | None:
    return parse_number(raw).value


def same(field: str, old: Any, new: Any) -> bool:
    """Whether the source already holds ``new`` (both normalised)."""
    if isinstance(old, AnyOf):
        return new in old
    if old is None or new is None:
        return old is None and new is None
    if isinstance(new, float) or isinstance(old, float):
        try:
            a, b = float(old), float(new)
        except (TypeError, ValueError):
            return False
        if field in FRACTION_FIELDS:
            return abs(a - b) < _FRACTION_TOLERANCE
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return old == new


#: What ``item.written.get`` gives for a field the source does not have.
_ABSENT = object()


def _pairs(items: Sequence[Any], results: Sequence[Any]) -> Iterable[tuple[Any, Any]]:
    """Items with their results: evaluation keeps the order, so this is a zip
    unless a caller filtered one side (then match by id)."""
    if len(items) == len(results):
        for item, result in zip(items, results):
            if item.id != result.id:
                break
        else:
            return zip(items, results)
    by_id = {r.id: r for r in results}
    return [(item, by_id[item.id]) for item in items if item.id in by_id]


def desired_patches(evaluation: Evaluation, kpis: Sequence[KPI], objectives: Sequence[Objective]) -> list[Patch]:
    """Every owned field whose desired value differs from what its source holds.

    A field is written only where the source has it (it is a key of the item's
    ``written``); nothing is ever cleared: a value syncd cannot compute
    (progress of a key result with no data) is left as it is.
    """
    # This runs for every item on every pass: ``old == new`` (nothing to write) is by far the common case.
    out: list[Patch] = []
    for kpi, k in _pairs(kpis, evaluation.kpis):
        label = KPI_STATUS_LABELS[k.status]
        _want(out, kpi, "kpi", "status", label + STALE_SUFFIX if k.stale else label, COLOURS.get(k.status))
    for objective, o in _pairs(objectives, evaluation.objectives):
        _want(out, objective, "objective", "status", OKR_STATUS_LABELS[o.status], COLOURS.get(o.status), o.score)
        if o.score is not None and "score" in objective.written:
            _want(out, objective, "objective", "score", round(o.score, 2))
        for kr, r in _pairs(objective.key_results, o.key_results):
            _want(out, kr, "key_result", "status", OKR_STATUS_LABELS[r.status], COLOURS.get(r.status), r.progress)
            if r.progress is not None:  # already to 3 decimals: evaluation rounds it
                _want(out, kr, "key_result", "progress", r.progress)
            if r.kpi is not None and r.current is not None:
                _want(out, kr, "key_result", "current", r.current)
    return out


def _want(
    out: list[Patch], item: Any, kind: str, field: str, new: Any, colour: str | None = None,
    progress: float | None = None,
) -> None:  # fmt: skip
    """A patch, when ``item``'s source has ``field`` (a status: with its colour and the item's progress)
    and holds something else than ``new``: ``not same(...)``, quick for the common cases (equal, two
    different texts, two fractions)."""
    old = item.written.get(field, _ABSENT)
    if old is _ABSENT or old == new:
        return
    held = type(old)
    if held is str and type(new) is str:
        pass  # two different texts (a status): a change
    elif held is float and type(new) is float and field in FRACTION_FIELDS:
        if abs(old - new) < _FRACTION_TOLERANCE:
            return
    elif same(field, old, new):
        return
    shown = None if held is AnyOf else old  # nothing definite where it could not tell values apart
    out.append(Patch(item.source, item.id, field, shown, new, item.ref, kind, colour, progress))  # type: ignore[arg-type]
