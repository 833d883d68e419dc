"""Issue 11: a token echoed back by a gateway never leaves syncd.

Every path out goes through the one redactor: stdout (text and JSON), the
logs, the state store, alert messages and ``syncd status``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import NOW
from tests.fakes.notion import NotionFake, okr_workspace

TOKEN = "ntn_" + "Zq7RealLookingToken4Test" * 2  # an integration token's shape
ODD = "k9-odd-token-with-no-known-shape"  # a token of no known shape: redacted by value


@pytest.fixture(autouse=True)
def _pacers():
    yield


@pytest.mark.parametrize("token", [TOKEN, ODD])
@pytest.mark.parametrize("route", ["data_sources.query", "databases.retrieve"])
def test_a_token_echoed_in_an_error_body_reaches_no_output_and_no_file(tmp_path, syncd, monkeypatch, token, route):
    with NotionFake((token,)) as fake:
        ws = okr_workspace(fake, objectives=2, key_results=4)
        monkeypatch.setenv("NOTION_TOKEN", token)
        cfg = tmp_path / "syncd.toml"
        cfg.write_text(
            f'[syncd]\nstate = "state.db"\nretries = 1\n[limits]\nnotion_per_second = 2000\n'
            f'[[okrs]]\ntype = "notion"\nname = "company"\nobjectives = "{ws["objectives_db"]}"\n'
            f'key_results = "{ws["key_results_db"]}"\nbase_url = "{fake.url}"\n'
        )
        echo = {"object": "error", "status": 400, "code": "validation_error",
                "message": f"bad request; headers were Authorization: Bearer {token} token={token}"}  # fmt: skip
        outputs = []
        for fmt in ("json", "text"):
            fake.answer(route, echo, status=400, times=20)
            run = syncd("sync", "--config", cfg, "--now", NOW, "--format", fmt)
            assert run.code == 1
            outputs += [run.out, run.err]
        assert json.loads(outputs[0])["errors"], outputs[0]
        fake.answer(route, echo, status=400, times=20)
        check = syncd("check", "--config", cfg)
        status_text = syncd("status", "--config", cfg)
        status_json = syncd("status", "--config", cfg, "--format", "json")
        outputs += [check.out, check.err, status_text.out, status_json.out]
        assert "***" in "".join(outputs)  # the message is there, without the token
        for text in outputs:
            assert token not in text
        for f in Path(tmp_path).iterdir():  # the state store, its WAL, any file syncd wrote
            if f.is_file():
                assert token.encode() not in f.read_bytes(), f.name


def test_alert_messages_and_their_stored_errors_are_redacted(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from syncd.alerts import Alerts
    from syncd.config import load_config
    from syncd.http import RetryPolicy
    from syncd.model import Evaluation, KpiResult
    from syncd.state import SQLiteStore as StateStore
    from tests.fakes.webhook import WebhookReceiver

    with WebhookReceiver() as hook:
        url = hook.hook_url()
        cfg = tmp_path / "syncd.toml"
        cfg.write_text('[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\n[[alerts]]\nurl_env = "HOOK"\n')
        config = load_config(cfg)
        env = {"HOOK": url, "NOTION_TOKEN": TOKEN}
        store = StateStore(tmp_path / "s.db")
        clock = [0.0]
        alerts = Alerts(
            config, store, env, policy=RetryPolicy(attempts=1, sleep=lambda s: None), clock=lambda: clock[0]
        )
        from datetime import UTC, datetime

        for i, status in enumerate(("green", "red")):
            kpi = KpiResult(id="K", name=f"leaked {TOKEN}", value=1.0, unit=None, status=status, source="k")
            alerts.observe(
                SimpleNamespace(now=datetime(2026, 11, 15, i, tzinfo=UTC), evaluation=Evaluation(kpis=[kpi]))
            )
        hook.fail_next(1, 500)
        alerts.flush()  # a 500: its error is stored
        clock[0] = 1e6
        alerts.flush()
        store.close()
        assert hook.messages and all(TOKEN not in m.text and "***" in m.text for m in hook.messages)
        for f in tmp_path.iterdir():
            assert TOKEN.encode() not in f.read_bytes() and url.encode() not in f.read_bytes(), f.name
