"""``syncd sync`` against the Notion fake: the issue's done-when, end to end through the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from syncd.cli import main
from tests.fakes.notion import NotionFake, okr_workspace
from tests.test_notion import TOKEN, _fresh_pacers  # noqa: F401 - fixture

NOW = "2026-11-15T12:00:00Z"


@pytest.fixture
def fake():
    with NotionFake((TOKEN,)) as f:
        yield f


@pytest.fixture
def setup(fake, tmp_path: Path, monkeypatch):
    ws = okr_workspace(fake, objectives=10, key_results=250)
    fake.advance(hours=1)
    monkeypatch.setenv("NOTION_TOKEN", TOKEN)
    path = tmp_path / "syncd.toml"
    path.write_text(
        f"""
[syncd]
state = "state.db"

[limits]
notion_per_second = 2000

[[okrs]]
type = "notion"
name = "company"
objectives = "{ws["objectives_db"]}"
key_results = "https://www.notion.so/acme/Key-results-{ws["key_results_db"].replace("-", "")}"
base_url = "{fake.url}"
""",
        encoding="utf-8",
    )
    return ws, path


def sync(capsys, path: Path, *extra: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["sync", "--config", str(path), "--now", NOW, "--format", "json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_done_when_calls_writes_and_second_sync(fake, setup, capsys):
    ws, path = setup
    notes = {p: fake.get(p, "Notes") for p in ws["objectives"] + ws["key_results"]}

    # 1. first-ever run: ceil(250/100) + ceil(10/100) queries, plus one lookup of each database
    code, out = sync(capsys, path)
    assert code == 0, out["errors"]
    assert len(out["objectives"]) == 10 and sum(len(o["key_results"]) for o in out["objectives"]) == 250
    assert fake.calls["data_sources.query"] == math.ceil(250 / 100) + math.ceil(10 / 100)
    assert fake.calls["databases.retrieve"] == 2 and fake.calls["data_sources.retrieve"] == 2
    written_pages = {w["item"] for w in out["writes"]}
    assert fake.calls["pages.update"] == len(written_pages) == 260  # one call per changed page
    assert out["api_calls"] == {"notion": fake.calls.total()}
    kr = ws["key_results"][10]  # Current 70 of 0..100, half-way through Q4
    assert fake.get(kr, "Progress") == 0.7 and fake.get(kr, "Status") in ("On track", "Done")

    # 2. a second sync writes nothing (it re-reads the pages it just wrote: they were edited after its cutoff)
    fake.advance(minutes=15)
    fake.reset_counts()
    code, out = sync(capsys, path)
    assert code == 0 and out["writes"] == [] and fake.calls["pages.update"] == 0
    assert set(fake.calls) == {"data_sources.query"}

    # 3. a warm run where a handful of pages changed: one query per database, writes only what changed
    fake.advance(minutes=15)
    changed = ws["key_results"][:3]
    for page in changed:
        fake.edit(page, {"Current": 5})
    fake.reset_counts()
    code, out = sync(capsys, path)
    assert code == 0
    assert dict(fake.calls) == {"data_sources.query": 2, "pages.update": len({w["item"] for w in out["writes"]})}
    parents = {ws["objectives"][i % 10] for i in range(3)}
    assert {w["item"] for w in out["writes"]} <= set(changed) | parents
    assert {w["item"] for w in out["writes"] if w["item"] in changed} == set(changed)

    # properties syncd does not own are untouched throughout
    assert {p: fake.get(p, "Notes") for p in notes} == notes


def test_dry_run_writes_nothing_and_shows_the_writes(fake, setup, capsys):
    ws, path = setup
    code, out = sync(capsys, path, "--dry-run")
    assert code == 0 and len(out["writes"]) > 0
    assert fake.calls["pages.update"] == 0 and fake.get(ws["key_results"][0], "Progress") is None


def test_a_rejected_token_fails_that_source_only(fake, setup, capsys, monkeypatch):
    ws, path = setup
    monkeypatch.setenv("OTHER_NOTION", "secret_revoked_42")
    odb, ods = fake.add_database(
        "Team O", {"Name": "title", "Cycle": ("select", ["2026-Q4"]), "Status": ("select", [])}
    )
    kdb, kds = fake.add_database("Team K", {"Name": "title", "Objective": ("relation", ods), "Current": "number",
                                            "Target": "number", "Start": "number", "Status": ("select", [])})  # fmt: skip
    o = fake.add_page(ods, {"Name": "Team objective", "Cycle": "2026-Q4"})
    fake.add_page(kds, {"Name": "Team KR", "Objective": [o], "Start": 0, "Target": 10, "Current": 5})
    path.write_text(
        path.read_text()
        + f"""
[[okrs]]
type = "notion"
name = "team"
objectives = "{odb}"
key_results = "{kdb}"
token_env = "OTHER_NOTION"
base_url = "{fake.url}"
"""
    )
    capsys.readouterr()
    code = main(["sync", "--config", str(path), "--now", NOW, "--format", "json"])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 1
    (error,) = out["errors"]
    assert error["source"] == "team" and "unauthorized" in error["message"] and "OTHER_NOTION" in error["message"]
    assert len(out["objectives"]) == 10  # the other source synced
    assert fake.calls["pages.update"] == 260
    for text in (captured.out, captured.err, (path.parent / "state.db").read_bytes().decode("latin-1")):
        assert "secret_revoked_42" not in text and TOKEN not in text


def test_check_reaches_the_databases_and_names_what_is_wrong(fake, setup, capsys):
    ws, path = setup
    capsys.readouterr()
    assert main(["check", "--config", str(path)]) == 0
    assert "okrs.company (notion): ok" in capsys.readouterr().out
    path.write_text(path.read_text() + '\n[okrs.properties]\nscore = "Grade"\n')
    assert main(["check", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "properties.score = 'Grade'" in out and "'Score'" in out
