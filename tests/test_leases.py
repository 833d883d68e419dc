"""The lease protocol in one process: taking, renewing, fencing, a paused holder, a lost server,
and KPIs another replica holds read from the shared store. Clocks are injected: nothing sleeps."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from syncd.leases import ALERTS_GROUP, Leases, LeaseStop, credential_groups, group_of, lease_table
from syncd.pgstate import LeaseLost, PostgresStore
from tests.conftest import ROOT


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store(pg_dsn):
    s = PostgresStore(pg_dsn)
    yield s
    s.close()


def _expire(store: PostgresStore, group: str) -> None:
    """What lease_ttl of silence does: the row's expiry passes (PostgreSQL's clock)."""
    with store.transaction() as db:
        db.execute("UPDATE leases SET expires = now() - interval '1 second' WHERE grp = ?", (group,))


def test_one_holder_per_group_and_the_fencing_number_grows_on_each_takeover(store):
    ca, cb = Clock(), Clock()
    a = Leases(store, 10, {"notion:1": ["okrs"]}, clock=ca)
    b = Leases(store, 10, {"notion:1": ["okrs"]}, clock=cb)
    assert a.step() == (["notion:1"], []) and b.step() == ([], [])
    first = a.lease("notion:1")
    assert first is not None and b.lease("notion:1") is None
    assert a.step() == ([], []) and a.lease("notion:1").token == first.token  # renewed, same number

    _expire(store, "notion:1")  # a was paused (or partitioned) longer than lease_ttl
    assert b.step() == (["notion:1"], [])
    second = b.lease("notion:1")
    assert second.token > first.token
    (row,) = lease_table(store)
    assert row["replica"] == b.replica and row["sources"] == ["okrs"] and row["fence"] == second.token

    # The old holder wakes: its own clock says its lease ran out, before it asks anyone.
    ca.t += 10
    assert a.lease("notion:1") is None and not first.valid()
    assert "cannot prove it still holds the lease on notion:1" in LeaseStop(_Stop(), first).reason()
    # Its store refuses to record, even with a clock that had not noticed: the number is not current.
    ca.t -= 10
    with pytest.raises(LeaseLost, match="held by another replica"):
        store.fenced(first).record_run("okrs", started=_now(), now=_now(), outcome="ok", summary={})
    assert a.step() == ([], ["notion:1"])  # and it learns it lost the lease
    fenced = store.fenced(second)
    fenced.record_run("okrs", started=_now(), now=_now(), outcome="ok", summary={"items": 1})
    (run,) = store.last_runs()
    assert run["fence"] == second.token and run["replica"] == b.replica


def test_a_lease_runs_out_by_the_holders_clock_before_the_database_would_let_another_take_it(store):
    clock = Clock()
    a = Leases(store, 8, {"trello:1": ["board"]}, clock=clock)
    a.step()
    lease = a.lease("trello:1")
    stop = LeaseStop(_Stop(), lease)
    assert not stop.is_set()
    clock.t += 8 - a.margin + 0.01  # the holder's deadline: ttl minus the margin, from when it asked
    assert stop.is_set() and a.lease("trello:1") is None
    with pytest.raises(LeaseLost, match="ran out by this replica's clock"):
        store.fenced(lease).put("board", "k", 1)
    b = Leases(store, 8, {"trello:1": ["board"]})
    assert b.step() == ([], [])  # PostgreSQL still counts it as a's: nobody else holds it early


def test_an_unreachable_state_store_releases_nothing_and_the_replica_stops_acting_by_its_clock(store, monkeypatch):
    clock = Clock()
    a = Leases(store, 8, {"sheets:1": ["kpis"]}, clock=clock)
    a.step()
    token = a.lease("sheets:1").token

    def down(*args, **kwargs):
        raise OSError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(PostgresStore, "transaction", down)
    clock.t += 1
    assert a.step() == ([], []) and a.reachable is False
    assert a.lease("sheets:1") is not None  # still provably held by its own clock
    clock.t += 8
    assert a.step() == ([], ["sheets:1"]) and a.lease("sheets:1") is None
    monkeypatch.undo()
    (row,) = lease_table(store)
    assert row["fence"] == token and row["holder"] == a.holder  # nothing released, nothing rewritten
    assert a.step() == ([], []) or a.lease("sheets:1") is None or a.lease("sheets:1").token > token


def test_a_clean_stop_releases_so_another_replica_takes_over_at_once(store):
    a, b = Leases(store, 60, {"g": []}), Leases(store, 60, {"g": []})
    a.step()
    a.release()
    assert b.step() == (["g"], [])


def test_credential_groups_follow_the_token_not_the_variable(tmp_path):
    env = {"NOTION_TOKEN": "ntn_same", "OTHER": "ntn_same", "THIRD": "ntn_other"}
    a = SimpleNamespace(type="notion", name="a", token_env="NOTION_TOKEN")
    b = SimpleNamespace(type="notion", name="b", token_env="OTHER")
    c = SimpleNamespace(type="notion", name="c", token_env="THIRD")
    f = SimpleNamespace(type="csv", name="f")
    assert group_of(a, env) == group_of(b, env) != group_of(c, env)
    assert group_of(f, env) == "csv:f" and "ntn_same" not in group_of(a, env)
    config = SimpleNamespace(sources=lambda: [("okrs", a), ("okrs", b), ("kpis", f)], alerts=[1])
    groups = credential_groups(config, env)  # type: ignore[arg-type]
    assert sorted(map(sorted, groups.values())) == [[], ["a", "b"], ["f"]] and ALERTS_GROUP in groups


def test_kpis_of_a_source_another_replica_holds_come_from_its_last_pass(tmp_path, pg_dsn):
    from syncd.config import load_config
    from syncd.connectors import REGISTRY
    from syncd.engine import sync

    shutil.copytree(ROOT / "tests" / "data" / "demo" / "examples", tmp_path / "examples")
    (tmp_path / "syncd.toml").write_text(
        f'[syncd]\nstate = "{pg_dsn}"\n[[kpis]]\nname = "kpis"\ntype = "csv"\npath = "examples/kpis.csv"\n'
        '[[okrs]]\nname = "okrs"\ntype = "csv"\npath = "examples/okrs.csv"\n'
    )
    config = load_config(tmp_path / "syncd.toml")
    now = datetime(2026, 11, 15, 9, tzinfo=UTC)
    store = PostgresStore(pg_dsn)
    try:
        kpi_role, kpi_cfg = config.sources()[0]
        sync(
            config, now=now, registry=REGISTRY, sources=[(kpi_role, kpi_cfg)], state=store
        )  # the holder of the KPIs' lease
        (tmp_path / "examples" / "kpis.csv").unlink()  # not on this replica's disk: it must not read it
        report = sync(
            config, now=now, registry=REGISTRY, sources=[config.sources()[1]], state=store, feeders_from_state=["kpis"]
        )
    finally:
        store.close()
    assert not report.errors, report.errors
    kr6 = next(kr for o in report.evaluation.objectives for kr in o.key_results if kr.id == "KR6")
    assert kr6.current == 41  # followed "Net promoter score" from the other replica's pass
    assert "replica that holds this source" in " ".join(report.sources["kpis"].notes)


class _Stop:
    def is_set(self) -> bool:
        return False

    def wait(self, seconds: float) -> None:
        pass

    def reason(self) -> str:
        return "syncd is stopping"


def _now() -> datetime:
    return datetime(2026, 11, 15, 9, tzinfo=UTC)


def test_syncd_sync_on_postgresql_holds_the_leases_for_its_pass_and_gives_them_back(tmp_path, pg_dsn, syncd):
    shutil.copytree(ROOT / "tests" / "data" / "demo" / "examples", tmp_path / "examples")
    config = tmp_path / "syncd.toml"
    config.write_text(
        f'[syncd]\nstate = "{pg_dsn}"\n[[kpis]]\nname = "kpis"\ntype = "csv"\npath = "examples/kpis.csv"\n'
    )
    run = syncd("sync", "--config", config, "--now", "2026-11-15T09:00:00Z")
    assert run.code == 0, run.err
    store = PostgresStore(pg_dsn)
    try:
        (row,) = lease_table(store)
        assert row["sources"] == ["kpis"] and not row["live"]  # taken for the pass, released after
        assert Leases(store, 60, {row["group"]: ["kpis"]}).step()[0] == [row["group"]]
    finally:
        store.close()
    again = syncd("sync", "--config", config, "--now", "2026-11-15T09:00:00Z")
    assert again.code == 1 and "a running replica syncs kpis" in again.err


def test_free_groups_are_shared_among_the_live_replicas(store):
    groups = {f"g{i}": [f"s{i}"] for i in range(4)}
    a, b = Leases(store, 30, groups), Leases(store, 30, groups)
    a._share(), b._share()  # both alive
    a.step()
    b.step()
    assert len(a.held()) == 2 and len(b.held()) == 2 and not set(a.held()) & set(b.held())
    a.release()  # a stops: b takes the rest, being alone now
    b.step()
    assert len(b.held()) == 4
