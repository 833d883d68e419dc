"""Issue 11: configs that used to crash, or were accepted and failed later, are refused at load.

Each is refused with exit 2 naming the key, by ``sync`` and ``check`` alike,
before anything runs; a token pasted where a variable name belongs is never echoed.
"""

from __future__ import annotations

import pytest

from tests.conftest import NOW, write_config

CSV = '[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\n'
NOTION = '[[okrs]]\nname = "n"\ntype = "notion"\n'


@pytest.mark.parametrize(
    ("body", "key", "says"),
    [
        ('[syncd]\ninterval = "99999999999999d"\n', "syncd.interval", "too long"),
        ('[kpi]\nstale_grace = "99999999999999d"\n', "kpi.stale_grace", "too long"),
        ('[syncd]\ninterval = "1e400s"\n', "syncd.interval", "expected a duration"),
        ('[syncd]\ninterval = "0s"\n', "syncd.interval", "out of range; give 100ms to"),
        ('[syncd]\ntimeout = "0s"\n', "syncd.timeout", "out of range; give 100ms to 10m, such as '30s'"),
        ('[syncd]\ntimeout = "2h"\n', "syncd.timeout", "out of range"),
        (
            "[syncd]\ninterval = 15\n",
            "syncd.interval",
            "a bare number has no unit; write it with one, such as 15s or 15m (got 15)",
        ),
        (CSV + 'interval = "0ms"\n', "kpis[0].interval", "out of range"),
        (CSV + 'encoding = "klingon-8"\n', "kpis[0].encoding", "unknown text encoding"),
        (CSV + 'encoding = "hex"\n', "kpis[0].encoding", "not a text encoding"),
        (NOTION + 'objectives = "a"\n', "okrs[0].objectives", "'a' is not a Notion database id or URL"),
        (
            NOTION + 'objectives = "0123456789abcdef0123456789abcdef"\nkey_results = "b"\n',
            "okrs[0].key_results",
            "'b' is not a Notion database id",
        ),
        (
            '[[kpis]]\nname = "n"\ntype = "notion"\ndatabase = "nope"\n',
            "kpis[0].database",
            "'nope' is not a Notion database id",
        ),
        (
            CSV + 'columns = { nmae = "Name" }\n',
            "kpis[0].columns.nmae",
            "not a field syncd maps; the fields are id, name, value",
        ),
        (
            '[[okrs]]\nname = "o"\ntype = "csv"\npath = "o.csv"\ncolumns = { titel = "KR" }\n',
            "okrs[0].columns.titel",
            "not a field syncd maps; the fields are id, objective, title",
        ),
        (
            NOTION + 'objectives = "0123456789abcdef0123456789abcdef"\nproperties = { titel = "Name" }\n',
            "okrs[0].properties.titel",
            "not a field syncd maps; the fields are title, objective",
        ),
        (
            '[[okrs]]\nname = "t"\ntype = "trello"\nboard = "b"\nfields = { progres = "P" }\n',
            "okrs[0].fields.progres",
            "not a field syncd maps",
        ),
        ('[syncd]\nlisten = "notaport"\n', "syncd.listen", "expected host:port such as 127.0.0.1:9321"),
        ('[syncd]\nlisten = ":"\n', "syncd.listen", "expected host:port"),
        (
            '[syncd]\nlisten = "127.0.0.1:99999"\n',
            "syncd.listen",
            "expected host:port such as 127.0.0.1:9321 (port 0 to 65535)",
        ),
    ],
)
@pytest.mark.parametrize("command", ["sync", "check"])
def test_refused_at_load_with_exit_2_naming_the_key(tmp_path, syncd, body, key, says, command):
    cfg = write_config(tmp_path / "s.toml", body)
    (tmp_path / "k.csv").write_text("KPI,Value\na,1\n")
    args = ("sync", "--config", cfg, "--now", NOW) if command == "sync" else ("check", "--config", cfg)
    run = syncd(*args)
    assert run.code == 2, run.out + run.err
    assert f"{key}: {says}" in run.err
    assert "Traceback" not in run.err and "valid" not in run.out
    assert not (tmp_path / "syncd.db").exists()


def test_run_refuses_a_bad_listen_the_same_way(tmp_path, syncd):
    cfg = write_config(tmp_path / "s.toml", '[syncd]\nlisten = "127.0.0.1:99999"\n')
    run = syncd("run", "--config", cfg)
    assert run.code == 2 and "syncd.listen: expected host:port" in run.err


def test_a_config_that_is_not_utf8_is_refused(tmp_path, syncd):
    cfg = tmp_path / "s.toml"
    cfg.write_bytes(b'[[kpis]]\nname = "caf\xe9"\ntype = "csv"\npath = "k.csv"\n')
    run = syncd("check", "--config", cfg)
    assert run.code == 2
    assert "not UTF-8 text (byte 20); save the file as UTF-8" in run.err and str(cfg) in run.err


@pytest.mark.parametrize(
    "value",
    ["ntn_" + "a1B2" * 10, "secret_" + "x9" * 20, "ATTA" + "0f" * 32, "0123456789abcdef0123456789abcdef",
     "xoxb-1234-5678-abcdefghijkl", "my token", "ya29.a0AfH6SMBx"],
)  # fmt: skip
@pytest.mark.parametrize("key", ["token_env", "key_env"])
def test_a_token_pasted_into_an_env_key_is_refused_without_echo(tmp_path, syncd, value, key):
    body = f'[[okrs]]\nname = "t"\ntype = "trello"\nboard = "b"\n{key} = "{value}"\n'
    cfg = write_config(tmp_path / "s.toml", body)
    for args in (("sync", "--config", cfg, "--format", "json"), ("check", "--config", cfg)):
        run = syncd(*args)
        assert run.code == 2
        assert f"okrs[0].{key}: this is not the name of an environment variable" in run.err
        assert value not in run.err + run.out
        if len(value) >= 20:
            for piece in (value[4:16], value[-12:]):
                assert piece not in run.err + run.out


def test_variable_names_still_pass(tmp_path):
    from syncd.config import load_config

    body = '[[okrs]]\nname = "t"\ntype = "trello"\nboard = "b"\ntoken_env = "TRELLO_TOKEN_SALES_2"\n'
    assert load_config(write_config(tmp_path / "s.toml", body)).okrs[0].token_env == "TRELLO_TOKEN_SALES_2"
