"""``syncd report``: the page's hooks say what the JSON says; it writes nothing; same input, same bytes.

The page itself, in a browser, is tested in ``test_report_browser.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import pytest

from syncd.evaluate import EvalSettings
from syncd.model import Evaluation, KeyResult, Objective
from syncd.report import Page, render, views_of
from syncd.svg import sparkline
from tests.conftest import write_config
from tests.report_helpers import NOW, add_team_okrs, hooks, seed_history
from tests.test_daemon import daemons  # noqa: F401 - a fixture

GOLDEN = Path(__file__).parent / "golden" / "report.html"


def _files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (the sources and the state store) by content hash.

    SQLite opens a WAL database read-only with its shared-memory index
    (``-shm``) and an empty ``-wal`` beside it: neither holds data, so an empty
    ``-wal`` counts as absent and the index is left out.
    """
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not p.name.endswith((".html", "-shm"))
        and not (p.name.endswith("-wal") and p.stat().st_size == 0)
    }


@pytest.fixture
def history(demo: Path) -> Path:
    seed_history(demo)
    return demo


def test_the_hooks_on_the_page_equal_the_json_of_a_dry_run_at_the_same_now(history, syncd):
    add_team_okrs(history)
    dry = syncd("sync", "--config", history, "--dry-run", "--format", "json", "--now", NOW)
    assert dry.code == 0, dry.err
    expected = dry.json
    out = history.parent / "page.html"
    run = syncd("report", "--config", history, "--now", NOW, "--output", out)
    assert run.code == 0, run.err
    page = hooks(out.read_text(encoding="utf-8"))

    kpis = [(e["data-kpi-id"], e["data-status"]) for e in page.having("data-kpi-id")]
    assert kpis == [(k["id"], k["status"]) for k in expected["kpis"]]
    assert len(kpis) == 16

    def num(v: float | None) -> str:
        return "" if v is None else json.dumps(v)

    objectives = [
        (e["data-objective-id"], e["data-status"], e["data-score"], e.get("data-parent"))
        for e in page.having("data-objective-id")
    ]
    assert sorted(objectives, key=str) == sorted(
        ((o["id"], o["status"], num(o["score"]), o["parent"]) for o in expected["objectives"]), key=str
    )
    assert sum(1 for o in objectives if o[3]) == 2  # the team's objectives that ladder up
    # The tree: a child sits inside its parent's element.
    parents = {o["id"]: o["parent"] for o in expected["objectives"]}
    html = out.read_text(encoding="utf-8")
    for child, parent in parents.items():
        if parent:
            assert f'data-objective-id="{child}"' in _element(html, f'data-objective-id="{parent}"')
    krs = [(e["data-kr-id"], e["data-status"], e["data-progress"]) for e in page.having("data-kr-id")]
    assert sorted(krs) == sorted(
        (kr["id"], kr["status"], num(kr["progress"])) for o in expected["objectives"] for kr in o["key_results"]
    )
    assert all(0 <= float(p) <= 1 for _, _, p in krs if p)
    warnings = [e["data-warning"] for e in page.having("data-warning")]
    assert warnings == [w["code"] for w in expected["warnings"]] and warnings


def test_a_report_writes_nothing_to_the_sources_or_the_state_store(history, syncd):
    before = _files(history.parent)
    assert any(name.startswith("syncd.db") for name in before)
    run = syncd("report", "--config", history, "--now", "2026-11-20T09:00:00Z", "--output", history.parent / "r.html")
    assert run.code == 0, run.err
    assert _files(history.parent) == before
    # There was something to write (the report is not a pass that just found nothing to do).
    assert syncd("sync", "--config", history, "--dry-run", "--format", "json", "--now", NOW).json["writes"]


def test_a_report_on_a_fresh_demo_creates_no_state_store(demo, syncd):
    run = syncd("report", "--config", demo, "--now", NOW, "--output", "-")
    assert run.code == 0, run.err
    assert run.out.startswith("<!DOCTYPE html>")
    assert not (demo.parent / "syncd.db").exists()
    assert not list(demo.parent.glob("syncd.db*"))


