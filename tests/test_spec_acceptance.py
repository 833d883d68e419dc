"""Acceptance tests written from SPEC.md and the README only, end to end through the CLI.

Each test builds CSV (or XLSX) files with the README's default headers in a
temporary folder, runs ``syncd sync --format json --now ...`` in-process and
compares what a user sees with the spec's wording. Where the spec is silent or
ambiguous the choice made is said in a comment beside the test.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

NOW = "2026-11-15T09:00:00Z"

KPI_HEAD = ["ID", "KPI", "Value", "Unit", "Direction", "Green", "Red", "Owner", "Cadence", "Updated", "Status"]
OKR_HEAD = [
    "ID", "Objective", "Key result", "Kind", "Start", "Target", "Current", "KPI", "Weight", "Owner",
    "Cycle", "Type", "Progress", "Status", "Objective score", "Objective status",
]  # fmt: skip
JSON_KEYS = {"now", "kpis", "objectives", "warnings", "writes", "errors", "api_calls"}

# An explicit ten-day cycle: at TEN_DAYS_HALF exactly half of it is gone.
TEN_DAYS = "2026-10-01..2026-10-10"
TEN_DAYS_HALF = "2026-10-06T00:00:00Z"


# --- helpers ----------------------------------------------------------------------------


def write_csv(path: Path, head: list[str], rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(head)
        for r in rows:
            unknown = set(r) - set(head)
            assert not unknown, unknown
            w.writerow(["" if r.get(h) is None else r.get(h) for h in head])
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + str(v) + '"'


def project(
    tmp: Path,
    *,
    kpis: list[dict] | None = None,
    okrs: list[dict] | None = None,
    kpi_head: list[str] = KPI_HEAD,
    okr_head: list[str] = OKR_HEAD,
    config: str = "syncd.toml",
    **sections: dict[str, Any],
) -> Path:
    """Write kpis.csv / okrs.csv and a syncd.toml beside them; return the config path."""
    lines = ["[syncd]", 'state = "state.db"']
    for k, v in sections.pop("syncd", {}).items():
        lines.append(f"{k} = {_toml(v)}")
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {_toml(v)}" for k, v in values.items())
    if kpis is not None:
        write_csv(tmp / "kpis.csv", kpi_head, kpis)
        lines += ["[[kpis]]", 'name = "kpis"', 'type = "csv"', 'path = "kpis.csv"']
    if okrs is not None:
        write_csv(tmp / "okrs.csv", okr_head, okrs)
        lines += ["[[okrs]]", 'name = "okrs"', 'type = "csv"', 'path = "okrs.csv"']
    cfg = tmp / config
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def dry(syncd, cfg: Path, now: str = NOW, *extra: str) -> dict:
    run = syncd("sync", "--config", cfg, "--dry-run", "--format", "json", "--now", now, *extra)
    assert run.code == 0, (run.code, run.err, run.out[:2000])
    return run.json


def real(syncd, cfg: Path, now: str = NOW) -> dict:
    run = syncd("sync", "--config", cfg, "--format", "json", "--now", now)
    assert run.code == 0, (run.code, run.err, run.out[:2000])
    return run.json


def by_name(out: dict) -> dict[str, dict]:
    return {k["name"]: k for k in out["kpis"]}


def objectives(out: dict) -> dict[str, dict]:
    return {o["title"]: o for o in out["objectives"]}


def krs(out: dict) -> dict[str, dict]:
    return {kr["title"]: kr for o in out["objectives"] for kr in o["key_results"]}


def warnings(out: dict, code: str) -> list[dict]:
    return [w for w in out["warnings"] if w["code"] == code]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def kpi_row(name: str, value: Any, direction: str = "higher", green: Any = "90", red: Any = "80", **kw) -> dict:
    return {"KPI": name, "Value": value, "Direction": direction, "Green": green, "Red": red, **kw}


def kr_row(objective: str, title: str, **kw) -> dict:
    return {"Objective": objective, "Key result": title, "Cycle": kw.pop("Cycle", TEN_DAYS), **kw}


def check_table(out: dict, cases: list[tuple], field: str) -> None:
    """Collect every mismatch so one run reports them all."""
    got = by_name(out)
    wrong = [(c[0], c[-1], got[c[0]][field], got[c[0]]["reason"]) for c in cases if got[c[0]][field] != c[-1]]
    assert not wrong, "\n".join(f"{n}: expected {e!r}, got {g!r} ({r})" for n, e, g, r in wrong)


# --- KPI status ---------------------------------------------------------------------------

STATUS_CASES = [
    # name, direction, green, red, value, status
    ("h above", "higher", "99.5", "99", "99.6", "green"),
    ("h at green (inclusive)", "higher", "99.5", "99", "99.5", "green"),
    ("h just below green", "higher", "99.5", "99", "99.49", "amber"),
    ("h at red (red only below R)", "higher", "99.5", "99", "99", "amber"),
    ("h below red", "higher", "99.5", "99", "98.99", "red"),
    ("h percent cells", "higher", "99.5%", "99.0%", "99.5%", "green"),
    ("h percent value, plain thresholds", "higher", "99.5", "99", "99.6%", "green"),
    ("h G == R at", "higher", "90", "90", "90", "green"),
    ("h G == R below", "higher", "90", "90", "89.99", "red"),
    ("h negative numbers", "higher", "−5", "(10)", "-7", "amber"),
    ("l below", "lower", "2%", "3.5%", "1.9%", "green"),
    ("l at green (inclusive)", "lower", "2", "3.5", "2", "green"),
    ("l just above green", "lower", "2", "3.5", "2.01", "amber"),
    ("l at red (red only above R)", "lower", "2", "3.5", "3.5", "amber"),
    ("l above red", "lower", "2", "3.5", "3.51", "red"),
    ("l G == R at", "lower", "5", "5", "5", "green"),
    ("l G == R above", "lower", "5", "5", "5.01", "red"),
    ("r middle", "range", "95..105", "90..110", "100", "green"),
    ("r green low end", "range", "95..105", "90..110", "95", "green"),
    ("r green high end", "range", "95..105", "90..110", "105", "green"),
    ("r just below green", "range", "95..105", "90..110", "94.99", "amber"),
    ("r just above green", "range", "95..105", "90..110", "105.01", "amber"),
    ("r amber low end", "range", "95..105", "90..110", "90", "amber"),
    ("r amber high end", "range", "95..105", "90..110", "110", "amber"),
    ("r below amber", "range", "95..105", "90..110", "89.99", "red"),
    ("r above amber", "range", "95..105", "90..110", "110.01", "red"),
    ("r percent bands", "range", "2%..5%", "1%..6%", "5.5%", "amber"),
    ("r spaced bands", "range", " 47 .. 52 ", "45..55", "48", "green"),
    ("r bands equal", "range", "95..105", "95..105", "94", "red"),
    # Suffixes and decimals must not pick up float noise at an inclusive bound.
    ("noise 4.1M higher", "higher", "4100000", "4000000", "4.1M", "green"),
    ("noise 4.1M as threshold", "higher", "4.1M", "4M", "4100000", "green"),
    ("noise 8.2M lower", "lower", "8200000", "9000000", "8.2M", "green"),
    ("noise 1.005k lower", "lower", "1005", "2000", "1.005k", "green"),
    ("noise 1.005k range", "range", "1.005k..2k", "1k..3k", "1005", "green"),
    ("noise 0.1+0.2 range", "range", "0.3..0.5", "0.1..0.7", "0.30000000000000004", "green"),
]


def test_kpi_status_at_and_around_every_bound(tmp_path, syncd):
    rows = [kpi_row(n, v, d, g, r) for n, d, g, r, v, _ in STATUS_CASES]
    out = dry(syncd, project(tmp_path, kpis=rows))
    check_table(out, [(c[0], c[5]) for c in STATUS_CASES], "status")
    for k in out["kpis"]:
        assert k["reason"] is None, k


INVALID_CASES = [
    # name, direction, green, red, value, words the reason must have
    ("G < R higher", "higher", "80", "90", "85", ["Green", "Red"]),
    ("G > R lower", "lower", "5", "2", "3", ["Green", "Red"]),
    ("green band outside red band", "range", "90..110", "95..105", "100", ["band"]),
    ("range with one number", "range", "100", "90..110", "100", ["band"]),
    ("band for higher", "higher", "90..100", "80", "95", ["band"]),
    ("no direction", "", "90", "80", "95", ["direction"]),
    ("unknown direction", "sideways", "90", "80", "95", ["sideways"]),
    ("green missing", "higher", "", "80", "95", ["Green"]),
    ("red missing", "higher", "90", "", "95", ["Red"]),
    ("green text", "higher", "high", "80", "95", ["Green", "high"]),
    ("red #REF!", "higher", "90", "#REF!", "95", ["Red", "#REF!"]),
    ("band unreadable", "range", "95..abc", "90..110", "100", ["Green"]),
]


def test_bad_thresholds_are_invalid_with_a_reason_naming_the_row(tmp_path, syncd):
    rows = [kpi_row(n, v, d, g, r) for n, d, g, r, v, _ in INVALID_CASES] + [kpi_row("fine", "95")]
    out = dry(syncd, project(tmp_path, kpis=rows))
    got = by_name(out)
    for line, (name, *_, words) in enumerate(INVALID_CASES, start=2):
        k = got[name]
        assert k["status"] == "invalid", k
        assert f"row {line}" in k["reason"], k  # the row a person opens
        for word in words:
            assert word in k["reason"], (word, k)
    assert got["fine"]["status"] == "green"  # a bad row never stops the run


NO_VALUE = ["", "-", "n/a", "N/A", "#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#ERROR!", "Loading...",
            "lots", "about 5", "12 apples", "TBD", "1.2.3"]  # fmt: skip


def test_no_value_is_no_data_with_the_reason_and_the_row(tmp_path, syncd):
    rows = [kpi_row(f"kpi {i}", raw) for i, raw in enumerate(NO_VALUE)]
    out = dry(syncd, project(tmp_path, kpis=rows))
    assert out["errors"] == []  # a bad cell is a result, not a failure
    got = by_name(out)
    for i, raw in enumerate(NO_VALUE):
        k = got[f"kpi {i}"]
        assert (k["status"], k["value"], k["stale"]) == ("no_data", None, False), (raw, k)
        assert f"row {i + 2}" in k["reason"], (raw, k)
        if raw.strip() not in ("", "-"):
            assert raw.split()[0].rstrip(".") in k["reason"], (raw, k)


VALUES = [
    ("1,234.5", 1234.5),
    ("99.6%", 99.6),
    ("$1,234", 1234.0),
    ("€99.50", 99.5),
    ("£12", 12.0),
    ("12 €", 12.0),
    ("1.2k", 1200.0),
    ("1.2K", 1200.0),
    ("3M", 3_000_000.0),
    ("4.1M", 4_100_000.0),
    ("2.5B", 2_500_000_000.0),
    ("$1.2k", 1200.0),
    ("(1,234)", -1234.0),
    ("(12.5%)", -12.5),
    ("−5", -5.0),  # U+2212
    ("-5", -5.0),
    ("+3", 3.0),
    ("  42  ", 42.0),
    ("1,234,567", 1234567.0),
    ("0.5", 0.5),
    ("1e3", 1000.0),
]


def test_values_are_read_as_people_see_them(tmp_path, syncd):
    rows = [kpi_row(f"v{i}", raw, green="0", red="-1e12") for i, (raw, _) in enumerate(VALUES)]
    out = dry(syncd, project(tmp_path, kpis=rows))
    got = by_name(out)
    wrong = [(raw, want, got[f"v{i}"]["value"]) for i, (raw, want) in enumerate(VALUES)
             if got[f"v{i}"]["value"] != pytest.approx(want, rel=1e-12)]  # fmt: skip
    assert not wrong
    assert all(got[f"v{i}"]["status"] in ("green", "amber", "red") for i in range(len(VALUES)))


def test_a_percent_value_keeps_percent_as_its_unit(tmp_path, syncd):
    out = dry(syncd, project(tmp_path, kpis=[kpi_row("acc", "99.6%", green="99.5", red="99")]))
    k = by_name(out)["acc"]
    assert (k["value"], k["unit"]) == (99.6, "%")


# --- staleness and trend ------------------------------------------------------------------

# Spec: "stale when its value is older than its cadence allows (daily 1 day, weekly 7,
# monthly 31, quarterly 92, plus a configurable grace, default 1 day) at now".
# Ambiguity: an Updated *date* has no time. We count its age in calendar days in the
# configured timezone, as a person does: weekly + 1 day grace, dated 2026-11-07, is 8
# days old on 2026-11-15 at any hour, which is not older than allowed; the 16th it is.
STALE_CASES = [
    # name, cadence, updated, stale
    ("daily 2 days", "daily", "2026-11-13", False),
    ("daily 3 days", "daily", "2026-11-12", True),
    ("daily today", "daily", "2026-11-15", False),
    ("weekly 8 days", "weekly", "2026-11-07", False),
    ("weekly 9 days", "weekly", "2026-11-06", True),
    ("monthly 32 days", "monthly", "2026-10-14", False),
    ("monthly 33 days", "monthly", "2026-10-13", True),
    ("quarterly 93 days", "quarterly", "2026-08-14", False),
    ("quarterly 94 days", "quarterly", "2026-08-13", True),
    ("no cadence", "", "2020-01-01", False),
    ("capitalised cadence", "Weekly", "2026-11-06", True),
]


def test_staleness_by_cadence_plus_grace_from_the_updated_column(tmp_path, syncd):
    rows = [kpi_row(n, "95", Cadence=c, Updated=u) for n, c, u, _ in STALE_CASES]
    rows.append(kpi_row("stale but no value", "#REF!", Cadence="daily", Updated="2020-01-01"))
    out = dry(syncd, project(tmp_path, kpis=rows))
    check_table(out, [(c[0], c[3]) for c in STALE_CASES], "stale")
    got = by_name(out)
    assert all(got[c[0]]["status"] == "green" for c in STALE_CASES)  # stale is a flag, not a status
    assert got["stale but no value"]["stale"] is False


def test_the_whole_day_boundary_of_an_updated_date(tmp_path, syncd):
    cfg = project(tmp_path, kpis=[kpi_row("d", "95", Cadence="daily", Updated="2026-11-13")])
    assert by_name(dry(syncd, cfg, "2026-11-15T23:59:59Z"))["d"]["stale"] is False
    assert by_name(dry(syncd, cfg, "2026-11-16T00:00:00Z"))["d"]["stale"] is True


def test_updated_dates_are_in_the_configured_timezone(tmp_path, syncd):
    row = kpi_row("d", "95", Cadence="daily", Updated="2026-11-13")
    utc = project(tmp_path, kpis=[row])
    assert by_name(dry(syncd, utc, "2026-11-15T23:30:00Z"))["d"]["stale"] is False
    berlin = project(tmp_path, kpis=[row], syncd={"timezone": "Europe/Berlin"}, config="berlin.toml")
    # 23:30Z is 00:30 on the 16th in Berlin: three days after the 13th.
    assert by_name(dry(syncd, berlin, "2026-11-15T23:30:00Z"))["d"]["stale"] is True


@pytest.mark.parametrize(
    "grace, updated, stale",
    [("3d", "2026-11-05", False), ("3d", "2026-11-04", True), ("0d", "2026-11-08", False),
     ("0d", "2026-11-07", True), ("36h", "2026-11-07", False), ("36h", "2026-11-06", True)],
)  # fmt: skip
def test_stale_grace_is_configurable(tmp_path, syncd, grace, updated, stale):
    cfg = project(tmp_path, kpis=[kpi_row("w", "95", Cadence="weekly", Updated=updated)], kpi={"stale_grace": grace})
    assert by_name(dry(syncd, cfg))["w"]["stale"] is stale


def test_without_updated_the_age_counts_from_when_syncd_first_saw_the_value(tmp_path, syncd):
    head = [h for h in KPI_HEAD if h != "Updated"]
    cfg = project(tmp_path, kpis=[kpi_row("d", "95", Cadence="daily")], kpi_head=head)
    first = real(syncd, cfg, "2026-11-01T09:00:00Z")
    assert by_name(first)["d"]["stale"] is False  # seen for the first time: not stale
    assert by_name(dry(syncd, cfg, "2026-11-03T09:00:00Z"))["d"]["stale"] is False  # 1 day + 1 day grace
    assert by_name(dry(syncd, cfg, "2026-11-03T09:00:01Z"))["d"]["stale"] is True
    # The status cell says so once written.
    real(syncd, cfg, "2026-11-04T09:00:00Z")
    assert read_csv(tmp_path / "kpis.csv")[0]["Status"] == "Green (stale)"
    # A new value restarts the clock, and the trend says which way it went.
    write_csv(tmp_path / "kpis.csv", head, [kpi_row("d", "85", Cadence="daily")])
    second = by_name(real(syncd, cfg, "2026-11-10T09:00:00Z"))["d"]
    assert (second["stale"], second["status"], second["trend"]) == (False, "amber", "worsening")
    assert read_csv(tmp_path / "kpis.csv")[0]["Status"] == "Amber"
    assert by_name(dry(syncd, cfg, "2026-11-12T09:00:01Z"))["d"]["stale"] is True


def test_an_empty_updated_cell_also_falls_back_to_the_state_store(tmp_path, syncd):
    cfg = project(tmp_path, kpis=[kpi_row("w", "95", Cadence="weekly", Updated="")])
    real(syncd, cfg, "2026-11-01T00:00:00Z")
    assert by_name(dry(syncd, cfg, "2026-11-09T00:00:00Z"))["w"]["stale"] is False
    assert by_name(dry(syncd, cfg, "2026-11-09T00:00:01Z"))["w"]["stale"] is True


@pytest.mark.parametrize(
    "direction, green, red, before, after, trend",
    [("higher", "90", "80", "85", "88", "improving"), ("higher", "90", "80", "85", "81", "worsening"),
     ("lower", "2", "5", "3", "2.5", "improving"), ("lower", "2", "5", "3", "4", "worsening"),
     ("range", "95..105", "90..110", "92", "99", "improving"),
     ("range", "95..105", "90..110", "100", "108", "worsening")],
)  # fmt: skip
def test_trend_after_a_value_change(tmp_path, syncd, direction, green, red, before, after, trend):
    cfg = project(tmp_path, kpis=[kpi_row("t", before, direction, green, red)])
    first = by_name(real(syncd, cfg, "2026-11-01T09:00:00Z"))["t"]
    assert first["trend"] is None  # nothing to compare with yet
    write_csv(tmp_path / "kpis.csv", KPI_HEAD, [kpi_row("t", after, direction, green, red)])
    assert by_name(real(syncd, cfg, "2026-11-02T09:00:00Z"))["t"]["trend"] == trend
    # The same value again: the trend still compares with the previous *different* value.
    assert by_name(dry(syncd, cfg, "2026-11-03T09:00:00Z"))["t"]["trend"] == trend


# --- key results --------------------------------------------------------------------------

# At TEN_DAYS_HALF, aspirational goal line = 0.5 x 0.7 = 0.35: on track from 0.25, at risk
# from 0.10. Committed goal line = 0.5: on track from 0.40, at risk from 0.25.
PACE_CASES = [
    # title, type, start, target, current, progress, status
    ("a done", "aspirational", 0, 100, 100, 1.0, "done"),
    ("a over target", "aspirational", 0, 100, 130, 1.0, "done"),
    ("a on track at bound", "aspirational", 0, 100, 25, 0.25, "on_track"),
    ("a at risk just below", "aspirational", 0, 100, 24.9, 0.249, "at_risk"),
    ("a at risk at bound", "aspirational", 0, 100, 10, 0.1, "at_risk"),
    ("a off track", "aspirational", 0, 100, 9.9, 0.099, "off_track"),
    ("a below start", "aspirational", 50, 100, 20, 0.0, "off_track"),
    ("c on track at bound", "committed", 0, 100, 40, 0.4, "on_track"),
    ("c at risk just below", "committed", 0, 100, 39.9, 0.399, "at_risk"),
    ("c at risk at bound", "committed", 0, 100, 25, 0.25, "at_risk"),
    ("c off track", "committed", 0, 100, 24.9, 0.249, "off_track"),
    ("decreasing target", "committed", 21, 12, 15, 0.667, "on_track"),
    ("decreasing on bound", "committed", 20, 10, 16, 0.4, "on_track"),
    ("decimal bound noise", "aspirational", 0.1, 1.1, 0.35, 0.25, "on_track"),
    # Progress is shown with 3 decimals, but the status is judged on the exact value:
    # 99.96 of 100 is not done, and 24.96% is below the 25% on-track line.
    ("almost done", "committed", 0, 100, 99.96, 1.0, "on_track"),
    ("rounding must not lift", "aspirational", 0, 100, 24.96, 0.25, "at_risk"),
]


def test_metric_progress_and_pace_against_the_goal_line(tmp_path, syncd):
    rows = [kr_row(f"O {t}", t, Type=ty, Start=s, Target=g, Current=c) for t, ty, s, g, c, _, _ in PACE_CASES]
    out = dry(syncd, project(tmp_path, okrs=rows), TEN_DAYS_HALF)
    got = krs(out)
    wrong = [(t, p, st, got[t]["progress"], got[t]["status"]) for t, _, _, _, _, p, st in PACE_CASES
             if (got[t]["progress"], got[t]["status"]) != (p, st)]  # fmt: skip
    assert not wrong, "\n".join(map(str, wrong))
    for t, *_ in PACE_CASES:
        assert got[t]["current"] is not None


def test_aspirational_success_is_configurable(tmp_path, syncd):
    rows = [kr_row("O", "KR", Start=0, Target=100, Current=35)]
    assert krs(dry(syncd, project(tmp_path, okrs=rows), TEN_DAYS_HALF))["KR"]["status"] == "on_track"
    cfg = project(tmp_path, okrs=rows, okr={"aspirational_success": 1.0})
    assert krs(dry(syncd, cfg, TEN_DAYS_HALF))["KR"]["status"] == "at_risk"  # goal 0.5, on track from 0.4
    cfg = project(tmp_path, okrs=rows, okr={"default_type": "committed"})
    assert krs(dry(syncd, cfg, TEN_DAYS_HALF))["KR"]["status"] == "at_risk"


def test_tolerances_are_configurable(tmp_path, syncd):
    rows = [kr_row("O", "KR", Type="committed", Start=0, Target=100, Current=45)]
    cfg = project(tmp_path, okrs=rows, okr={"on_track_tolerance": 0.0, "at_risk_tolerance": 0.05})
    assert krs(dry(syncd, cfg, TEN_DAYS_HALF))["KR"]["status"] == "at_risk"
    rows[0]["Current"] = 44.9
    cfg = project(tmp_path, okrs=rows, okr={"on_track_tolerance": 0.0, "at_risk_tolerance": 0.05})
    assert krs(dry(syncd, cfg, TEN_DAYS_HALF))["KR"]["status"] == "off_track"


def test_bad_key_results_are_invalid_or_no_data_with_reasons(tmp_path, syncd):
    rows = [
        kr_row("O", "target equals start", Start=10, Target=10, Current=10),
        kr_row("O", "no start", Target=10, Current=5),
        kr_row("O", "no target", Start=0, Current=5),
        kr_row("O", "no current", Start=0, Target=10),
        kr_row("O", "current #N/A", Start=0, Target=10, Current="#N/A"),
        kr_row("O", "current text", Start=0, Target=10, Current="soon"),
        kr_row("O", "target text", Start=0, Target="ten", Current=5),
    ]
    out = dry(syncd, project(tmp_path, okrs=rows), TEN_DAYS_HALF)
    assert out["errors"] == []
    got = krs(out)
    expect = {
        "target equals start": "invalid", "no start": "invalid", "no target": "invalid",
        "no current": "no_data", "current #N/A": "no_data", "current text": "no_data", "target text": "invalid",
    }  # fmt: skip
    for line, (title, status) in enumerate(expect.items(), start=2):
        kr = got[title]
        assert (kr["status"], kr["progress"]) == (status, None), kr
        assert kr["reason"], kr
    assert "Start" in got["target equals start"]["reason"] and "Target" in got["target equals start"]["reason"]
    assert "#N/A" in got["current #N/A"]["reason"] and "row 6" in got["current #N/A"]["reason"]
    assert "soon" in got["current text"]["reason"] and "row 7" in got["current text"]["reason"]
    assert "row 8" in got["target text"]["reason"]
    # Every one counts as 0 and says so.
    assert {w["item"] for w in warnings(out, "missing_data")} == {f"okrs:O:{t}" for t in expect}
    o = objectives(out)["O"]
    assert (o["score"], o["status"]) == (0.0, "off_track")


MILESTONES = [("TRUE", 1.0), ("FALSE", 0.0), ("true", 1.0), ("yes", 1.0), ("no", 0.0), ("Yes", 1.0),
              ("done", 1.0), ("Done", 1.0), ("✓", 1.0), ("✗", 0.0), ("✔", 1.0)]  # fmt: skip


@pytest.mark.parametrize("kind", ["milestone", ""])
def test_milestones_read_booleans_as_people_write_them(tmp_path, syncd, kind):
    # With no Kind, README: "milestone when Current is yes/no and there is no start or target".
    rows = [kr_row(f"O{i}", f"M{i}", Kind=kind, Current=raw) for i, (raw, _) in enumerate(MILESTONES)]
    rows.append(kr_row("Ox", "unreadable", Kind="milestone", Current="maybe"))
    out = dry(syncd, project(tmp_path, okrs=rows), TEN_DAYS_HALF)
    got = krs(out)
    wrong = [(raw, p, got[f"M{i}"]) for i, (raw, p) in enumerate(MILESTONES) if got[f"M{i}"]["progress"] != p]
    assert not wrong
    for i, (_, p) in enumerate(MILESTONES):
        assert got[f"M{i}"]["status"] == ("done" if p == 1.0 else "off_track")
    bad = got["unreadable"]
    assert (bad["status"], bad["progress"]) == ("no_data", None)
    assert "maybe" in bad["reason"] and f"row {len(MILESTONES) + 2}" in bad["reason"]


def test_checklists_are_done_items_over_all_items(tmp_path, syncd):
    rows = [
        kr_row("O1", "three of five", Kind="checklist", Current="3/5"),
        kr_row("O2", "all done", Kind="checklist", Current="4/4"),
        kr_row("O3", "none done", Kind="checklist", Current="0/4"),
        kr_row("O4", "empty list", Kind="checklist", Current="0/0"),
        kr_row("O5", "unreadable", Kind="checklist", Current="most"),
    ]
    got = krs(dry(syncd, project(tmp_path, okrs=rows), TEN_DAYS_HALF))
    assert (got["three of five"]["progress"], got["three of five"]["status"]) == (0.6, "on_track")
    assert (got["all done"]["progress"], got["all done"]["status"]) == (1.0, "done")
    assert (got["none done"]["progress"], got["none done"]["status"]) == (0.0, "off_track")
    assert got["empty list"]["status"] == "no_data"  # no items: nothing to measure
    assert got["unreadable"]["status"] == "no_data"
    assert "row 6" in got["unreadable"]["reason"] and "most" in got["unreadable"]["reason"]


# --- key results that follow a KPI ----------------------------------------------------------


def test_a_key_result_follows_its_kpi_by_name_or_id(tmp_path, syncd):
    kpis = [kpi_row("90-day retention", "80%", green="85", red="70", ID="K7"),
            kpi_row("Broken", "#REF!", ID="K8")]  # fmt: skip
    okrs = [
        kr_row("Keep customers", "by name", Start=75, Target=85, Current=1, KPI=" 90-DAY retention "),
        kr_row("Keep customers", "by id", Start=75, Target=85, KPI="K7"),
        kr_row("Keep customers", "unknown", Start=75, Target=85, Current=77, KPI="Retention 90d", ID="KRU"),
        kr_row("Keep customers", "linked without value", Start=0, Target=10, Current=5, KPI="K8"),
    ]
    out = dry(syncd, project(tmp_path, kpis=kpis, okrs=okrs), TEN_DAYS_HALF)
    got = krs(out)
    for title in ("by name", "by id"):
        assert (got[title]["current"], got[title]["progress"]) == (80.0, 0.5)
    # Unknown KPI: a warning, and the key result keeps its own current value.
    assert (got["unknown"]["current"], got["unknown"]["progress"]) == (77.0, 0.2)
    unknown = warnings(out, "unknown_kpi")
    assert [w["item"] for w in unknown] == ["KRU"] and "Retention 90d" in unknown[0]["message"]
    assert got["linked without value"]["status"] == "no_data"
    assert "#REF!" in got["linked without value"]["reason"]


# --- objectives ------------------------------------------------------------------------------


def test_objective_score_is_the_weighted_mean(tmp_path, syncd):
    okrs = [
        kr_row("Weighted", "half", Start=0, Target=100, Current=50, Weight=3),
        kr_row("Weighted", "nothing", Start=0, Target=100, Current=0, Weight=1),
        kr_row("Missing", "full", Start=0, Target=10, Current=10),
        kr_row("Missing", "no current", Start=0, Target=10),
        kr_row("Missing", "invalid", Start=5, Target=5, Current=5),
        kr_row("Default weights", "a", Start=0, Target=10, Current=6),
        kr_row("Default weights", "b", Start=0, Target=10, Current=3),
        {"Objective": "Empty", "Cycle": TEN_DAYS},
    ]
    out = dry(syncd, project(tmp_path, okrs=okrs), TEN_DAYS_HALF)
    got = objectives(out)
    assert got["Weighted"]["score"] == pytest.approx(0.375, abs=0.001)
    assert got["Weighted"]["status"] == "on_track"
    # no_data and invalid count as 0, with missing_data.
    assert got["Missing"]["score"] == pytest.approx(1 / 3, abs=0.001)
    assert got["Missing"]["status"] == "on_track"
    assert {w["item"] for w in warnings(out, "missing_data")} == {"okrs:Missing:no current", "okrs:Missing:invalid"}
    assert got["Default weights"]["score"] == pytest.approx(0.45, abs=0.001)
    # No key results: score none, status no_data.
    assert (got["Empty"]["score"], got["Empty"]["status"]) == (None, "no_data")
    assert got["Empty"]["key_results"] == []
    assert [w["item"] for w in warnings(out, "no_key_results")] == ["okrs:Empty"]


def test_objective_status_uses_the_exact_score(tmp_path, syncd):
    # Committed, half the cycle gone: on track from 0.40. (0.3996 + 0.4) / 2 = 0.3998 < 0.4.
    okrs = [kr_row("O", "a", Type="committed", Start=0, Target=10000, Current=3996),
            kr_row("O", "b", Type="committed", Start=0, Target=100, Current=40)]  # fmt: skip
    o = objectives(dry(syncd, project(tmp_path, okrs=okrs), TEN_DAYS_HALF))["O"]
    assert o["status"] == "at_risk"
    assert o["score"] == pytest.approx(0.3998, abs=0.001)


def test_objective_done_when_every_key_result_is_done(tmp_path, syncd):
    okrs = [kr_row("O", "a", Start=0, Target=10, Current=10), kr_row("O", "b", Kind="milestone", Current="yes")]
    o = objectives(dry(syncd, project(tmp_path, okrs=okrs), TEN_DAYS_HALF))["O"]
    assert (o["score"], o["status"]) == (1.0, "done")


# --- cycles ------------------------------------------------------------------------------------


CYCLES = [
    # cycle, now, status, final  (key result at 50%, aspirational)
    ("2026-Q4", "2026-09-30T23:59:59Z", "not_started", False),
    ("2026-Q4", "2026-10-01T00:00:00Z", "on_track", False),
    ("2026-Q4", "2026-12-31T23:59:59Z", "at_risk", False),  # goal line ~0.7: 0.5 >= 0.45
    ("2026-Q4", "2027-01-01T00:00:00Z", "at_risk", True),
    ("2026-H2", "2026-06-30T23:00:00Z", "not_started", False),
    ("2026-H2", "2026-07-01T00:00:00Z", "on_track", False),
    ("2026-H2", "2027-01-01T00:00:00Z", "at_risk", True),
    ("2026", "2025-12-31T23:59:59Z", "not_started", False),
    ("2026", "2026-07-02T12:00:00Z", "on_track", False),
    ("2026", "2027-01-01T00:00:00Z", "at_risk", True),
    ("2026-11", "2026-10-31T23:59:59Z", "not_started", False),
    ("2026-11", "2026-11-15T00:00:00Z", "on_track", False),
    ("2026-11", "2026-12-01T00:00:00Z", "at_risk", True),
    ("2026-10-01..2026-12-31", "2026-12-31T23:59:59Z", "at_risk", False),  # end inclusive
    ("2026-10-01..2026-12-31", "2027-01-01T00:00:00Z", "at_risk", True),
    ("2026-q4", "2026-11-15T00:00:00Z", "on_track", False),  # any case
]


@pytest.mark.parametrize("cycle, now, status, final", CYCLES)
def test_cycles_start_at_midnight_and_end_at_24_00_of_the_last_day(tmp_path, syncd, cycle, now, status, final):
    okrs = [kr_row("O", "KR", Cycle=cycle, Start=0, Target=100, Current=50)]
    o = objectives(dry(syncd, project(tmp_path, okrs=okrs), now))["O"]
    assert (o["key_results"][0]["status"], o["status"], o["final"]) == (status, status, final)
    if status == "not_started":
        assert o["key_results"][0]["progress"] == 0.5  # measured, just not judged yet


def test_after_the_cycle_the_grade_is_final_with_elapsed_one(tmp_path, syncd):
    okrs = [
        kr_row("A", "at 0.6", Cycle="2026-Q3", Start=0, Target=10, Current=6),
        kr_row("B", "at 0.59", Cycle="2026-Q3", Start=0, Target=100, Current=59),
        kr_row("C", "at 0.45", Cycle="2026-Q3", Start=0, Target=100, Current=45),
        kr_row("D", "at 0.44", Cycle="2026-Q3", Start=0, Target=100, Current=44),
        kr_row("E", "done", Cycle="2026-Q3", Start=0, Target=100, Current=100),
    ]
    out = dry(syncd, project(tmp_path, okrs=okrs))
    got = objectives(out)
    assert {t: (o["status"], o["final"]) for t, o in got.items()} == {
        "A": ("on_track", True), "B": ("at_risk", True), "C": ("at_risk", True),
        "D": ("off_track", True), "E": ("done", True),
    }  # fmt: skip


def test_a_timezone_moves_the_cycle_boundaries(tmp_path, syncd):
    okrs = [kr_row("O", "KR", Cycle="2026-Q4", Start=0, Target=100, Current=50)]
    utc = project(tmp_path, okrs=okrs)
    # 22:30Z on 30 September is 00:30 on 1 October in Berlin (UTC+2).
    assert objectives(dry(syncd, utc, "2026-09-30T22:30:00Z"))["O"]["status"] == "not_started"
    berlin = project(tmp_path, okrs=okrs, syncd={"timezone": "Europe/Berlin"}, config="berlin.toml")
    assert objectives(dry(syncd, berlin, "2026-09-30T22:30:00Z"))["O"]["status"] == "on_track"
    assert objectives(dry(syncd, berlin, "2026-09-30T21:59:59Z"))["O"]["status"] == "not_started"
    # The end: 24:00 on 31 December in Berlin (UTC+1) is 23:00Z.
    assert objectives(dry(syncd, berlin, "2026-12-31T23:00:00Z"))["O"]["final"] is True
    assert objectives(dry(syncd, berlin, "2026-12-31T22:59:59Z"))["O"]["final"] is False
    assert objectives(dry(syncd, utc, "2026-12-31T23:00:00Z"))["O"]["final"] is False
    # A --now without an offset is wall-clock time in the configured timezone.
    assert objectives(dry(syncd, berlin, "2026-10-01T00:30:00"))["O"]["status"] == "on_track"
    assert objectives(dry(syncd, utc, "2026-09-30T23:30:00"))["O"]["status"] == "not_started"


# Ambiguity: with a fiscal year starting in April, which months are "2026-Q1"? The spec
# says the start month "shifts quarters and halves": the year as written, shifted, so
# 2026 runs 2026-04-01..2027-03-31, 2026-Q1 is April-June 2026 and 2026-Q4 January-March 2027.
FISCAL = [
    ("2026-Q1", "2026-03-31T23:59:59Z", "not_started", False),
    ("2026-Q1", "2026-04-01T00:00:00Z", "on_track", False),
    ("2026-Q1", "2026-07-01T00:00:00Z", "at_risk", True),
    ("2026-Q3", "2026-11-15T12:00:00Z", "on_track", False),
    ("2026-Q4", "2027-01-01T00:00:00Z", "on_track", False),
    ("2026-Q4", "2027-04-01T00:00:00Z", "at_risk", True),
    ("2026-H2", "2026-09-30T23:59:59Z", "not_started", False),
    ("2026-H2", "2026-10-01T00:00:00Z", "on_track", False),
    ("2026-H1", "2026-10-01T00:00:00Z", "at_risk", True),
    ("2026", "2026-04-01T00:00:00Z", "on_track", False),
    ("2026", "2027-04-01T00:00:00Z", "at_risk", True),
    ("2026-04", "2026-04-01T00:00:00Z", "on_track", False),  # months are calendar months
    ("2026-04", "2026-03-31T23:59:59Z", "not_started", False),
]


@pytest.mark.parametrize("cycle, now, status, final", FISCAL)
def test_fiscal_year_start_shifts_quarters_and_halves(tmp_path, syncd, cycle, now, status, final):
    okrs = [kr_row("O", "KR", Cycle=cycle, Start=0, Target=100, Current=50)]
    cfg = project(tmp_path, okrs=okrs, syncd={"fiscal_year_start": 4})
    o = objectives(dry(syncd, cfg, now))["O"]
    assert (o["status"], o["final"]) == (status, final)


def test_an_unreadable_cycle_is_invalid_with_the_accepted_forms(tmp_path, syncd):
    okrs = [kr_row("O", "KR", Cycle="next quarter", Start=0, Target=10, Current=5),
            kr_row("P", "KR2", Cycle="2026-Q5", Start=0, Target=10, Current=5)]  # fmt: skip
    out = dry(syncd, project(tmp_path, okrs=okrs))
    for title in ("O", "P"):
        o = objectives(out)[title]
        assert o["status"] == "invalid" and o["key_results"][0]["status"] == "invalid"
        assert "2026-Q4" in o["reason"]  # says what to write


def test_before_the_cycle_a_broken_key_result_is_still_invalid(tmp_path, syncd):
    # Ambiguity: the spec lists not_started first, but a key result whose target equals
    # its start can never be measured; saying "Not started" would hide it until the
    # cycle begins. We show invalid (missing current, by contrast, is normal before the
    # start and shows not_started).
    okrs = [kr_row("O", "broken", Start=5, Target=5, Current=5),
            kr_row("O", "no data yet", Start=0, Target=10)]  # fmt: skip
    out = dry(syncd, project(tmp_path, okrs=okrs), "2026-09-01T00:00:00Z")
    got = krs(out)
    assert got["broken"]["status"] == "invalid"
    assert got["no data yet"]["status"] == "not_started"
    assert objectives(out)["O"]["status"] == "not_started"


# --- hygiene warnings ---------------------------------------------------------------------------


def _objectives(owner: str, cycle: str, n: int, prefix: str) -> list[dict]:
    return [kr_row(f"{prefix} {i}", f"{prefix} kr {i}", Owner=owner, Cycle=cycle, Start=0, Target=10, Current=5)
            for i in range(n)]  # fmt: skip


def test_too_many_objectives_per_owner_per_cycle(tmp_path, syncd):
    rows = (
        _objectives("Ana", "2026-Q4", 6, "Ana Q4")
        + _objectives("Ben", "2026-Q4", 5, "Ben Q4")
        + _objectives("Cy", "2026-Q4", 3, "Cy Q4")
        + _objectives("Cy", "2027-Q1", 3, "Cy Q1")
    )
    out = dry(syncd, project(tmp_path, okrs=rows))
    found = warnings(out, "too_many_objectives")
    assert len(found) == 1 and found[0]["item"].startswith("okrs:Ana Q4")
    assert "Ana" in found[0]["message"] and "6" in found[0]["message"]
    cfg = project(tmp_path, okrs=rows, okr={"max_objectives": 4})
    assert len(warnings(dry(syncd, cfg), "too_many_objectives")) == 2  # Ana and Ben


def test_too_many_key_results_and_no_key_results(tmp_path, syncd):
    rows = [kr_row("Six", f"kr {i}", Start=0, Target=10, Current=5) for i in range(6)]
    rows += [kr_row("Five", f"five {i}", Start=0, Target=10, Current=5) for i in range(5)]
    rows += [{"Objective": "None", "Cycle": TEN_DAYS}]
    out = dry(syncd, project(tmp_path, okrs=rows), TEN_DAYS_HALF)
    assert [w["item"] for w in warnings(out, "too_many_key_results")] == ["okrs:Six"]
    assert [w["item"] for w in warnings(out, "no_key_results")] == ["okrs:None"]
    cfg = project(tmp_path, okrs=rows, okr={"max_key_results": 6})
    assert warnings(dry(syncd, cfg, TEN_DAYS_HALF), "too_many_key_results") == []


ACTIVITY = ["Launch the onboarding checklist", "implement SSO", "Create a partner portal", "BUILD the API",
            "Complete the audit", "Release v2", "Ship the mobile app"]  # fmt: skip


def test_activity_key_results_are_milestones_starting_with_an_activity_word(tmp_path, syncd):
    rows = [kr_row("O", t, Kind="milestone", Current="no", ID=f"A{i}") for i, t in enumerate(ACTIVITY)]
    rows += [
        kr_row("P", "Launch rate of new features from 2 to 5", Start=2, Target=5, Current=3, ID="M1"),  # metric
        kr_row("P", "Customers can self-serve the launch", Kind="milestone", Current="no", ID="M2"),
        kr_row("P", "Shipping costs fall from 9 to 7", Start=9, Target=7, Current=8, ID="M3"),
    ]
    out = dry(syncd, project(tmp_path, okrs=rows), TEN_DAYS_HALF)
    assert sorted(w["item"] for w in warnings(out, "activity_key_result")) == [f"A{i}" for i in range(7)]


def test_kpi_as_okr_on_objectives_and_key_results(tmp_path, syncd):
    rows = [
        kr_row("Keep churn low", "Reduce churn from 3 to 2", Start=3, Target=2, Current=2.5, ID="K1"),
        kr_row("Grow", "Maintain uptime at 99.9", Start=99, Target=99.9, Current=99.5, ID="K2"),
        kr_row("Grow", "sustain NPS above 40", Start=30, Target=40, Current=35, ID="K3"),
        kr_row("Grow", "Stay under budget", Start=0, Target=1, Current=1, ID="K4"),
        kr_row("Grow", "Keeping up with demand from 5 to 9", Start=5, Target=9, Current=6, ID="K5"),
    ]
    out = dry(syncd, project(tmp_path, okrs=rows), TEN_DAYS_HALF)
    assert sorted(w["item"] for w in warnings(out, "kpi_as_okr")) == ["K2", "K3", "K4", "okrs:Keep churn low"]


def test_unmeasurable_metric_key_results(tmp_path, syncd):
    rows = [
        kr_row("O", "no start", Kind="metric", Target=10, Current=5, ID="U1"),
        kr_row("O", "no target", Start=0, Current=5, ID="U2"),
        kr_row("O", "neither", Kind="metric", Current=5, ID="U3"),
        kr_row("O", "fine", Start=0, Target=10, Current=5, ID="U4"),
        kr_row("O", "milestone", Kind="milestone", Current="no", ID="U5"),
    ]
    out = dry(syncd, project(tmp_path, okrs=rows), TEN_DAYS_HALF)
    assert sorted(w["item"] for w in warnings(out, "unmeasurable")) == ["U1", "U2", "U3"]


def _pace_rows(cycle: str, current_a: Any, current_b: Any, title: str = "O") -> list[dict]:
    # Committed: four weeks into a quarter the goal line is 0.30, so 0 is off track
    # (aspirational 0 would still be at risk: 0.21 - 0.25 < 0).
    return [
        kr_row(title, f"{title} a", Cycle=cycle, Type="committed", Start=0, Target=10, Current=current_a),
        kr_row(title, f"{title} b", Cycle=cycle, Type="committed", Start=0, Target=10, Current=current_b),
    ]


@pytest.mark.parametrize(
    "now, too_easy",
    [("2026-10-28T23:59:59Z", False), ("2026-10-29T00:00:00Z", True),  # four weeks into 2026-Q4
     ("2026-12-31T23:59:59Z", True), ("2027-01-01T00:00:00Z", False)],  # not once the cycle has ended
)  # fmt: skip
def test_too_easy(tmp_path, syncd, now, too_easy):
    rows = _pace_rows("2026-Q4", 10, 12) + [kr_row("Single", "only one", Cycle="2026-Q4", Start=0, Target=1, Current=1)]
    rows += _pace_rows("2026-Q4", 10, 5, "Mixed")
    out = dry(syncd, project(tmp_path, okrs=rows), now)
    assert [w["item"] for w in warnings(out, "too_easy")] == (["okrs:O"] if too_easy else [])


@pytest.mark.parametrize(
    "now, weak",
    [("2026-10-28T23:59:59Z", False), ("2026-10-29T00:00:00Z", True), ("2027-02-01T00:00:00Z", True)],
)
def test_weak_planning(tmp_path, syncd, now, weak):
    rows = _pace_rows("2026-Q4", 0, 0) + _pace_rows("2026-Q4", 0, 10, "Mixed")
    out = dry(syncd, project(tmp_path, okrs=rows), now)
    o = objectives(out)["O"]
    if weak:
        assert all(kr["status"] == "off_track" for kr in o["key_results"])
    assert [w["item"] for w in warnings(out, "weak_planning")] == (["okrs:O"] if weak else [])


def test_four_weeks_are_counted_in_the_teams_timezone(tmp_path, syncd):
    # Berlin: 2026-Q4 starts 2026-10-01T00:00+02:00; four weeks later is 2026-10-29T00:00+01:00
    # (the clocks went back on 25 October), which is 23:00Z on the 28th.
    rows = _pace_rows("2026-Q4", 0, 0)
    cfg = project(tmp_path, okrs=rows, syncd={"timezone": "Europe/Berlin"})
    assert warnings(dry(syncd, cfg, "2026-10-28T22:59:59Z"), "weak_planning") == []
    assert len(warnings(dry(syncd, cfg, "2026-10-28T23:00:00Z"), "weak_planning")) == 1


def test_every_warning_has_code_item_and_a_sentence(tmp_path, syncd):
    rows = [
        kr_row("Keep it up", "Launch it", Kind="milestone", Current="no"),
        kr_row("Keep it up", "vague", Current=3, KPI="nope"),
        {"Objective": "Empty", "Cycle": TEN_DAYS},
    ]
    out = dry(syncd, project(tmp_path, okrs=rows), TEN_DAYS_HALF)
    codes = {w["code"] for w in out["warnings"]}
    assert {"kpi_as_okr", "activity_key_result", "unmeasurable", "unknown_kpi", "missing_data",
            "no_key_results"} <= codes  # fmt: skip
    for w in out["warnings"]:
        assert set(w) >= {"code", "item", "message"}
        assert w["item"] and len(w["message"].split()) >= 5 and w["message"][0].isupper()


# --- the JSON object -------------------------------------------------------------------------------


def test_the_json_object_has_every_key_of_section_4(tmp_path, syncd):
    cfg = project(
        tmp_path,
        kpis=[kpi_row("MRR", "$412,500", green="400000", red="350000", Unit="USD", ID="K1")],
        okrs=[kr_row("Grow", "Grow MRR", Start=350000, Target=500000, KPI="K1", ID="KR1")],
    )
    out = dry(syncd, cfg, TEN_DAYS_HALF)
    assert JSON_KEYS <= set(out)
    assert out["now"].startswith("2026-10-06T00:00:00")
    (k,) = out["kpis"]
    assert {"id", "name", "value", "unit", "status", "stale", "reason"} <= set(k)
    assert (k["id"], k["name"], k["value"], k["unit"], k["status"], k["stale"], k["reason"]) == (
        "K1", "MRR", 412500.0, "USD", "green", False, None)  # fmt: skip
    (o,) = out["objectives"]
    assert {"id", "title", "cycle", "score", "status", "final", "key_results"} <= set(o)
    assert (o["id"], o["title"], o["cycle"], o["final"]) == ("okrs:Grow", "Grow", TEN_DAYS, False)
    (kr,) = o["key_results"]
    assert {"id", "title", "current", "progress", "status"} <= set(kr)
    assert (kr["id"], kr["title"], kr["current"], kr["progress"]) == ("KR1", "Grow MRR", 412500.0, 0.417)
    assert isinstance(out["warnings"], list) and isinstance(out["errors"], list)
    assert out["api_calls"] == {} or all(isinstance(v, int) for v in out["api_calls"].values())
    assert out["writes"], "a dry run shows the writes it would make"
    for w in out["writes"]:
        assert set(w) >= {"source", "item", "field", "old", "new"}
    assert {"source": "kpis", "item": "K1", "field": "status", "old": None, "new": "Green"} in out["writes"]
    assert {"source": "okrs", "item": "KR1", "field": "current", "old": None, "new": 412500.0} in out["writes"]


# --- exit statuses ---------------------------------------------------------------------------------


def test_exit_status_0_even_with_bad_cells(tmp_path, syncd):
    cfg = project(tmp_path, kpis=[kpi_row("bad", "#REF!"), kpi_row("worse", "5", green="1", red="9")])
    run = syncd("sync", "--config", cfg, "--dry-run", "--format", "json", "--now", NOW)
    assert run.code == 0 and run.json["errors"] == []


def test_exit_status_1_when_a_source_cannot_be_read_and_the_others_still_sync(tmp_path, syncd):
    cfg = project(tmp_path, kpis=[kpi_row("fine", "95")])
    with cfg.open("a") as f:
        f.write('[[okrs]]\nname = "missing"\ntype = "csv"\npath = "nowhere.csv"\n')
    run = syncd("sync", "--config", cfg, "--format", "json", "--now", NOW)
    assert run.code == 1
    out = run.json
    assert [e["source"] for e in out["errors"]] == ["missing"] and "nowhere.csv" in out["errors"][0]["message"]
    assert by_name(out)["fine"]["status"] == "green"
    assert read_csv(tmp_path / "kpis.csv")[0]["Status"] == "Green"  # the rest was still written


@pytest.mark.parametrize(
    "extra_toml, argv_extra",
    [("[okr]\nmax_objectivs = 3\n", ()), ("[syncd]\ntimezone = \"Mars/Olympus\"\n", ()),
     ("", ("--now", "yesterday")), ("[[kpis]]\nname = \"x\"\ntype = \"csv\"\n", ())],
)  # fmt: skip
def test_exit_status_2_for_a_wrong_configuration_or_command_line(tmp_path, syncd, extra_toml, argv_extra):
    cfg = tmp_path / "syncd.toml"
    cfg.write_text(extra_toml, encoding="utf-8")
    run = syncd("sync", "--config", cfg, "--format", "json", *argv_extra)
    assert run.code == 2 and run.out == ""
    assert run.err.strip()


def test_exit_status_2_for_an_unknown_option(tmp_path, syncd):
    run = syncd("sync", "--frobnicate")
    assert run.code == 2 and "--frobnicate" in run.err


# --- write-back ---------------------------------------------------------------------------------------


def _writeback_project(tmp_path: Path) -> Path:
    kpis = [
        kpi_row("Payroll accuracy", "99.6%", green="99.5", red="99", ID="K1", Cadence="monthly", Updated="2026-11-01"),
        kpi_row("Churn", "2.5%", "lower", "2%", "3.5%", ID="K2", Cadence="monthly", Updated="2026-11-01"),
        kpi_row("NPS", "10", green="40", red="20", ID="K3", Cadence="monthly", Updated="2026-11-01"),
        kpi_row("eNPS", "#REF!", ID="K4"),
        kpi_row("Time to hire", "30", "lower", "40", "20", ID="K5"),
        kpi_row("Cash runway", "18", green="12", red="6", ID="K6", Cadence="monthly", Updated="2026-09-01"),
        kpi_row("Retention", "80", green="85", red="70", ID="K7"),
    ]
    okrs = [
        kr_row("Onboarding", "Reduce time to first value", ID="KR1", Start=21, Target=12, Current=15, Weight=2,
               Cycle="2026-Q4"),
        kr_row("Onboarding", "Raise retention", ID="KR2", Start=75, Target=85, KPI="Retention", Cycle="2026-Q4"),
        kr_row("Onboarding", "Checklist shipped", ID="KR3", Kind="milestone", Current="no", Cycle="2026-Q4"),
        kr_row("Sales", "Grow deals", ID="KR4", Start=0, Target=100, Current=40, Cycle="2026-Q4",
               Progress="40%", Status="on track"),
        kr_row("Sales", "Grow pipeline", ID="KR5", Start=0, Target=10, Current=4, Cycle="2026-Q4", Progress="0.4"),
        kr_row("Sales", "Grow calls", ID="KR6", Start=0, Target=10, Current=4, Cycle="2026-Q4", Progress="40.0%"),
        kr_row("Sales", "No data yet", ID="KR7", Start=0, Target=10, Cycle="2026-Q4"),
    ]  # fmt: skip
    return project(tmp_path, kpis=kpis, okrs=okrs)


def test_dry_run_writes_nothing_to_files_or_state(tmp_path, syncd):
    cfg = _writeback_project(tmp_path)
    before = digest(tmp_path)
    out = dry(syncd, cfg)
    assert out["writes"]
    assert digest(tmp_path) == before
    assert not (tmp_path / "state.db").exists()


def test_write_back_values_and_a_second_run_writes_nothing(tmp_path, syncd):
    cfg = _writeback_project(tmp_path)
    first = real(syncd, cfg)
    status = {r["KPI"]: r["Status"] for r in read_csv(tmp_path / "kpis.csv")}
    assert status == {
        "Payroll accuracy": "Green", "Churn": "Amber", "NPS": "Red", "eNPS": "No data",
        "Time to hire": "Invalid", "Cash runway": "Green (stale)", "Retention": "Amber",
    }  # fmt: skip
    rows = {r["ID"]: r for r in read_csv(tmp_path / "okrs.csv")}
    assert (rows["KR1"]["Progress"], rows["KR1"]["Status"]) == ("66.7%", "On track")
    assert (rows["KR2"]["Progress"], rows["KR2"]["Current"]) == ("50%", "80")  # follows the KPI
    assert (rows["KR3"]["Progress"], rows["KR3"]["Status"]) == ("0%", "Off track")
    assert rows["KR7"]["Status"] == "No data" and rows["KR7"]["Progress"] == ""  # nothing is cleared
    # 0.4 and 40% are equal: those Progress cells were not rewritten.
    assert (rows["KR4"]["Progress"], rows["KR5"]["Progress"], rows["KR6"]["Progress"]) == ("40%", "0.4", "40.0%")
    assert rows["KR4"]["Status"] == "on track"  # same status, other spelling: left alone
    written = {(w["item"], w["field"]) for w in first["writes"]}
    assert not {("KR4", "progress"), ("KR5", "progress"), ("KR6", "progress"), ("KR4", "status")} & written
    # Objective score and status on every row of the objective.
    onboarding = [r for r in rows.values() if r["Objective"] == "Onboarding"]
    score = (2 * 6 / 9 + 0.5 + 0) / 4
    assert {r["Objective score"] for r in onboarding} == {f"{score:.2f}"}
    assert {r["Objective status"] for r in onboarding} == {"On track"}
    assert {r["Objective status"] for r in rows.values() if r["Objective"] == "Sales"} == {"On track"}
    assert real(syncd, cfg)["writes"] == []
    assert real(syncd, cfg, "2026-11-15T09:30:00Z")["writes"] == []


def test_status_column_is_created_when_missing_and_other_cells_are_kept(tmp_path, syncd):
    head = ["KPI", "Value", "Direction", "Green", "Red", "Notes"]
    cfg = project(tmp_path, kpis=[kpi_row("A", "95", Notes="keep, this")], kpi_head=head)
    real(syncd, cfg)
    text = (tmp_path / "kpis.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "KPI,Value,Direction,Green,Red,Notes,Status"
    assert read_csv(tmp_path / "kpis.csv") == [
        {"KPI": "A", "Value": "95", "Direction": "higher", "Green": "90", "Red": "80", "Notes": "keep, this",
         "Status": "Green"}]  # fmt: skip


# --- XLSX --------------------------------------------------------------------------------------------


def _xlsx(path: Path, head: list[str], rows: list[list[Any]], formats: dict[tuple[int, int], str] | None = None):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(head)
    for r in rows:
        ws.append(r)
    for (row, col), fmt in (formats or {}).items():
        ws.cell(row=row, column=col).number_format = fmt
    wb.save(path)


def _xlsx_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "syncd.toml"
    cfg.write_text(
        '[syncd]\nstate = "state.db"\n'
        '[[kpis]]\nname = "kpis"\ntype = "xlsx"\npath = "kpis.xlsx"\n'
        '[[okrs]]\nname = "okrs"\ntype = "xlsx"\npath = "okrs.xlsx"\n',
        encoding="utf-8",
    )
    return cfg


XLSX_NOW = "2026-10-06T12:00:00Z"  # 55% of TEN_DAYS gone


def test_xlsx_numbers_percent_formats_booleans_and_write_back(tmp_path, syncd):
    import openpyxl

    head = ["ID", "KPI", "Value", "Direction", "Green", "Red", "Cadence", "Updated", "Status"]
    _xlsx(tmp_path / "kpis.xlsx", head, [
        ["K1", "Payroll accuracy", 0.996, "higher", 99.5, 99, "monthly", "2026-11-01", None],
        ["K2", "Churn", 2.5, "lower", 2, 3.5, "weekly", date(2026, 9, 27), None],  # a date cell, 9 days old
        ["K3", "eNPS", "#REF!", "higher", 10, 0, None, None, None],
        ["K4", "Headcount", 48, "range", "47..52", "45..55", None, None, None],
        ["K5", "Fresh", 1, "higher", 0, -1, "weekly", date(2026, 9, 28), None],
    ], formats={(2, 3): "0.0%"})  # fmt: skip
    okr_head = ["ID", "Objective", "Key result", "Kind", "Start", "Target", "Current", "KPI", "Cycle",
                "Progress", "Status"]  # fmt: skip
    _xlsx(tmp_path / "okrs.xlsx", okr_head, [
        ["KR1", "Ship", "Checklist live", "milestone", None, None, True, None, TEN_DAYS, None, None],
        ["KR2", "Ship", "Box unticked", "milestone", None, None, False, None, TEN_DAYS, None, None],
        ["KR3", "Grow", "Headcount to 50", "metric", 40, 50, None, "K4", TEN_DAYS, 0.8, None],
        ["KR4", "Grow", "Deals", "metric", 0, 10, 4, None, TEN_DAYS, 0.4, None],
    ], formats={(5, 10): "0%"})  # fmt: skip
    cfg = _xlsx_config(tmp_path)
    out = dry(syncd, cfg, XLSX_NOW)
    got = by_name(out)
    assert (got["Payroll accuracy"]["value"], got["Payroll accuracy"]["status"]) == (pytest.approx(99.6), "green")
    assert (got["Churn"]["status"], got["Churn"]["stale"]) == ("amber", True)
    assert (got["Fresh"]["status"], got["Fresh"]["stale"]) == ("green", False)  # 8 days, weekly + 1 day grace
    assert got["eNPS"]["status"] == "no_data" and "#REF!" in got["eNPS"]["reason"]
    assert got["Headcount"]["status"] == "green"
    k = krs(out)
    assert (k["Checklist live"]["progress"], k["Box unticked"]["progress"]) == (1.0, 0.0)
    assert (k["Headcount to 50"]["current"], k["Headcount to 50"]["progress"]) == (48.0, 0.8)
    written = {(w["item"], w["field"]) for w in out["writes"]}
    assert ("KR3", "progress") not in written and ("KR4", "progress") not in written  # 0.8 held, 40% shown
    real(syncd, cfg, XLSX_NOW)
    ws = openpyxl.load_workbook(tmp_path / "kpis.xlsx").active
    statuses = [ws.cell(row=r, column=9).value for r in range(2, 7)]
    assert statuses == ["Green", "Amber (stale)", "No data", "Green", "Green"]
    assert ws.cell(row=2, column=3).value == 0.996 and ws.cell(row=2, column=3).number_format == "0.0%"
    ws = openpyxl.load_workbook(tmp_path / "okrs.xlsx").active
    assert [ws.cell(row=r, column=11).value for r in range(2, 6)] == ["Done", "Off track", "On track", "On track"]
    assert ws.cell(row=4, column=7).value == 48  # Current follows the KPI
    assert real(syncd, cfg, XLSX_NOW)["writes"] == []


# --- table layout ------------------------------------------------------------------------------------


def test_headers_ignore_case_and_spaces_blank_rows_are_skipped_and_unknown_columns_kept(tmp_path, syncd):
    path = tmp_path / "kpis.csv"
    path.write_text(
        "Exported 2026-11-15,,,,,\n"
        " kpi , VALUE,direction ,GREEN,red,Comment\n"
        "Uptime,99.95%,higher,99.9,99.5,keep me\n"
        ",,,,,\n"
        'Latency,250,lower,200,300,"a, b"\n',
        encoding="utf-8",
    )
    cfg = tmp_path / "syncd.toml"
    cfg.write_text('[syncd]\nstate = "state.db"\n[[kpis]]\nname = "k"\ntype = "csv"\npath = "kpis.csv"\n'
                   "header_row = 2\n", encoding="utf-8")  # fmt: skip
    out = real(syncd, cfg)
    assert {k["name"]: k["status"] for k in out["kpis"]} == {"Uptime": "green", "Latency": "amber"}
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Exported 2026-11-15,,,,,"
    assert lines[1] == " kpi , VALUE,direction ,GREEN,red,Comment,Status"
    assert lines[2] == "Uptime,99.95%,higher,99.9,99.5,keep me,Green"
    assert lines[4] == 'Latency,250,lower,200,300,"a, b",Amber'
    assert real(syncd, cfg)["writes"] == []
