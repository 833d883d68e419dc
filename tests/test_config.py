"""The config file: refused before anything runs, naming the key and what was expected."""

from __future__ import annotations

from datetime import timedelta

import pytest

from syncd.config import ConfigError, load_config, parse_duration
from tests.conftest import NOW, ROOT, write_config


def test_the_example_config_is_valid():
    config = load_config(ROOT / "examples" / "syncd.toml")  # the one `syncd init` and `syncd demo` copy
    assert [s.name for s in config.kpis] == ["company-kpis"]
    assert config.state_path == ROOT / "examples" / "syncd.db"  # relative to the file


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[okrs]]\nname = "o"\ntype = "csv"\npth = "o.csv"\n', "okrs[0].pth: unknown key"),
        ('[[okrs]]\nname = "o"\ntype = "csv"\n', "okrs[0].path: missing"),
        ('[[kpis]]\nname = "k"\ntype = "excel"\npath = "k"\n', "kpis[0]: unknown source type"),
        ('[[kpis]]\nname = "k"\npath = "k"\n', "kpis[0]: missing type"),
        ('[syncd]\ninterval = "soon"\n', "syncd.interval: expected a duration"),
        ('[syncd]\ntimezone = "Mars/Olympus"\n', "syncd.timezone: unknown timezone"),
        ("[syncd]\nfiscal_year_start = 13\n", "syncd.fiscal_year_start"),
        ('[okr]\ndefault_type = "stretch"\n', "okr.default_type"),
        ('[okr]\non_track_tolerance = "a lot"\n', "okr.on_track_tolerance"),
        ('[[okrs]]\nname = "n"\ntype = "notion"\n', "okrs[0].objectives: missing"),
        (
            '[[kpis]]\nname = "a"\ntype = "csv"\npath = "a"\n[[okrs]]\nname = "a"\ntype = "csv"\npath = "b"\n',
            "okrs[0].name: 'a' is already the name of kpis[0]",
        ),
        ("[syncd\n", "not valid TOML"),
        ('[[alerts]]\nname = "slack"\n', "alerts[0].url_env: missing"),
        ('[[okrs]]\nname = "t"\ntype = "trello"\nboard = "b"\nprogress_scale = 10\n', "okrs[0].progress_scale"),
    ],
)
def test_wrong_config_is_refused_with_exit_2_naming_the_key(tmp_path, syncd, body, expected):
    cfg = write_config(tmp_path / "s.toml", body)
    run = syncd("sync", "--config", cfg, "--now", NOW)
    assert run.code == 2
    assert expected in run.err
    assert str(cfg) in run.err
    assert not (tmp_path / "syncd.db").exists()


def test_missing_config_file_says_how_to_give_one(tmp_path, syncd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYNCD_CONFIG", raising=False)
    run = syncd("check")
    assert run.code == 2 and "--config" in run.err and "SYNCD_CONFIG" in run.err


def test_config_defaults_to_syncd_config_variable(demo, syncd, monkeypatch):
    monkeypatch.setenv("SYNCD_CONFIG", str(demo))
    run = syncd("sync", "--dry-run", "--now", NOW, "--format", "json")
    assert run.code == 0 and run.json["kpis"]


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    cfg = write_config(tmp_path / "s.toml", '[syncd]\ninterval = "1h"\ntimezone = "Europe/Berlin"\n')
    monkeypatch.setenv("SYNCD_SYNCD__INTERVAL", "5m")
    config = load_config(cfg)
    assert config.syncd.interval == timedelta(minutes=5)
    assert config.syncd.timezone == "Europe/Berlin"


def test_secrets_are_not_config_keys(tmp_path):
    cfg = write_config(
        tmp_path / "s.toml", '[[okrs]]\nname = "n"\ntype = "notion"\nobjectives = "x"\ntoken = "secret_abc"\n'
    )
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert "okrs[0].token: unknown key" in str(e.value)
    assert "secret_abc" not in str(e.value)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), ("1d", 86400), ("500ms", 0.5)])
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


def test_check_reports_each_source(demo, syncd):
    run = syncd("check", "--config", demo)
    assert run.code == 0, run.out
    assert "kpis.company-kpis (csv): ok" in run.out and "okrs.company-okrs (csv): ok" in run.out


def test_check_says_what_is_wrong_and_where(demo, syncd):
    (demo.parent / "examples" / "kpis.csv").unlink()
    run = syncd("check", "--config", demo)
    assert run.code == 1
    assert "kpis.company-kpis (csv): FAILED" in run.out and "kpis.csv: no such file" in run.out


def test_a_secret_may_come_from_a_file_a_variable_names(tmp_path):
    from syncd.secrets import SecretError, read_secret

    (tmp_path / "token").write_text("secret_from_file\n")
    assert read_secret({"NOTION_TOKEN": " secret_env "}, "NOTION_TOKEN") == "secret_env"
    assert read_secret({"NOTION_TOKEN_FILE": str(tmp_path / "token")}, "NOTION_TOKEN") == "secret_from_file"
    assert read_secret({}, "NOTION_TOKEN") is None
    with pytest.raises(SecretError) as e:
        read_secret({"TRELLO_TOKEN_FILE": str(tmp_path / "missing")}, "TRELLO_TOKEN")
    assert "TRELLO_TOKEN_FILE" in str(e.value)


def test_trello_credentials_from_files(tmp_path, monkeypatch):
    from tests.fakes.trello import TrelloFake
    from tests.trello_helpers import okr_board, open_trello

    with TrelloFake() as fake:
        board = okr_board(fake, 1, 1)
        (tmp_path / "key").write_text(fake.key)
        (tmp_path / "token").write_text(fake.token)
        env = {"TRELLO_API_KEY_FILE": str(tmp_path / "key"), "TRELLO_TOKEN_FILE": str(tmp_path / "token")}
        result = open_trello(fake, board, env=env).read()
    assert len(result.objectives) == 1


def test_sync_logs_never_show_a_secret(demo, syncd, monkeypatch, caplog):
    import logging

    monkeypatch.setenv("NOTION_TOKEN", "secret_sync_log_value")  # known secret variables are redacted
    syncd("sync", "--config", demo, "--dry-run", "--now", NOW)
    handler = logging.getLogger().handlers[0]
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "token is %s", ("secret_sync_log_value",), None)
    for f in handler.filters:
        f.filter(record)
    assert "secret_sync_log_value" not in record.getMessage()
