"""``syncd sync`` end to end with a Trello board on the fake and a local CSV of KPIs."""

from __future__ import annotations

import json

import pytest

from syncd.cli import main
from tests.fakes.trello import TrelloFake
from tests.trello_helpers import kpis_and_board, okr_board

NOW = "2026-11-15T12:00:00Z"


@pytest.fixture(scope="module")
def server():
    with TrelloFake() as f:
        yield f


@pytest.fixture
def fake(server, monkeypatch):
    server.reset()
    server.period = 0.02
    monkeypatch.setenv("TRELLO_API_KEY", server.key)
    monkeypatch.setenv("TRELLO_TOKEN", server.token)
    yield server


def _config(tmp_path, fake, board, extra=""):
    (tmp_path / "kpis.csv").write_text("KPI,Value,Direction,Green,Red,Status\nChurn,3.5,lower,3,5,\n")
    okr = f'cycle = "2026-Q4"\n{extra}'
    path = tmp_path / "syncd.toml"
    path.write_text(f"""
[syncd]
state = "state.db"
{kpis_and_board(fake, board, per_10s=1_000_000, okr=okr)}""")
    return path


def _run(capsys, path, *more):
    code = main(["sync", "--config", str(path), "--now", NOW, "--format", "json", *more])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def _board(fake):
    board = okr_board(fake, 3, 12)
    lst = next(iter(fake.lists))
    follows = fake.add_card(lst, "Cut churn", fields={"KPI": "Churn", "Start": 5, "Target": 2, "Current": 5})
    return board, follows


def test_sync_writes_the_board_then_nothing(tmp_path, fake, capsys):
    board, follows = _board(fake)
    path = _config(tmp_path, fake, board)
    code, report, _ = _run(capsys, path)
    assert code == 0, report["errors"]
    assert report["api_calls"]["trello"] == 1 + fake.calls["PUT card customFields"] + fake.calls["POST card idLabels"]
    assert fake.calls["GET board"] == 1
    trello_writes = [w for w in report["writes"] if w["source"] == "okr-board"]
    assert {w["field"] for w in trello_writes} == {"status", "progress", "score", "current"}
    assert fake.value(follows, "Current") == "3.5" and fake.value(follows, "Progress") == "0.5"
    titles = [o["title"] for o in report["objectives"]]
    assert titles == ["Objective 1", "Objective 2", "Objective 3"]

    fake.reset_counts()
    code, report, _ = _run(capsys, path)
    assert code == 0 and report["writes"] == [] and report["api_calls"] == {"trello": 1}
    assert dict(fake.calls) == {"GET board": 1}


def test_dry_run_writes_nothing_anywhere(tmp_path, fake, capsys):
    board, _ = _board(fake)
    path = _config(tmp_path, fake, board)
    code, report, _ = _run(capsys, path, "--dry-run")
    assert code == 0 and report["writes"]
    assert dict(fake.calls) == {"GET board": 1}
    assert "Status" in (tmp_path / "kpis.csv").read_text() and "Amber" not in (tmp_path / "kpis.csv").read_text()


def test_a_bad_token_fails_that_source_while_the_others_sync(tmp_path, fake, capsys, monkeypatch):
    board, _ = _board(fake)
    monkeypatch.setenv("TRELLO_TOKEN", "revoked-token-0123456789")
    path = _config(tmp_path, fake, board)
    code, report, err = _run(capsys, path)
    assert code == 1
    [error] = [e for e in report["errors"] if e["source"] == "okr-board"]
    assert "401" in error["message"] and "check TRELLO_TOKEN" in error["message"]
    assert [k["status"] for k in report["kpis"]] == ["amber"]
    assert "Amber" in (tmp_path / "kpis.csv").read_text()  # the CSV source still synced
    assert "revoked-token-0123456789" not in json.dumps(report) + err


def test_created_labels_and_fields_are_reported(tmp_path, fake, capsys):
    board = okr_board(fake, 1, 2, labels=False, fields=False)
    path = _config(tmp_path, fake, board)
    code, report, _ = _run(capsys, path)
    assert code == 0
    notes = report.get("sources", {}).get("okr-board", {}).get("notes", [])
    assert 'created label "On track" (green) on board "OKRs 2026"' in notes
