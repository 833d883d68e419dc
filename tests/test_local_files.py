"""CSV and XLSX sources: every other byte stays, bad files get clear errors."""

from __future__ import annotations

import stat

import openpyxl
import pytest

from tests.conftest import NOW, write_config

KPI_TOML = '[[kpis]]\nname = "k"\ntype = "{type}"\npath = "{path}"\n{extra}'


def _config(tmp_path, path="k.csv", type_="csv", extra=""):
    return write_config(tmp_path / "s.toml", KPI_TOML.format(type=type_, path=path, extra=extra))


def test_csv_write_back_keeps_every_other_byte(tmp_path, syncd):
    original = (
        b"\xef\xbb\xbf"  # a BOM, as Excel writes it
        b'KPI,Value,Direction,Green,Red,Status,"Notes, free text"\r\n'
        b'"Payroll accuracy","99.6%",higher,99.5,99.0,Red,"said ""fine""\r\non two lines"\r\n'
        b"\r\n"  # a blank row is skipped and does not end the table
        b"Churn,  2.1% ,lower,2,3.5,amber,'quoted' stays\r\n"
    )
    (tmp_path / "k.csv").write_bytes(original)
    run = syncd("sync", "--config", _config(tmp_path), "--now", NOW, "--format", "json")
    assert run.code == 0, run.err
    # "amber" already says Amber (case does not matter): only Payroll changes.
    assert [(w["item"], w["old"], w["new"]) for w in run.json["writes"]] == [("k:Payroll accuracy", "Red", "Green")]
    assert (tmp_path / "k.csv").read_bytes() == original.replace(b"99.0,Red,", b"99.0,Green,")


def test_missing_status_column_is_added_at_the_end_of_the_header(tmp_path, syncd):
    (tmp_path / "k.csv").write_text("KPI,Value,Direction,Green,Red\nNPS,41,higher,40,20\nChurn,5,lower,2,3\n")
    run = syncd("sync", "--config", _config(tmp_path), "--now", NOW)
    assert run.code == 0, run.err
    assert (tmp_path / "k.csv").read_text() == (
        "KPI,Value,Direction,Green,Red,Status\nNPS,41,higher,40,20,Green\nChurn,5,lower,2,3,Red\n"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"KPI,Value,Direction,Green,Red,Status\n", "only a header row"),
        (b"KPI;Value;Direction;Green;Red\nNPS;41;higher;40;20\n", 'delimiter = ";"'),
        (b"Name,Amount\nNPS,41\n", "no column 'KPI' or 'Value'"),
        (b"KPI,Value\n\xff\xfe,1\n", "not utf-8 text"),
    ],
)
def test_bad_csv_files_fail_that_source_with_a_clear_message(tmp_path, syncd, content, expected):
    (tmp_path / "k.csv").write_bytes(content)
    run = syncd("sync", "--config", _config(tmp_path), "--now", NOW, "--format", "json")
    assert run.code == 1
    (error,) = run.json["errors"]
    assert error["source"] == "k" and "k.csv" in error["message"] and expected in error["message"]
    assert (tmp_path / "k.csv").read_bytes() == content


def test_missing_column_message_lists_the_headers_found(tmp_path, syncd):
    (tmp_path / "k.csv").write_text("Name,Amount\nNPS,41\n")
    run = syncd("sync", "--config", _config(tmp_path), "--now", NOW, "--format", "json")
    assert "found 'Name', 'Amount'" in run.json["errors"][0]["message"]


def test_semicolon_csv_works_with_the_delimiter_option(tmp_path, syncd):
    (tmp_path / "k.csv").write_text("KPI;Value;Direction;Green;Red\nNPS;41;higher;40;20\n")
    run = syncd("sync", "--config", _config(tmp_path, extra='delimiter = ";"\n'), "--now", NOW)
    assert run.code == 0, run.err
    assert (tmp_path / "k.csv").read_text().splitlines() == [
        "KPI;Value;Direction;Green;Red;Status",
        "NPS;41;higher;40;20;Green",
    ]


def test_read_only_file_is_reported_and_never_replaced(tmp_path, syncd):
    # Checked through the mode bits too: as root a rename would replace it anyway.
    path = tmp_path / "k.csv"
    content = "KPI,Value,Direction,Green,Red\nNPS,41,higher,40,20\n"
    path.write_text(content)
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    run = syncd("sync", "--config", _config(tmp_path), "--now", NOW, "--format", "json")
    assert run.code == 1
    assert "read-only" in run.json["errors"][0]["message"] and "make it writable" in run.json["errors"][0]["message"]
    assert path.read_text() == content
    assert [p.name for p in tmp_path.iterdir() if "syncd-tmp" in p.name] == []


def test_bad_cells_are_results_not_failures(tmp_path, syncd):
    rows = ["KPI,Value,Direction,Green,Red"]
    bad = ["#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#ERROR!", "Loading...", "n/a", "-", "", "soon"]
    rows += [f"K{i},{v},higher,10,5" for i, v in enumerate(bad)]
    rows += ["Bad thresholds,7,higher,5,10", "No direction,7,,10,5", ",7,higher,10,5"]
    (tmp_path / "k.csv").write_text("\n".join(rows) + "\n")
    run = syncd("sync", "--config", _config(tmp_path), "--now", NOW, "--format", "json")
    assert run.code == 0, run.json["errors"]
    kpis = {k["name"]: k for k in run.json["kpis"]}
    for i in range(len(bad)):
        assert kpis[f"K{i}"]["status"] == "no_data"
        assert f"row {i + 2}" in kpis[f"K{i}"]["reason"]
    assert kpis["Bad thresholds"]["status"] == "invalid"
    assert kpis["No direction"]["status"] == "invalid" and "direction" in kpis["No direction"]["reason"]
    # A row with no KPI name is reported, and the rest of the run goes on.
    assert any(w["code"] == "unreadable_item" and "row 15" in w["message"] for w in run.json["warnings"])


