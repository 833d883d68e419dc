"""`syncd run` as a real process: health, metrics, signals, single instance,
recovery, and alerts that are never lost or sent twice across kills.

Intervals are short ("300ms", "1s") and every wait polls with a timeout.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.cli import main
from tests.conftest import DEMO, ROOT
from tests.fakes.webhook import WebhookReceiver

HOOK_SECRET = "T0001/B0001/s3cr3tW3bh00kT0k3n"


class Daemon:
    """``python -m syncd run`` in a subprocess, its JSON log lines collected."""

    def __init__(self, config: Path, env: dict[str, str] | None = None):
        self.config = config
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        full_env.pop("SYNCD_CONFIG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syncd", "run", "--config", str(config), "--log-format", "json"],
            cwd=config.parent,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.raw: list[str] = []
        self.lines: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.raw.append(line)
                try:
                    self.lines.append(json.loads(line))
                except ValueError:
                    self.lines.append({"message": line.rstrip()})
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = predicate(self.lines)
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"log condition not met in {timeout}s; log:\n{''.join(self.raw)[-4000:]}")
                self._cond.wait(min(left, 0.2))

    def passes(self, source: str, outcome: str | None = "ok") -> int:
        with self._cond:
            return sum(
                1
                for e in self.lines
                if e.get("event") == "pass"
                and e.get("source") == source
                and (outcome is None or e.get("outcome") == outcome)
            )

    def wait_passes(self, source: str, count: int, outcome: str | None = "ok", timeout: float = 10.0) -> None:
        self.wait_for(lambda _: self.passes(source, outcome) >= count, timeout)

    def event(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        return self.wait_for(lambda lines: next((e for e in lines if e.get("event") == name), None), timeout)

    @property
    def url(self) -> str:
        return self.event("listening")["url"]

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=5)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        """Send ``sig``; return (exit status, seconds it took)."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(5)

    def log_text(self) -> str:
        return "".join(self.raw)


@pytest.fixture
def daemons():
    started: list[Daemon] = []

    def start(config: Path, env: dict[str, str] | None = None) -> Daemon:
        d = Daemon(config, env)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


def _config(
    folder: Path, *, interval: str = "1s", extra: str = "", alerts: bool = False, name: str = "syncd.toml"
) -> Path:
    if not (folder / "examples").exists():
        shutil.copytree(DEMO / "examples", folder / "examples")
    body = (
        f'[syncd]\nstate = "syncd.db"\ninterval = "{interval}"\nlisten = "127.0.0.1:0"\nunhealthy_after = 2\n{extra}\n'
        '[[kpis]]\nname = "company-kpis"\ntype = "csv"\npath = "examples/kpis.csv"\n\n'
        '[[okrs]]\nname = "company-okrs"\ntype = "csv"\npath = "examples/okrs.csv"\n'
    )
    if alerts:
        body += '\n[[alerts]]\nname = "ops"\nurl_env = "SYNCD_TEST_HOOK"\n'
    path = folder / name
    _replace(path, body.encode())
    return path


