"""The pure Asana mapping: goal trees, weights, statuses, cycles (property tests where the rule has a domain)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncd.diff import OKR_STATUS_LABELS, same
from syncd.mappings.asana import (
    CLOSED,
    COLOURS,
    Relation,
    build_objectives,
    cycle_of,
    kpi_of,
    plan_write,
    structure,
)
from syncd.model import Patch

STATUSES = [None, "green", "yellow", "red", "achieved", "partial", "missed", "dropped"]


def _goal(gid: str, status: str | None = None, metric: bool = True) -> dict:
    return {"gid": gid, "name": f"G{gid}", "status": status,
            "metric": {"initial_number_value": 0, "target_number_value": 10, "current_number_value": 5} if metric else None}  # fmt: skip


@st.composite
def forests(draw):
    """Selected goals and relationships among them (and to goals outside the selection)."""
    n = draw(st.integers(1, 12))
    goals = [_goal(str(i)) for i in range(n)]
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n + 2), st.sampled_from([None, 0, 1, 2.5])),
                          max_size=20))  # fmt: skip
    relations: dict[str, list[Relation]] = {}
    for parent, child, weight in edges:
        relations.setdefault(str(parent), []).append(Relation(str(child), weight))
    return goals, relations


@given(forests())
def test_every_selected_goal_is_an_objective_or_one_key_result_never_both(forest):
    goals, relations = forest
    shape = structure(goals, relations)
    krs = [r.goal for rels in shape.key_results.values() for r in rels]
    assert len(krs) == len(set(krs))  # a subgoal counts under one objective only
    assert not set(krs) & set(shape.objectives)
    selected = {g["gid"] for g in goals}
    assert set(krs) <= selected and set(shape.objectives) <= selected
    subgoals = {r.goal for p, rels in relations.items() for r in rels if r.goal != p and r.goal in selected}
    assert set(shape.objectives) == selected - subgoals
    objectives, _ = build_objectives(goals, relations, source="s", cycle="2026-Q4")
    for o in objectives:
        weights = [kr.weight for kr in o.key_results]
        assert all(w > 0 for w in weights)  # evaluation wants positive weights
        given_weights = [r.weight for r in shape.key_results[o.id]]
        if not any(isinstance(w, (int, float)) and w > 0 for w in given_weights):
            assert weights == [1.0] * len(weights)


@given(st.sampled_from(STATUSES), st.sampled_from(list(OKR_STATUS_LABELS.values())), st.booleans())
def test_a_status_is_written_only_when_the_colour_changes_on_an_open_goal_with_a_metric(status, desired, metric):
    goal = _goal("1", status, metric)
    (o,) = build_objectives([goal], {}, source="s", cycle="2026-Q4")[0]
    if "status" not in o.written:
        assert status in CLOSED or not metric
        return
    unchanged = same("status", o.written["status"], desired)
    plan = plan_write(Patch("s", "1", "status", None, desired, "1", "objective"), goal)
    colour = COLOURS.get(desired)
    assert unchanged == (colour is None or colour == status)
    if not unchanged:
        assert plan is not None and not isinstance(plan, str) and plan.body == {"data": {"status": colour}}
    else:
        assert plan is None  # nothing to send


def test_cycles_kpi_lines():
    assert cycle_of({"time_period": {"start_on": "2026-10-01", "end_on": "2026-12-31"}, "start_on": "2026-01-01",
                     "due_on": "2026-02-01"}) == "2026-10-01..2026-12-31"  # fmt: skip
    assert cycle_of({"time_period": None, "start_on": "2026-01-01", "due_on": "2026-02-01"}) == "2026-01-01..2026-02-01"
    assert cycle_of({"start_on": None, "due_on": "2026-02-01"}) is None
    assert cycle_of({"start_on": "soon", "due_on": "2026-02-01"}) is None
    assert kpi_of("Why: churn hurts\n  kpi :  Monthly churn  \nKPI: second") == "Monthly churn"
    assert kpi_of("no kpi here; KPI: inline is not a line") is None
    assert kpi_of(None) is None
