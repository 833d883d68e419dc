"""The history-based rules (SPEC §2): alignment, check-ins, red KPIs, forecasts.

Property tests for the forecast, the red streak and alignment; examples for
each warning; the state store's key result history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syncd.config import ConfigError, load_config
from syncd.evaluate import EvalSettings, evaluate
from syncd.history import forecast, red_since
from syncd.model import KPI, KeyResult, KpiHistory, Objective
from syncd.state import SQLiteStore
from tests.conftest import write_config

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
NOW_TS = NOW.timestamp()
Q4_START = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
Q4_END = datetime(2027, 1, 1, tzinfo=UTC).timestamp()
DAY = 86400.0
END_DAYS = (Q4_END - NOW_TS) / DAY  # the cycle's end, in days from NOW


def _kr(kr_id: str = "kr", current: float | None = 50.0, **kw) -> KeyResult:
    return KeyResult(id=kr_id, title=kw.pop("title", f"Raise {kr_id}"), start=0, target=100, current=current, **kw)


def _obj(oid: str = "o", krs: list[KeyResult] | None = None, **kw) -> Objective:
    return Objective(id=oid, title=kw.pop("title", f"Objective {oid}"), cycle=kw.pop("cycle", "2026-Q4"),
                     key_results=krs if krs is not None else [_kr()], **kw)  # fmt: skip


def _codes(ev, code: str) -> list:
    return [w for w in ev.warnings if w.code == code]


# --- forecast ----------------------------------------------------------------------------------

_days_before = st.lists(st.integers(min_value=1, max_value=45), min_size=2, max_size=12, unique=True)


@given(days=_days_before, now_p=st.floats(0, 1), end_p=st.floats(0, 1))
def test_a_perfectly_linear_history_forecasts_its_line(days, now_p, end_p):
    slope = (end_p - now_p) / END_DAYS  # progress per day
    points = tuple(sorted((NOW_TS - d * DAY, 100 * (now_p - slope * d)) for d in days))
    assume(all(0 <= v <= 100 for _, v in points) and max(days) >= 7)
    got = forecast(points, 0, 100, now_p, NOW_TS, Q4_START, Q4_END)[0]
    assert got == pytest.approx(end_p, abs=1e-9)
    # The same through evaluation: the key result and its objective (one key result) carry it.
    ev = evaluate([], [_obj(krs=[_kr(current=100 * now_p)])], now=NOW, key_result_history={"kr": points})
    assert ev.objectives[0].key_results[0].forecast == pytest.approx(end_p, abs=0.0006)
    assert ev.objectives[0].forecast == pytest.approx(end_p, abs=0.0006)


@given(days=_days_before, value=st.floats(-50, 150))
def test_a_constant_history_forecasts_itself(days, value):
    assume(max(days) >= 7)
    points = tuple(sorted((NOW_TS - d * DAY, value) for d in days))
    p = min(1.0, max(0.0, value / 100))
    assert forecast(points, 0, 100, p, NOW_TS, Q4_START, Q4_END)[0] == pytest.approx(p, abs=1e-9)


@given(days=st.lists(st.floats(0.01, 45), max_size=12), value=st.floats(0, 100))
def test_too_few_points_or_too_short_a_span_gives_no_forecast(days, value):
    points = tuple(sorted((NOW_TS - d * DAY, value + d) for d in days))
    got = forecast(points, 0, 100, value / 100, NOW_TS, Q4_START, Q4_END)[0]
    if len(days) + 1 < 3 or max(days, default=0) < 7:
        assert got is None
    else:
        assert got is not None


@given(days=_days_before, values=st.lists(st.floats(-1e6, 1e6), min_size=12, max_size=12), now_v=st.floats(-1e6, 1e6))
def test_the_forecast_is_clamped(days, values, now_v):
    points = tuple(sorted((NOW_TS - d * DAY, v) for d, v in zip(days, values)))
    got = forecast(points, 0, 100, min(1, max(0, now_v / 100)), NOW_TS, Q4_START, Q4_END)[0]
    assert got is None or 0.0 <= got <= 1.0


def test_steep_progress_is_clamped_at_one_and_history_outside_the_cycle_or_after_now_is_ignored():
    points = ((NOW_TS - 30 * DAY, 10.0), (NOW_TS - 20 * DAY, 30.0), (NOW_TS - 10 * DAY, 50.0))
    assert forecast(points, 0, 100, 0.7, NOW_TS, Q4_START, Q4_END)[0] == 1.0
    before_cycle = ((Q4_START - DAY, 0.0), (NOW_TS - 3 * DAY, 50.0))
    assert forecast(before_cycle, 0, 100, 0.5, NOW_TS, Q4_START, Q4_END)[0] is None  # 2 points inside the cycle
    later = ((NOW_TS - 20 * DAY, 10.0), (NOW_TS + DAY, 90.0), (NOW_TS, 50.0))
    assert forecast(later, 0, 100, 0.2, NOW_TS, Q4_START, Q4_END)[0] is None  # the rows at/after now do not count


def test_forecast_only_for_metric_key_results_of_a_started_unended_cycle():
    points = tuple((NOW_TS - d * DAY, 50.0 - d) for d in (30, 20, 10))
    krs = [_kr("m"), _kr("ms", kind="milestone", done=False, current=None)]
    ev = evaluate([], [_obj(krs=krs)], now=NOW, key_result_history={"m": points, "ms": points})
    m, ms = ev.objectives[0].key_results
    assert m.forecast is not None and ms.forecast is None
    # The objective: the forecast where there is one, the progress (0.0 for the milestone) where not.
    assert ev.objectives[0].forecast == pytest.approx((m.forecast + 0.0) / 2, abs=0.001)
    ended = evaluate([], [_obj(krs=[_kr("m")], cycle="2026-Q3")], now=NOW, key_result_history={"m": points})
    assert ended.objectives[0].key_results[0].forecast is None and ended.objectives[0].forecast is None


def test_forecast_short_when_on_track_today_but_not_at_this_pace():
    # 45 days into Q4 (elapsed 0.49): goal line 0.34, on track from 0.24. Progress 0.30, rising 0.1 in 30 days.
    points = tuple((NOW_TS - d * DAY, 30.0 - d / 3) for d in (30, 20, 10))
    ev = evaluate([], [_obj(krs=[_kr(current=30.0)])], now=NOW, key_result_history={"kr": points})
    o = ev.objectives[0]
    assert o.status == "on_track" and o.forecast is not None and o.forecast < 0.6
    (w,) = _codes(ev, "forecast_short")
    assert w.item == "o" and f"at this pace it ends at {o.forecast:.2f}" in w.message and "on track today" in w.message
    fast = tuple((NOW_TS - d * DAY, 30.0 - d) for d in (30, 20, 10))
    assert not _codes(evaluate([], [_obj(krs=[_kr(current=30.0)])], now=NOW, key_result_history={"kr": fast}),
                      "forecast_short")  # fmt: skip


# --- check-ins -----------------------------------------------------------------------------------


def test_no_check_in_counts_from_the_pass_that_first_recorded_the_value():
    def run(points, **kw):
        krs = [_kr(current=kw.pop("current", 50.0), **kw)]
        return evaluate([], [_obj(krs=krs)], now=NOW, key_result_history={"kr": points})

    stuck = ((NOW_TS - 40 * DAY, 20.0), (NOW_TS - 15 * DAY, 50.0))
    (w,) = _codes(run(stuck), "no_check_in")
    assert w.item == "kr" and "15 days" in w.message and "since 2026-10-31" in w.message
    assert not _codes(run(((NOW_TS - 13 * DAY, 50.0),)), "no_check_in")  # first seen 13 days ago
    assert not _codes(run(((NOW_TS - 30 * DAY, 40.0),)), "no_check_in")  # the value changed now
    assert not _codes(run(stuck, current=50.0, kind="milestone", done=False), "no_check_in")  # not a metric
    assert not _codes(run(((NOW_TS - 30 * DAY, 100.0),), current=100.0), "no_check_in")  # done
    later = evaluate([], [_obj(krs=[_kr()], cycle="2027-Q1")], now=NOW, key_result_history={"kr": stuck})
    assert not _codes(later, "no_check_in")  # the cycle has not started
    custom = evaluate([], [_obj(krs=[_kr()])], now=NOW, settings=EvalSettings(check_in_days=30),
                      key_result_history={"kr": stuck})  # fmt: skip
    assert not _codes(custom, "no_check_in")


# --- red KPIs ------------------------------------------------------------------------------------


def _kpi(value: float = 40.0, kid: str = "k") -> KPI:
    return KPI(id=kid, name=f"KPI {kid}", value=value, direction="higher", green=80.0, red=50.0)


_colour_values = {"red": 30.0, "amber": 60.0, "green": 90.0}


@given(colours=st.lists(st.sampled_from(["red", "amber", "green"]), max_size=20))
def test_the_red_streak_starts_after_the_last_value_that_was_not_red(colours):
    points = tuple((NOW_TS - (len(colours) - i) * 7 * DAY, _colour_values[c]) for i, c in enumerate(colours))
    since = red_since(points, NOW_TS, "higher", 50.0)
    not_red = [i for i, c in enumerate(colours) if c != "red"]
    first = not_red[-1] + 1 if not_red else 0
    assert since == (points[first][0] if first < len(points) else NOW_TS)


@given(weeks=st.integers(3, 15), amber_at=st.integers(0, 14))
def test_a_single_amber_value_resets_the_red_streak(weeks, amber_at):
    assume(amber_at < weeks)
    values = [(NOW_TS - (weeks - i) * 7 * DAY, 60.0 if i == amber_at else 30.0) for i in range(weeks)]
    ev = evaluate([_kpi(30.0)], [], now=NOW, history={"k": KpiHistory(values=tuple(values))})
    red_for = (weeks - amber_at - 1) * 7  # days since the first red after the amber
    assert bool(_codes(ev, "red_kpi_without_okr")) == (red_for >= 14)


def test_red_kpi_without_okr_judged_under_todays_thresholds_and_cleared_by_a_running_key_result():
    history = {"k": KpiHistory(values=((NOW_TS - 20 * DAY, 45.0), (NOW_TS - 10 * DAY, 40.0)))}
    (w,) = _codes(evaluate([_kpi()], [], now=NOW, history=history), "red_kpi_without_okr")
    assert w.item == "k" and "red for 20 days" in w.message and "since 2026-10-26" in w.message
    # Today's thresholds: with red below 42, the 45 recorded 20 days ago was not red, so 10 days only.
    lower = _kpi().model_copy(update={"red": 42.0})
    assert not _codes(evaluate([lower], [], now=NOW, history=history), "red_kpi_without_okr")
    following = _obj(krs=[_kr(kpi="KPI k")])
    assert not _codes(evaluate([_kpi()], [following], now=NOW, history=history), "red_kpi_without_okr")
    ended = _obj(krs=[_kr(kpi="k")], cycle="2026-Q3")  # a key result of a cycle that has ended does not count
    assert _codes(evaluate([_kpi()], [ended], now=NOW, history=history), "red_kpi_without_okr")
    short = evaluate([_kpi()], [], now=NOW, settings=EvalSettings(red_days=30), history=history)
    assert not _codes(short, "red_kpi_without_okr")


# --- alignment -----------------------------------------------------------------------------------


@settings(max_examples=200)
@given(data=st.data(), n=st.integers(1, 12))
def test_alignment_finds_every_loop_once_and_loops_count_as_no_parent(data, n):
    parents = data.draw(st.lists(st.one_of(st.none(), st.integers(0, n - 1)), min_size=n, max_size=n))
    by_title = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    objectives = [
        _obj(f"id{i}", title=f"Objective {i}", parent=None if p is None else (f"  objective {p} " if t else f"id{p}"))
        for i, (p, t) in enumerate(zip(parents, by_title))
    ]
    ev = evaluate([], objectives, now=NOW)
    # Expected loops, by brute force: nodes that come back to themselves.
    in_loop = set()
    for i in range(n):
        node, seen = parents[i], 0
        while node is not None and seen <= n:
            if node == i:
                in_loop.add(i)
                break
            node, seen = parents[node], seen + 1
    loops = _codes(ev, "alignment_loop")
    expected_loops = set()
    for i in in_loop:
        members, node = {i}, parents[i]
        while node != i:
            members.add(node)
            node = parents[node]
        expected_loops.add(frozenset(members))
    assert len(loops) == len(expected_loops)
    assert {w.item for w in loops} == {f"id{min(m)}" for m in expected_loops}
    for i, o in enumerate(ev.objectives):
        want = None if parents[i] is None or i in in_loop else f"id{parents[i]}"
        assert o.parent == want
        assert o.children == [f"id{j}" for j in range(n) if parents[j] == i and j not in in_loop]


def test_unknown_and_ambiguous_parents_and_unaligned_objectives():
    objectives = [
        _obj("c1", title="Grow revenue", source="company"),
        _obj("c2", title="Delight customers", source="company"),
        _obj("c3", title="Delight customers", source="company-2"),
        _obj("t1", title="Win enterprise deals", parent=" GROW revenue", source="team"),
        _obj("t2", title="Answer faster", parent="Delight customers", source="team"),
        _obj("t3", title="Ship the mobile app", parent="Grow revnue", source="team"),
        _obj("t4", title="Hire well", source="team"),
    ]
    ev = evaluate([], objectives, now=NOW, settings=EvalSettings(company_sources=("company", "company-2")))
    by_id = {o.id: o for o in ev.objectives}
    assert by_id["t1"].parent == "c1" and by_id["c1"].children == ["t1"]
    unknown = {w.item: w.message for w in _codes(ev, "unknown_parent")}
    assert set(unknown) == {"t2", "t3"}
    assert "2 objectives have that title" in unknown["t2"] and "id c2" in unknown["t2"] and "id c3" in unknown["t2"]
    assert "'Grow revnue'" in unknown["t3"]
    assert {w.item for w in _codes(ev, "unaligned_objective")} == {"t2", "t3", "t4"}
    assert not _codes(evaluate([], objectives, now=NOW), "unaligned_objective")  # company_sources unset


# --- configuration -----------------------------------------------------------------------------------


def test_new_keys_are_validated_naming_the_key(tmp_path):
    base = '[[okrs]]\nname = "company"\ntype = "csv"\npath = "o.csv"\n'
    ok = load_config(
        write_config(
            tmp_path / "a.toml",
            base + '[okr]\ncompany_sources = ["company"]\ncheck_in_days = 7\n[kpi]\nred_days = 21\n',
        )
    )
    settings_ = EvalSettings.from_config(ok)
    assert (settings_.company_sources, settings_.check_in_days, settings_.red_days) == (("company",), 7, 21)
    for body, key in (
        ('[okr]\ncompany_sources = ["compnay"]\n', "okr.company_sources[0]"),
        ('[okr]\ncompany_sources = "company"\n', "okr.company_sources"),
        ('[okr]\ncheck_in_days = "two weeks"\n', "okr.check_in_days"),
        ("[okr]\ncheck_in_days = 0\n", "okr.check_in_days"),
        ('[kpi]\nred_days = "x"\n', "kpi.red_days"),
    ):
        with pytest.raises(ConfigError) as e:
            load_config(write_config(tmp_path / "b.toml", base + body))
        assert key in str(e.value), str(e.value)


# --- the state store -------------------------------------------------------------------------------


def test_the_store_keeps_key_result_values_and_reads_history_up_to_now(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    t = [NOW + timedelta(days=7 * i) for i in range(4)]
    for when, v in zip(t, (10.0, 10.0, 20.0, 30.0)):
        store.record_key_result_values({"kr": v, "other": None}, when)
        store.record_kpi_values({"k": v}, when)
    kpis, krs = store.history({"k": 20.0}, ["kr", "other", "never"], t[2])
    assert krs["kr"] == ((t[0].timestamp(), 10.0), (t[2].timestamp(), 20.0))  # a change only, nothing after now
    assert krs["other"] == ((t[0].timestamp(), None),) and "never" not in krs
    assert kpis["k"].first_seen == t[2] and kpis["k"].previous == 10.0 and len(kpis["k"].values) == 2
    store.close()
    # A dry run opens it read-only, reads the same, and records nothing.
    ro = SQLiteStore(tmp_path / "s.db", readonly=True)
    assert ro.history({}, ["kr"], t[3])[1]["kr"][-1] == (t[3].timestamp(), 30.0)
    ro.record_key_result_values({"kr": 99.0}, t[3] + timedelta(days=1))
    assert ro.history({}, ["kr"], t[3] + timedelta(days=2))[1]["kr"][-1][1] == 30.0
    ro.close()


# --- where the parent is read ------------------------------------------------------------------------


def test_parent_is_read_from_a_table_on_any_row_and_from_a_notion_relation_or_text():
    from syncd.mappings.notion import Prop, build_okrs
    from syncd.mappings.table import TableMapping

    table = TableMapping("okrs", source="team", label=lambda row, col: f"row {row}")  # CSV, XLSX and Sheets alike
    read = table.read([
        ["Objective", "Key result", "Start", "Target", "Current", "Parent"],
        ["Win deals", "Close 10 deals", 0, 10, 3, ""],
        ["Win deals", "", "", "", "", " Grow revenue "],  # on another row of the objective
        ["Hire well", "Hire 5 engineers", 0, 5, 1, None],
    ])  # fmt: skip
    assert [(o.title, o.parent) for o in read.objectives] == [("Win deals", "Grow revenue"), ("Hire well", None)]
    props = {"parent": Prop(field="parent", id="par", name="Parent", type="rich_text")}
    objs, _ = build_okrs(
        [{"id": "o1", "ref": "o1", "v": {"title": "Grow"}}, {"id": "o2", "ref": "o2", "v": {"title": "Win", "parent": "Grow"}},
         {"id": "o3", "ref": "o3", "v": {"title": "Hire", "parent": ["o1"]}}],
        [], props, {}, "n",
    )  # fmt: skip
    assert [o.parent for o in objs] == [None, "Grow", "o1"]
    ev = evaluate([], objs, now=NOW)
    assert [o.parent for o in ev.objectives] == [None, "o1", "o1"] and ev.objectives[0].children == ["o2", "o3"]
