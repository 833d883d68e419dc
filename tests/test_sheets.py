"""Google Sheets source: gspread over real sockets against the loopback fake.

What a user sees: the items read (values as the sheet shows them), the cells
written (only changed ones, nothing else touched), the calls made (the floor),
and clear messages naming spreadsheet, worksheet and cell when things fail.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import syncd.connectors.sheets.source as sheets
from syncd import engine
from syncd.config import Config
from syncd.connectors import REGISTRY
from syncd.http import UTILISATION, Pacer, RetryPolicy, Runtime
from syncd.source import Deferred, SourceContext, SourceError
from tests.fakes.sheets import FakeSheets

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
KEY = "1KpiSheetKeyAbCdEfGhIjKlMnOp"
HEADER = ["KPI", "Value", "Unit", "Direction", "Green", "Red", "Owner", "Status", "Notes"]


def kpi_rows(n: int) -> list[list[Any]]:
    """n KPI rows cycling through green / amber / red, with a formula in Notes."""
    values = ["99.6%", "98.0%", "90.1%"]
    return [HEADER] + [
        [f"KPI {i}", values[i % 3], "%", "higher", "99.5", "95", "ops", "", f"={i}+1"] for i in range(1, n + 1)
    ]


class _Cache:
    def get(self, source: str, key: str, default: object = None) -> object:
        return default

    def put(self, source: str, key: str, value: object) -> None:
        pass


@pytest.fixture
def fake() -> Any:
    with FakeSheets() as f:
        yield f


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries in the engine use a test-sized policy whose waits are recorded, not slept."""
    waits: list[float] = []
    monkeypatch.setattr(
        RetryPolicy,
        "from_config",
        classmethod(
            lambda cls, config: cls(
                attempts=config.syncd.retries,
                initial=0.01,
                max_backoff=0.05,
                max_wait=config.syncd.max_retry_wait.total_seconds(),
                sleep=waits.append,
            )
        ),
    )
    return waits


@pytest.fixture
def env(fake: FakeSheets, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(fake.service_account()))
    return {"GOOGLE_APPLICATION_CREDENTIALS": str(path)}


def config(
    fake: FakeSheets, tmp_path: Path, kpis: list[dict[str, Any]] = (), okrs: list[dict[str, Any]] = (), **syncd: Any
) -> Config:
    def table(d: dict[str, Any]) -> dict[str, Any]:
        return {"type": "sheets", "base_url": fake.url, **d}

    return Config(
        kpis=[table(d) for d in kpis],
        okrs=[table(d) for d in okrs],
        limits={"sheets_per_minute": 1_000_000},
        syncd={"state": str(tmp_path / "state.db"), **syncd},
    )


def source(
    fake: FakeSheets,
    tmp_path: Path,
    env: dict[str, str],
    *,
    role: str = "kpis",
    policy: RetryPolicy | None = None,
    pacer: Pacer | None = None,
    runtime: Runtime | None = None,
    **table: Any,
) -> sheets.SheetsTable:
    table = {"name": "kpi-sheet", "spreadsheet": KEY, **table}
    cfg = config(fake, tmp_path, **{role: [table]})
    ctx = SourceContext(config=cfg, cache=_Cache(), env=env, runtime=runtime)  # type: ignore[arg-type]
    policy = policy or RetryPolicy(attempts=4, initial=0.001, max_backoff=0.01, sleep=lambda s: None)
    return sheets.SheetsTable(role, (cfg.kpis or cfg.okrs)[0], ctx, policy=policy, pacer=pacer)  # type: ignore[arg-type]


def sync(config: Config, **kw: Any) -> Any:
    return engine.sync(config, registry=REGISTRY, **kw)


def by_name(report: Any) -> dict[str, Any]:
    return {k.name: k for k in report.evaluation.kpis}


# --- the floor -------------------------------------------------------------------------


def test_a_5000_row_sync_makes_two_reads_and_one_write_and_a_rerun_writes_nothing(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str], sleeps: list[float]
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(5000)})
    before = fake.snapshot(KEY, "KPIs")
    cfg = config(fake, tmp_path, kpis=[{"name": "kpi-sheet", "spreadsheet": KEY}])

    report = sync(cfg, now=NOW, env=env)

    assert report.errors == []
    assert fake.calls["spreadsheets.get"] == 1 and fake.calls["values.batchGet"] == 1
    assert fake.calls["values.batchUpdate"] == 1 and fake.writes == 1
    assert fake.calls["token"] == 1
    assert report.api_calls == {"sheets": 3}
    assert len(report.writes) == 5000
    assert [fake.shown(KEY, f"KPIs!H{r}") for r in (2, 3, 4)] == ["Amber", "Red", "Green"]
    after = fake.snapshot(KEY, "KPIs")
    for r, (old, new) in enumerate(zip(before, after)):  # only the Status column changed
        assert [c for i, c in enumerate(old) if i != 7] == [c for i, c in enumerate(new) if i != 7], r
    assert fake.cell(KEY, "KPIs!I2").formula == "=1+1"

    fake.reset_counts()
    again = sync(cfg, now=NOW, env=env)
    assert again.writes == [] and again.errors == []
    assert fake.reads == 2 and fake.writes == 0


