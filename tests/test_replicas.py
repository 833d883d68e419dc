"""Replicas on one PostgreSQL state store: leases per credential group, fencing, failover.

Real ``syncd run`` processes (two, three) against a throwaway PostgreSQL
cluster, a Trello board on the loopback fake, a CSV of KPIs and an alert
webhook. The leaseholder is killed with SIGKILL in the middle of a pass; the
others take over within ``lease_ttl`` plus one interval, converge, and nothing
is sent twice. Lease TTLs and intervals are test-sized (seconds).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from syncd.cli import main
from tests.conftest import ROOT
from tests.fakes.trello import TrelloFake
from tests.fakes.webhook import WebhookReceiver
from tests.pgserver import PASSWORD
from tests.test_daemon import Daemon, _poll, daemons  # noqa: F401 - daemons is a fixture
from tests.test_daemon_http import _board, _snapshot
from tests.trello_helpers import kpis_and_board

KEY = "k3yForTheReplicaTests000"
TOKEN = "t0kenReplicasMustNeverShow9876543210"
HOOK_SECRET = "T0001/B0001/r3pl1caW3bh00kT0k3n"
TTL = 2.0
INTERVAL = 0.3


@pytest.fixture
def fake():
    with TrelloFake(key=KEY, token=TOKEN) as f:
        yield f


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


def _env(hook: WebhookReceiver) -> dict[str, str]:
    return {
        "TRELLO_API_KEY": KEY,
        "TRELLO_TOKEN": TOKEN,
        "PGPASSWORD": PASSWORD,
        "SYNCD_TEST_HOOK": hook.hook_url(HOOK_SECRET),
    }


def _config(folder: Path, dsn: str, fake: TrelloFake, board: str, *, ttl: float = TTL) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    kpis = folder / "kpis.csv"
    if not kpis.exists():
        kpis.write_text(
            "KPI,Value,Direction,Green,Red,Status\nChurn,3.5,lower,3,5,\nNPS,45,higher,40,20,\n", encoding="utf-8"
        )
    path = folder / "syncd.toml"
    path.write_text(
        f"""
