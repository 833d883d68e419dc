"""First contact: ``--version``, ``syncd demo``, ``syncd init``, ``syncd health``, and the state
store's file-system problems as configuration errors (exit 2, naming ``[syncd].state``)."""

from __future__ import annotations

import csv
import json
import os
import socket
from importlib.metadata import version
from pathlib import Path

import pytest

import syncd
from syncd.config import load_config
from syncd.lock import hold
from syncd.observe import HealthServer, Metrics
from tests.conftest import NOW, write_config

#: The demo's clock for the tests: as far into 2027-Q1 (45 days) as NOW is into 2026-Q4.
LATER = "2027-02-15T09:00:00Z"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _statuses(report: dict) -> dict:
    return {
        "kpis": {k["name"]: (k["status"], k["stale"]) for k in report["kpis"]},
        "objectives": {o["title"]: o["status"] for o in report["objectives"]},
        "key_results": {kr["title"]: kr["status"] for o in report["objectives"] for kr in o["key_results"]},
    }


def test_version_has_one_source(syncd_cli):
    run = syncd_cli("--version")
    assert run.code == 0
    assert run.out.strip() == f"syncd {syncd.__version__}" == f"syncd {version('syncd')}"


def test_demo_is_dated_to_the_day_it_is_made_and_looks_like_the_bundled_example(tmp_path, syncd_cli, demo):
    first = syncd_cli("demo", tmp_path / "d", "--now", LATER, "--format", "json")
    assert first.code == 0, first.err
    kpis = {r["ID"]: r for r in _rows(tmp_path / "d" / "kpis.csv")}
    assert kpis["K01"]["Updated"] == "2027-02-01" and kpis["K06"]["Updated"] == "2027-02-14"  # 92 days on
    assert {r["Cycle"] for r in _rows(tmp_path / "d" / "okrs.csv")} == {"2027-Q1"}
    # The same picture as the pristine example shows on its own day.
    example = syncd_cli("sync", "--config", demo, "--dry-run", "--now", NOW, "--format", "json")
    assert _statuses(first.json) == _statuses(example.json)
    assert len(first.json["writes"]) == len(example.json["writes"]) > 20
    assert kpis["K08"]["Status"] == "No data" and kpis["K07"]["Status"].endswith("(stale)")


def test_demo_run_again_writes_nothing(tmp_path, syncd_cli):
    assert syncd_cli("demo", tmp_path / "d").code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "d").glob("*.csv")}
    second = syncd_cli("demo", tmp_path / "d", "--format", "json")
    assert second.code == 0 and second.json["writes"] == []
    assert {p.name: p.read_bytes() for p in (tmp_path / "d").glob("*.csv")} == before
    text = syncd_cli("demo", tmp_path / "d")
    assert "0 file(s) copied, 3 kept" in text.out and "Wrote 0 value(s)" in text.out


def test_demo_default_folder_is_syncd_demo_and_nothing_else_is_written(tmp_path, monkeypatch, syncd_cli):
    monkeypatch.chdir(tmp_path)
    run = syncd_cli("demo")
    assert run.code == 0, run.err
    assert [p.name for p in tmp_path.iterdir()] == ["syncd-demo"]  # no syncd.db where it was run
    assert {p.name for p in (tmp_path / "syncd-demo").iterdir()} >= {"syncd.toml", "kpis.csv", "okrs.csv", "syncd.db"}


def test_init_writes_a_commented_config_that_check_accepts(tmp_path, syncd_cli):
    run = syncd_cli("init", tmp_path / "etc")
    assert run.code == 0 and "wrote" in run.out
    config = tmp_path / "etc" / "syncd.toml"
    text = config.read_text()
    assert text.count("#") > 20 and "[syncd]" in text  # commented, key by key
    check = syncd_cli("check", "--config", config)
    assert check.code == 0, check.out + check.err
    assert "kpis.company-kpis (csv): ok" in check.out
    config.write_text(text + "\n# mine\n")
    again = syncd_cli("init", tmp_path / "etc")
    assert again.code == 0 and config.read_text().endswith("# mine\n")  # kept, not overwritten


def test_init_into_a_folder_that_cannot_be_made_is_exit_2(tmp_path, syncd_cli):
    (tmp_path / "file").write_text("x")
    run = syncd_cli("init", tmp_path / "file" / "etc")
    assert run.code == 2 and "cannot write there" in run.err and "Traceback" not in run.err


# --- the state store's file-system problems -------------------------------------------------


@pytest.fixture
def state_in_a_file(tmp_path, demo) -> Path:
    (tmp_path / "not-a-folder").write_text("")
    text = demo.read_text().replace('state = "syncd.db"', 'state = "not-a-folder/syncd.db"')
    return write_config(demo, text)


@pytest.mark.parametrize("command", ["sync", "run", "status", "check"])
def test_a_state_folder_that_is_a_file_is_a_configuration_error(state_in_a_file, syncd_cli, command):
    run = syncd_cli(command, "--config", state_in_a_file)
    assert run.code == 2
    assert "[syncd].state" in run.err and str(state_in_a_file.parent / "not-a-folder") in run.err
    assert "is a file, not a folder" in run.err and "Traceback" not in run.err


