"""Shared fixtures: a copy of the demo in a temporary folder, and a CLI runner."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from syncd.cli import main

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
#: Pristine copies of the demo as of ``NOW`` (never the working tree's examples/).
DEMO = TESTS / "data" / "demo"
#: Recorded real traffic the contract tests replay (see recordings/SOURCES.md).
RECORDINGS = TESTS / "recordings"
NOW = "2026-11-15T09:00:00Z"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def syncd(capsys):
    """Run the CLI in-process: ``syncd("sync", "--config", path, ...)``."""

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def syncd_cli(syncd):
    """The ``syncd`` fixture, for modules that import the ``syncd`` package itself."""
    return syncd


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The demo (tests/data/demo, as of ``NOW``) in a fresh folder; returns the config path."""
    shutil.copytree(DEMO / "examples", tmp_path / "examples")
    shutil.copy(DEMO / "syncd.toml", tmp_path / "syncd.toml")
    return tmp_path / "syncd.toml"


def write_config(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def sheets_fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Sheets fake with a service-account file in GOOGLE_APPLICATION_CREDENTIALS,
    and retries that do not sleep (test-sized)."""
    from syncd.http import RetryPolicy
    from tests.fakes.sheets import FakeSheets

    monkeypatch.setattr(
        RetryPolicy,
        "from_config",
        classmethod(
            lambda cls, config: cls(
                attempts=config.syncd.retries, initial=0.001, max_backoff=0.01, sleep=lambda s: None
            )
        ),
    )
    with FakeSheets() as fake:
        sa = tmp_path / "sa.json"
        sa.write_text(json.dumps(fake.service_account()))
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa))
        yield fake


@pytest.fixture(autouse=True, scope="session")
def _loopback_only():
    """Tests never leave loopback: a connection anywhere else fails the test that made it."""
    import ipaddress
    import socket

    real_connect = socket.socket.connect

    def connect(self, address):  # type: ignore[no-untyped-def]
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise AssertionError(f"a test tried to reach {host}: tests talk to loopback fakes only")
        return real_connect(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]


# --- PostgreSQL (the replicas' state store) ---------------------------------------------------


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for the session. Skipped, saying why, only where none can be
    started; under CI (CI=true) that is a failure instead."""
    import os

    from tests.pgserver import PgServer, PgUnavailable

    try:
        server = PgServer().start()
    except PgUnavailable as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the PostgreSQL tests: {e}")
        pytest.skip(f"no PostgreSQL server can be started here: {e}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_dsn(postgres, monkeypatch, request):
    """A fresh, empty schema of the test PostgreSQL; PGPASSWORD set as an operator would set it."""
    import re

    from tests.pgserver import PASSWORD

    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    name = "t_" + re.sub(r"\W", "_", request.node.name)[:50].lower()
    return postgres.new_schema(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def state_kind(request):
    return request.param


@pytest.fixture
def make_store(state_kind, tmp_path, request):
    """``make_store(readonly=False)``: the same state store each call, in SQLite or PostgreSQL."""
    from syncd.state import SQLiteStore

    opened = []
    dsn = request.getfixturevalue("pg_dsn") if state_kind == "postgresql" else None

    def make(readonly: bool = False):
        if dsn:
            from syncd.pgstate import PostgresStore

            store = PostgresStore(dsn, readonly=readonly)
        else:
            store = SQLiteStore(tmp_path / "s.db", readonly=readonly)
        opened.append(store)
        return store

    make.kind = state_kind  # type: ignore[attr-defined]
    make.dsn = dsn  # type: ignore[attr-defined]
    yield make
    for store in opened:
        try:
            store.close()
        except Exception:  # noqa: BLE001 - already closed by the test
            pass
