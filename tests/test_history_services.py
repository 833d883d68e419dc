"""A simulated quarter of weekly ``syncd sync --now`` passes on the Notion and Trello fakes.

The parent comes from a Notion ``Parent`` relation and from a Trello ``Parent``
text custom field (naming the parent by title); key results
are updated weekly by "people" through the fakes' edit calls; the forecast,
``forecast_short`` and ``no_check_in`` follow from the recorded history.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.cli import main
from tests.fakes.notion import NotionFake
from tests.fakes.trello import TrelloFake
from tests.test_notion import TOKEN

START = datetime(2026, 10, 5, 9, tzinfo=UTC)
WEEKS = 10
LINE_AT_END = 0.04 * (datetime(2027, 1, 1, tzinfo=UTC) - START) / timedelta(weeks=1)  # 0.04 progress a week


def when(week: int) -> str:
    return (START + timedelta(weeks=week)).isoformat().replace("+00:00", "Z")


def _sync(capsys, config: Path, week: int) -> dict:
    capsys.readouterr()
    code = main(["sync", "--config", str(config), "--now", when(week), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out["errors"]
    return out


def _warned(out: dict, code: str) -> set[str]:
    return {w["item"] for w in out["warnings"] if w["code"] == code}


def _kr(out: dict, kr_id: str) -> dict:
    return next(kr for o in out["objectives"] for kr in o["key_results"] if kr["id"] == kr_id)


def _objective(out: dict, oid: str) -> dict:
    return next(o for o in out["objectives"] if o["id"] == oid)


def _check_quarter(outs: list[dict], company: str, team: str, moving: str, stuck: str) -> None:
    """What every service's quarter shows, whatever the service."""
    for out in outs:
        assert _objective(out, team)["parent"] == company and team in _objective(out, company)["children"]
        assert not _warned(out, "unknown_parent")
    # The moving key result: a straight line from week 2 on (3 points over 14 days), ending at 0.50.
    forecasts = [_kr(o, moving)["forecast"] for o in outs]
    assert forecasts[:2] == [None, None] and forecasts[2:] == [pytest.approx(LINE_AT_END, abs=0.0005)] * (WEEKS - 2)
    short = [company in _warned(o, "forecast_short") for o in outs]
    statuses = [_objective(o, company)["status"] for o in outs]
    assert short == [s == "on_track" and i >= 2 for i, s in enumerate(statuses)] and short[2:6] == [True] * 4
    # The stuck key result: never updated since week 0; flagged from 14 days on.
    assert [stuck in _warned(o, "no_check_in") for o in outs] == [False, False] + [True] * (WEEKS - 2)
    assert moving not in set().union(*(_warned(o, "no_check_in") for o in outs))


# --- Notion --------------------------------------------------------------------------------------


@pytest.fixture
def notion():
    with NotionFake((TOKEN,)) as f:
        yield f


def test_a_quarter_on_notion_with_a_parent_relation(notion, tmp_path, monkeypatch, capsys):
    fake = notion
    fake.now = START - timedelta(days=1)
    ods = fake.new_id()
    odb, _ = fake.add_database("Objectives", {
        "Name": "title", "Cycle": ("select", ["2026-Q4"]), "Parent": ("relation", ods),
        "Score": ("number", {"format": "percent"}),
    }, ds_id=ods)  # fmt: skip
    kdb, kds = fake.add_database("Key results", {
        "Name": "title", "Objective": ("relation", ods), "Start": "number", "Target": "number", "Current": "number",
        "Progress": ("number", {"format": "percent"}),
    })  # fmt: skip
    company = fake.add_page(ods, {"Name": "Grow revenue", "Cycle": "2026-Q4"})
    team = fake.add_page(ods, {"Name": "Win enterprise deals", "Cycle": "2026-Q4", "Parent": [company]})
    moving = fake.add_page(kds, {"Name": "Raise ARR", "Objective": [company], "Start": 0, "Target": 100, "Current": 0})
    stuck = fake.add_page(kds, {"Name": "Close deals", "Objective": [team], "Start": 0, "Target": 10, "Current": 3})
    monkeypatch.setenv("NOTION_TOKEN", TOKEN)
    config = tmp_path / "syncd.toml"
    config.write_text(
        f"""
[syncd]
state = "state.db"

[limits]
notion_per_second = 2000

[[okrs]]
type = "notion"
name = "product"
objectives = "{odb}"
key_results = "{kdb}"
base_url = "{fake.url}"
""",
        encoding="utf-8",
    )
    outs = []
    for week in range(WEEKS):
        fake.now = START + timedelta(weeks=week) - timedelta(hours=1)
        fake.edit(moving, {"Current": 4 * week})  # a person checks in every week
        fake.now += timedelta(hours=1)
        outs.append(_sync(capsys, config, week))
    _check_quarter(outs, company, team, moving, stuck)


# --- Trello --------------------------------------------------------------------------------------


@pytest.fixture
def trello(monkeypatch):
    with TrelloFake() as f:
        f.period = 0.02
        monkeypatch.setenv("TRELLO_API_KEY", f.key)
        monkeypatch.setenv("TRELLO_TOKEN", f.token)
        yield f


def test_a_quarter_on_trello_with_a_parent_custom_field(trello, tmp_path, capsys):
    fake = trello
    board = fake.add_board("Sales OKRs")
    head = fake.add_label(board, "Objective", "purple")
    for f in ("Start", "Target", "Current", "Progress", "Score"):
        fake.add_field(board, f, "number")
    for f in ("Cycle", "Parent"):
        fake.add_field(board, f, "text")
    company_list = fake.add_list(board, "Grow revenue")  # the board's own objective, moving
    fake.add_card(company_list, "Grow revenue", labels=[head], fields={"Cycle": "2026-Q4"})
    moving = fake.add_card(company_list, "Raise ARR", fields={"Start": 0, "Target": 100, "Current": 0})
    team_list = fake.add_list(board, "Win enterprise deals")
    fake.add_card(
        team_list, "Win enterprise deals", labels=[head], fields={"Cycle": "2026-Q4", "Parent": "grow revenue"}
    )
    stuck = fake.add_card(team_list, "Close deals", fields={"Start": 0, "Target": 10, "Current": 3})
    config = tmp_path / "syncd.toml"
    config.write_text(
        f"""
[syncd]
state = "state.db"

[limits]
trello_per_10s = 1000000
trello_key_per_10s = 1000000

[[okrs]]
type = "trello"
name = "sales-board"
board = "{board}"
base_url = "{fake.url}"
""",
        encoding="utf-8",
    )
    outs = []
    for week in range(WEEKS):
        fake.set_value(moving, "Current", 4 * week)
        outs.append(_sync(capsys, config, week))
    _check_quarter(outs, company_list, team_list, moving, stuck)
