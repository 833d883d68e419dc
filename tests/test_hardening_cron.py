"""A cron run of a local-files setup loads only what it uses (issue 11: a cron run's cost is its imports).

The registry imports a connector only for a configured source type, and the HTTP, page, metrics,
PostgreSQL and settings libraries only where a run needs them; a fresh ``syncd sync`` process shows it.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import NOW, ROOT

#: Top-level packages (and syncd modules) a sync of CSV sources never needs.
NOT_FOR_CSV = {
    "httpx",
    "httpcore",
    "requests",
    "tenacity",
    "notion_client",
    "gspread",
    "google",
    "openpyxl",
    "jinja2",
    "prometheus_client",
    "psycopg",
    "psycopg_pool",
    "pydantic_settings",
    "asyncio",
    "syncd.http",
    "syncd.daemon",
    "syncd.report",
    "syncd.alerts",
    "syncd.observe",
    "syncd.pgstate",
    "syncd.connectors.notion",
    "syncd.connectors.sheets",
    "syncd.connectors.trello",
    "syncd.connectors.asana",
}


def _imported(*argv: str, cwd: os.PathLike[str]) -> set[str]:
    """Every module a fresh ``python -m syncd ...`` imports (from ``-X importtime``)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SYNCD_")}
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "syncd", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("import time:")]
    return {line.rpartition("|")[2].strip() for line in lines[1:]}  # the first is the header


def test_a_csv_only_sync_loads_no_http_page_metrics_or_database_library(demo):
    imported = _imported("sync", "--config", str(demo), "--now", NOW, cwd=demo.parent)
    assert "syncd.connectors.local.source" in imported  # the run did read its sources
    loaded = {name for name in imported if name in NOT_FOR_CSV or name.split(".")[0] in NOT_FOR_CSV}
    assert not loaded, f"a CSV-only `syncd sync` imported {sorted(loaded)}"
