"""End to end: `syncd sync --format json` with a Sheets KPI and OKR source
pointed (base_url) at the fake, credentials from a service-account file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncd.cli import main
from tests.fakes.sheets import FakeSheets

KEY = "1CliSheetKeyAbCdEfGhIjKl"


@pytest.fixture
def setup(tmp_path: Path, sheets_fake: FakeSheets) -> Any:
    fake = sheets_fake
    fake.add_spreadsheet(
        KEY,
        {
            "KPIs": [
                ["KPI", "Value", "Direction", "Green", "Red", "Status", "Comment"],
                ["Payroll accuracy", "99.6%", "higher", "99.5", "99", "", "=1+1"],
                ["Retention", "80%", "higher", "85", "75", "Amber", "keep"],
            ],
            "OKRs": [
                ["Objective", "Key result", "Start", "Target", "Current", "KPI", "Cycle", "Progress", "Status"],
                ["Keep customers", "Raise retention", "75%", "85%", "", "Retention", "2026-Q4", "", ""],
            ],
        },
    )
    toml = tmp_path / "syncd.toml"
    toml.write_text(f"""
[syncd]
state = "state.db"

[limits]
sheets_per_minute = 100000

[[kpis]]
name = "kpi-sheet"
type = "sheets"
spreadsheet = "https://docs.google.com/spreadsheets/d/{KEY}/edit"
worksheet = "KPIs"
base_url = "{fake.url}"
colour = true

[[okrs]]
name = "okr-sheet"
type = "sheets"
spreadsheet = "{KEY}"
worksheet = "OKRs"
base_url = "{fake.url}"
""")
    yield fake, toml


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_sync_writes_status_progress_and_current_then_nothing(setup: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fake, toml = setup
    code, out = run(capsys, "sync", "--config", str(toml), "--now", "2026-11-15T09:00:00Z", "--format", "json")

    assert code == 0, out["errors"]
    statuses = {k["name"]: k["status"] for k in out["kpis"]}
    assert statuses == {"Payroll accuracy": "green", "Retention": "amber"}
    assert fake.shown(KEY, "KPIs!F2") == "Green" and fake.shown(KEY, "KPIs!F3") == "Amber"
    assert fake.cell(KEY, "KPIs!G2").formula == "=1+1"
    kr = out["objectives"][0]["key_results"][0]
    assert kr["current"] == pytest.approx(80) and kr["progress"] == pytest.approx(0.5)
    assert fake.shown(KEY, "OKRs!E2") == "80" and fake.shown(KEY, "OKRs!H2") == "50%"
    assert {(w["source"], w["field"]) for w in out["writes"]} >= {("kpi-sheet", "status"), ("okr-sheet", "progress")}
    # one metadata + one batchGet for both worksheets; one values write for both; one colour call
    assert fake.calls["spreadsheets.get"] == 1 and fake.calls["values.batchGet"] == 1
    assert fake.calls["values.batchUpdate"] == 1 and fake.calls["spreadsheets.batchUpdate"] == 1
    assert out["api_calls"] == {"sheets": 4}

    fake.reset_counts()
    code, again = run(capsys, "sync", "--config", str(toml), "--now", "2026-11-15T09:00:00Z", "--format", "json")
    assert code == 0 and again["writes"] == [] and fake.writes == 0


def test_dry_run_shows_writes_and_a_broken_source_exits_1(setup: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fake, toml = setup
    code, out = run(
        capsys, "sync", "--config", str(toml), "--dry-run", "--now", "2026-11-15T09:00:00Z", "--format", "json"
    )
    assert code == 0 and out["writes"] and fake.writes == 0

    fake.books[KEY].private = True
    code, out = run(capsys, "sync", "--config", str(toml), "--now", "2026-11-15T09:00:00Z", "--format", "json")
    assert code == 1
    assert all("share the spreadsheet with syncd-test@" in e["message"] for e in out["errors"])
    assert "PRIVATE KEY" not in json.dumps(out)