def _workbook(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "KPIs"
    ws.append(["KPI", "Value", "Direction", "Green", "Red", "Status", "Check"])
    ws.append(["Payroll accuracy", 0.996, "higher", 99.5, 99.0, None, "=B2*100"])
    ws.append(["Churn", 0.05, "lower", "2%", "3%", "Green", "=B3*100"])
    ws["B2"].number_format = "0.0%"
    ws["B3"].number_format = "0%"
    ws["A1"].font = openpyxl.styles.Font(bold=True)
    other = wb.create_sheet("Notes")
    other["A1"] = "left alone"
    wb.save(path)


def test_xlsx_reads_values_as_shown_and_keeps_formulas_and_formats(tmp_path, syncd):
    path = tmp_path / "k.xlsx"
    _workbook(path)
    cfg = _config(tmp_path, "k.xlsx", "xlsx", 'worksheet = "kpis"\n')
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    assert run.code == 0, run.err
    kpis = {k["name"]: k for k in run.json["kpis"]}
    assert kpis["Payroll accuracy"]["value"] == pytest.approx(99.6) and kpis["Payroll accuracy"]["status"] == "green"
    assert kpis["Churn"]["status"] == "red"
    wb = openpyxl.load_workbook(path)
    ws = wb["KPIs"]
    assert ws["F2"].value == "Green" and ws["F3"].value == "Red"
    assert ws["G2"].value == "=B2*100" and ws["B2"].number_format == "0.0%" and ws["A1"].font.bold
    assert wb["Notes"]["A1"].value == "left alone"
    again = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    assert again.json["writes"] == []


def test_xlsx_unknown_worksheet_names_the_ones_found(tmp_path, syncd):
    _workbook(tmp_path / "k.xlsx")
    cfg = _config(tmp_path, "k.xlsx", "xlsx", 'worksheet = "Metrics"\n')
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    assert run.code == 1 and "'KPIs', 'Notes'" in run.json["errors"][0]["message"]


def test_not_an_xlsx_file(tmp_path, syncd):
    (tmp_path / "k.xlsx").write_text("KPI,Value\n")
    run = syncd("sync", "--config", _config(tmp_path, "k.xlsx", "xlsx"), "--now", NOW, "--format", "json")
    assert run.code == 1 and "not a readable .xlsx" in run.json["errors"][0]["message"]


def test_okr_csv_with_custom_columns_and_header_not_on_row_one(tmp_path, syncd):
    (tmp_path / "o.csv").write_text(
        "Company OKRs,,,,,,\n"
        "Goal,KR,Start,Target,Current,Cycle,Progress\n"
        "Grow,Reach 100 customers,0,100,50,2026-Q4,\n"
        "Grow,Ship the partner portal,,,done,2026-Q4,\n"
    )
    cfg = write_config(
        tmp_path / "s.toml",
        '[[okrs]]\nname = "o"\ntype = "csv"\npath = "o.csv"\nheader_row = 2\n'
        'columns = { objective = "Goal", title = "KR" }\n',
    )
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    assert run.code == 0, run.err
    (objective,) = run.json["objectives"]
    assert [kr["progress"] for kr in objective["key_results"]] == [0.5, 1.0]
    lines = (tmp_path / "o.csv").read_text().splitlines()
    assert lines[0] == "Company OKRs,,,,,,"
    assert lines[1] == "Goal,KR,Start,Target,Current,Cycle,Progress,Status"
    assert lines[2] == "Grow,Reach 100 customers,0,100,50,2026-Q4,50%,On track"
    assert lines[3] == "Grow,Ship the partner portal,,,done,2026-Q4,100%,Done"


def test_unknown_column_field_is_reported(tmp_path, syncd):
    (tmp_path / "k.csv").write_text("KPI,Value\nNPS,41\n")
    run = syncd(
        "sync", "--config", _config(tmp_path, extra='columns = { vaule = "Value" }\n'), "--now", NOW, "--format", "json"
    )
    assert run.code == 2 and "kpis[0].columns.vaule: not a field syncd maps; the fields are id, name, value" in run.err


def test_a_temporary_file_left_by_a_killed_write_is_cleaned_up(tmp_path, syncd):
    (tmp_path / "k.csv").write_text("KPI,Value,Direction,Green,Red\nNPS,41,higher,40,20\n")
    leftover = tmp_path / ".k.csv.abc123.syncd-tmp"
    leftover.write_text("half a file")
    run = syncd("sync", "--config", _config(tmp_path), "--now", NOW)
    assert run.code == 0, run.err
    assert not leftover.exists()
    assert (tmp_path / "k.csv").read_text().endswith("NPS,41,higher,40,20,Green\n")


def test_two_missing_owned_columns_are_added_in_order_even_on_short_rows(tmp_path, syncd):
    (tmp_path / "o.csv").write_text(
        "Objective,Key result,Start,Target,Current,Cycle\n"
        "Grow,Reach 100 customers,0,100,50,2026-Q4\n"
        "Grow,Halve churn,10,5\n"  # a short row: no Current, no Cycle
    )
    cfg = write_config(tmp_path / "s.toml", '[[okrs]]\nname = "o"\ntype = "csv"\npath = "o.csv"\n')
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    assert run.code == 0, run.err
    assert (tmp_path / "o.csv").read_text().splitlines() == [
        "Objective,Key result,Start,Target,Current,Cycle,Progress,Status",
        "Grow,Reach 100 customers,0,100,50,2026-Q4,50%,On track",
        "Grow,Halve churn,10,5,,,,No data",
    ]
