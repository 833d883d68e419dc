"""Hygiene warnings: each names the item, its title, and what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncd.evaluate import EvalSettings, evaluate
from syncd.hygiene import hygiene_warnings
from syncd.model import KPI, KeyResult, Objective

UTC = UTC
Q4_START = datetime(2026, 10, 1, tzinfo=UTC)
FOUR_WEEKS = Q4_START + timedelta(days=28)
S = EvalSettings()


def kr(id="kr1", **kw) -> KeyResult:
    base = dict(title=f"Raise metric {id}", start=0.0, target=100.0, current=50.0)
    return KeyResult(id=id, **{**base, **kw})


def objective(*krs: KeyResult, id="o1", **kw) -> Objective:
    if not krs:
        krs = (kr(f"{id}-a"), kr(f"{id}-b"))
    base = dict(title=f"Objective {id}", cycle="2026-Q4", owner="Ana")
    return Objective(id=id, key_results=list(krs), **{**base, **kw})


def warnings(*objectives: Objective, now=FOUR_WEEKS, settings=S, kpis=()):
    return evaluate(list(kpis), list(objectives), now=now, settings=settings).warnings


def of(ws, code):
    return [w for w in ws if w.code == code]


def test_a_healthy_set_has_no_warnings():
    assert warnings(objective(kr("a"), kr("b"), kr("c"))) == []


# --- too_many_objectives ----------------------------------------------------------------


def test_more_than_five_objectives_for_one_owner_in_one_cycle():
    objs = [objective(id=f"o{i}", cycle=" 2026-q4" if i % 2 else "2026-Q4") for i in range(1, 7)]
    (w,) = of(warnings(*objs), "too_many_objectives")
    assert w.item == "o6"  # the first past the limit
    assert w.message.startswith("Ana has 6 objectives in 2026-Q4")
    assert "'Objective o1'" in w.message and "keep the 3 to 5 that matter most" in w.message


@pytest.mark.parametrize(
    "vary",
    [
        lambda i: {},  # five is fine
        lambda i: {"owner": f"owner {i % 2}"},  # split between two owners
        lambda i: {"cycle": f"2026-Q{1 + i % 2}"},  # split between two cycles
    ],
)
def test_five_or_split_groups_are_fine(vary):
    count = 5 if vary(0) == {} else 6
    objs = [objective(id=f"o{i}", **vary(i)) for i in range(count)]
    assert not of(warnings(*objs), "too_many_objectives")


def test_objectives_without_owner_are_counted_together():
    objs = [objective(id=f"o{i}", owner=None) for i in range(6)]
    (w,) = of(warnings(*objs), "too_many_objectives")
    assert w.message.startswith("objectives without an owner: 6 objectives in 2026-Q4")


def test_the_objective_limit_is_configurable():
    objs = [objective(id=f"o{i}") for i in range(3)]
    assert of(warnings(*objs, settings=EvalSettings(max_objectives=2)), "too_many_objectives")


# --- key result counts ------------------------------------------------------------------


def test_too_many_key_results():
    o = objective(*[kr(f"k{i}") for i in range(6)], title="Win Europe")
    (w,) = of(warnings(o), "too_many_key_results")
    assert w.item == "o1"
    assert w.message == (
        "Objective 'Win Europe' has 6 key results, more than 5: keep the few that best show the outcome."
    )
    assert not of(warnings(objective(*[kr(f"k{i}") for i in range(5)])), "too_many_key_results")
    assert of(warnings(objective(*[kr(f"k{i}") for i in range(4)]), settings=EvalSettings(max_key_results=3)),
              "too_many_key_results")  # fmt: skip


def test_no_key_results():
    o = Objective(id="o9", title="Be great", cycle="2026-Q4")
    (w,) = of(warnings(o), "no_key_results")
    assert w.item == "o9" and w.message.startswith("Objective 'Be great' has no key results: add 2 to 5")


# --- titles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title, kind, warned",
    [
        ("Launch the new onboarding", "milestone", True),
        ("launch", "milestone", True),
        ("Implement SSO", "milestone", True),
        ("Create a partner program", "milestone", True),
        ("Build the data pipeline", "milestone", True),
        ("Complete the migration", "milestone", True),
        ("Release v2", "milestone", True),
        ("SHIP the mobile app", "milestone", True),
        ("  Ship it", "milestone", True),
        ("Shipping time under 2 days", "milestone", False),  # word boundary
        ("Relaunch-free quarter", "milestone", False),
        ("Launched features adopted by 30%", "milestone", False),
        ("Customers can self-serve; launch later", "milestone", False),
        ("Launch the new onboarding", "metric", False),  # metrics measure outcomes
    ],
)
def test_activity_key_results(title, kind, warned):
    k = kr(title=title, kind=kind, done=False)
    found = of(warnings(objective(k, kr("b"))), "activity_key_result")
    assert bool(found) is warned
    if warned:
        assert found[0].item == "kr1"
        assert found[0].message.startswith(f"Key result {title!r} measures an activity, not an outcome")


@pytest.mark.parametrize(
    "title, warned",
    [("Maintain 99.9% uptime", True), ("keep churn below 2%", True), ("Sustain growth", True),
     ("Stay under budget", True), ("Keeper of the flame", False), ("Improve maintainability", False),
     ("Raise NPS to 50", False)],
)  # fmt: skip
def test_kpi_as_okr_on_objectives_and_key_results(title, warned):
    ws = of(warnings(objective(kr("a", title=title), kr("b"), title=title)), "kpi_as_okr")
    assert [w.item for w in ws] == (["o1", "a"] if warned else [])
    if warned:
        assert ws[0].message.startswith(f"Objective {title!r} keeps something as it is")
        assert "belongs with the KPIs" in ws[1].message and repr(title) in ws[1].message


@pytest.mark.parametrize(
    "fields, warned, missing",
    [
        (dict(start=None), True, "start"),
        (dict(target=None), True, "target"),
        (dict(start=None, target=None), True, "start and target"),
        (dict(), False, None),
        (dict(kind="milestone", start=None, target=None, done=True), False, None),
        (dict(kind="checklist", start=None, target=None, checklist=(1, 2)), False, None),
    ],
)
def test_unmeasurable(fields, warned, missing):
    ws = of(warnings(objective(kr("a", title="Faster onboarding", **fields), kr("b"), title="Grow")), "unmeasurable")
    assert bool(ws) is warned
    if warned:
        assert ws[0].item == "a"
        assert ws[0].message == (
            f"Key result 'Faster onboarding' of objective 'Grow' has no {missing} value, so its progress "
            "cannot be measured: give it a start and a target."
        )


# --- too_easy and weak_planning -----------------------------------------------------------


def _done(id):
    return kr(id, current=100)


@pytest.mark.parametrize(
    "krs, now, warned",
    [
        ((_done("a"), _done("b")), FOUR_WEEKS, True),
        ((_done("a"), _done("b")), FOUR_WEEKS - timedelta(seconds=1), False),  # not four weeks yet
        ((_done("a"),), FOUR_WEEKS, False),  # one key result is not enough to judge
        ((_done("a"), kr("b", current=99)), FOUR_WEEKS, False),
        ((_done("a"), _done("b")), datetime(2026, 12, 31, 23, 59, tzinfo=UTC), True),
        ((_done("a"), _done("b")), datetime(2027, 1, 1, tzinfo=UTC), False),  # ended: a final grade
    ],
)
def test_too_easy(krs, now, warned):
    ws = of(warnings(objective(*krs, title="Grow"), now=now), "too_easy")
    assert bool(ws) is warned
    if warned:
        assert ws[0].item == "o1"
        assert ws[0].message.startswith("Every key result of objective 'Grow' is already done")
        assert "2026-Q4" in ws[0].message and "more ambitious" in ws[0].message


def test_too_easy_in_the_configured_timezone():
    berlin = EvalSettings(timezone="Europe/Berlin")
    o = objective(_done("a"), _done("b"))
    # Four weeks on Berlin's calendar: 2026-10-29T00:00 local. The clocks went back on
    # 25 October (UTC+2 to UTC+1), so that is 23:00Z, not 22:00Z (28 x 24 real hours).
    at = datetime(2026, 10, 28, 23, tzinfo=UTC)
    assert of(warnings(o, now=at, settings=berlin), "too_easy")
    assert not of(warnings(o, now=at - timedelta(seconds=1), settings=berlin), "too_easy")
    assert not of(warnings(o, now=datetime(2026, 10, 28, 22, tzinfo=UTC), settings=berlin), "too_easy")


@pytest.mark.parametrize(
    "krs, now, warned",
    [
        # Committed, 28 days in: goal line 0.304, off track below 0.054.
        ((kr("a", current=0), kr("b", current=5)), FOUR_WEEKS, True),
        ((kr("a", current=0),), FOUR_WEEKS, True),
        ((kr("a", current=0), kr("b", current=0)), FOUR_WEEKS - timedelta(seconds=1), False),
        ((kr("a", current=0), kr("b", current=6)), FOUR_WEEKS, False),  # one is at risk
        ((kr("a", current=0), kr("b", current=None)), FOUR_WEEKS, False),  # one has no data
        ((kr("a", current=10), kr("b", current=10)), datetime(2027, 3, 1, tzinfo=UTC), True),  # after the end too
    ],
)
def test_weak_planning(krs, now, warned):
    ws = of(warnings(objective(*krs, type="committed", title="Grow"), now=now), "weak_planning")
    assert bool(ws) is warned
    if warned:
        assert ws[0].item == "o1"
        assert ws[0].message.startswith("Every key result of objective 'Grow' is off track four weeks or more into")
        assert "revisit the plan" in ws[0].message


def test_no_pace_warnings_without_a_readable_cycle():
    o = objective(_done("a"), _done("b"), cycle="whenever")
    assert not of(warnings(o, now=datetime(2030, 1, 1, tzinfo=UTC)), "too_easy")


# --- every code, together ---------------------------------------------------------------


def test_every_code_is_a_sentence_naming_the_item():
    crowd = [objective(id=f"c{i}", owner="Bo") for i in range(6)]
    messy = [
        Objective(id="empty", title="Be great", cycle="2026-Q4"),
        objective(*[kr(f"many{i}") for i in range(6)], id="many"),
        objective(kr("act", kind="milestone", title="Launch onboarding", done=False), kr("x1"), id="act-o"),
        objective(kr("keep", title="Keep costs flat"), kr("x2"), id="keep-o"),
        objective(kr("vague", start=None), kr("x3"), id="vague-o"),
        objective(_done("e1"), _done("e2"), id="easy"),
        objective(kr("w1", current=0), kr("w2", current=0), id="weak", type="committed"),
        objective(kr("ghost", kpi="No such KPI"), kr("x4"), id="ghost-o"),
        objective(kr("blank", current=None), kr("x5"), id="blank-o"),
    ]
    ws = warnings(*crowd, *messy, kpis=[KPI(id="k", name="Real KPI", value=1.0)])
    seen = {(w.code, w.item) for w in ws}
    assert {
        ("too_many_objectives", "c5"), ("no_key_results", "empty"), ("too_many_key_results", "many"),
        ("activity_key_result", "act"), ("kpi_as_okr", "keep"), ("unmeasurable", "vague"),
        ("missing_data", "vague"), ("too_easy", "easy"), ("weak_planning", "weak"),
        ("unknown_kpi", "ghost"), ("missing_data", "blank"),
    } <= seen  # fmt: skip
    for w in ws:
        assert w.message[0].isupper() and w.message.endswith(".")
        assert ":" in w.message  # what is wrong: what to do


def test_hygiene_warnings_can_be_called_on_their_own():
    objs = [Objective(id="o", title="Keep the lights on", cycle="2026-Q4")]
    result = evaluate([], objs, now=FOUR_WEEKS, settings=S)
    ws = hygiene_warnings(objs, result.objectives, now=FOUR_WEEKS, settings=S)
    assert [w.code for w in ws] == ["no_key_results", "kpi_as_okr"]
