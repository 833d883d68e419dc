"""Issue 11: a structurally broken source fails alone, loudly; never a partial read passed off as synced.

- a CSV with an unterminated quote fails its source naming the row where the quote opens;
  nothing is written to it, the other sources still sync;
- Trello paging that makes no progress fails the board (fakes that page both ways);
- a Sheets server answering 200 with an unexpected shape fails that source, the JSON is still printed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.source import SourceError
from tests.conftest import NOW
from tests.fakes.sheets import FakeSheets
from tests.trello_helpers import fake, okr_board, open_trello, server  # noqa: F401 - fixtures

KPI_HEAD = "KPI,Value,Direction,Green,Red\n"


def _two_csv_sources(tmp_path: Path, broken: str) -> Path:
    (tmp_path / "bad.csv").write_text(broken)
    (tmp_path / "good.csv").write_text(KPI_HEAD + "NPS,41,higher,40,20\nChurn,3,lower,2,4\n")
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        '[syncd]\nstate = "s.db"\n'
        '[[kpis]]\nname = "bad"\ntype = "csv"\npath = "bad.csv"\n'
        '[[kpis]]\nname = "good"\ntype = "csv"\npath = "good.csv"\n'
    )
    return cfg


@pytest.mark.parametrize(
    ("text", "row", "line", "column"),
    [
        (KPI_HEAD + 'NPS,"41,higher,40,20\nChurn,3,lower,2,4\nUptime,99.9,higher,99.5,99\n', 2, 2, "B"),
        (KPI_HEAD + "NPS,41,higher,40,20\n" + '"Churn\nrate",3,lower,2,4\nCSAT,"4.5",higher,4,3\nX,"1,higher,1,0\n', 5, 6, "B"),
        ('KPI,Value,"Direction\n', 1, 1, "C"),
    ],
)  # fmt: skip
def test_an_unterminated_quote_fails_its_source_naming_the_row(tmp_path, syncd, text, row, line, column):
    cfg = _two_csv_sources(tmp_path, text)
    before = (tmp_path / "bad.csv").read_bytes()
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    assert run.code == 1
    (error,) = run.json["errors"]
    assert error["source"] == "bad"
    assert f"row {row} (line {line}) opens a quote in field" in error["message"]
    assert f"(column {column})" in error["message"] and "close the quote" in error["message"]
    assert (tmp_path / "bad.csv").read_bytes() == before  # nothing written into it
    assert {k["source"] for k in run.json["kpis"]} == {"good"}  # nothing of it reported as synced
    assert "Status" in (tmp_path / "good.csv").read_text()  # the other source still synced
    assert run.json["sources"]["bad"]["outcome"] == "failed"


def test_quotes_that_close_still_read(tmp_path, syncd):
    cfg = _two_csv_sources(tmp_path, KPI_HEAD + '"NPS, global","4""1",higher,40,20\n')
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json", "--dry-run")
    assert run.code == 0
    assert {k["name"]: k["value"] for k in run.json["kpis"]}["NPS, global"] is None  # 4"1 is no number


# --- Trello paging -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _pacers():
    yield


@pytest.mark.parametrize("paging", ["sorted", "ascending"])
def test_a_board_past_the_card_cap_is_read_whole_whichever_way_the_server_orders_pages(fake, paging):
    board = okr_board(fake, 5, 2400)
    fake.card_paging = paging
    result = open_trello(fake, board).read()
    ids = [kr.id for o in result.objectives for kr in o.key_results]
    assert len(ids) == 2400 and len(set(ids)) == 2400
    assert fake.calls["GET board cards"] == 3


def test_paging_that_makes_no_progress_fails_the_board(fake):
    board = okr_board(fake, 5, 2400)
    fake.card_paging = "stuck"  # every page answers the same first 1,000 cards
    source = open_trello(fake, board)
    with pytest.raises(SourceError) as e:
        source.read()
    assert "made no progress" in str(e.value) and "was not synced" in str(e.value)
    assert fake.calls["GET board cards"] == 2  # it stops at once, no endless loop


def test_a_page_of_cards_already_seen_fails_the_board(fake):
    board = okr_board(fake, 5, 2400)
    first = sorted(fake.cards.values(), key=lambda c: c["id"], reverse=True)[:1000]
    page = [{"id": c["id"], "idList": c["idList"], "name": c["name"], "closed": False} for c in first]
    fake.answer("GET board cards", page, times=2)  # the second page repeats the first
    with pytest.raises(SourceError, match="made no progress"):
        open_trello(fake, board).read()


def test_a_stuck_board_exits_1_and_other_sources_sync(fake, tmp_path, syncd, monkeypatch):
    board = okr_board(fake, 5, 2400)
    fake.card_paging = "stuck"
    (tmp_path / "k.csv").write_text(KPI_HEAD + "NPS,41,higher,40,20\n")
    monkeypatch.setenv("TRELLO_API_KEY", fake.key)
    monkeypatch.setenv("TRELLO_TOKEN", fake.token)
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        '[syncd]\nstate = "s.db"\n[limits]\ntrello_per_10s = 1000000\ntrello_key_per_10s = 1000000\n'
        '[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\n'
        f'[[okrs]]\nname = "board"\ntype = "trello"\nboard = "{board}"\nbase_url = "{fake.url}"\ncycle = "2026-Q4"\n'
    )
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    assert run.code == 1
    assert run.json["sources"]["board"]["outcome"] == "failed" and run.json["objectives"] == []
    assert "made no progress" in run.json["errors"][0]["message"]
    assert fake.calls["PUT card customField"] == 0 and not any(n.startswith("POST") for n in fake.calls)
    assert run.json["sources"]["k"]["outcome"] == "ok"


# --- Sheets: a 200 with the wrong shape -----------------------------------------------------------

KEY = "1ShapeSheetKeyAbCdEfGhIj"


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("spreadsheets.get", {"sheets": "x"}),
        ("spreadsheets.get", {"sheets": [{"properties": "x"}]}),
        ("spreadsheets.get", {"sheets": [{"properties": {"title": 5}}]}),
        ("spreadsheets.get", ["not", "an", "object"]),
        ("values.batchGet", {"valueRanges": "x"}),
        ("values.batchGet", {"valueRanges": [{"values": "abc"}]}),
        ("values.batchGet", {"valueRanges": [{"values": [1, 2]}]}),
        ("values.batchGet", [1]),
    ],
)
def test_a_sheets_answer_of_the_wrong_shape_fails_only_its_source(
    tmp_path, syncd, sheets_fake: FakeSheets, route, body
):
    sheets_fake.add_spreadsheet(
        KEY, {"KPIs": [["KPI", "Value", "Direction", "Green", "Red"], ["NPS", "41", "higher", "40", "20"]]}
    )
    (tmp_path / "k.csv").write_text(KPI_HEAD + "Churn,3,lower,2,4\n")
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        f'[syncd]\nstate = "s.db"\n[limits]\nsheets_per_minute = 100000\n'
        f'[[kpis]]\nname = "sheet"\ntype = "sheets"\nspreadsheet = "{KEY}"\nbase_url = "{sheets_fake.url}"\n'
        '[[kpis]]\nname = "local"\ntype = "csv"\npath = "k.csv"\n'
    )
    sheets_fake.answer(route, body, times=10)
    run = syncd("sync", "--config", cfg, "--now", NOW, "--format", "json")
    assert run.code == 1, run.err
    assert "Traceback" not in run.err
    (error,) = run.json["errors"]
    assert error["source"] == "sheet" and KEY in error["message"]
    assert "shape" in error["message"] or "ranges asked for" in error["message"]
    assert [k["name"] for k in run.json["kpis"]] == ["Churn"]
    assert sheets_fake.calls["values.batchUpdate"] == 0
