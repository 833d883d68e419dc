"""``syncd sync`` and ``syncd check`` end to end with Asana goals on the fake and a local CSV of KPIs."""

from __future__ import annotations

import json

import pytest

from syncd.cli import main
from tests.asana_helpers import okr_goals
from tests.fakes.asana import PREFIX, AsanaFake

NOW = "2026-11-15T12:00:00Z"


@pytest.fixture(scope="module")
def server():
    with AsanaFake() as f:
        yield f


@pytest.fixture
def fake(server, monkeypatch):
    server.reset()
    monkeypatch.setenv("ASANA_TOKEN", server.token)
    yield server


def _config(tmp_path, fake, workspace, extra=""):
    (tmp_path / "kpis.csv").write_text("KPI,Value,Direction,Green,Red,Status\nChurn,3.5,lower,3,5,\n")
    path = tmp_path / "syncd.toml"
    path.write_text(f"""
[syncd]
state = "state.db"

[limits]
asana_per_minute = 1000000

[[kpis]]
type = "csv"
name = "kpis"
path = "kpis.csv"

[[okrs]]
type = "asana"
name = "goals"
workspace = "{workspace}"
base_url = "{fake.url}{PREFIX}"
{extra}
""")
    return path


def _run(capsys, path, *more, command="sync"):
    code = main([command, "--config", str(path), "--now", NOW, "--format", "json", *more])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def _goals(fake):
    ws, period = okr_goals(fake, 2, 4)
    top = next(g["gid"] for g in fake.goals.values() if g["name"] == "Objective 1")
    follows = fake.add_goal(ws, "Cut churn", period=period, metric=(5, 2, 5), notes="Owner: CS\nKPI: Churn")
    fake.add_subgoal(top, follows, 1)
    return ws, follows


def test_sync_writes_goals_and_the_kpi_then_nothing_with_relationships_from_the_state_store(tmp_path, fake, capsys):
    ws, follows = _goals(fake)
    path = _config(tmp_path, fake, ws)
    code, report, _ = _run(capsys, path)
    assert code == 0, report["errors"]
    writes = {(w["item"], w["field"]): w["new"] for w in report["writes"] if w["source"] == "goals"}
    assert writes[(follows, "current")] == 3.5
    assert fake.goals[follows]["metric"]["current_number_value"] == 3.5  # 5 -> 2, at 3.5: half way
    assert report["api_calls"]["asana"] == sum(fake.calls.values())
    assert fake.calls["GET goals"] == 1 and fake.calls["GET goal_relationships"] == 2
    assert fake.calls["PUT goal"] + fake.calls["POST setMetricCurrentValue"] == len(writes)
    kr = next(k for o in report["objectives"] for k in o["key_results"] if k["id"] == follows)
    assert kr["current"] == 3.5 and kr["progress"] == 0.5

    fake.reset_counts()
    code, report, _ = _run(capsys, path)
    assert code == 0 and [w for w in report["writes"] if w["source"] == "goals"] == []
    assert dict(fake.calls) == {"GET goals": 1} and report["api_calls"]["asana"] == 1


def test_dry_run_writes_nothing_and_a_refused_token_fails_only_its_source(tmp_path, fake, capsys, monkeypatch):
    ws, _ = _goals(fake)
    path = _config(tmp_path, fake, ws)
    code, report, _ = _run(capsys, path, "--dry-run")
    assert code == 0 and report["writes"] and fake.calls["PUT goal"] == 0

    monkeypatch.setenv("ASANA_TOKEN", "0/not-a-token")
    code, report, err = _run(capsys, path)
    assert code == 1
    (error,) = report["errors"]
    assert error["source"] == "goals" and "refused the token in ASANA_TOKEN" in error["message"]
    assert "not-a-token" not in json.dumps(report) + err
    assert [k["name"] for k in report["kpis"]] == ["Churn"]  # the CSV still synced


def test_check_says_what_is_wrong(tmp_path, fake, capsys):
    free = fake.add_workspace("Free", paid=False)
    path = _config(tmp_path, fake, free)
    code = main(["check", "--config", str(path)])
    out, err = capsys.readouterr()
    assert code == 1 and "Goals need a paid Asana plan" in out + err


def test_config_requires_the_workspace_and_knows_the_keys(tmp_path, fake, capsys):
    path = tmp_path / "syncd.toml"
    path.write_text('[[okrs]]\ntype = "asana"\nname = "goals"\nprojekt = "x"\n')
    code = main(["sync", "--config", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and "okrs[0].workspace: missing" in err and "okrs[0].projekt: unknown key" in err