def test_only_changed_cells_are_written(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str], sleeps: list[float]
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(300)})
    cfg = config(fake, tmp_path, kpis=[{"name": "kpi-sheet", "spreadsheet": KEY}])
    sync(cfg, now=NOW, env=env)
    book = fake.books[KEY]
    from tests.fakes.sheets import typed

    for row in (10, 20, 31):  # people edit three values (none was red)
        book.sheets[0].put(row - 1, 1, typed("10%", "en_US"))
    fake.reset_counts()

    report = sync(cfg, now=NOW, env=env)

    assert sorted(p.ref for p in report.writes) == [10, 20, 31]
    body = json.loads(next(r for r in fake.log if r.path.endswith("values:batchUpdate")).body)
    assert [d["range"] for d in body["data"]] == ["'KPIs'!H10", "'KPIs'!H20", "'KPIs'!H31"]
    assert body["valueInputOption"] == "RAW"
    assert fake.writes == 1


def test_colours_cost_one_call_and_touch_only_changed_status_cells(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str], sleeps: list[float]
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(30)})
    cfg = config(fake, tmp_path, kpis=[{"name": "kpi-sheet", "spreadsheet": KEY, "colour": True}])

    sync(cfg, now=NOW, env=env)

    assert fake.calls["values.batchUpdate"] == 1 and fake.calls["spreadsheets.batchUpdate"] == 1
    colours = {r: (fake.cell(KEY, f"KPIs!H{r}").format or {}).get("backgroundColor") for r in (2, 3, 4)}
    assert colours[4]["green"] > colours[4]["red"] and colours[3]["red"] > colours[3]["green"]
    assert fake.cell(KEY, "KPIs!G2").format is None  # the Owner cell beside it is not coloured
    fake.reset_counts()
    sync(cfg, now=NOW, env=env)
    assert fake.writes == 0


def test_a_missing_status_column_is_created_at_the_end_of_the_header_in_the_same_batch(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str], sleeps: list[float]
) -> None:
    rows = [["KPI", "Value", "Direction", "Green", "Red"], ["Uptime", "99.9%", "higher", "99.5", "99"]]
    fake.add_spreadsheet(KEY, {"KPIs": rows})
    cfg = config(fake, tmp_path, kpis=[{"name": "kpi-sheet", "spreadsheet": KEY}])

    report = sync(cfg, now=NOW, env=env)

    assert report.errors == []
    assert fake.shown(KEY, "KPIs!F1") == "Status" and fake.shown(KEY, "KPIs!F2") == "Green"
    assert fake.writes == 1


def test_a_full_grid_gets_room_for_the_new_column_first(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str], sleeps: list[float]
) -> None:
    rows = [["KPI", "Value", "Direction", "Green", "Red"], ["Uptime", "99.9%", "higher", "99.5", "99"]]
    fake.add_spreadsheet(KEY, {"KPIs": rows}, cols=5)
    cfg = config(fake, tmp_path, kpis=[{"name": "kpi-sheet", "spreadsheet": KEY}])

    report = sync(cfg, now=NOW, env=env)

    assert report.errors == []
    assert fake.books[KEY].sheets[0].cols == 6
    assert fake.shown(KEY, "KPIs!F2") == "Green"
    posts = [r.path.rsplit("/", 1)[-1] for r in fake.log if r.path.endswith("batchUpdate")]
    assert posts == [f"{KEY}:batchUpdate", "values:batchUpdate"]  # room first, then the values
    assert "appendDimension" in fake.log[-2].body.decode()


# --- reading as people see it ----------------------------------------------------------


