"""What a server owner watches: /livez (process and scheduler) apart from /readyz (sources), /healthz
as before; every series at zero from the start, the build info and the process metrics."""

from __future__ import annotations

import re
import subprocess
import sys

from syncd import __version__
from tests.conftest import ROOT
from tests.test_daemon import _config, _poll, daemons  # noqa: F401 - daemons is a fixture


def _value(metrics: str, series: str) -> float | None:
    m = re.search(rf"^{re.escape(series)} (\S+)$", metrics, re.M)
    return float(m[1]) if m else None


def test_livez_readyz_and_healthz_answer_separately(tmp_path, daemons):
    config = _config(tmp_path, interval="300ms")
    d = daemons(config)
    assert d.get("/livez").status_code == 200  # alive from the start, before any pass
    d.wait_passes("company-kpis", 1)
    d.wait_passes("company-okrs", 1)
    ready = _poll(lambda: (r := d.get("/readyz")).status_code == 200 and r)
    assert ready.json()["status"] == "ready"
    (tmp_path / "examples" / "kpis.csv").rename(tmp_path / "kpis.away")
    d.wait_passes("company-kpis", 1, outcome="failed")
    not_ready = _poll(lambda: (r := d.get("/readyz")).status_code == 503 and r)
    assert "source company-kpis failed its last pass" in not_ready.json()["reasons"]
    assert d.get("/livez").status_code == 200  # a failing source does not make the process dead
    assert d.get("/nope").status_code == 404 and "/livez" in d.get("/nope").text
    assert d.stop()[0] == 0


def test_metrics_start_at_zero_with_build_info_and_process_metrics(tmp_path, daemons):
    d = daemons(_config(tmp_path, interval="1h"))
    d.wait_passes("company-kpis", 1)
    metrics = d.get("/metrics").text
    assert _value(metrics, f'syncd_build_info{{version="{__version__}"}}') == 1.0
    assert _value(metrics, "process_resident_memory_bytes") > 0
    assert _value(metrics, "process_cpu_seconds_total") is not None
    for source in ("company-kpis", "company-okrs"):
        assert _value(metrics, f'syncd_passes_total{{outcome="failed",source="{source}"}}') == 0.0
        assert _value(metrics, f'syncd_passes_total{{outcome="partial",source="{source}"}}') == 0.0
        assert _value(metrics, f'syncd_source_failures_total{{source="{source}"}}') == 0.0
    for kind in ("change", "digest"):
        assert _value(metrics, f'syncd_alerts_failed_total{{kind="{kind}"}}') == 0.0
    assert d.stop()[0] == 0


def test_an_http_source_has_its_call_counters_at_zero(tmp_path):
    from syncd.config import load_config
    from syncd.observe import Metrics

    (tmp_path / "syncd.toml").write_text(
        '[[okrs]]\nname = "board"\ntype = "trello"\nboard = "AbCdEf12"\ncycle = "2026-Q4"\n'
    )
    metrics = Metrics()
    metrics.known(load_config(tmp_path / "syncd.toml").sources())
    text = metrics.render().decode()
    for name in ("syncd_api_calls_total", "syncd_http_retries_total", "syncd_http_429_total"):
        assert _value(text, f'{name}{{service="trello"}}') == 0.0


def test_every_command_takes_log_format():
    out = subprocess.run(
        [sys.executable, "-m", "syncd", "--help"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    commands = re.search(r"\{([a-z,]+)\}", out)[1].split(",")
    assert {"sync", "check", "run", "status", "demo", "init", "health"} <= set(commands)
    for command in commands:
        help_text = subprocess.run(
            [sys.executable, "-m", "syncd", command, "--help"], capture_output=True, text=True, cwd=ROOT
        ).stdout
        assert "--log-format" in help_text, command
