"""Issue 11: a corpus of bad input, batched: bad cells, rows, files, configs and responses.

Asserted for every case: no traceback; exit codes as SPEC §4 (a bad cell is a
result: 0; a bad file or response fails its source: 1; a bad config: 2); every
reason names where (row and column, the file, the key, the spreadsheet, database
or board); good rows beside bad ones unchanged; no secret in any output or file.
Cells share one file per kind and files share one run, so hundreds of cases take seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import NOW
from tests.test_spec_acceptance import KPI_HEAD, OKR_HEAD, TEN_DAYS_HALF, write_csv

NOTION_TOKEN = "ntn_" + "C0rpusSecretToken9x" * 2
TRELLO_TOKEN = "ATTA" + "c0ffee" * 11
SECRETS = (NOTION_TOKEN, TRELLO_TOKEN, "corpus-hook-s3cret-path")

BAD_NUMBERS = [
    "", " ", "-", "n/a", "N/A", "#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#ERROR!", "#NUM!", "#NULL!",
    "Loading...", "abc", "1.2.3", "1,2,3.4.5", "((5))", "-(5)", "(-5)", "5-", "--5", "+-5", "1e309", "-1e309",
    "NaN", "nan", "inf", "-inf", "Infinity", "0x10", "1_000", "½", "1 2 3", "$", "%", "€€5", "5%%",
    "TRUE", "FALSE", "yes", "✓", "=1+1", "=A1", "\u200b", "\x00", "5\x00", "1e", "e5", ".", ",", "1,,2",
    "12:30", "2026-11-15", "tbd", "?", "null", "None", "⚠️", "🙂", "1k2", "kk", "5 apples", '"5"',
    "9" * 400, "1" + "0" * 310, "(", ")", "[]", "{}", "<5>", "≈5", "~5", "5±1",
]  # fmt: skip
BAD_DIRECTIONS = ["sideways", "up-ish", "bigger", "0", "higher!", "lowest", "↑", "hígher", "x" * 300]
BAD_THRESHOLDS = ["abc", "#REF!", "5..", "..5", "1..2..3", "a..b", "1e309", "NaN", "((1))", "x" * 200]
BAD_CADENCES = ["hourly", "yearly", "every day", "7", "wekly", "🗓"]
BAD_DATES = ["yesterday", "2026-13-01", "2026-02-30", "15/11/2026", "2026-11-15T25:00", "9999999"]


def _no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def _files_clean(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, f


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("NOTION_TOKEN", NOTION_TOKEN)
    monkeypatch.setenv("TRELLO_TOKEN", TRELLO_TOKEN)
    monkeypatch.setenv("TRELLO_API_KEY", "0123456789abcdef0123456789abcdef")
    yield


def _cfg(folder: Path, sources: str, extra: str = "") -> Path:
    path = folder / "syncd.toml"
    path.write_text(f'[syncd]\nstate = "state.db"\nretries = 1\n{extra}\n{sources}', encoding="utf-8")
    return path


def test_bad_kpi_cells_are_results_naming_their_cell_and_good_rows_are_unchanged(tmp_path, syncd):
    good = [
        {"ID": f"G{i}", "KPI": f"Good {i}", "Value": str(50 + i * 10), "Direction": "higher", "Green": "80", "Red": "60", "Cadence": "weekly", "Updated": "2026-11-14"}
        for i in range(4)
    ]  # fmt: skip
    bad: list[dict] = []
    for v in BAD_NUMBERS:
        bad.append({"Value": v})
    bad += [{"Direction": d} for d in BAD_DIRECTIONS]
    bad += [{"Green": t} for t in BAD_THRESHOLDS] + [{"Red": t} for t in BAD_THRESHOLDS]
    bad += [{"Cadence": c} for c in BAD_CADENCES] + [{"Updated": d} for d in BAD_DATES]
    bad += [{"KPI": ""}, {"KPI": " "}]
    rows, expect = [], {}
    for i, cell in enumerate(bad):
        row = {"ID": f"B{i}", "KPI": f"Bad {i}", "Value": "70", "Direction": "higher", "Green": "80", "Red": "60",
               "Cadence": "weekly", "Updated": "2026-11-14", **cell}  # fmt: skip
        rows.append(row)
        expect[f"B{i}"] = (len(rows), KPI_HEAD.index(next(iter(cell))))  # (csv row number - 1, column index)
        rows.append(good[i % len(good)] | {"ID": f"G{i}", "KPI": f"Good {i}"})
    write_csv(tmp_path / "kpis.csv", KPI_HEAD, rows)
    write_csv(tmp_path / "control.csv", KPI_HEAD, [r for r in rows if r["ID"].startswith("G")])
    cfg = _cfg(tmp_path, '[[kpis]]\nname = "kpis"\ntype = "csv"\npath = "kpis.csv"\n'
               '[[kpis]]\nname = "control"\ntype = "csv"\npath = "control.csv"\n')  # fmt: skip
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    assert run.code == 0, run.err  # a bad cell is a result, not a failure
    assert "Traceback" not in run.err
    out = run.json
    by_id = {(k["source"], k["id"]): k for k in out["kpis"]}
    warned = " | ".join(w["message"] for w in out["warnings"])
    assert len(bad) >= 105
    for i, cell in enumerate(bad):
        column = next(iter(cell))
        row_number, col = expect[f"B{i}"]
        where = f"row {row_number + 1}"
        if column == "KPI":
            assert f"kpis.csv {where}" in warned
            continue
        k = by_id[("kpis", f"B{i}")]
        if column in ("Cadence", "Updated"):
            assert f"kpis.csv {where}, column {'IJ'[column == 'Updated']}" in warned, (cell, warned[:300])
            continue
        if column == "Value" and k["status"] in ("green", "amber", "red"):
            pytest.fail(f"{cell!r} read as a number: {k['value']}")
        assert k["status"] in ("no_data", "invalid"), (cell, k)
        assert f"kpis.csv {where}" in (k["reason"] or ""), (cell, k["reason"])
    control = {k["name"]: k["status"] for k in out["kpis"] if k["source"] == "control"}
    beside = {k["name"]: k["status"] for k in out["kpis"] if k["source"] == "kpis" and k["id"].startswith("G")}
    assert beside == control  # good rows beside bad ones unchanged
    _no_secret(run.out, run.err)


def test_bad_okr_cells_are_results_naming_their_cell(tmp_path, syncd):
    cases = [{"Start": v} for v in BAD_NUMBERS[:40]] + [{"Target": v} for v in BAD_NUMBERS[:40]]
    cases += [{"Weight": w} for w in ("-1", "abc", "NaN", "inf", "1e309", "0", "((2))", "-0", "#REF!")]
    cases += [{"Kind": "checklist", "Current": c} for c in ("0/0", "5/3", "a/b", "3", "1/2/3", "-1/4", "")]
    cases += [{"Kind": k} for k in ("stretch", "kpi", "5")] + [{"Start": "5", "Target": "5"}]
    rows = []
    for i, cell in enumerate(cases):
        rows.append({"Objective": f"Obj {i}", "Key result": f"Bad {i}", "Start": "0", "Target": "10", "Current": "5",
                     "Cycle": "2026-10-01..2026-10-10", **cell})  # fmt: skip
        rows.append({"Objective": f"Obj {i}", "Key result": f"Good {i}", "Start": "0", "Target": "10", "Current": "5",
                     "Cycle": "2026-10-01..2026-10-10"})  # fmt: skip
    write_csv(tmp_path / "okrs.csv", OKR_HEAD, rows)
    cfg = _cfg(tmp_path, '[[okrs]]\nname = "okrs"\ntype = "csv"\npath = "okrs.csv"\n')
    run = syncd("sync", "--config", cfg, "--now", TEN_DAYS_HALF, "--format", "json")
    assert run.code == 0 and "Traceback" not in run.err
    krs = {kr["title"]: kr for o in run.json["objectives"] for kr in o["key_results"]}
    assert len(cases) >= 90
    for i, cell in enumerate(cases):
        kr = krs[f"Bad {i}"]
        if cell.get("Start") in ("", " ") or cell.get("Target") in ("", " "):
            assert kr["status"] == "invalid" and f"row {2 * i + 2}" in kr["reason"], (cell, kr)
            continue
        assert kr["status"] in ("no_data", "invalid"), (cell, kr)
        assert f"okrs.csv row {2 * i + 2}, column" in kr["reason"], (cell, kr["reason"])
        assert krs[f"Good {i}"]["status"] == "on_track" and krs[f"Good {i}"]["progress"] == 0.5


BAD_FILES: list[tuple[str, bytes]] = [
    ("empty", b""), ("blank", b"\n\n\n"), ("bom only", b"\xef\xbb\xbf"), ("header only", b"KPI,Value\n"),
    ("no name column", b"Name,Value\nx,1\n"), ("no value column", b"KPI,Number\nx,1\n"),
    ("semicolons", b"KPI;Value\nx;1\n"), ("tabs", b"KPI\tValue\nx\t1\n"), ("pipes", b"KPI|Value\nx|1\n"),
    ("latin-1", "KPI,Value\ncaf\xe9,1\n".encode("latin-1")), ("binary", bytes(range(256)) * 4),
    ("gzip", b"\x1f\x8b\x08\x00" + b"\x00" * 40), ("xlsx bytes", b"PK\x03\x04" + b"\x00" * 60),
    ("utf-16", "KPI,Value\nx,1\n".encode("utf-16")), ("quote row 2", b'KPI,Value\n"x,1\ny,2\n'),
    ("quote in header", b'KPI,"Value\nx,1\n'), ("quote at end", b'KPI,Value\nx,"1\n'),
    ("quote mid file", b'KPI,Value\na,1\nb,2\nc,"3\nd,4\n'), ("nul bytes", b"KPI,Value\n\x00\x00,\x00\n"),
    ("only commas", b",,,\n,,,\n"), ("html", b"<html><body>404</body></html>\n"),
    ("json", b'{"KPI": "x", "Value": 1}\n'), ("huge header", b"KPI," * 5000 + b"Value\nx" + b",1" * 5000 + b"\n"),
    ("cr only", b"KPI,Value\rx,1\r"), ("quote after text", b'KPI,Value\nx"y,1\nz,"2\n'),
]  # fmt: skip


def test_bad_files_fail_their_own_source_naming_the_file_and_the_rest_syncs(tmp_path, syncd):
    sources = []
    for i, (_, data) in enumerate(BAD_FILES):
        (tmp_path / f"bad{i}.csv").write_bytes(data)
        sources.append(f'[[kpis]]\nname = "bad{i}"\ntype = "csv"\npath = "bad{i}.csv"\n')
    sources.append('[[kpis]]\nname = "missing"\ntype = "csv"\npath = "nowhere/missing.csv"\n')
    (tmp_path / "dir.csv").mkdir()
    sources.append('[[kpis]]\nname = "a folder"\ntype = "csv"\npath = "dir.csv"\n')
    (tmp_path / "good.csv").write_text("KPI,Value,Direction,Green,Red\nNPS,41,higher,40,20\n")
    sources.append('[[kpis]]\nname = "good"\ntype = "csv"\npath = "good.csv"\n')
    before = {p.name: p.read_bytes() for p in tmp_path.glob("bad*.csv")}
    cfg = _cfg(tmp_path, "".join(sources))
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    assert run.code == 1 and "Traceback" not in run.err
    out = run.json
    outcome = {name: s["outcome"] for name, s in out["sources"].items()}
    assert outcome["good"] == "ok" and [k["name"] for k in out["kpis"] if k["source"] == "good"] == ["NPS"]
    failed = {e["source"]: e["message"] for e in out["errors"]}
    for i, (label, _) in enumerate(BAD_FILES):
        name = f"bad{i}"
        if outcome[name] == "ok":  # readable: then its rows are bad rows, each a result naming its row
            items = [k for k in out["kpis"] if k["source"] == name]
            assert items, label
            for k in items:
                assert k["status"] in ("no_data", "invalid") and f"bad{i}.csv row " in k["reason"], (label, k)
            continue
        assert f"bad{i}.csv" in failed[name], (label, failed[name])
    assert "missing.csv" in failed["missing"] and "dir.csv" in failed["a folder"]
    for name, data in before.items():  # nothing written into a file that failed
        if outcome[name.removesuffix(".csv")] != "ok":
            assert (tmp_path / name).read_bytes() == data, name
    _no_secret(run.out, run.err)
    _files_clean(tmp_path)


BAD_CONFIGS: list[tuple[str, str]] = [
    ("[syncd\n", "not valid TOML"), ("x = 1\n", "x: unknown key"), ("[syncd]\nstate = 5\n", "syncd.state"),
    ('[syncd]\ninterval = "soon"\n', "syncd.interval"), ("[syncd]\ninterval = 15\n", "syncd.interval"),
    ('[syncd]\ninterval = "0s"\n', "syncd.interval"), ('[syncd]\ninterval = "-5m"\n', "syncd.interval"),
    ('[syncd]\ninterval = "99999999999999d"\n', "syncd.interval"), ('[syncd]\ntimeout = "0s"\n', "syncd.timeout"),
    ('[syncd]\ntimeout = "1e999s"\n', "syncd.timeout"), ("[syncd]\ntimeout = true\n", "syncd.timeout"),
    ('[syncd]\ntimezone = "Mars/Base"\n', "syncd.timezone"), ('[syncd]\ntimezone = ""\n', "syncd.timezone"),
    ("[syncd]\nfiscal_year_start = 0\n", "syncd.fiscal_year_start"), ("[syncd]\nretries = 0\n", "syncd.retries"),
    ('[syncd]\nlisten = "notaport"\n', "syncd.listen"), ('[syncd]\nlisten = ":"\n', "syncd.listen"),
    ('[syncd]\nlisten = "127.0.0.1:99999"\n', "syncd.listen"), ('[syncd]\nlisten = "host:-1"\n', "syncd.listen"),
    ('[kpi]\nstale_grace = "99999999999999d"\n', "kpi.stale_grace"), ('[kpi]\nstale_grace = 1\n', "kpi.stale_grace"),
    ('[okr]\ndefault_type = "stretch"\n', "okr.default_type"), ("[okr]\naspirational_success = 0\n", "okr.aspirational_success"),
    ("[okr]\nat_risk_tolerance = 0.01\n", "okr.at_risk_tolerance"), ("[okr]\nmax_objectives = -1\n", "okr.max_objectives"),
    ("[limits]\nnotion_per_second = 0\n", "limits.notion_per_second"), ("[[kpis]]\n", "kpis[0]"),
    ('[[kpis]]\nname = "k"\ntype = "excel"\n', "kpis[0]"), ('[[kpis]]\nname = "k"\ntype = "csv"\n', "kpis[0].path"),
    ('[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\npth = "x"\n', "kpis[0].pth"),
    ('[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\nencoding = "klingon-8"\n', "kpis[0].encoding"),
    ('[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\ndelimiter = ";;"\n', "kpis[0].delimiter"),
    ('[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\nheader_row = 0\n', "kpis[0].header_row"),
    ('[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\ncolumns = { nmae = "N" }\n', "kpis[0].columns.nmae"),
    ('[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\ncolumns = { name = 5 }\n', "kpis[0].columns.name"),
    ('[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\ninterval = "0s"\n', "kpis[0].interval"),
    ('[[okrs]]\nname = "o"\ntype = "csv"\npath = "o.csv"\ncolumns = { titel = "T" }\n', "okrs[0].columns.titel"),
    ('[[okrs]]\nname = "n"\ntype = "notion"\n', "okrs[0].objectives"), ('[[okrs]]\nname = "n"\ntype = "notion"\nobjectives = "a"\n', "okrs[0].objectives"),
    ('[[kpis]]\nname = "n"\ntype = "notion"\ndatabase = "zz"\n', "kpis[0].database"),
    ('[[okrs]]\nname = "n"\ntype = "notion"\nobjectives = "0123456789abcdef0123456789abcdef"\nproperties = { titel = "T" }\n', "okrs[0].properties.titel"),
    (f'[[okrs]]\nname = "n"\ntype = "notion"\nobjectives = "0123456789abcdef0123456789abcdef"\ntoken_env = "{NOTION_TOKEN}"\n', "okrs[0].token_env"),
    (f'[[okrs]]\nname = "t"\ntype = "trello"\nboard = "b"\ntoken_env = "{TRELLO_TOKEN}"\n', "okrs[0].token_env"),
    ('[[okrs]]\nname = "t"\ntype = "trello"\nboard = "b"\nkey_env = "0123456789abcdef0123456789abcdef"\n', "okrs[0].key_env"),
    (f'[[okrs]]\nname = "n"\ntype = "notion"\nobjectives = "x"\ntoken = "{NOTION_TOKEN}"\n', "okrs[0].token"),
    ('[[okrs]]\nname = "t"\ntype = "trello"\nboard = "b"\nprogress_scale = 10\n', "okrs[0].progress_scale"),
    ('[[okrs]]\nname = "t"\ntype = "trello"\nboard = "b"\nfields = { progres = "P" }\n', "okrs[0].fields.progres"),
    ('[[kpis]]\nname = "s"\ntype = "sheets"\n', "kpis[0].spreadsheet"),
    ('[[kpis]]\nname = "s"\ntype = "sheets"\nspreadsheet = "k"\ncredentials_env = "my creds"\n', "kpis[0].credentials_env"),
    ('[[kpis]]\nname = "a"\ntype = "csv"\npath = "a"\n[[okrs]]\nname = "a"\ntype = "csv"\npath = "b"\n', "okrs[0].name"),
    ('[[alerts]]\nname = "x"\n', "alerts[0].url_env"), ('[[alerts]]\nurl_env = "hooks.slack.com/x"\n', "alerts[0].url_env"),
    ('[[alerts]]\nurl_env = "H"\ndigest_day = "someday"\n', "alerts[0].digest_day"),
    ('[[alerts]]\nurl_env = "H"\ndigest_hour = 24\n', "alerts[0].digest_hour"), ("kpis = 5\n", "kpis"),
    ('okrs = "x"\n', "okrs"), ("[syncd]\n[syncd]\n", "not valid TOML"), ('base_dir = "/"\n', "base_dir"),
]  # fmt: skip


@pytest.mark.parametrize("command", ["sync", "check"])
def test_bad_configs_exit_2_naming_the_key_without_echoing_a_secret(tmp_path, syncd, command):
    assert len(BAD_CONFIGS) >= 55
    for i, (body, key) in enumerate(BAD_CONFIGS):
        folder = tmp_path / str(i)
        folder.mkdir()
        cfg = folder / "syncd.toml"
        cfg.write_text(body, encoding="utf-8")
        args = ("sync", "--config", cfg, "--now", NOW) if command == "sync" else ("check", "--config", cfg)
        run = syncd(*args)
        assert run.code == 2, (body, run.out, run.err)
        assert key in run.err and str(cfg) in run.err, (body, run.err)
        assert "Traceback" not in run.err + run.out
        _no_secret(run.out, run.err)
        assert not (folder / "state.db").exists() and not (folder / "syncd.db").exists()
    bad = tmp_path / "bytes.toml"
    bad.write_bytes(b'[syncd]\nstate = "\xff\xfe"\n')
    assert syncd(command, "--config", bad).code == 2


def _responses_run(syncd, tmp_path: Path, cfg_body: str, fake, route: str, body, status: int = 200) -> dict:
    for f in tmp_path.glob("state.db*"):  # a cold pass: schemas and ids are fetched, not cached
        f.unlink()
    fake.answer(route, body, status=status, times=50)
    cfg = _cfg(tmp_path, cfg_body, "[limits]\nnotion_per_second = 100000\nsheets_per_minute = 1000000\n"
               "trello_per_10s = 1000000\ntrello_key_per_10s = 1000000\n")  # fmt: skip
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    fake._canned.clear()
    assert run.code == 1, (route, body, run.out[-500:], run.err[-500:])
    assert "Traceback" not in run.err
    _no_secret(run.out, run.err)
    out = run.json
    assert out["sources"]["good"]["outcome"] == "ok"
    return out


WRONG_SHAPES = [
    "x", 5, None, [], [1, 2], {"object": "list"}, {"results": "x"}, {"results": [1]}, {"results": [{"id": 5}]},
    {"results": [{"properties": "x", "id": "p"}]}, {"sheets": "x"}, {"valueRanges": "x"}, {"cards": "x"},
    {"lists": "x"}, {"lists": [1]}, {"id": None}, b"<html>gateway</html>", b"", b"{", b"\xff\xfe",
]  # fmt: skip
ERRORS = [
    (s, {"message": f"echo Authorization: Bearer {NOTION_TOKEN} key={TRELLO_TOKEN}"})
    for s in (400, 401, 403, 404, 409, 410, 422)
]


def test_bad_responses_fail_their_source_with_a_clear_error(tmp_path, syncd, sheets_fake):
    from tests.fakes.notion import NotionFake, okr_workspace
    from tests.fakes.trello import TrelloFake
    from tests.trello_helpers import okr_board

    (tmp_path / "good.csv").write_text("KPI,Value,Direction,Green,Red\nNPS,41,higher,40,20\n")
    good = '[[kpis]]\nname = "good"\ntype = "csv"\npath = "good.csv"\n'
    cases = 0
    key = "1CorpusSheetKeyAbCdEfGhIj"
    sheets_fake.add_spreadsheet(
        key, {"KPIs": [["KPI", "Value", "Direction", "Green", "Red"], ["A", "1", "higher", "1", "0"]]}
    )
    sheets = good + f'[[kpis]]\nname = "s"\ntype = "sheets"\nspreadsheet = "{key}"\nbase_url = "{sheets_fake.url}"\n'
    for route in ("spreadsheets.get", "values.batchGet"):
        for body in WRONG_SHAPES:
            out = _responses_run(syncd, tmp_path, sheets, sheets_fake, route, body)
            assert key in out["errors"][0]["message"], out["errors"]
            cases += 1
        for status, body in ERRORS:
            out = _responses_run(syncd, tmp_path, sheets, sheets_fake, route, body, status)
            assert key in out["errors"][0]["message"]
            cases += 1
    with NotionFake((NOTION_TOKEN,)) as notion:
        ws = okr_workspace(notion, objectives=2, key_results=4)
        body = good + (f'[[okrs]]\nname = "n"\ntype = "notion"\nobjectives = "{ws["objectives_db"]}"\n'
                       f'key_results = "{ws["key_results_db"]}"\nbase_url = "{notion.url}"\n')  # fmt: skip
        for route in ("data_sources.query", "data_sources.retrieve"):
            for shape in WRONG_SHAPES:
                out = _responses_run(syncd, tmp_path, body, notion, route, shape)
                assert re.search(
                    r"(?i)[0-9a-f]{8}-?[0-9a-f]{4}|notion source 'n'|database", out["errors"][0]["message"]
                ), out["errors"]
                cases += 1
            for status, err in ERRORS:
                _responses_run(syncd, tmp_path, body, notion, route, err, status)
                cases += 1
    with TrelloFake() as trello:
        trello.tokens[TRELLO_TOKEN] = "0123456789abcdef0123456789abcdef"
        board = okr_board(trello, 2, 4)
        body = (
            good
            + f'[[okrs]]\nname = "t"\ntype = "trello"\nboard = "{board}"\nbase_url = "{trello.url}"\ncycle = "2026-Q4"\n'
        )
        for shape in WRONG_SHAPES:
            out = _responses_run(syncd, tmp_path, body, trello, "GET board", shape)
            assert re.search(r"(?i)board|trello source 't'", out["errors"][0]["message"]), out["errors"]
            cases += 1
        for status, err in ERRORS:
            _responses_run(syncd, tmp_path, body, trello, "GET board", err, status)
            cases += 1
    assert cases >= 100
    _files_clean(tmp_path)
    json.dumps(cases)
