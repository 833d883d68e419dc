"""The Asana source against the loopback fake: goals as OKRs, reads and writes at the floor, failures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from syncd.source import SourceError
from tests.asana_helpers import (  # noqa: F401 - fixtures
    NOW,
    DictCache,
    asana,
    asana_server,
    okr_goals,
    open_asana,
    patches_for,
    sync_once,
)


@pytest.fixture(autouse=True)
def _pacers():
    yield


def _krs(result):
    return [kr for o in result.objectives for kr in o.key_results]


def _goal(fake, name):
    return next(g for g in fake.goals.values() if g["name"] == name)


# --- reads and writes at the floor ----------------------------------------------------------


def test_goals_become_objectives_and_subgoals_key_results_written_at_the_floor_then_nothing(asana):
    ws, _ = okr_goals(asana, 3, 9)
    source = open_asana(asana, ws)
    result, patches, errors = sync_once(source)

    assert errors == [] and result.notes == []
    assert [o.title for o in result.objectives] == ["Objective 1", "Objective 2", "Objective 3"]
    assert [kr.title for kr in result.objectives[0].key_results] == ["KR 1.1", "KR 1.2", "KR 1.3"]
    assert all(o.cycle == "2026-10-01..2026-12-31" for o in result.objectives)
    # cold: one goals page and one relationships read per objective (over a whole workspace no
    # objective has a parent outside the selection, so no parentGoals read)
    assert dict(asana.calls) == {"GET goals": 1, "GET goal_relationships": 3, "PUT goal": len(patches)}
    assert {p.field for p in patches} == {"status"} and len(patches) == 12
    # half through the quarter the goal line is 0.34: 0.37 is on track, 0.11 at risk, 0 off track
    assert _goal(asana, "KR 1.2")["status"] == "green" and _goal(asana, "KR 2.1")["status"] == "yellow"
    assert _goal(asana, "KR 1.1")["status"] == "red"
    get = next(r for r in asana.log if r.path.endswith("/goals"))
    assert get.query["limit"] == ["100"] and get.headers["authorization"] == f"Bearer {asana.token}"
    assert get.query["opt_fields"][0].split(",")[:3] == ["name", "notes", "status"]

    asana.reset_counts()
    again = open_asana(asana, ws, cache=source.ctx.cache)
    result2, patches2, errors2 = sync_once(again)
    assert patches2 == [] and errors2 == []
    assert dict(asana.calls) == {"GET goals": 1}  # warm: relationships come from the state store


def test_goals_page_100_at_a_time_following_next_page(asana):
    ws = asana.add_workspace()
    for i in range(201):
        asana.add_goal(ws, f"Goal {i}", metric=(0, 10, 5), start_on="2026-10-01", due_on="2026-12-31")
    source = open_asana(asana, ws)
    result = source.read()
    assert len(result.objectives) == 201
    pages = [r for r in asana.log if r.path.endswith("/goals")]
    assert len(pages) == 3 and "offset" not in pages[0].query and pages[1].query["offset"]
    assert all(r.query["limit"] == ["100"] for r in pages)


def test_weights_metrics_milestones_kpi_lines_and_units(asana):
    ws = asana.add_workspace()
    period = asana.add_period("2026-10-01", "2026-12-31")
    top = asana.add_goal(ws, "Grow revenue", period=period, metric=(0, 1, 0.2), progress_source="subgoal_progress")
    metric = asana.add_goal(ws, "ARR", period=period, metric=(100, 200, 150), unit="currency",
                            notes="Tracked weekly.\nKPI: Annual recurring revenue\n")  # fmt: skip
    milestone = asana.add_goal(ws, "Pricing page live", status="achieved")
    pct = asana.add_goal(ws, "Win rate", metric=(0.2, 0.3, 0.25), unit="percentage", start_on="2026-11-01",
                         due_on="2026-11-30")  # fmt: skip
    asana.add_subgoal(top, metric, 3)
    asana.add_subgoal(top, milestone, 1)
    asana.add_subgoal(top, pct, None)  # missing while others are set: contributes nothing
    asana.add_supporting_work(top)  # a project, not a key result
    result = open_asana(asana, ws, cycle="2026-Q4").read()

    (o,) = result.objectives
    a, m, p = o.key_results
    assert (a.kind, a.start, a.target, a.current, a.unit, a.kpi, a.weight) == (
        "metric", 100, 200, 150, "EUR", "Annual recurring revenue", 3)  # fmt: skip
    assert "current" in a.written and a.written["current"] == 150
    assert (m.kind, m.done, m.cycle, m.written) == ("milestone", True, None, {})  # closed: never written
    assert (p.unit, p.cycle, p.weight < 1e-6) == ("%", "2026-11-01..2026-11-30", True)
    assert o.owner == "Greg Sanchez" and o.cycle == "2026-10-01..2026-12-31"


def test_all_weights_zero_or_missing_count_equally_and_a_goal_without_dates_takes_the_source_cycle(asana):
    ws = asana.add_workspace()
    top = asana.add_goal(ws, "Top")
    kids = [asana.add_goal(ws, f"K{i}", metric=(0, 10, i)) for i in range(3)]
    for k, w in zip(kids, (0, None, 0)):
        asana.add_subgoal(top, k, w)
    (o,) = open_asana(asana, ws, cycle="2026-Q4").read().objectives
    assert [kr.weight for kr in o.key_results] == [1.0, 1.0, 1.0] and o.cycle == "2026-Q4"


def test_team_and_time_period_narrow_the_goals_and_outside_subgoals_are_named(asana):
    ws = asana.add_workspace()
    team, other = asana.add_team(ws), asana.add_team(ws, "Sales")
    q4, q3 = asana.add_period("2026-10-01", "2026-12-31"), asana.add_period("2026-07-01", "2026-09-30", "Q3")
    mine = asana.add_goal(ws, "Ours", team=team, period=q4, metric=(0, 10, 5))
    asana.add_goal(ws, "Last quarter", team=team, period=q3, metric=(0, 10, 5))
    theirs = asana.add_goal(ws, "Theirs", team=other, period=q4, metric=(0, 10, 5))
    inside = asana.add_goal(ws, "Inside", team=team, period=q4, metric=(0, 10, 5))
    asana.add_subgoal(mine, theirs)
    asana.add_subgoal(mine, inside)
    result = open_asana(asana, ws, team=team, time_period=q4).read()
    assert [o.title for o in result.objectives] == ["Ours"]
    assert [kr.title for kr in result.objectives[0].key_results] == ["Inside"]
    (note,) = result.notes
    assert f"has subgoal {theirs}" in note and "widen team/time_period" in note
    get = next(r for r in asana.log if r.path.endswith("/goals"))
    assert get.query["team"] == [team] and get.query["time_periods"] == [q4]


def test_parent_goal_outside_the_selection_is_the_objectives_parent(asana):
    ws = asana.add_workspace()
    team = asana.add_team(ws)
    company = asana.add_goal(ws, "Company goal", metric=(0, 1, 0.5))
    ours = asana.add_goal(ws, "Team goal", team=team, metric=(0, 1, 0.5))
    asana.add_subgoal(company, ours)
    source = open_asana(asana, ws, team=team)
    (o,) = source.read().objectives
    assert o.parent == company and asana.calls["GET parentGoals"] == 1


def test_closed_goals_are_never_written_and_silent_statuses_write_nothing(asana):
    ws = asana.add_workspace()
    future = asana.add_period("2027-01-01", "2027-03-31", "Q1")
    top = asana.add_goal(ws, "Next year", period=future, metric=(0, 10, 0), status="green")
    kid = asana.add_goal(ws, "Not yet", period=future, metric=(0, 10, 0), status="yellow")
    done = asana.add_goal(ws, "Dropped", metric=(0, 10, 0), status="dropped", start_on="2026-10-01",
                          due_on="2026-12-31", notes="KPI: churn")  # fmt: skip
    asana.add_subgoal(top, kid)
    asana.add_subgoal(top, done)
    source = open_asana(asana, ws)
    result, patches, errors = sync_once(source)
    assert errors == []
    # not_started (next year) writes nothing; the dropped goal would be off track but is closed
    assert patches == [] and asana.calls["PUT goal"] == 0
    assert asana.goals[done]["status"] == "dropped" and asana.goals[kid]["status"] == "yellow"


def test_a_subgoal_of_two_selected_goals_counts_under_the_first(asana):
    ws = asana.add_workspace()
    a, b = asana.add_goal(ws, "A"), asana.add_goal(ws, "B")
    shared = asana.add_goal(ws, "Shared", metric=(0, 1, 1))
    asana.add_subgoal(a, shared)
    asana.add_subgoal(b, shared)
    result = open_asana(asana, ws, cycle="2026-Q4").read()
    assert [len(o.key_results) for o in result.objectives] == [1, 0]
    assert any("counts it under the first only" in n for n in result.notes)


# --- relationships: cold, warm, full refresh ------------------------------------------------


def test_new_goal_on_a_warm_pass_and_new_subgoals_on_a_full_refresh(asana):
    ws, period = okr_goals(asana, 2, 4)
    cache = DictCache()
    first = open_asana(asana, ws, cache=cache)
    first.read()
    clock = first.clock()

    asana.reset_counts()
    asana.add_goal(ws, "Objective 3", period=period)
    extra = asana.add_goal(ws, "KR 1.3", period=period, metric=(0, 10, 1))
    asana.add_subgoal(_goal(asana, "Objective 1")["gid"], extra)
    warm = open_asana(asana, ws, cache=cache)
    warm.clock = lambda: clock + 3600
    result = warm.read()
    # each new goal's parents are asked for: KR 1.3 turns out a subgoal of Objective 1 (whose subgoals are
    # read again, for the weights); Objective 3 has no parent, so its own subgoals are read
    assert asana.calls["GET parentGoals"] == 2 and asana.calls["GET goal_relationships"] == 2
    assert [o.title for o in result.objectives] == ["Objective 1", "Objective 2", "Objective 3"]
    assert [kr.title for kr in result.objectives[0].key_results] == ["KR 1.1", "KR 1.2", "KR 1.3"]

    asana.reset_counts()
    again = open_asana(asana, ws, cache=cache)
    again.clock = lambda: clock + 7200
    again.read()
    assert dict(asana.calls) == {"GET goals": 1}

    extra2 = asana.add_goal(ws, "KR 2.3", period=period, metric=(0, 10, 1))
    asana.add_subgoal(_goal(asana, "Objective 2")["gid"], extra2)
    asana.add_subgoal(_goal(asana, "Objective 3")["gid"], _goal(asana, "KR 1.1")["gid"])  # a new link only
    asana.reset_counts()
    full = open_asana(asana, ws, cache=cache)
    full.clock = lambda: clock + timedelta(days=1).total_seconds() + 1
    result = full.read()
    assert [o.title for o in result.objectives] == ["Objective 1", "Objective 2", "Objective 3"]
    assert [len(o.key_results) for o in result.objectives] == [3, 3, 0]  # KR 1.1 counts under the first
    assert asana.calls["GET goal_relationships"] == 3


# --- KPI-following key results --------------------------------------------------------------


def test_a_key_result_following_a_kpi_gets_its_metric_set(asana):
    from syncd.model import KPI

    ws = asana.add_workspace()
    top = asana.add_goal(ws, "Retention", start_on="2026-10-01", due_on="2026-12-31", metric=(0, 1, 0))
    kr = asana.add_goal(ws, "Raise retention", metric=(75, 85, 76), notes="KPI: retention")
    asana.add_subgoal(top, kr)
    source = open_asana(asana, ws)
    result = source.read()
    result.kpis.append(KPI(id="retention", name="retention", value=81.0, source="kpis"))
    patches = [p for p in patches_for(source, result) if p.source == "goals"]
    assert {(p.item, p.field, p.new) for p in patches if p.field == "current"} == {(kr, "current", 81.0)}
    assert source.write(patches) == []
    assert asana.goals[kr]["metric"]["current_number_value"] == 81.0
    assert asana.calls["POST setMetricCurrentValue"] == 1
    body = next(r for r in asana.log if r.path.endswith("setMetricCurrentValue")).json()
    assert body == {"data": {"current_number_value": 81.0}}


# --- failures -------------------------------------------------------------------------------


def test_missing_bad_and_file_tokens(asana, tmp_path):
    ws = asana.add_workspace()
    with pytest.raises(SourceError, match="ASANA_TOKEN is not set"):
        open_asana(asana, ws, env={}).read()
    with pytest.raises(SourceError, match=r"refused the token in ASANA_TOKEN .*401 Not Authorized") as e:
        open_asana(asana, ws, env={"ASANA_TOKEN": "0/bad-secret"}).read()
    assert "bad-secret" not in str(e.value)
    token = tmp_path / "token"
    token.write_text(asana.token + "\n")
    assert open_asana(asana, ws, env={"ASANA_TOKEN_FILE": str(token)}).read().objectives == []
    other = open_asana(asana, ws, env={"TEAM_TOKEN": asana.token}, token_env="TEAM_TOKEN")
    assert other.read().notes and other.check() == []


def test_free_plan_unknown_workspace_and_private_goal_messages(asana):
    free = asana.add_workspace("Free", paid=False)
    with pytest.raises(SourceError, match="Goals need a paid Asana plan"):
        open_asana(asana, free).read()
    (problem,) = open_asana(asana, "999").check()
    assert "does not know workspace 999" in problem and "check the gids" in problem

    ws = asana.add_workspace()
    top = asana.add_goal(ws, "Top", metric=(0, 10, 9), start_on="2026-10-01", due_on="2026-12-31")
    kid = asana.add_goal(ws, "Secret", metric=(0, 10, 9))
    asana.add_subgoal(top, kid)
    source = open_asana(asana, ws)
    result = source.read()
    asana.private[kid] = {"someone-else"}
    errors = source.write(patches_for(source, result))
    (error,) = errors
    assert error.item == kid and f'goal "Secret" ({kid})' in error.message and "private to someone" in error.message
    assert asana.goals[top]["status"] == "green"  # the rest was written


def test_status_of_a_goal_without_a_metric_is_left_alone_with_a_note(asana):
    ws = asana.add_workspace()
    top = asana.add_goal(ws, "No metric", start_on="2026-10-01", due_on="2026-12-31")
    kid = asana.add_goal(ws, "Has one", metric=(0, 10, 9))
    asana.add_subgoal(top, kid)
    source = open_asana(asana, ws)
    result, patches, errors = sync_once(source)
    assert errors == [] and [p.item for p in patches] == [kid]
    (note,) = result.notes
    assert f'1 goal without a metric (goal "No metric" ({top}))' in note and "sets a goal's status only" in note
    assert asana.goals[kid]["status"] == "green" and asana.goals[top]["status"] is None

    asana.goals[top]["metric"] = None
    asana.goals[kid]["status"] = None  # a goal refused anyway (the metric went since the read) fails alone
    refused = [p for p in patches_for(source, source.read())]
    asana.goals[kid]["metric"] = None
    (error,) = source.write(refused)
    assert error.item == kid and "only when the goal has a metric" in error.message


def test_429_retry_after_is_obeyed_and_5xx_retried(asana):
    ws, _ = okr_goals(asana, 1, 2)
    source = open_asana(asana, ws)
    waits: list[float] = []
    source.policy.sleep = waits.append
    source._transport().pacer._sleep = waits.append  # the pause Retry-After puts on the shared pacer
    asana.retry_after = 2
    asana.storm(2)
    asana.fail_next(1, 503)
    result, patches, errors = sync_once(source)
    assert errors == [] and len(result.objectives) == 1
    assert asana.responses_429 == 2 and sum(1 for w in waits if w >= 1.9) >= 2


def test_malformed_answer_fails_the_source_with_a_clear_message(asana):
    ws, _ = okr_goals(asana, 1, 1)
    asana.malformed_next(1)
    with pytest.raises(SourceError, match="not JSON"):
        open_asana(asana, ws).read()


def test_kpi_role_is_refused():
    from syncd.config import Config
    from syncd.connectors import open_source
    from syncd.source import SourceContext

    config = Config(okrs=[{"type": "asana", "name": "g", "workspace": "1"}])
    source = open_source("kpis", config.okrs[0], SourceContext(config=config, cache=DictCache(), env={}, now=NOW))
    with pytest.raises(SourceError, match=r"list it under \[\[okrs\]\]"):
        source.read()


def test_a_token_revoked_mid_pass_stops_the_writes_and_fails_the_source(asana):
    ws, _ = okr_goals(asana, 2, 4)
    source = open_asana(asana, ws)
    result = source.read()
    asana.tokens.clear()
    with pytest.raises(SourceError, match="refused the token in ASANA_TOKEN"):
        source.write(patches_for(source, result))
    assert asana.calls["PUT goal"] <= source.workers  # the calls in flight when it was refused, no more
