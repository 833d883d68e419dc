"""Two sources in one spreadsheet: one read and one write for both.

A ``[[kpis]]`` on worksheet "KPIs" and an ``[[okrs]]`` on worksheet "OKRs" of
the same spreadsheet, synced with `syncd sync --format json` against the fake:
the spreadsheet sees one metadata call, one values:batchGet, one
values:batchUpdate and (colour on both) one spreadsheets:batchUpdate per run,
and a failure of that shared write is reported for both sources' items.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import syncd.connectors.sheets.source as sheets
from syncd.cli import main
from syncd.http import RetryPolicy
from tests.fakes.sheets import FakeSheets

KEY = "1SharedSheetKeyAbCdEfGhIj"
NOW = "2026-11-15T09:00:00Z"
KPIS = [
    ["KPI", "Value", "Direction", "Green", "Red", "Status"],
    ["Payroll accuracy", "99.6%", "higher", "99.5", "99", ""],
    ["Retention", "80%", "higher", "85", "75", ""],
    ["Churn", "9%", "lower", "3", "5", ""],
]
OKRS = [
    ["Objective", "Key result", "Start", "Target", "Current", "Cycle", "Progress", "Status"],
    ["Delight customers", "Raise NPS", "20", "40", "28", "2026-Q4", "", ""],
    ["Delight customers", "Cut time to first value", "21", "12", "15", "2026-Q4", "", ""],
]
ATTEMPTS = 3


@pytest.fixture
def fake(sheets_fake: FakeSheets, monkeypatch: pytest.MonkeyPatch) -> FakeSheets:
    monkeypatch.setattr(
        RetryPolicy,
        "from_config",
        classmethod(lambda cls, config: cls(attempts=ATTEMPTS, initial=0.001, max_backoff=0.01, sleep=lambda s: None)),
    )
    return sheets_fake


def write_config(fake: FakeSheets, tmp_path: Path, extra: str = "") -> Path:
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
colour = true
{extra}""")
    return toml


