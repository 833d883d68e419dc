"""Asana Goals to and from the model.

The selected goals (a workspace, narrowed by team and time period) that are
not a subgoal of another selected goal are the objectives; their subgoals
(``goal_relationships`` of subtype ``subgoal``) are the key results, weighted
by ``contribution_weight``. A subgoal with a metric is a ``metric`` key result,
one without is a ``milestone`` (done when the goal is ``achieved``). A line
``KPI: <name or id>`` in a goal's notes makes it follow that KPI.

syncd owns two things on a goal: its ``status`` colour (``green``, ``yellow``,
``red``) and, for a key result that follows a KPI, its metric's current value.
A goal a person has closed (``achieved``, ``partial``, ``missed``,
``dropped``) is never written: writing would reopen it.

Nothing here does I/O: the connector fetches the goals and relationships and
sends what :func:`plan_write` returns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from syncd.diff import AnyOf, normalise_status
from syncd.model import KeyResult, Objective, Patch

__all__ = [
    "GOAL_FIELDS",
    "RELATIONSHIP_FIELDS",
    "PARENT_FIELDS",
    "CLOSED",
    "COLOURS",
    "STATUS_TYPES",
    "Relation",
    "Structure",
    "GoalWrite",
    "structure",
    "read_order",
    "build_objectives",
    "plan_write",
    "kpi_of",
    "cycle_of",
    "where_goal",
]

#: ``opt_fields`` of ``GET /goals``: exactly what :func:`build_objectives` reads
#: (``metric.progress_source`` orders the cold relationship reads, see :func:`read_order`).
GOAL_FIELDS = (
    "name",
    "notes",
    "status",
    "owner.name",
    "start_on",
    "due_on",
    "time_period.start_on",
    "time_period.end_on",
    "metric.initial_number_value",
    "metric.target_number_value",
    "metric.current_number_value",
    "metric.unit",
    "metric.currency_code",
    "metric.progress_source",
)
#: ``opt_fields`` of ``GET /goal_relationships``.
RELATIONSHIP_FIELDS = ("resource_subtype", "contribution_weight", "supporting_resource")
#: ``opt_fields`` of ``GET /goals/{gid}/parentGoals``: only the gid (always sent).
PARENT_FIELDS = ("name",)

#: Statuses of a goal a person has closed.
CLOSED = frozenset({"achieved", "partial", "missed", "dropped"})
#: syncd status label -> the goal status colour it is written as.
COLOURS = {"On track": "green", "Done": "green", "At risk": "yellow", "Off track": "red"}
#: goal status colour -> ``status_type`` of a status update.
STATUS_TYPES = {"green": "on_track", "yellow": "at_risk", "red": "off_track"}
#: Statuses that write nothing: a goal showing any colour already "holds" them.
_SILENT = frozenset({"Not started", "No data", "Invalid"})
#: What a goal's colour already shows, as the engine compares it.
_SHOWN = {
    "green": AnyOf({"On track", "Done", *_SILENT}),
    "yellow": AnyOf({"At risk", *_SILENT}),
    "red": AnyOf({"Off track", *_SILENT}),
}
_NO_COLOUR = AnyOf(_SILENT)
_KPI_LINE = re.compile(r"^[ \t]*KPI[ \t]*:[ \t]*(.*?)[ \t]*$", re.IGNORECASE | re.MULTILINE)
_UNITS = {"percentage": "%", "none": None}
#: Evaluation wants positive weights; Asana's 0 means "contributes nothing".
_NO_WEIGHT = 1e-9


@dataclass(frozen=True)
class Relation:
    """One subgoal of a goal, as ``GET /goal_relationships`` gives it."""

    goal: str
    weight: float | None


@dataclass
class Structure:
    """Which selected goals are objectives and which are whose key results."""

    objectives: list[str]
    #: objective gid -> its key results (subgoals among the selected goals).
    key_results: dict[str, list[Relation]]
    #: Sentences for the run's notes (subgoals outside the selection, ...).
    notes: list[str] = field(default_factory=list)


def where_goal(goal: Mapping[str, Any]) -> str:
    """How a person finds a goal: its name and gid."""
    return f'goal "{goal.get("name") or ""}" ({goal.get("gid")})'


def kpi_of(notes: str | None) -> str | None:
    """The KPI a ``KPI: <name or id>`` line in a goal's notes names (the first such line)."""
    m = _KPI_LINE.search(notes or "")
    return (m.group(1) or None) if m else None