def _replace(path: Path, data: bytes) -> None:
    """Write the way an editor or a deploy tool does: a new file renamed over the old."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _set_value(path: Path, kpi_id: str, value: str) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(kpi_id + ","):
            cells = next(csv.reader([line]))
            cells[2] = value
            out = io.StringIO()
            csv.writer(out, lineterminator=line[len(line.rstrip("\r\n")) :]).writerow(cells)
            lines[i] = out.getvalue()
    _replace(path, "".join(lines).encode())


def _poll(fn: Callable[[], Any], timeout: float = 10.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


# --- the service runs, shows its health, and stops cleanly ----------------------------------


def test_the_service_syncs_serves_health_and_metrics_and_stops_on_sigterm(tmp_path, daemons, capsys):
    config = _config(tmp_path)
    d = daemons(config)
    d.wait_passes("company-kpis", 2)
    d.wait_passes("company-okrs", 2)

    health = d.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["scheduler"]["alive"] is True
    assert set(body["sources"]) == {"company-kpis", "company-okrs"}

    metrics = d.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    passes = {
        (s.labels["source"], s.labels["outcome"]): s.value
        for s in families["syncd_passes"].samples
        if s.name == "syncd_passes_total"
    }
    assert passes[("company-kpis", "ok")] >= 2
    items = {(s.labels["source"], s.labels["status"]): s.value for s in families["syncd_items"].samples}
    assert items[("company-kpis", "green")] == 8 and items[("company-kpis", "no_data")] == 2
    assert {
        "syncd_pass_duration_seconds",
        "syncd_last_success_timestamp_seconds",
        "syncd_api_calls",
        "syncd_http_429",
    } <= set(families)
    assert d.get("/nothing").status_code == 404

    code, took = d.stop(signal.SIGTERM)
    assert code == 0 and took < 5, d.log_text()
    assert d.event("stopped")
    # It wrote the statuses back, and the file is whole.
    rows = _rows(tmp_path / "examples" / "kpis.csv")
    assert len(rows) == 16 and {r["ID"]: r["Status"] for r in rows}["K04"] == "Green"

    capsys.readouterr()
    assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "service not running" in out
    assert "company-kpis  ok" in out and "(amber 5, green 8, invalid 1, no data 2)" in out
    assert main(["status", "--config", str(config), "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [s["outcome"] for s in status["sources"]] == ["ok", "ok"]


def test_sigterm_mid_pass_finishes_the_write_and_leaves_no_half_written_file(tmp_path, daemons):
    kpis = _big_demo(tmp_path)
    before = kpis.read_bytes()
    d = daemons(_config(tmp_path, interval="10s"))
    # SIGTERM while the first pass (4,000 rows to write) is under way.
    assert _poll(lambda: d.get("/healthz").json()["sources"].get("company-kpis", {}).get("running"), every=0.02)
    code, took = d.stop(signal.SIGTERM)
    assert code == 0 and took < 7, d.log_text()
    stopping = d.event("stopping")
    assert "waiting for the pass of company-kpis" in stopping["message"]
    after = kpis.read_bytes()
    rows = _rows(kpis)
    if after == before:
        # Stopped before the write began: no new write starts once stopping; the
        # pass is partial and the next start syncs the file.
        assert any(e.get("event") == "pass" and e.get("outcome") == "partial" for e in d.lines), d.log_text()
    else:
        assert len(rows) == 4000 and all(r["Status"] for r in rows)  # a write in flight finishes, whole
    assert not list((tmp_path / "examples").glob(".*.syncd-tmp"))
    assert not any(e.get("event") == "interrupted" for e in d.lines)


# --- bad config, single instance ----------------------------------------------------------


def test_a_config_with_an_unknown_key_is_refused_at_start(tmp_path):
    config = _config(tmp_path, extra='intervall = "5m"\n')
    run = subprocess.run(
        [sys.executable, "-m", "syncd", "run", "--config", str(config)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert run.returncode == 2
    assert "syncd.intervall: unknown key" in run.stderr


def test_a_second_instance_refuses_and_a_killed_ones_lock_does_not_block_a_restart(tmp_path, daemons, capsys):
    config = _config(tmp_path)
    first = daemons(config)
    first.event("started")
    second = subprocess.run(
        [sys.executable, "-m", "syncd", "run", "--config", str(config)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert second.returncode == 1
    assert f"another syncd (pid {first.pid}) is using the state file" in second.stderr
    capsys.readouterr()
    assert main(["sync", "--config", str(config)]) == 1
    assert f"pid {first.pid}" in capsys.readouterr().err

    first.kill()  # SIGKILL: no clean-up at all
    again = daemons(config)
    again.wait_passes("company-kpis", 1)
    assert again.stop()[0] == 0


# --- SIGHUP --------------------------------------------------------------------------------


def test_sighup_refuses_a_bad_config_keeps_the_old_one_and_applies_a_good_one(tmp_path, daemons):
    config = _config(tmp_path, interval="300ms")
    d = daemons(config)
    d.wait_passes("company-kpis", 1)
    good = config.read_bytes()

    _replace(config, good.replace(b"unhealthy_after = 2", b'unhealthy_after = 2\nlisten_on = "x"'))
    d.proc.send_signal(signal.SIGHUP)
    refused = d.event("reload_refused")
    assert "syncd.listen_on: unknown key" in refused["message"] and "running config is kept" in refused["message"]
    n = d.passes("company-kpis")
    d.wait_passes("company-kpis", n + 2)  # still syncing with the old config
    assert d.proc.poll() is None

    shutil.copy(tmp_path / "examples" / "kpis.csv", tmp_path / "examples" / "ops.csv")
    _replace(config, good + b'\n[[kpis]]\nname = "ops-kpis"\ntype = "csv"\npath = "examples/ops.csv"\n')
    d.proc.send_signal(signal.SIGHUP)
    assert "2 source(s)" not in d.event("reloaded")["message"]
    d.wait_passes("ops-kpis", 1)
    assert d.stop()[0] == 0


# --- failure isolation and recovery ----------------------------------------------------------


def test_a_source_whose_file_disappears_fails_alone_and_recovers_when_it_is_back(tmp_path, daemons):
    config = _config(tmp_path, interval="300ms")
    d = daemons(config)
    d.wait_passes("company-kpis", 1)
    kpis = tmp_path / "examples" / "kpis.csv"
    kpis.rename(kpis.with_suffix(".away"))

    unhealthy = _poll(lambda: (r := d.get("/healthz")).status_code == 503 and r.json())
    assert unhealthy, "healthz never turned 503"
    assert unhealthy["failing"] == ["company-kpis"]
    assert "source company-kpis failed 2 passes in a row" in unhealthy["reasons"][0]
    failed = d.wait_for(lambda lines: next((e for e in lines if e.get("outcome") == "failed"), None))
    assert "kpis.csv: no such file" in failed["message"] and "next try in" in failed["message"]
    n = d.passes("company-okrs")
    d.wait_passes("company-okrs", n + 2)  # the other source carries on

    kpis.with_suffix(".away").rename(kpis)
    healthy = _poll(lambda: d.get("/healthz").status_code == 200, timeout=15)
    assert healthy, d.log_text()[-2000:]
    n = d.passes("company-kpis")
    d.wait_passes("company-kpis", n + 1)
    assert d.stop()[0] == 0


# --- kills and restarts ------------------------------------------------------------------------


def _big_demo(folder: Path, rows: int = 4000) -> Path:
    """The demo with a KPI file large enough for a pass to take a while; returns kpis.csv."""
    shutil.copytree(DEMO / "examples", folder / "examples")
    kpis = folder / "examples" / "kpis.csv"
    original = _rows(kpis)
    with kpis.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(original[0]))
        w.writeheader()
        for i in range(rows):
            w.writerow({**original[i % 16], "ID": f"K{i:05d}", "KPI": f"{original[i % 16]['KPI']} {i}"})
    return kpis


def test_sigkill_mid_pass_then_restart_converges_to_the_end_state_of_a_clean_run(tmp_path, daemons, capsys):
    kpis = _big_demo(tmp_path / "killed")
    shutil.copytree(tmp_path / "killed" / "examples", tmp_path / "clean" / "examples")
    config = _config(tmp_path / "killed", interval="1s")
    d = daemons(config)
    assert _poll(lambda: d.get("/healthz").json()["sources"].get("company-kpis", {}).get("running"), every=0.02)
    d.kill()
    statuses = {r["Status"] for r in _rows(kpis)}
    assert len(_rows(kpis)) == 4000 and (statuses == {""} or "" not in statuses)  # old or new, never half

    d2 = daemons(config)
    d2.wait_for(lambda lines: any(e.get("source") == "company-kpis" and e.get("writes") == 0 for e in lines), 20)
    d2.wait_for(lambda lines: any(e.get("source") == "company-okrs" and e.get("writes") == 0 for e in lines), 20)
    assert d2.stop()[0] == 0

    clean = _config(tmp_path / "clean", interval="10s")
    assert main(["sync", "--config", str(clean)]) == 0
    capsys.readouterr()
    for name in ("kpis.csv", "okrs.csv"):
        assert (tmp_path / "killed" / "examples" / name).read_bytes() == (
            tmp_path / "clean" / "examples" / name
        ).read_bytes()
    assert not list((tmp_path / "killed" / "examples").glob("*.syncd-tmp"))


def test_colour_changes_reach_the_webhook_once_across_sigkill_and_a_webhook_outage(tmp_path, daemons, hook):
    config = _config(tmp_path, interval="300ms", alerts=True)
    env = {"SYNCD_TEST_HOOK": hook.hook_url(HOOK_SECRET)}
    kpis = tmp_path / "examples" / "kpis.csv"
    d = daemons(config, env)
    d.wait_passes("company-kpis", 2)
    d.wait_passes("company-okrs", 2)  # every colour is recorded: no alert for first sight
    assert hook.messages == []

    hook.fail_next(2, 500)  # the webhook is down for a moment
    _set_value(kpis, "K03", "10")  # NPS 41 -> 10: the KPI and the key result that follows it turn red
    hook.wait_for(lambda ms: len(ms) >= 1, timeout=15)
    d.kill()  # SIGKILL, wherever it is: perhaps in the middle of posting the next message

    _set_value(kpis, "K02", "5%")  # churn 2.1% -> 5%: amber -> red, noticed by the next process
    d2 = daemons(config, env)
    hook.wait_for(lambda ms: any("*Gross revenue churn* is now red" in m.text for m in ms), timeout=15)
    d2.wait_passes("company-kpis", d2.passes("company-kpis") + 3)
    d2.wait_passes("company-okrs", d2.passes("company-okrs") + 2)
    assert d2.stop()[0] == 0

    texts = [m.text for m in hook.messages]
    keys = [m.idempotency_key for m in hook.messages]
    assert len(texts) == len(set(texts)) == len(set(keys)), texts  # nothing twice
    assert any("*Net promoter score* is now red" in t for t in texts)
    # A message cut off mid-post by the kill is not posted again (it may or may
    # not have arrived): the next process says so. Every other one arrived.
    in_doubt = " ".join(e.get("key", "") for e in d2.lines if "may not have arrived" in e.get("message", ""))
    for needle, item in (
        ("*Net promoter score* is now red", "|K03|red|"),
        ("*Lift net promoter score from 30 to 50*", "|KR6|red|"),
    ):
        assert any(needle in t for t in texts) or item in in_doubt, (texts, in_doubt)
    # Converged: a fresh pass has nothing left to write.
    dry = subprocess.run(
        [sys.executable, "-m", "syncd", "sync", "--config", str(config), "--dry-run", "--format", "json"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert json.loads(dry.stdout)["writes"] == []
    assert {r["ID"]: r["Status"] for r in _rows(kpis)}["K03"] == "Red"
    # The webhook URL is a secret: it is in no log line.
    assert HOOK_SECRET not in d.log_text() + d2.log_text()
