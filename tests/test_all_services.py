"""One ``syncd sync`` over every kind of source at once, as a team would run it:
KPIs in Google Sheets and a CSV, OKRs in Notion and on a Trello board, a Trello
key result following a KPI that lives in the sheet, and one service failing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.notion import NotionFake, okr_workspace
from tests.fakes.sheets import FakeSheets
from tests.fakes.trello import TrelloFake
from tests.trello_helpers import okr_board

NOW = "2026-11-15T12:00:00Z"
NOTION_TOKEN = "secret_all_services"
SHEET = "1AllServicesSheetKeyAbCd"


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sheets_fake: FakeSheets):
    gsheets = sheets_fake
    with NotionFake((NOTION_TOKEN,)) as notion, TrelloFake() as trello:
        gsheets.add_spreadsheet(
            SHEET,
            {
                "KPIs": [
                    ["KPI", "Value", "Direction", "Green", "Red", "Status"],
                    ["Retention", "82%", "higher", "85", "75", ""],
                ]
            },
        )
        ws = okr_workspace(notion, objectives=2, key_results=6)
        notion.advance(hours=1)
        board = okr_board(trello, 1, 2)
        follower = trello.add_card(
            next(iter(trello.lists)),
            "Raise retention from 75% to 85%",
            fields={"Start": 75, "Target": 85, "KPI": "Retention"},
        )
        (tmp_path / "kpis.csv").write_text("KPI,Value,Direction,Green,Red,Status\nChurn,3.5,lower,3,5,\n")
        monkeypatch.setenv("NOTION_TOKEN", NOTION_TOKEN)
        monkeypatch.setenv("TRELLO_API_KEY", trello.key)
        monkeypatch.setenv("TRELLO_TOKEN", trello.token)
        config = tmp_path / "syncd.toml"
        config.write_text(f"""
[syncd]
state = "state.db"
retries = 2

[limits]
sheets_per_minute = 100000
notion_per_second = 2000
trello_per_10s = 1000000
trello_key_per_10s = 1000000

[[kpis]]
name = "finance"
type = "sheets"
spreadsheet = "{SHEET}"
base_url = "{gsheets.url}"

[[kpis]]
name = "ops"
type = "csv"
path = "kpis.csv"

[[okrs]]
name = "product"
type = "notion"
objectives = "{ws["objectives_db"]}"
key_results = "{ws["key_results_db"]}"
base_url = "{notion.url}"

[[okrs]]
name = "sales"
type = "trello"
board = "{board}"
base_url = "{trello.url}"
cycle = "2026-Q4"
""")
        yield config, gsheets, notion, trello, follower


def test_every_service_syncs_in_one_pass_and_a_second_pass_writes_nothing(team, syncd):
    config, gsheets, notion, trello, follower = team
    run = syncd("sync", "--config", config, "--now", NOW, "--format", "json")
    assert run.code == 0, run.json["errors"]
    out = run.json
    assert set(out["api_calls"]) == {"sheets", "notion", "trello"}
    assert {w["source"] for w in out["writes"]} == {"finance", "ops", "product", "sales"}
    # The Trello card follows a KPI that lives in the Google sheet.
    assert trello.value(follower, "Current") == "82"
    assert trello.value(follower, "Progress") == "0.7"
    assert gsheets.shown(SHEET, "KPIs!F2") == "Amber"
    assert (config.parent / "kpis.csv").read_text().endswith("Churn,3.5,lower,3,5,Amber\n")

    again = syncd("sync", "--config", config, "--now", NOW, "--format", "json")
    assert again.code == 0 and again.json["writes"] == []


def test_a_service_that_refuses_its_token_fails_alone(team, syncd, monkeypatch):
    config, gsheets, notion, trello, follower = team
    monkeypatch.setenv("NOTION_TOKEN", "secret_revoked")
    run = syncd("sync", "--config", config, "--now", NOW, "--format", "json")
    assert run.code == 1
    (error,) = run.json["errors"]
    assert error["source"] == "product" and "NOTION_TOKEN" in error["message"]
    assert "secret_revoked" not in run.out + run.err
    assert {w["source"] for w in run.json["writes"]} == {"finance", "ops", "sales"}
    assert trello.value(follower, "Current") == "82"
