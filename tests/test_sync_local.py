"""End to end on local files: the demo, write-back, idempotence, --source, --dry-run."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from tests.conftest import NOW, write_config

SPEC_KEYS = {"now", "kpis", "objectives", "warnings", "writes", "errors", "api_calls"}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dry_run_json_matches_the_spec_and_touches_nothing(demo, syncd):
    before = {p.name: _digest(p) for p in (demo.parent / "examples").iterdir()}
    run = syncd("sync", "--config", demo, "--dry-run", "--now", NOW, "--format", "json")
    assert run.code == 0, run.err
    out = run.json
    assert SPEC_KEYS <= out.keys()
    assert out["now"].startswith("2026-11-15T09:00")
    kpis = {k["name"]: k for k in out["kpis"]}
    assert set(kpis["Payroll accuracy"]) >= {"id", "name", "value", "unit", "status", "stale", "reason"}
    assert kpis["Payroll accuracy"]["status"] == "green"  # 99.6% against 99.5
    assert kpis["Gross revenue churn"]["status"] == "amber"  # lower is better: 2.1% between 2% and 3.5%
    assert kpis["Employee eNPS"]["status"] == "no_data"
    assert "row 9" in kpis["Employee eNPS"]["reason"] and "#REF!" in kpis["Employee eNPS"]["reason"]
    assert kpis["Time to hire"]["status"] == "invalid"
    assert kpis["Headcount"]["status"] == "green"  # 48 inside the 47..52 band
    assert kpis["Cash runway"]["stale"] is True  # monthly, updated 2026-10-01
    assert kpis["Net promoter score"]["stale"] is False
    objectives = {o["title"]: o for o in out["objectives"]}
    onboarding = objectives["Make onboarding delightful"]
    assert onboarding["cycle"] == "2026-Q4" and onboarding["final"] is False
    krs = {kr["title"]: kr for kr in onboarding["key_results"]}
    assert krs["Reduce time to first value from 21 to 12 days"]["progress"] == 0.667
    # A key result that follows a KPI takes its current value from it.
    assert krs["Raise 90-day retention from 75% to 85%"]["current"] == 78.5
    codes = {w["code"] for w in out["warnings"]}
    assert {"activity_key_result", "kpi_as_okr"} <= codes
    # The writes it would make are shown, and nothing was written.
    assert any(
        w == {"source": "company-kpis", "item": "K04", "field": "status", "old": None, "new": "Green"}
        for w in out["writes"]
    )
    assert {p.name: _digest(p) for p in (demo.parent / "examples").iterdir()} == before
    assert not (demo.parent / "syncd.db").exists()


def test_sync_writes_owned_cells_only_and_a_second_sync_writes_nothing(demo, syncd):
    kpis_csv = demo.parent / "examples" / "kpis.csv"
    before = _rows(kpis_csv)
    first = syncd("sync", "--config", demo, "--now", NOW, "--format", "json")
    assert first.code == 0, first.err
    assert len(first.json["writes"]) > 20
    after = _rows(kpis_csv)
    status = {r["KPI"]: r["Status"] for r in after}
    assert status["Payroll accuracy"] == "Green"
    assert status["Cash runway"] == "Amber (stale)"
    assert status["Employee eNPS"] == "No data"
    for old, new in zip(before, after, strict=True):
        assert {k: v for k, v in old.items() if k != "Status"} == {k: v for k, v in new.items() if k != "Status"}
    okrs = {r["ID"]: r for r in _rows(demo.parent / "examples" / "okrs.csv")}
    assert okrs["KR1"]["Progress"] == "66.7%" and okrs["KR1"]["Status"] == "On track"
    assert okrs["KR2"]["Current"] == "78.5"  # follows the 90-day retention KPI
    assert okrs["KR1"]["Objective score"] == okrs["KR3"]["Objective score"] != ""

    second = syncd("sync", "--config", demo, "--now", NOW, "--format", "json")
    assert second.code == 0
    assert second.json["writes"] == []


def test_text_output_is_a_readable_summary(demo, syncd):
    run = syncd("sync", "--config", demo, "--dry-run", "--now", NOW)
    assert run.code == 0
    assert "Payroll accuracy" in run.out and "Would write" in run.out
    assert "activity_key_result" in run.out


def test_source_option_syncs_only_the_named_source_but_still_reads_linked_kpis(demo, syncd):
    kpis_csv = demo.parent / "examples" / "kpis.csv"
    before = _digest(kpis_csv)
    run = syncd("sync", "--config", demo, "--now", NOW, "--format", "json", "--source", "company-okrs")
    assert run.code == 0, run.err
    assert {w["source"] for w in run.json["writes"]} == {"company-okrs"}
    assert run.json["kpis"] == []
    krs = {kr["title"]: kr for o in run.json["objectives"] for kr in o["key_results"]}
    assert krs["Grow MRR from $350k to $500k"]["current"] == 412500
    assert _digest(kpis_csv) == before


def test_unknown_source_name_is_a_command_line_error(demo, syncd):
    run = syncd("sync", "--config", demo, "--now", NOW, "--source", "nope")
    assert run.code == 2
    assert "--source nope" in run.err and "company-kpis" in run.err


def test_bad_now_is_a_command_line_error(demo, syncd):
    run = syncd("sync", "--config", demo, "--now", "yesterday")
    assert run.code == 2 and "--now" in run.err


def test_one_failing_source_does_not_stop_the_others(demo, syncd):
    (demo.parent / "examples" / "okrs.csv").unlink()
    run = syncd("sync", "--config", demo, "--now", NOW, "--format", "json")
    assert run.code == 1
    errors = run.json["errors"]
    assert errors and errors[0]["source"] == "company-okrs" and "no such file" in errors[0]["message"]
    assert {w["source"] for w in run.json["writes"]} == {"company-kpis"}
    assert _rows(demo.parent / "examples" / "kpis.csv")[0]["Status"] == "Green"


def test_staleness_without_updated_column_counts_from_first_seen(tmp_path, syncd):
    (tmp_path / "k.csv").write_text("KPI,Value,Direction,Green,Red,Cadence\nNPS,41,higher,40,20,weekly\n")
    cfg = write_config(tmp_path / "s.toml", '[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\n')
    first = syncd("sync", "--config", cfg, "--now", "2026-11-01T00:00:00Z", "--format", "json")
    assert first.json["kpis"][0]["stale"] is False  # seen for the first time
    later = syncd("sync", "--config", cfg, "--now", "2026-11-12T00:00:00Z", "--format", "json")
    assert later.json["kpis"][0]["stale"] is True  # 11 days > 7 + 1 grace
    assert (tmp_path / "k.csv").read_text().splitlines()[1].endswith("Green (stale)")
    # A new value resets the clock and gives a trend.
    text = (tmp_path / "k.csv").read_text().replace("NPS,41", "NPS,45")
    (tmp_path / "k.csv").write_text(text)
    fresh = syncd("sync", "--config", cfg, "--now", "2026-11-13T00:00:00Z", "--format", "json")
    kpi = fresh.json["kpis"][0]
    assert kpi["stale"] is False and kpi["trend"] == "improving"


def test_api_calls_are_zero_for_local_sources(demo, syncd):
    assert syncd("sync", "--config", demo, "--dry-run", "--now", NOW, "--format", "json").json["api_calls"] == {}