def _day(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def cycle_of(goal: Mapping[str, Any]) -> str | None:
    """The goal's time period, else its start..due dates; None when it has neither."""
    period = goal.get("time_period") or {}
    for start, end in ((period.get("start_on"), period.get("end_on")), (goal.get("start_on"), goal.get("due_on"))):
        a, b = _day(start), _day(end)
        if a and b:
            return f"{a.isoformat()}..{b.isoformat()}"
    return None


def read_order(goals: Iterable[Mapping[str, Any]]) -> list[str]:
    """Goal gids in the order their relationships are worth reading on a cold pass.

    Goals whose progress comes from subgoals first, then goals without a
    metric, then the rest: a goal found to be a subgoal of one already read is
    a key result, and its own relationships are not read at all.
    """

    def rank(g: Mapping[str, Any]) -> int:
        metric = g.get("metric")
        if not metric:
            return 1
        return 0 if metric.get("progress_source") == "subgoal_progress" else 2

    return [g["gid"] for g in sorted(goals, key=rank)]


def structure(goals: Sequence[Mapping[str, Any]], relations: Mapping[str, Sequence[Relation]]) -> Structure:
    """Objectives and their key results, from the selected goals and the relationships read.

    A subgoal of two selected goals counts under the first of them (in the
    order Asana lists goals); a subgoal outside the selection is named in a note.
    """
    by_gid = {g["gid"]: g for g in goals}
    parent_of: dict[str, str] = {}
    notes: list[str] = []
    for g in goals:
        for rel in relations.get(g["gid"], ()):
            if rel.goal == g["gid"]:
                continue
            if rel.goal not in by_gid:
                notes.append(
                    f"{where_goal(g)} has subgoal {rel.goal}, which is not among the selected goals "
                    "(another team or time period): it is not a key result; widen team/time_period to include it"
                )
                continue
            first = parent_of.setdefault(rel.goal, g["gid"])
            if first != g["gid"]:
                notes.append(f"{where_goal(by_gid[rel.goal])} is a subgoal of {where_goal(by_gid[first])} and of "
                             f"{where_goal(g)}: syncd counts it under the first only")  # fmt: skip
    objectives = [g["gid"] for g in goals if g["gid"] not in parent_of]
    key_results: dict[str, list[Relation]] = {gid: [] for gid in objectives}
    for g in goals:
        if g["gid"] not in key_results:
            continue
        seen: set[str] = set()
        for rel in relations.get(g["gid"], ()):
            if parent_of.get(rel.goal) == g["gid"] and rel.goal not in seen:
                seen.add(rel.goal)
                key_results[g["gid"]].append(rel)
    return Structure(objectives, key_results, notes)


def _weights(relations: Sequence[Relation]) -> list[float]:
    raw = [r.weight if isinstance(r.weight, (int, float)) and r.weight > 0 else 0.0 for r in relations]
    if not any(raw):
        return [1.0] * len(relations)
    return [w if w > 0 else _NO_WEIGHT for w in raw]


def _status_written(goal: Mapping[str, Any]) -> dict[str, Any]:
    """What the goal holds of the fields syncd owns (nothing for a closed goal).

    Asana lets a goal's status be written only when the goal has a metric.
    """
    status = goal.get("status")
    if status in CLOSED or not goal.get("metric"):
        return {}
    return {"status": _SHOWN.get(status or "", _NO_COLOUR)}


def _unit(metric: Mapping[str, Any]) -> str | None:
    unit = metric.get("unit")
    if unit == "currency":
        return metric.get("currency_code") or None
    return _UNITS.get(unit or "none", unit)


def _number(value: Any, name: str, problems: list[str]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"metric {name} is {value!r}, not a number")
        return None
    return float(value)


def _key_result(goal: Mapping[str, Any], objective: str, weight: float, source: str) -> KeyResult:
    problems: list[str] = []
    kpi = kpi_of(goal.get("notes"))
    kr = KeyResult(id=goal["gid"], title=goal.get("name") or "", objective=objective, source=source,
                   where=where_goal(goal), ref=goal["gid"], kpi=kpi, weight=weight,
                   owner=(goal.get("owner") or {}).get("name"), cycle=cycle_of(goal), problems=problems)  # fmt: skip
    written = _status_written(goal)
    metric = goal.get("metric")
    if metric:
        kr.kind = "metric"
        kr.start = _number(metric.get("initial_number_value"), "initial_number_value", problems)
        kr.target = _number(metric.get("target_number_value"), "target_number_value", problems)
        kr.current = _number(metric.get("current_number_value"), "current_number_value", problems)
        kr.unit = _unit(metric)
        if kr.current is None and kpi is None:
            kr.current_reason = "the goal's metric has no current value"
        if kpi is not None and written:
            written["current"] = kr.current
    else:
        kr.kind, kr.done = "milestone", goal.get("status") == "achieved"
        if kpi is not None:
            problems.append(f"its notes name KPI {kpi!r}, but the goal has no metric to follow it with: "
                            "give it a number metric (initial and target values)")  # fmt: skip
    kr.written = written
    return kr


def build_objectives(
    goals: Sequence[Mapping[str, Any]],
    relations: Mapping[str, Sequence[Relation]],
    *,
    source: str,
    cycle: str | None,
    parents: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[Objective], list[str]]:
    """Objectives with their key results, and notes for the run.

    ``parents``: objective gid -> the gids of its parent goals (outside the
    selection); the first becomes the objective's ``parent``.
    """
    by_gid = {g["gid"]: g for g in goals}
    shape = structure(goals, relations)
    objectives: list[Objective] = []
    for gid in shape.objectives:
        goal = by_gid[gid]
        rels = shape.key_results[gid]
        o = Objective(id=gid, title=goal.get("name") or "", owner=(goal.get("owner") or {}).get("name"),
                      cycle=cycle_of(goal) or cycle, source=source, where=where_goal(goal), ref=gid,
                      parent=next(iter((parents or {}).get(gid) or ()), None))  # fmt: skip
        o.written = _status_written(goal)
        for rel, weight in zip(rels, _weights(rels)):
            o.key_results.append(_key_result(by_gid[rel.goal], gid, weight, source))
        objectives.append(o)
    notes = shape.notes
    used = [gid for gid in shape.objectives] + [r.goal for rels in shape.key_results.values() for r in rels]
    bare = [by_gid[g] for g in used if not by_gid[g].get("metric") and by_gid[g].get("status") not in CLOSED]
    if bare:
        names = ", ".join(where_goal(g) for g in bare[:3]) + (f" and {len(bare) - 3} more" if len(bare) > 3 else "")
        notes.append(f"{len(bare)} goal{'s' if len(bare) > 1 else ''} without a metric ({names}): Asana sets a "
                     "goal's status only when it has one, so syncd leaves their status alone; give them a metric "
                     "to have it written")  # fmt: skip
    return objectives, notes


# --- writing -----------------------------------------------------------------------------


@dataclass
class GoalWrite:
    """One call: ``PUT /goals/{gid}`` (status) or ``POST .../setMetricCurrentValue`` (current)."""

    goal: str
    field: str  # "status" | "current"
    method: str
    path: str
    body: dict[str, Any]
    patch: Patch


def plan_write(patch: Patch, goal: Mapping[str, Any] | None) -> GoalWrite | str | None:
    """The call one patch needs; a sentence when it cannot be written; None when nothing is to send."""
    gid = str(patch.ref or patch.item)
    if goal is None:
        return "the goal is no longer among the selected goals"
    if goal.get("status") in CLOSED:
        return None  # closed by a person: never reopened
    if patch.field == "status":
        colour = COLOURS.get(normalise_status(patch.new) or "")
        if colour is None or colour == goal.get("status"):
            return None
        return GoalWrite(gid, "status", "PUT", f"/goals/{gid}", {"data": {"status": colour}}, patch)
    if patch.field == "current":
        if patch.new is None:
            return None
        if not goal.get("metric"):
            return "the goal has no metric to set"
        body = {"data": {"current_number_value": float(patch.new)}}
        return GoalWrite(gid, "current", "POST", f"/goals/{gid}/setMetricCurrentValue", body, patch)
    return f"{patch.field} is not a field syncd writes on Asana goals"