def test_the_default_output_is_syncd_report_html_in_the_working_folder(demo, syncd, monkeypatch):
    monkeypatch.chdir(demo.parent)
    assert syncd("report", "--config", demo, "--now", NOW).code == 0
    assert (demo.parent / "syncd-report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_the_page_is_the_same_bytes_for_the_same_input_and_matches_the_golden_file(history, syncd):
    first = syncd("report", "--config", history, "--now", NOW, "--output", "-")
    second = syncd("report", "--config", history, "--now", NOW, "--output", "-")
    assert first.code == second.code == 0
    assert first.out == second.out
    if os.environ.get("SYNCD_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(first.out, encoding="utf-8")
    assert first.out == GOLDEN.read_text(encoding="utf-8"), (
        "the page changed: look at it, then run SYNCD_UPDATE_GOLDEN=1 python3 -m pytest tests/test_report.py"
    )


def test_the_page_loads_nothing_and_needs_no_script(history, syncd):
    html = syncd("report", "--config", history, "--now", NOW, "--output", "-").out
    page = hooks(html)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert "iframe" not in page.tags and "object" not in page.tags
    assert not re.search(r"(?i)(src|href)\s*=", html)
    assert "url(" not in html and "@import" not in html and "@font-face" not in html
    assert "default-src 'none'; style-src 'unsafe-inline'; img-src data:" in unescape(html)
    assert html.count("<svg") >= 4  # the KPIs with history have sparklines


def test_the_page_shows_what_a_team_reads(history, syncd):
    html = syncd("report", "--config", history, "--now", NOW, "--output", "-").out
    tile = _element(html, 'data-kpi-id="K01"')
    assert "412,500 USD" in tile and ">Green<" in tile
    assert "\u2191" in tile and "+7,500 improving" in tile  # 405,000 -> 412,500
    assert "green \u2265 400,000 USD, red &lt; 350,000 USD" in tile
    # The sparkline: the recorded values, the value now, and both threshold lines.
    assert tile.count("<line") == 2 and 'stroke-dasharray="6 3"' in tile and 'stroke-dasharray="2 2"' in tile
    # 08-01 is held when the 90 days open; the four values recorded since; the value now.
    assert "from 2026-08-17 to 2026-11-15: between 371,000 USD and 412,500 USD, now 412,500 USD" in tile
    stale = _element(html, 'data-kpi-id="K07"')
    assert ">stale<" in stale and ">Amber<" in stale
    assert "<svg" not in _element(html, 'data-kpi-id="K02"')  # one value recorded: no line
    nodata = _element(html, 'data-kpi-id="K08"')
    assert ">No data<" in nodata and "#REF!" in nodata
    kr = _element(html, 'data-kr-id="KR1"')
    assert "now 15 \u00b7 target 12 \u00b7 start 21" in kr and ">On track<" in kr
    objective = _element(html, 'data-objective-id="')
    assert 'class="goal" style="left:' in objective  # today's goal line on the score bar
    assert re.search(r"Made <time datetime=\"2026-11-15T09:00:00\+00:00\">2026-11-15 09:00 UTC</time>", html)
    assert "Last pass: <time" in html and "14 days ago" in html  # the last recorded pass, 2026-11-01
    warning = _element(html, 'data-warning="activity_key_result"')
    assert "measures an activity, not an outcome" in warning


def _element(html: str, marker: str) -> str:
    """The text of the element whose start tag holds ``marker`` (up to the next sibling of its kind)."""
    start = html.index(marker)
    tag_start = html.rindex("<", 0, start)
    tag = re.match(r"<(\w+)", html[tag_start:]).group(1)  # type: ignore[union-attr]
    depth, pos = 0, tag_start
    for m in re.finditer(rf"<(/?){tag}\b", html[tag_start:]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            pos = tag_start + m.end()
            break
    return html[tag_start:pos]


def test_exit_status_as_sync_a_missing_source_is_1_and_a_bad_now_is_2(demo, syncd):
    (demo.parent / "examples" / "okrs.csv").unlink()
    out = demo.parent / "r.html"
    run = syncd("report", "--config", demo, "--now", NOW, "--output", out)
    assert run.code == 1
    html = out.read_text(encoding="utf-8")
    assert 'data-error-source="company-okrs"' in html and "okrs.csv" in _element(html, "data-error-source")
    assert 'data-kpi-id="K01"' in html  # the other source is still on the page
    assert syncd("report", "--config", demo, "--now", "soon", "--output", out).code == 2
    assert syncd("report", "--config", demo, "--source", "nope", "--output", out).code == 2
    bad = syncd("report", "--config", demo, "--now", NOW, "--output", demo.parent / "no" / "such" / "r.html")
    assert bad.code == 2 and "--output" in bad.err and "cannot write the page there" in bad.err


def test_source_limits_the_page_to_the_named_sources(demo, syncd):
    run = syncd("report", "--config", demo, "--now", NOW, "--source", "company-okrs", "--output", "-")
    assert run.code == 0
    page = hooks(run.out)
    assert page.having("data-objective-id") and not page.having("data-kpi-id")
    # Key results that follow a KPI still take its value: the KPI source is read, not shown.
    kr2 = _element(run.out, 'data-kr-id="KR2"')
    assert "now 78.5" in kr2


# --- the tree along parent, forecasts (fields of the spec's JSON, section 2) ---------------------


def _objective(oid: str, title: str, cycle: str, parent: str | None, forecast: float | None = None):
    kr = SimpleNamespace(
        id=f"{oid}-kr", title=f"{title} KR", current=5.0, progress=0.5, status="on_track", reason=None,
        kpi=None, forecast=forecast,
    )  # fmt: skip
    return SimpleNamespace(
        id=oid, title=title, cycle=cycle, score=0.5, status="on_track", final=False, reason=None,
        key_results=[kr], source="okrs", parent=parent, children=[], forecast=forecast,
    )  # fmt: skip


def _page(results, objectives=()) -> str:
    now = datetime(2026, 11, 15, 9, tzinfo=UTC)
    part = views_of(
        Evaluation(objectives=results),  # type: ignore[arg-type]
        kpis=[], objectives=list(objectives), errors=[], now=now, settings=EvalSettings(), history={},
    )  # fmt: skip
    return render(Page(made=now, timezone="UTC", dry_run=True, parts=[part], sources=[]))


def test_objectives_are_a_tree_along_parent_per_cycle():
    results = [
        _objective("c1", "Company: grow", "2026", None),
        _objective("t1", "Team: win deals", "2026-Q4", "c1"),
        _objective("t2", "Team: ship faster", "2026-Q4", "t1"),
        _objective("t3", "Team: unaligned", "2026-Q4", None),
        _objective("t4", "Team: parent not here", "2026-Q4", "elsewhere"),
    ]
    html = _page(results)
    company = _element(html, 'data-objective-id="c1"')
    assert 'data-objective-id="t1"' in company and 'data-objective-id="t2"' in company
    assert 'data-objective-id="t2"' in _element(html, 'data-objective-id="t1"')
    assert 'data-objective-id="t3"' not in company
    assert 'data-parent="c1"' in html and 'data-parent="t1"' in html and 'data-parent="elsewhere"' in html
    assert "data-parent" not in _element(html, 'data-objective-id="c1"').split(">", 1)[0]
    # Roots under their own cycle's heading; a child of another cycle says its cycle.
    assert html.index("<h3>2026</h3>") < html.index('data-objective-id="c1"') < html.index("<h3>2026-Q4</h3>")
    assert html.index("<h3>2026-Q4</h3>") < html.index('data-objective-id="t3"')
    assert "2026-Q4 \u00b7 aspirational" in _element(html, 'data-objective-id="t1"')


def test_a_loop_along_parent_is_cut_and_every_objective_is_shown_once():
    html = _page([_objective("a", "A", "2026-Q4", "b"), _objective("b", "B", "2026-Q4", "a")])
    assert html.count('data-objective-id="a"') == 1 and html.count('data-objective-id="b"') == 1


def test_forecasts_are_shown_where_there_are_some_and_absent_otherwise():
    html = _page([_objective("f", "With", "2026-Q4", None, forecast=0.52), _objective("n", "Without", "2026-Q4", None)])
    assert "forecast at cycle end 0.52" in _element(html, 'data-objective-id="f"')
    assert "forecast 52% at cycle end" in _element(html, 'data-kr-id="f-kr"')
    assert "forecast" not in _element(html, 'data-objective-id="n"')


def test_the_goal_line_marker_is_the_elapsed_share_times_success():
    # 2026-Q4 at 2026-11-15 09:00: 45.375 of 92 days gone; aspirational success 0.7.
    o = Objective(id="o", title="O", cycle="2026-Q4", key_results=[KeyResult(id="o-kr", title="K", start=0, target=1)])
    html = _page([_objective("o", "O", "2026-Q4", None)], [o])
    left = re.search(r'class="goal" style="left:([\d.]+)%"', _element(html, 'data-objective-id="o"'))
    assert left and float(left.group(1)) == pytest.approx(45.375 / 92 * 0.7 * 100, abs=0.05)


def test_a_sparkline_needs_two_points_and_draws_its_thresholds():
    now = datetime(2026, 11, 15, tzinfo=UTC)
    start = now - timedelta(days=90)
    assert sparkline([(now, 1.0)], start=start, end=now, label="x") is None
    svg = sparkline(
        [(start, 1.0), (now, 2.0)], start=start, end=now, thresholds=[("green", 3.0), ("red", 0.5)], label="a < b"
    )
    assert svg is not None and svg.startswith("<svg") and "<title>a &lt; b</title>" in svg
    assert svg.count("<line") == 2 and "<path" in svg and "<circle" in svg
    assert "NaN" not in svg and "inf" not in svg


# --- GET / of syncd run ---------------------------------------------------------------------------


def test_syncd_run_serves_the_page_at_root_from_its_last_passes_without_reading_a_source(tmp_path, daemons):
    from tests.fakes.trello import TrelloFake
    from tests.test_daemon_http import ENV, KEY, TOKEN, _board
    from tests.test_daemon_http import _config as trello_config

    with TrelloFake(key=KEY, token=TOKEN) as fake:
        board, follows = _board(fake, 2, 4)
        d = daemons(trello_config(tmp_path, fake, board, interval="1h"), ENV)
        d.wait_passes("okr-board", 1, timeout=20)
        d.wait_passes("kpis", 1, timeout=20)
        reads = len(fake.log)
        pages = [d.get("/") for _ in range(5)]
        assert len(fake.log) == reads  # a request never reads a source
        r = pages[-1]
        assert r.status_code == 200, d.log_text()[-3000:]
        assert r.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        page = hooks(r.text)
        assert [(e["data-kpi-id"], e["data-status"]) for e in page.having("data-kpi-id")] == [("kpis:Churn", "amber")]
        assert len(page.having("data-objective-id")) == 2
        # The card that follows Churn took its value (3.5 from 5 to 2) in the board's pass.
        assert {"data-kr-id": follows, "data-status": "on_track", "data-progress": "0.5"} in page.elements
        assert "from the last completed pass of each source" in r.text
        assert [e["data-source"] for e in page.having("data-source")] == ["kpis", "okr-board"]
        assert TOKEN not in r.text and KEY not in r.text
        code, _ = d.stop()
        assert code == 0


def test_the_live_page_keeps_a_failed_sources_last_items_shows_its_error_and_forgets_removed_sources(demo, tmp_path):
    from syncd.config import load_config
    from syncd.engine import SourceOutcome, SyncReport
    from syncd.evaluate import evaluate
    from syncd.model import KPI, ItemError, ReadResult
    from syncd.report import LivePage
    from syncd.state import SQLiteStore

    config = load_config(demo)
    now = datetime(2026, 11, 15, 9, tzinfo=UTC)
    kpi = KPI(id="K1", name="Churn", value=3.0, direction="lower", green=2.0, red=4.0, source="company-kpis")

    def report(outcome: str, kpis: list[KPI], errors: list[ItemError]) -> SyncReport:
        return SyncReport(
            now=now, dry_run=False, evaluation=evaluate(kpis, [], now=now), writes=[], errors=errors, api_calls={},
            sources={"company-kpis": SourceOutcome("company-kpis", "csv", "kpis", outcome=outcome)},
            items=ReadResult(kpis=kpis),
        )  # fmt: skip

    store = SQLiteStore(tmp_path / "s.db")
    page = LivePage(config, background=False)
    assert b"No KPIs on this page." in page.html()  # before any pass: a page, not an error
    page.observe("company-kpis", report("ok", [kpi], []), store)
    assert b'data-kpi-id="K1" data-status="amber"' in page.html()
    page.observe("company-kpis", report("failed", [], [ItemError("company-kpis", "", "kpis.csv: not found")]), store)
    html = page.html().decode()
    assert 'data-kpi-id="K1"' in html and "kpis.csv: not found" in html and "failed" in html
    page.configure(
        load_config(write_config(tmp_path / "other.toml", '[[okrs]]\nname = "x"\ntype = "csv"\npath = "o.csv"\n'))
    )
    assert b'data-kpi-id="K1"' not in page.html()
    store.close()