def test_values_are_read_as_shown_and_errors_name_the_cell(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str]
) -> None:
    rows = [
        ["Payroll accuracy report", "", "", "", ""],  # a title above the table
        [],
        ["KPI", "Value", "Direction", "Green", "Red"],
        ["Accuracy", "99.6%", "higher", "99.5", "99"],
        [],  # a blank row does not end the table
        ["Revenue", "$1,200", "higher", "1.2k", "1000"],
        ["Losses", "(1,234)", "lower", "0", "500"],
        ["Broken", "#N/A", "higher", "1", "0"],
        ["Loading", "Loading...", "higher", "1", "0"],
        ["Dash", "-", "higher", "1", "0"],
        ["Typo", "abc", "higher", "1", "0"],
        ["Minus", "\u22125", "lower", "0", "10"],
        ["Short"],  # a short row: trailing cells empty
    ]
    fake.add_spreadsheet(KEY, {"KPIs": rows})

    result = source(fake, tmp_path, env, header_row=3).read()

    kpis = {k.name: k for k in result.kpis}
    assert kpis["Accuracy"].value == pytest.approx(99.6) and kpis["Accuracy"].green == pytest.approx(99.5)
    assert kpis["Revenue"].value == 1200 and kpis["Revenue"].green == 1200
    assert kpis["Losses"].value == -1234
    assert kpis["Minus"].value == -5
    for name in ("Broken", "Loading", "Dash", "Typo", "Short"):
        assert kpis[name].value is None and kpis[name].value_reason, name
    assert "KPIs!B11" in kpis["Typo"].value_reason
    assert kpis["Accuracy"].where == "KPIs!A4"
    assert "status" in kpis["Accuracy"].written  # the Status column will be created


def test_formatted_percent_against_threshold_is_green(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str], sleeps: list[float]
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": [HEADER, ["Payroll accuracy", "99.6%", "%", "higher", "99.5", "99", "", ""]]})
    cfg = config(fake, tmp_path, kpis=[{"name": "kpi-sheet", "spreadsheet": KEY}])
    report = sync(cfg, now=NOW, env=env)
    assert by_name(report)["Payroll accuracy"].status == "green"
    request = next(r for r in fake.log if r.path.endswith("values:batchGet"))
    assert request.query["valueRenderOption"] == ["FORMATTED_VALUE"]


def test_a_german_sheet_is_read_with_its_locale(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    rows = [["KPI", "Value", "Direction", "Green", "Red"], ["Umsatz", "1.234,5", "higher", "1.000", "900,5"]]
    fake.add_spreadsheet(KEY, {"Kennzahlen": rows}, locale="de_DE")
    kpi = source(fake, tmp_path, env).read().kpis[0]
    assert (kpi.value, kpi.green, kpi.red) == (1234.5, 1000, 900.5)
    assert fake.shown(KEY, "Kennzahlen!B2") == "1.234,5"


def test_a_merged_two_row_header_and_blank_header_cells(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    rows = [
        ["KPI", "Value", "Thresholds", "", "Direction"],
        ["", "", "Green", "Red", "", ""],
        ["Churn", "2%", "3", "5", "lower"],
    ]
    merges = {
        "KPIs": [
            {"startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 1},
            {"startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 1, "endColumnIndex": 2},
            {"startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 2, "endColumnIndex": 4},
            {"startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 4, "endColumnIndex": 5},
        ]
    }
    fake.add_spreadsheet(KEY, {"KPIs": rows}, merges=merges)
    kpi = source(fake, tmp_path, env, header_row=2).read().kpis[0]
    assert (kpi.name, kpi.value, kpi.green, kpi.red, kpi.direction) == ("Churn", 2, 3, 5, "lower")
    assert fake.calls["spreadsheets.get"] == 1


def test_worksheet_by_title_and_spreadsheet_by_url(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    fake.add_spreadsheet(KEY, {"Notes": [["nothing here"]], "Q4 KPIs": kpi_rows(2)})
    url = f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"
    table = source(fake, tmp_path, env, spreadsheet=url, worksheet="Q4 KPIs")
    kpi = table.read().kpis[0]
    assert kpi.where == "'Q4 KPIs'!A2"
    request = next(r for r in fake.log if r.path.endswith("values:batchGet"))
    assert "%27Q4%20KPIs%27" in request.raw_path + json.dumps(request.query) or request.query["ranges"] == ["'Q4 KPIs'"]


def test_an_unknown_worksheet_lists_the_ones_there(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(1), "Old": []})
    with pytest.raises(SourceError) as e:
        source(fake, tmp_path, env, worksheet="KPI").read()
    assert "no worksheet 'KPI'" in str(e.value) and "'KPIs', 'Old'" in str(e.value) and KEY in str(e.value)


def test_two_sources_in_one_spreadsheet_share_one_metadata_and_one_batch_get(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str], sleeps: list[float]
) -> None:
    okrs = [
        ["Objective", "Key result", "Start", "Target", "Current", "Cycle", "Progress", "Status"],
        ["Delight customers", "Raise NPS", "20", "40", "28", "2026-Q4", "", ""],
        ["Delight customers", "Cut time to first value", "21", "12", "15", "2026-Q4", "", ""],
    ]
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(3), "OKRs": okrs})
    cfg = config(
        fake,
        tmp_path,
        kpis=[{"name": "kpi-sheet", "spreadsheet": KEY, "worksheet": "KPIs"}],
        okrs=[{"name": "okr-sheet", "spreadsheet": KEY, "worksheet": "OKRs"}],
    )

    report = sync(cfg, now=NOW, env=env)

    assert report.errors == []
    assert fake.calls["spreadsheets.get"] == 1 and fake.calls["values.batchGet"] == 1
    assert fake.shown(KEY, "OKRs!G2") == "40%"
    assert fake.shown(KEY, "OKRs!G3") == "66.7%"
    assert fake.shown(KEY, "OKRs!H2") in {"On track", "At risk", "Off track"}
    assert fake.calls["values.batchUpdate"] == 1
    assert report.api_calls["sheets"] == 3  # 2 reads, 1 write for both sources
    fake.reset_counts()
    assert sync(cfg, now=NOW, env=env).writes == []
    assert fake.writes == 0


# --- failures --------------------------------------------------------------------------


def test_a_429_storm_is_ridden_out(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(5)})
    fake.storm(3)
    table = source(fake, tmp_path, env, policy=RetryPolicy(attempts=6, initial=0.001, sleep=lambda s: None))
    assert len(table.read().kpis) == 5
    assert fake.responses_429 == 3
    assert table.calls["spreadsheets.get"] == 4  # every attempt counts


def test_an_html_429_is_retried_too(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(1)})
    fake.html_429 = True
    fake.storm(2)
    assert len(source(fake, tmp_path, env).read().kpis) == 1


def test_retry_after_is_obeyed(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(1)})
    fake.retry_after_header = True
    fake.storm(1, retry_after=7)
    waits: list[float] = []
    clock, held = [0.0], []
    pacer = Pacer(1000, 1, clock=lambda: clock[0], sleep=held.append)  # the pause is shared through the pacer
    source(fake, tmp_path, env, policy=RetryPolicy(initial=0.001, sleep=waits.append), pacer=pacer).read()
    assert len(waits) == 1 and 7 <= waits[0] <= 8
    assert held and held[0] == pytest.approx(7)


