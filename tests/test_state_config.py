"""``[syncd] state``: a SQLite file or a PostgreSQL DSN, never with a password in it."""

from __future__ import annotations

from tests.conftest import write_config


def _config(tmp_path, state: str):
    return write_config(tmp_path / "syncd.toml", f'[syncd]\nstate = "{state}"\n')


def test_a_dsn_selects_postgresql(tmp_path):
    from syncd.config import load_config

    config = load_config(_config(tmp_path, "postgresql://syncd@db.internal:5432/syncd"))
    assert config.state_dsn == "postgresql://syncd@db.internal:5432/syncd"
    assert config.syncd.lease_ttl.total_seconds() == 60
    assert load_config(_config(tmp_path, "state/syncd.db")).state_dsn is None


def test_a_password_in_the_dsn_is_refused_and_never_shown(tmp_path, syncd):
    for dsn in ("postgresql://syncd:hunter2-pw@db:5432/syncd", "postgresql://syncd@db/syncd?password=hunter2-pw"):
        run = syncd("check", "--config", _config(tmp_path, dsn))
        assert run.code == 2
        assert "syncd.state" in run.err and "PGPASSWORD" in run.err
        assert "hunter2-pw" not in run.err + run.out


def test_unreachable_postgresql_at_start_is_exit_2_naming_the_dsn(tmp_path, syncd, monkeypatch):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PGPASSWORD", "never-Shown-pw")
    dsn = f"postgresql://syncd@127.0.0.1:{port}/syncd?connect_timeout=2"
    for command in ("sync", "status", "run"):
        run = syncd(command, "--config", _config(tmp_path, dsn))
        assert run.code == 2, (command, run.err)
        assert f"127.0.0.1:{port}/syncd" in run.err and "cannot reach the PostgreSQL state store" in run.err
        assert "never-Shown-pw" not in run.err + run.out


def test_the_postgresql_password_is_redacted_wherever_it_would_appear(tmp_path):
    from syncd.config import load_config
    from syncd.logs import Redactor, secret_values

    config = load_config(_config(tmp_path, "postgresql://syncd@db:5432/syncd"))
    redact = Redactor(secret_values(config, {"PGPASSWORD": "pg-pass-Secret-42"}))
    assert redact("FATAL: password pg-pass-Secret-42 rejected") == "FATAL: password *** rejected"