def test_a_state_path_that_is_a_folder_is_a_configuration_error(tmp_path, demo, syncd_cli):
    (tmp_path / "syncd.db").mkdir()
    run = syncd_cli("sync", "--config", demo, "--now", NOW)
    assert run.code == 2 and "[syncd].state" in run.err and "is a folder" in run.err


def test_a_state_file_that_is_not_a_database_is_a_configuration_error(tmp_path, demo, syncd_cli):
    (tmp_path / "syncd.db").write_bytes(b"not sqlite at all " * 100)
    run = syncd_cli("sync", "--config", demo, "--now", NOW)
    assert run.code == 2 and "[syncd].state" in run.err and "Traceback" not in run.err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere: a read-only folder needs another user")
def test_a_state_folder_not_writable_is_a_configuration_error(tmp_path, demo, syncd_cli):
    folder = tmp_path / "ro"
    folder.mkdir()
    write_config(demo, demo.read_text().replace('state = "syncd.db"', 'state = "ro/syncd.db"'))
    folder.chmod(0o500)
    try:
        for command in ("sync", "run", "check"):
            run = syncd_cli(command, "--config", demo)
            assert run.code == 2 and "[syncd].state" in run.err and "not writable" in run.err, command
    finally:
        folder.chmod(0o700)


def test_state_errors_are_json_lines_with_log_format_json(state_in_a_file, syncd_cli):
    run = syncd_cli("sync", "--config", state_in_a_file, "--log-format", "json")
    assert run.code == 2
    line = json.loads(run.err.strip())
    assert line["level"] == "error" and "[syncd].state" in line["message"]


def test_sync_logs_json_lines_with_log_format_json(demo, syncd_cli):
    (demo.parent / "examples" / "okrs.csv").unlink()
    run = syncd_cli("sync", "--config", demo, "--now", NOW, "--log-format", "json")
    assert run.code == 1
    lines = [json.loads(line) for line in run.err.splitlines()]
    assert lines and all(line["level"] in ("warning", "error") for line in lines)
    assert any("company-okrs" in line["message"] for line in lines)


# --- syncd check: the lock and listen ----------------------------------------------------------


def test_check_names_the_holder_of_the_lock(demo, syncd_cli):
    config = load_config(demo)
    with hold(config.state_path):
        run = syncd_cli("check", "--config", demo)
    assert run.code == 1
    assert "state lock: FAILED" in run.out and f"held by pid {os.getpid()}" in run.out
    assert syncd_cli("check", "--config", demo).code == 0  # free again


def test_check_says_when_listen_cannot_be_bound(demo, syncd_cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        write_config(demo, demo.read_text().replace("[syncd]\n", f'[syncd]\nlisten = "127.0.0.1:{port}"\n', 1))
        run = syncd_cli("check", "--config", demo)
    assert run.code == 1
    assert f"listen 127.0.0.1:{port}: FAILED" in run.out and "another process listens there" in run.out
    assert syncd_cli("check", "--config", demo).code == 0


# --- syncd health ------------------------------------------------------------------------------


def test_health_asks_the_port_the_config_names(demo, syncd_cli):
    verdict = {"ok": True}

    def health():
        ok = verdict["ok"]
        return ok, {"status": "ok" if ok else "unhealthy", "reasons": [] if ok else ["source x failed 3 passes"]}

    server = HealthServer("127.0.0.1:0", Metrics(), health)
    try:
        port = server.address[1]
        write_config(demo, demo.read_text().replace("[syncd]\n", f'[syncd]\nlisten = "0.0.0.0:{port}"\n', 1))
        ok = syncd_cli("health", "--config", demo)
        assert ok.code == 0 and f"127.0.0.1:{port}/healthz: 200 ok" in ok.out
        verdict["ok"] = False
        bad = syncd_cli("health", "--config", demo)
        assert bad.code == 1 and "503 unhealthy" in bad.out and "source x failed 3 passes" in bad.out
    finally:
        server.close()
    gone = syncd_cli("health", "--config", demo)
    assert gone.code == 1 and "no answer" in gone.err


def test_health_without_listen_is_a_configuration_error(demo, syncd_cli):
    run = syncd_cli("health", "--config", demo)
    assert run.code == 2 and "[syncd].listen" in run.err


def test_a_state_folder_the_service_user_cannot_write_is_named_even_when_tests_run_as_root(
    tmp_path, demo, syncd_cli, monkeypatch
):
    """As root, a folder's mode does not stop a write: the access check is made to answer as for the
    service user, so the message is seen whoever runs the suite."""
    import syncd.preflight as preflight

    folder = tmp_path / "ro"
    folder.mkdir()
    write_config(demo, demo.read_text().replace('state = "syncd.db"', 'state = "ro/syncd.db"'))
    real = os.access
    monkeypatch.setattr(
        preflight.os, "access", lambda p, mode: False if Path(p) == folder and mode & os.W_OK else real(p, mode)
    )
    for command in ("sync", "run", "check"):
        run = syncd_cli(command, "--config", demo)
        assert run.code == 2, command
        assert f"[syncd].state: {folder / 'syncd.db'}: the folder {folder} is not writable" in run.err
        assert "Traceback" not in run.err
    assert not (folder / "syncd.db").exists()
