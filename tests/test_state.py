"""The state store's contract, run against both implementations (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncd.model import Patch

T1, T2, T3 = (datetime(2026, 1, d, tzinfo=UTC) for d in (1, 5, 9))


def test_history_gives_first_seen_and_previous(make_store):
    store = make_store()
    store.record_kpi_values({"nps": 40.0, "churn": None}, T1)
    store.record_kpi_values({"nps": 40.0, "churn": None}, T2)  # same values: first seen stays T1
    h = store.kpi_history({"nps": 40.0, "churn": None, "new": 1.0})
    assert h["nps"].first_seen == T1 and h["churn"].first_seen == T1
    assert h["new"].first_seen is None and h["new"].previous is None
    store.record_kpi_values({"nps": 45.0}, T3)
    h = store.kpi_history({"nps": 45.0})["nps"]
    assert h.first_seen == T3 and h.previous == 40.0
    assert store.kpi_history({"nps": 50.0})["nps"].previous == 45.0  # a value not recorded yet


def test_history_survives_reopening(make_store):
    store = make_store()
    store.record_kpi_values({"nps": 40.5}, T1)
    store.close()
    assert make_store().kpi_history({"nps": 40.5})["nps"].first_seen == T1


def test_writes_runs_and_failures_in_a_row(make_store):
    store = make_store()
    store.record_writes([Patch("s", "KR1", "status", "On track", "Done", kind="key_result")], T1)
    store.record_writes([Patch("s", "KR1", "status", "Done", "At risk", kind="key_result")], T2)  # replaces
    with store.transaction() as db:
        assert db.execute("SELECT value, at FROM written").fetchall() == [('"At risk"', T2.isoformat())]
    for outcome, t in (("ok", T1), ("failed", T2), ("failed", T3)):
        store.record_run("s", started=t, now=t, outcome=outcome, summary={"items": 3, "writes": 1})
    store.record_run("other", started=T2, now=T2, outcome="ok", summary={"items": 1})
    assert store.failures_in_a_row("s") == 2 and store.failures_in_a_row("other") == 0
    runs = store.last_runs()
    assert [(r["source"], r["outcome"], r["items"]) for r in runs] == [("other", "ok", 1), ("s", "failed", 3)]
    assert store.last_successes() == {"s": T1.isoformat(), "other": T2.isoformat()}


def test_cache_round_trips_json(make_store):
    store = make_store()
    assert store.get("notion", "db:1", {}) == {}
    store.put("notion", "db:1", {"ds": "x", "schema": [1, 2.5, None]})
    store.put("notion", "db:1", {"ds": "y"})
    assert store.get("notion", "db:1") == {"ds": "y"}
    assert store.get("trello", "db:1") is None


def test_a_failed_transaction_leaves_nothing(make_store):
    store = make_store()
    with pytest.raises(RuntimeError):
        with store.transaction() as db:
            db.execute("INSERT INTO cache (source, key, value) VALUES (?, ?, ?)", ("s", "k", "1"))
            raise RuntimeError("killed half way")
    assert store.get("s", "k") is None


def test_read_only_store_writes_nothing(make_store):
    store = make_store(readonly=True)  # a dry run before any real pass
    store.put("src", "k", 1)
    store.record_kpi_values({"a": 1.0}, T1)
    store.record_run("src", started=T1, now=T1, outcome="ok", summary={})
    assert store.get("src", "k") is None and store.last_runs() == []
    store.close()
    if make_store.kind == "sqlite":
        return
    writer = make_store()  # nothing was left behind in the database either
    assert writer.last_runs() == [] and writer.kpi_history({"a": 1.0})["a"].first_seen is None


def test_read_only_store_reads_what_was_recorded(make_store):
    writer = make_store()
    writer.record_kpi_values({"a": 2.0}, T1)
    reader = make_store(readonly=True)
    assert reader.kpi_history({"a": 2.0})["a"].first_seen == T1
    reader.record_kpi_values({"a": 3.0}, T2)
    assert writer.kpi_history({"a": 3.0})["a"].first_seen is None


def test_alert_outbox_queues_each_change_once(make_store, tmp_path):
    from syncd.alerts import Alerts
    from tests.test_alerts import _config, _report

    store = make_store()
    alerts = Alerts(_config(tmp_path), store, {"HOOK": "http://127.0.0.1:9/hook"})
    assert alerts.observe(_report("2026-11-10T09:00:00+00:00")) == 0  # first sight: no change
    assert alerts.observe(_report("2026-11-11T09:00:00+00:00", nps="red")) == 1
    assert store.alert_counts() == {"pending": 1}
    assert alerts.observe(_report("2026-11-11T09:00:00+00:00", nps="red")) == 0


def test_history_of_kpis_and_key_results_in_one_read(make_store):
    store = make_store()
    store.record_kpi_values({"nps": 40.0}, T1)
    store.record_kpi_values({"nps": 45.0}, T2)
    store.record_key_result_values({"KR1": 0.2}, T1)
    store.record_key_result_values({"KR1": 0.2}, T2)  # unchanged: not recorded again
    store.record_key_result_values({"KR1": 0.4}, T3)
    kpis, krs = store.history({"nps": 45.0}, ["KR1", "KR2"], T3)
    assert kpis["nps"].first_seen == T2 and kpis["nps"].previous == 40.0
    assert [v for _, v in krs["KR1"]] == [0.2, 0.4] and "KR2" not in krs
    _, krs = store.history({}, ["KR1"], T2)  # a replay at an earlier --now sees what that pass saw
    assert [v for _, v in krs["KR1"]] == [0.2]


def test_prune_keeps_the_retention_and_each_items_newest_value(make_store):
    from datetime import timedelta

    store = make_store()
    for day in range(0, 50, 10):
        store.record_kpi_values({"nps": float(day)}, T1 + timedelta(days=day))
        store.record_key_result_values({"KR1": float(day)}, T1 + timedelta(days=day))
    store.record_kpi_values({"old": 1.0}, T1)
    for day in (0, 10, 45):
        store.record_run("s", started=T1, now=T1 + timedelta(days=day), outcome="ok", summary={})
    assert store.prune(T1 + timedelta(days=25)) == 3 + 3 + 2  # nps 0/10/20, KR1 0/10/20, runs 0/10
    assert store.kpi_history({"nps": 40.0})["nps"].previous == 30.0
    assert store.kpi_history({"old": 1.0})["old"].first_seen == T1  # the current value stays, however old
    with store.transaction() as db:
        assert db.execute("SELECT COUNT(*) FROM key_result_values").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_a_store_made_before_keyed_tables_is_read_and_written_as_before(tmp_path):
    # Stores made by earlier versions keep their tables with row ids (CREATE TABLE IF NOT EXISTS
    # changes nothing there); the same SQL reads and writes both layouts.
    import sqlite3

    from syncd.state import SCHEMA, SQLiteStore

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA.format(id="INTEGER PRIMARY KEY AUTOINCREMENT", keyed=""))
    old.execute("INSERT INTO kpi_values VALUES ('nps', 40.0, ?)", (T1.isoformat(),))
    old.commit()
    old.close()
    store = SQLiteStore(path)
    store.record_kpi_values({"nps": 45.0, "churn": 2.0}, T2)
    store.record_writes([Patch("s", "nps", "status", None, "Green")], T2)
    history, _ = store.history({"nps": 45.0, "churn": 2.0}, (), T3)
    assert (history["nps"].previous, history["nps"].first_seen, history["churn"].first_seen) == (40.0, T2, T2)
    with store.transaction() as db:
        layouts = dict(db.execute("SELECT name, sql LIKE '%WITHOUT ROWID' FROM sqlite_master WHERE type = 'table'"))
    assert layouts["kpi_values"] == 0 and layouts["written"] == 0
    store.close()
    fresh = SQLiteStore(tmp_path / "new.db")
    with fresh.transaction() as db:
        layouts = dict(db.execute("SELECT name, sql LIKE '%WITHOUT ROWID' FROM sqlite_master WHERE type = 'table'"))
    assert layouts["kpi_values"] == layouts["key_result_values"] == layouts["written"] == 1
    fresh.close()


def test_a_pass_records_its_values_from_the_history_it_read_without_reading_them_again(make_store):
    store = make_store()
    store.record_kpi_values({"nps": 40.0, "churn": 2.0}, T1)
    values = {"nps": 40.0, "churn": 2.5, "new": 1.0}
    known, _ = store.history(values, (), T2)  # what the pass read before evaluating
    store._latest = lambda kpis: pytest.fail("the last values were read again")
    store.record_kpi_values(values, T2, known)
    h, _ = store.history(values, (), T3)
    assert h["nps"].values == ((T1.timestamp(), 40.0),)  # unchanged: no second row
    assert h["churn"].values == ((T1.timestamp(), 2.0), (T2.timestamp(), 2.5))
    assert h["new"].values == ((T2.timestamp(), 1.0),)