def sync(capsys: pytest.CaptureFixture[str], toml: Path) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["sync", "--config", str(toml), "--now", NOW, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def background(fake: FakeSheets, ref: str) -> dict[str, float] | None:
    cell = fake.cell(KEY, ref)
    return ((cell.format if cell else None) or {}).get("backgroundColor")


def test_two_sources_of_one_spreadsheet_are_written_in_one_batch_update(
    fake: FakeSheets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": KPIS, "OKRs": OKRS})
    toml = write_config(fake, tmp_path)

    code, out = sync(capsys, toml)

    assert code == 0, out["errors"]
    assert fake.calls["spreadsheets.get"] == 1 and fake.calls["values.batchGet"] == 1  # 2 reads for both
    assert fake.calls["values.batchUpdate"] == 1  # 1 values write for both
    assert fake.calls["spreadsheets.batchUpdate"] == 1  # 1 colour call for both
    assert out["api_calls"] == {"sheets": 4}
    assert [fake.shown(KEY, f"KPIs!F{r}") for r in (2, 3, 4)] == ["Green", "Amber", "Red"]
    assert [fake.shown(KEY, f"OKRs!G{r}") for r in (2, 3)] == ["40%", "66.7%"]
    assert fake.shown(KEY, "OKRs!H2") in {"On track", "At risk", "Off track"}
    assert {w["source"] for w in out["writes"]} == {"kpi-sheet", "okr-sheet"}
    assert out["sources"]["kpi-sheet"]["writes"] + out["sources"]["okr-sheet"]["writes"] == len(out["writes"])
    body = json.loads(next(r for r in fake.log if r.path.endswith("values:batchUpdate")).body)
    assert {d["range"].split("!")[0] for d in body["data"]} == {"'KPIs'", "'OKRs'"}
    kpi_green, okr_colour = background(fake, "KPIs!F2"), background(fake, "OKRs!H2")
    assert kpi_green and kpi_green["green"] > kpi_green["red"]
    assert okr_colour is not None  # both worksheets coloured by the one call
    colour_body = json.loads(next(r for r in fake.log if r.path.endswith(f"{KEY}:batchUpdate")).body)
    sheet_ids = {req["repeatCell"]["range"]["sheetId"] for req in colour_body["requests"]}
    assert len(sheet_ids) == 2

    fake.reset_counts()
    code, again = sync(capsys, toml)
    assert code == 0 and again["writes"] == []
    assert fake.reads == 2 and fake.writes == 0


def test_missing_columns_on_both_worksheets_get_room_in_one_call_before_the_values(
    fake: FakeSheets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kpis = [row[:5] for row in KPIS]  # no Status column, and no room for one
    okrs = [row[:6] for row in OKRS]  # no Progress, no Status, and no room for them
    book = fake.add_spreadsheet(KEY, {"KPIs": kpis, "OKRs": okrs}, cols=6)
    book.sheets[0].cols = 5
    toml = write_config(fake, tmp_path)

    code, out = sync(capsys, toml)

    assert code == 0, out["errors"]
    posts = [r.path.rsplit("/", 1)[-1] for r in fake.log if r.path.endswith("batchUpdate")]
    assert posts == [f"{KEY}:batchUpdate", "values:batchUpdate"]  # room (and colours) first, then the values
    room = {
        req["appendDimension"]["sheetId"]: req["appendDimension"]["length"]
        for req in json.loads(fake.log[-2].body)["requests"]
        if "appendDimension" in req
    }
    assert room == {book.sheets[0].sheet_id: 1, book.sheets[1].sheet_id: 2}
    assert [s.cols for s in book.sheets] == [6, 8]
    assert fake.shown(KEY, "KPIs!F1") == "Status" and fake.shown(KEY, "KPIs!F2") == "Green"
    assert fake.shown(KEY, "OKRs!G1") == "Progress" and fake.shown(KEY, "OKRs!G2") == "40%"


def test_a_failed_shared_write_fails_both_sources_items_while_a_csv_source_syncs(
    fake: FakeSheets, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": KPIS, "OKRs": OKRS})
    csv = tmp_path / "local.csv"
    csv.write_text("KPI,Value,Direction,Green,Red,Status\nUptime,99.9%,higher,99.5,99,\n")
    toml = write_config(fake, tmp_path, '\n[[kpis]]\nname = "local"\ntype = "csv"\npath = "local.csv"\n')
    before = {t: fake.snapshot(KEY, t) for t in ("KPIs", "OKRs")}
    real = sheets.Transport.values_batch_update

    def while_down(self: Any, *args: Any, **kwargs: Any) -> Any:
        fake.down = 500  # the reads went through; the service is down when the write goes out
        return real(self, *args, **kwargs)

    monkeypatch.setattr(sheets.Transport, "values_batch_update", while_down)

    code, out = sync(capsys, toml)

    assert code == 1
    by_source = {e["source"]: e["message"] for e in out["errors"]}
    assert set(by_source) == {"kpi-sheet", "okr-sheet"}
    for name, worksheet in (("kpi-sheet", "KPIs"), ("okr-sheet", "OKRs")):
        message = by_source[name]
        assert message.startswith("nothing written:") and "500" in message and KEY in message, message
        assert f"({worksheet})" in message  # each worded for its own worksheet
    assert fake.calls["values.batchUpdate"] == ATTEMPTS  # sent once (retried), not once per source
    assert fake.calls["spreadsheets.batchUpdate"] == 0
    assert {w["source"] for w in out["writes"]} == {"local"}
    assert out["sources"]["kpi-sheet"]["outcome"] == out["sources"]["okr-sheet"]["outcome"] == "failed"
    assert out["sources"]["local"]["outcome"] == "ok"
    assert "Green" in csv.read_text()  # the CSV source still synced
    assert {t: fake.snapshot(KEY, t) for t in ("KPIs", "OKRs")} == before


def test_when_only_the_colours_fail_the_values_stay_written_and_both_sources_are_told(
    fake: FakeSheets, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": KPIS, "OKRs": OKRS})
    toml = write_config(fake, tmp_path)
    real = sheets.Transport.values_batch_update

    def then_down(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = real(self, *args, **kwargs)
        fake.down = 503
        return answer

    monkeypatch.setattr(sheets.Transport, "values_batch_update", then_down)

    code, out = sync(capsys, toml)

    assert code == 1
    assert {e["source"] for e in out["errors"]} == {"kpi-sheet", "okr-sheet"}
    assert all(e["message"].startswith("status written, but not coloured") for e in out["errors"])
    assert fake.shown(KEY, "KPIs!F2") == "Green" and fake.shown(KEY, "OKRs!G2") == "40%"
    assert {w["source"] for w in out["writes"]} == {"kpi-sheet", "okr-sheet"}  # the values did go out
    assert fake.calls["values.batchUpdate"] == 1


def test_outside_an_engine_pass_write_sends_at_once(fake: FakeSheets, tmp_path: Path) -> None:
    from syncd.config import load_config
    from syncd.model import Patch
    from syncd.source import SourceContext

    fake.add_spreadsheet(KEY, {"KPIs": KPIS, "OKRs": OKRS})
    config = load_config(write_config(fake, tmp_path))

    class NoCache:
        def get(self, source: str, key: str, default: object = None) -> object:
            return default

        def put(self, source: str, key: str, value: object) -> None:
            pass

    ctx = SourceContext(
        config=config, cache=NoCache(), env={"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "sa.json")}
    )
    table = sheets.open("kpis", config.kpis[0], ctx)  # outside a pass: nobody will flush
    kpi = table.read().kpis[0]

    assert table.write([Patch(table.name, kpi.id, "status", None, "Green", kpi.ref, colour="green")]) == []

    assert fake.shown(KEY, "KPIs!F2") == "Green"
    assert fake.calls["values.batchUpdate"] == 1 and fake.calls["spreadsheets.batchUpdate"] == 1
    assert table.flush() == [] and fake.writes == 2  # nothing left to send
    table.close()