def test_a_retry_after_beyond_the_policy_defers_the_source(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str]
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(1)})
    fake.retry_after_header = True
    fake.storm(1, retry_after=600)
    with pytest.raises(Deferred) as e:
        source(fake, tmp_path, env, policy=RetryPolicy(max_wait=60, sleep=lambda s: None)).read()
    assert e.value.retry_after == 600


def test_a_503_burst_and_dropped_connections_are_ridden_out(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str]
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(2)})
    table = source(fake, tmp_path, env, policy=RetryPolicy(attempts=6, initial=0.001, sleep=lambda s: None))
    table._client()
    fake.fail_next(3, 503)
    assert len(table.read().kpis) == 2
    fake.drop_next(2)
    assert len(table.read().kpis) == 2


def test_5xx_beyond_the_retry_budget_fails_the_source_clearly(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str]
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(2)})
    table = source(fake, tmp_path, env, policy=RetryPolicy(attempts=3, initial=0.001, sleep=lambda s: None))
    table._client()
    fake.fail_next(10, 503)
    with pytest.raises(SourceError) as e:
        table.read()
    assert KEY in str(e.value) and "503" in str(e.value) and "3 attempts" in str(e.value)
    assert table.calls["spreadsheets.get"] == 3


def test_a_malformed_answer_fails_the_source_clearly(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(2)})
    table = source(fake, tmp_path, env)
    table._client()
    fake.malformed_next(1)
    with pytest.raises(SourceError) as e:
        table.read()
    assert KEY in str(e.value) and "not JSON" in str(e.value)