[syncd]
state = "{dsn}"
lease_ttl = "{ttl}s"
interval = "{INTERVAL}s"
listen = "127.0.0.1:0"
retries = 2
max_retry_wait = "1s"
timeout = "5s"
{kpis_and_board(fake, board)}
[[alerts]]
name = "ops"
url_env = "SYNCD_TEST_HOOK"
""",
        encoding="utf-8",
    )
    return path


def _set_kpi(folder: Path, name: str, value: str) -> None:
    path = folder / "kpis.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        cells = line.split(",")
        if cells[0] == name:
            cells[1] = value
            lines[i] = ",".join(cells)
    tmp = path.with_name("kpis.csv.new")
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, path)


def _health(d: Daemon) -> dict[str, Any]:
    return d.get("/healthz").json()


def _holds_all(d: Daemon, groups: int = 3) -> bool:
    try:
        return len(_health(d)["replica"]["leases_held"]) == groups
    except Exception:  # noqa: BLE001 - not serving yet
        return False


def _taken(d: Daemon) -> list[dict[str, Any]]:
    return [e for e in list(d.lines) if e.get("event") == "lease_taken"]


def _arrived_or_unknown(hook: WebhookReceiver, dsn: str, text: str, timeout: float = 20) -> str:
    """``sent`` once the alert arrives; ``unknown`` if the replica was killed while posting it (its
    outbox row was on the wire: it may or may not have arrived, and is never posted again, so the
    kill can only lose it there, in plain sight in `syncd status`)."""
    from syncd.pgstate import PostgresStore

    store = PostgresStore(dsn)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in m.text for m in hook.messages):
                return "sent"
            with store.transaction() as db:
                states = {r[0] for r in db.execute("SELECT state FROM alert_outbox WHERE body LIKE ?", (f"%{text}%",))}
            if "unknown" in states:
                return "unknown"
            time.sleep(0.1)
    finally:
        store.close()
    raise AssertionError(
        f"webhook: {text!r} neither arrived nor is unknown in {timeout}s; got {[m.text for m in hook.messages]}"
    )


def _messages_once(hook: WebhookReceiver) -> list[str]:
    texts = [m.text for m in hook.messages]
    keys = [m.idempotency_key for m in hook.messages]
    assert len(texts) == len(set(texts)) == len(set(keys)), texts  # nothing twice
    return texts


def _converged(config: Path, env: dict[str, str]) -> dict[str, Any]:
    dry = subprocess.run(
        [sys.executable, "-m", "syncd", "sync", "--config", str(config), "--dry-run", "--format", "json"],
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry.returncode == 0, dry.stderr
    return json.loads(dry.stdout)


def test_two_replicas_sigkill_the_leaseholder_mid_pass_the_other_takes_over_and_nothing_is_sent_twice(
    tmp_path, pg_dsn, fake, hook, daemons, capsys
):
    board, _ = _board(fake, 4, 24)
    env = _env(hook)
    first = daemons(_config(tmp_path / "a", pg_dsn, fake, board), env)
    assert _poll(lambda: _holds_all(first), timeout=15), first.log_text()[-3000:]
    first.wait_passes("okr-board", 1, timeout=30)
    first.wait_passes("kpis", 2, timeout=30)
    second = daemons(_config(tmp_path / "b", pg_dsn, fake, board), env)
    second.event("replica", timeout=40)
    # The second one stands by: it holds nothing, and says who does.
    standby = _poll(lambda: (h := _health(second)).get("replica", {}).get("leases") and h, timeout=10)
    assert standby["status"] == "ok" and standby["replica"]["leases_held"] == []
    assert {s["held_by"] for s in standby["sources"].values()} == {f"{socket.gethostname()}:{first.pid}"}
    assert second.passes("okr-board") == 0 and second.passes("kpis") == 0
    ready = second.get("/readyz")  # standing by is ready: it takes over when the holder goes
    assert ready.status_code == 200, ready.text
    assert {s["held_by"] for s in ready.json()["sources"].values()} == {f"{socket.gethostname()}:{first.pid}"}

    # A colour change; then SIGKILL while the board's pass is under way (the fake answers slowly).
    for folder in ("a", "b"):
        _set_kpi(tmp_path / folder, "Churn", "6")  # lower is better: 6 > 5 is red
    fake.latency = 0.03
    assert _poll(lambda: _health(first)["sources"]["okr-board"]["running"], timeout=10, every=0.01)
    first.kill()
    killed = time.monotonic()

    # The other replica takes every lease within lease_ttl plus one interval (and some slack for a busy machine).
    second.wait_for(lambda _: len(_taken(second)) >= 3, timeout=TTL + INTERVAL + 10)
    took = time.monotonic() - killed
    assert took < TTL + INTERVAL + 5, took
    fake.latency = 0.0
    n = second.passes("okr-board")
    second.wait_for(
        lambda lines: (
            any(e.get("source") == "okr-board" and e.get("writes") == 0 for e in lines[-50:])
            and second.passes("okr-board") > n
        ),
        timeout=20,
    )
    churn = _arrived_or_unknown(hook, pg_dsn, "*Churn* is now red")

    # Another change, seen and sent by the new holder only.
    for folder in ("a", "b"):
        _set_kpi(tmp_path / folder, "NPS", "10")
    hook.wait_for(lambda ms: any("*NPS* is now red" in m.text for m in ms), timeout=15)
    texts = _messages_once(hook)
    assert any("*Churn* is now red" in t for t in texts) == (churn == "sent")

    # /healthz, /metrics and `syncd status` say which replica holds what.
    me = f"{socket.gethostname()}:{second.pid}"
    health = _health(second)
    assert health["replica"]["id"] == me and len(health["replica"]["leases_held"]) == 3
    assert {s["held_by"] for s in health["sources"].values()} == {me}
    assert "syncd_leases_held 3.0" in second.get("/metrics").text
    capsys.readouterr()
    os.environ["PGPASSWORD"] = PASSWORD
    assert main(["status", "--config", str(tmp_path / "b" / "syncd.toml"), "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert {s["source"]: s["held_by"] for s in status["sources"]} == {"kpis": me, "okr-board": me}
    assert status["service"]["replicas"] == [me]
    assert all(s["replica"] == me for s in status["sources"] if s["outcome"] != "never run")
    assert main(["status", "--config", str(tmp_path / "b" / "syncd.toml")]) == 0
    text = capsys.readouterr().out
    assert f"1 replica(s) running ({me})" in text and f"[synced by {me}]" in text
    # A one-shot pass from cron (with the replicas' credentials) does not sync beside a replica.
    os.environ.update(TRELLO_API_KEY=KEY, TRELLO_TOKEN=TOKEN)
    try:
        assert main(["sync", "--config", str(tmp_path / "b" / "syncd.toml")]) == 1
    finally:
        os.environ.pop("TRELLO_API_KEY"), os.environ.pop("TRELLO_TOKEN")
    err = capsys.readouterr().err
    assert "a running replica syncs" in err and f"okr-board (replica {me})" in err and f"kpis (replica {me})" in err

    # Converged: the board is what a clean run leaves, and a fresh pass has nothing to write.
    snapshot = _snapshot(fake, board)
    assert second.stop()[0] == 0
    assert _converged(tmp_path / "b" / "syncd.toml", env)["writes"] == []
    assert _snapshot(fake, board) == snapshot
    for d in (first, second):
        assert PASSWORD not in d.log_text() and TOKEN not in d.log_text() and HOOK_SECRET not in d.log_text()


def test_three_replicas_one_holder_per_group_and_passes_carry_the_fencing_number(tmp_path, pg_dsn, fake, hook, daemons):
    from syncd.pgstate import PostgresStore

    board, _ = _board(fake, 2, 8)
    env = _env(hook)
    replicas = [daemons(_config(tmp_path / f"r{i}", pg_dsn, fake, board), env) for i in range(3)]
    for d in replicas:
        d.event("replica", timeout=40)
    group = _group(replicas, "okr-board")
    trello_holder = _poll(lambda: _group_holders(replicas).get(group), timeout=20)
    assert trello_holder is not None
    assert _poll(lambda: trello_holder.passes("okr-board") >= 2, timeout=15)
    fake.latency = 0.03
    assert _poll(lambda: _health(trello_holder)["sources"]["okr-board"]["running"], timeout=10, every=0.01)
    trello_holder.kill()
    killed = time.monotonic()
    rest = [d for d in replicas if d is not trello_holder]

    def new_holder() -> Daemon | None:
        for d in rest:
            if d.proc.poll() is None and _group(rest, "okr-board") in _health(d)["replica"]["leases_held"]:
                return d
        return None

    successor = _poll(new_holder, timeout=TTL + INTERVAL + 10, every=0.05)
    assert successor is not None and time.monotonic() - killed < TTL + INTERVAL + 5
    fake.latency = 0.0
    n = successor.passes("okr-board")
    successor.wait_passes("okr-board", n + 2, timeout=20)
    # Never two holders of one group at once, among the live ones.
    for _ in range(5):
        holders = [d for d in rest if _group(rest, "okr-board") in _health(d)["replica"]["leases_held"]]
        assert holders == [successor]
        time.sleep(0.1)

    # Every pass recorded the replica and the fencing number it ran under; the numbers only grow.
    os.environ["PGPASSWORD"] = PASSWORD
    store = PostgresStore(pg_dsn, readonly=True)
    try:
        with store.transaction() as db:
            rows = db.execute("SELECT summary FROM runs WHERE source = 'okr-board' ORDER BY id").fetchall()
    finally:
        store.close()
    passes = [json.loads(s) for (s,) in rows]
    fences = [p["fence"] for p in passes]
    assert fences == sorted(fences) and len(set(fences)) >= 2
    assert {p["replica"] for p in passes} >= {f"{socket.gethostname()}:{successor.pid}"}
    after = [p for p in passes if p["fence"] == fences[-1]]
    assert {p["replica"] for p in after} == {f"{socket.gethostname()}:{successor.pid}"}
    for d in rest:
        assert d.stop()[0] == 0
    _messages_once(hook)


def _group(replicas: list[Daemon], source: str) -> str:
    for d in replicas:
        if d.proc.poll() is None:
            return _health(d)["sources"][source]["group"]
    raise AssertionError("no replica alive")


def _group_holders(replicas: list[Daemon]) -> dict[str, Daemon]:
    out: dict[str, Daemon] = {}
    for d in replicas:
        for group in _health(d)["replica"]["leases_held"]:
            assert group not in out, f"{group} held twice"
            out[group] = d
    return out


def test_postgresql_lost_while_running_the_replica_stays_up_stops_acting_and_resumes(tmp_path, fake, hook, daemons):
    from tests.pgserver import PgServer, PgUnavailable

    try:
        pg = PgServer().start()  # a server of its own: this test takes it down
    except PgUnavailable as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(str(e))
        pytest.skip(str(e))
    try:
        board, _ = _board(fake, 2, 6)
        d = daemons(_config(tmp_path, pg.dsn(), fake, board), _env(hook))
        assert _poll(lambda: _holds_all(d), timeout=30), d.log_text()[-3000:]
        first = _health(d)["replica"]["leases"]
        d.wait_passes("okr-board", 2, timeout=30)

        pg.halt()  # the database goes away under a running replica
        down = _poll(lambda: (r := d.get("/healthz")).status_code == 503 and r.json(), timeout=30)
        assert down and "the PostgreSQL state store cannot be reached; retrying" in down["reasons"]
        assert d.get("/readyz").status_code == 503
        # By its own clock it stops holding (and so calling), and it is still alive.
        assert _poll(lambda: _health(d)["replica"]["leases_held"] == [], timeout=TTL * 3 + 20)
        calls = fake.calls.total()
        time.sleep(INTERVAL * 3)
        assert fake.calls.total() == calls and d.proc.poll() is None

        pg.resume()  # back: it takes its groups again (new fencing numbers) and syncs
        assert _poll(lambda: _holds_all(d), timeout=60), d.log_text()[-3000:]
        n = d.passes("okr-board")
        d.wait_passes("okr-board", n + 1, timeout=30)
        again = {row["group"]: row["fence"] for row in _health(d)["replica"]["leases"]}
        assert all(again[row["group"]] > row["fence"] for row in first)
        assert d.get("/healthz").status_code == 200
        assert d.stop()[0] == 0
        assert PASSWORD not in d.log_text()
        assert any(e.get("event") == "lease_store_unreachable" for e in d.lines)
    finally:
        pg.stop()