def test_not_found_and_no_access_say_what_to_do(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(SourceError) as e:
        source(fake, tmp_path, env).read()
    assert KEY in str(e.value) and "not found" in str(e.value)
    fake.add_spreadsheet(KEY, {"KPIs": []}, private=True)
    with pytest.raises(SourceError) as e:
        source(fake, tmp_path, env).read()
    assert "share the spreadsheet with syncd-test@example.iam.gserviceaccount.com" in str(e.value)


def test_credentials_problems_are_clear_and_never_leak_the_key(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str]
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(1)})
    with pytest.raises(SourceError, match="GOOGLE_APPLICATION_CREDENTIALS is not set"):
        source(fake, tmp_path, {}).read()
    with pytest.raises(SourceError, match="does not exist"):
        source(fake, tmp_path, {"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "nope.json")}).read()
    info = fake.service_account()
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**info, "private_key": info["private_key"][:200]}))
    with pytest.raises(SourceError) as e:
        source(fake, tmp_path, {"MY_SA": str(broken)}, credentials_env="MY_SA").read()
    assert (
        "private key" in str(e.value) and "BEGIN" not in str(e.value) and info["private_key"][40:80] not in str(e.value)
    )


def test_an_unreachable_spreadsheet_fails_that_source_while_the_others_sync(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str], sleeps: list[float]
) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(3)})
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    cfg = config(
        fake,
        tmp_path,
        kpis=[
            {"name": "kpi-sheet", "spreadsheet": KEY},
            {"name": "gone", "spreadsheet": "1MissingSheetKeyXyz0123456"},
            {"name": "offline", "spreadsheet": KEY, "base_url": dead},
        ],
    )

    report = sync(cfg, now=NOW, env=env)

    assert report.exit_code == 1
    failed = {e.source: e.message for e in report.errors}
    assert set(failed) == {"gone", "offline"}
    assert "1MissingSheetKeyXyz0123456" in failed["gone"] and "not found" in failed["gone"]
    assert "connection" in failed["offline"] and KEY in failed["offline"]
    assert fake.shown(KEY, "KPIs!H2") == "Amber"  # the healthy source still synced


def test_every_attempt_is_paced(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(1)})
    clock, slept = [0.0], []
    pacer = Pacer(60, 60, clock=lambda: clock[0], sleep=lambda s: (slept.append(s), clock.__setitem__(0, clock[0] + s)))
    fake.storm(1)
    source(fake, tmp_path, env, pacer=pacer).read()
    assert len(slept) == 2  # three attempts: the first is free, the next two wait their slot
    assert all(s == pytest.approx(60 / (60 * UTILISATION)) for s in slept)


def test_the_default_pacer_is_shared_per_service_account(fake: FakeSheets, tmp_path: Path, env: dict[str, str]) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(1)})
    runtime = Runtime()
    a = source(fake, tmp_path, env, runtime=runtime)
    b = source(fake, tmp_path, env, name="other", runtime=runtime)
    assert a._client() is not b._client()
    assert a._client().pacer is b._client().pacer
    assert a._client().pacer.spacing == pytest.approx(60 / (1_000_000 * UTILISATION))


def test_dry_run_writes_nothing(fake: FakeSheets, tmp_path: Path, env: dict[str, str], sleeps: list[float]) -> None:
    fake.add_spreadsheet(KEY, {"KPIs": kpi_rows(5)})
    cfg = config(fake, tmp_path, kpis=[{"name": "kpi-sheet", "spreadsheet": KEY}])
    report = sync(cfg, now=NOW, env=env, dry_run=True)
    assert len(report.writes) == 5 and fake.writes == 0


def test_objective_score_and_status_go_to_every_row_of_the_objective(
    fake: FakeSheets, tmp_path: Path, env: dict[str, str], sleeps: list[float]
) -> None:
    okrs = [
        [
            "Objective",
            "Key result",
            "Start",
            "Target",
            "Current",
            "Cycle",
            "Progress",
            "Status",
            "Objective score",
            "Objective status",
        ],
        ["Grow", "Raise NPS", "20", "40", "30", "2026-Q4", "", "", "", ""],
        ["Grow", "Win deals", "0", "10", "10", "2026-Q4", "", "", "", ""],
    ]
    fake.add_spreadsheet(KEY, {"OKRs": okrs})
    cfg = config(fake, tmp_path, okrs=[{"name": "okr-sheet", "spreadsheet": KEY}])
    report = sync(cfg, now=NOW, env=env)
    assert report.errors == []
    assert [fake.shown(KEY, f"OKRs!I{r}") for r in (2, 3)] == ["0.75", "0.75"]
    assert fake.shown(KEY, "OKRs!J2") == fake.shown(KEY, "OKRs!J3") != ""
    assert fake.shown(KEY, "OKRs!G3") == "100%" and fake.shown(KEY, "OKRs!H3") == "Done"
    assert fake.writes == 1
    fake.reset_counts()
    assert sync(cfg, now=NOW, env=env).writes == [] and fake.writes == 0
