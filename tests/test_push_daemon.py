"""Push (spec §9) with `syncd run` as a real process and the Trello and Notion fakes on loopback.

The fakes deliver signed events like the services: Trello checks the callback
with a HEAD before it creates the webhook and posts ``{action, model}`` with
``memberCreator``; Notion posts the verification token first, then
``page.properties_updated`` events with ``authors`` (merged within a short
window). ``public_url`` is the daemon's own ``listen`` address (the proxy of a
real setup forwards as is). ``push_delay`` is test-sized; every wait polls
with a timeout.
"""

from __future__ import annotations

import json
import signal
import socket
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.notion import BOT, NotionFake, notion_signature, okr_workspace
from tests.fakes.trello import PERSON, SYNCD_MEMBER, TrelloFake, trello_signature
from tests.test_daemon import Daemon, _poll, daemons  # noqa: F401 - daemons is a fixture
from tests.trello_helpers import okr_board

KEY = "k3yForThePushTests000000"
TOKEN = "t0kenThePushLogMustNeverShow0123456789"
SECRET = "appS3cretThatSignsTrelloEvents42"
ENV = {"TRELLO_API_KEY": KEY, "TRELLO_TOKEN": TOKEN, "TRELLO_APP_SECRET": SECRET}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def trello():
    with TrelloFake(key=KEY, token=TOKEN, secret=SECRET) as f:
        yield f


def _push_config(folder: Path, port: int, state: str, sources: str) -> Path:
    """A daemon with push on at loopback ``port``, test-sized waits, and these source tables."""
    path = folder / "syncd.toml"
    path.write_text(
        f"""
[syncd]
state = "{state}"
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
push_delay = "300ms"
reconcile = "1h"
retries = 2
max_retry_wait = "1s"
timeout = "5s"
{sources}""",
        encoding="utf-8",
    )
    return path


def trello_config(folder: Path, fake: TrelloFake, board: str, port: int, *, push: bool = True,
                  name: str = "okr-board", extra: str = "") -> Path:  # fmt: skip
    return _push_config(folder, port, "syncd.db", f"""
[limits]
trello_per_10s = 10000
trello_key_per_10s = 10000
{extra}
[[okrs]]
type = "trello"
name = "{name}"
board = "{board}"
base_url = "{fake.url}"
push = {"true" if push else "false"}
""")  # fmt: skip


def metric(d: Daemon, outcome: str, source: str) -> float:
    text = d.get("/metrics").text
    line = f'syncd_webhook_events_total{{outcome="{outcome}",source="{source}"}}'
    for row in text.splitlines():
        if row.startswith(line):
            return float(row.split()[-1])
    return 0.0


def passes(d: Daemon, source: str) -> list[dict[str, Any]]:
    return [e for e in list(d.lines) if e.get("event") == "pass" and e.get("source") == source]


def hooks_for(fake: TrelloFake, url: str) -> list[dict[str, Any]]:
    return [h for h in fake.webhooks.values() if h["callbackURL"] == url]


def test_a_persons_edit_in_trello_gets_its_status_in_one_pass_and_syncds_own_writes_loop_nowhere(
    tmp_path, trello, daemons
):
    board = okr_board(trello, 2, 4)
    card = next(cid for cid, c in trello.cards.items() if c["name"] == "KR 1.1")  # Current 0 of 0..100
    port = free_port()
    d = daemons(trello_config(tmp_path, trello, board, port), ENV)
    url = f"http://127.0.0.1:{port}/hooks/trello/okr-board"

    ready = d.event("webhook_ready", timeout=15)
    assert ready["new"] is True
    (hook,) = hooks_for(trello, url)  # created once, after Trello's HEAD got 200
    assert hook["idModel"] == board and hook["active"]
    assert trello.calls["GET members me"] == 1
    # The first pass (the source is new) writes every status; each write made once the webhook is there comes
    # back as an event by syncd's member.
    d.wait_for(lambda _: any(p.get("writes") for p in passes(d, "okr-board")), timeout=15)
    first = trello.deliveries.settled()
    assert all(x.status == 200 and x.extra["author"] == SYNCD_MEMBER["id"] for x in first)
    assert metric(d, "own", "okr-board") == len(first)
    assert metric(d, "accepted", "okr-board") == 0  # so no pass follows syncd's own writes
    assert trello.value(card, "Progress") == "0"
    before = len(passes(d, "okr-board"))

    trello.deliveries.clear()
    trello.person_sets(card, "Current", 75)  # a person types a new Current value in Trello
    d.wait_for(lambda _: trello.value(card, "Progress") == "0.75", timeout=10)
    after = trello.deliveries.settled()
    assert [x.extra["author"] for x in after][:1] == [PERSON["id"]]
    assert metric(d, "accepted", "okr-board") == 1
    d.wait_for(lambda _: len(passes(d, "okr-board")) > before)
    new = passes(d, "okr-board")[before:]
    assert len(new) == 1 and new[0]["trigger"] == "push" and new[0]["writes"] >= 1
    assert len(after) > 1 and metric(d, "own", "okr-board") == len(first) + len(after) - 1  # its echo: ignored
    # Nothing more happens: still exactly one pass after the edit, once twice push_delay has gone by.
    _poll(lambda: False, timeout=0.8)
    assert len(passes(d, "okr-board")) == before + 1

    code, _ = d.stop()
    assert code == 0
    log = d.log_text()
    assert SECRET not in log and TOKEN not in log and KEY not in log


def test_a_lost_event_is_caught_by_the_reconcile_poll(tmp_path, trello, daemons):
    board = okr_board(trello, 1, 2)
    card = next(cid for cid, c in trello.cards.items() if c["name"] == "KR 1.1")
    port = free_port()
    config = trello_config(tmp_path, trello, board, port)
    config.write_text(config.read_text().replace('reconcile = "1h"', 'reconcile = "1500ms"'), encoding="utf-8")
    d = daemons(config, ENV)
    d.event("webhook_ready", timeout=15)
    d.wait_for(lambda _: any(p.get("writes") for p in passes(d, "okr-board")), timeout=15)
    with trello._data_lock:
        trello.set_value(card, "Current", 40)  # an edit whose event never arrives
    d.wait_for(lambda _: trello.value(card, "Progress") == "0.4", timeout=10)
    assert passes(d, "okr-board")[-1]["trigger"] == "schedule"
    assert metric(d, "accepted", "okr-board") == 0
    assert d.stop()[0] == 0


def test_the_hook_refuses_what_trello_did_not_sign_and_answers_its_checks(tmp_path, trello, daemons):
    board = okr_board(trello, 1, 2)
    port = free_port()
    d = daemons(trello_config(tmp_path, trello, board, port), ENV)
    url = f"http://127.0.0.1:{port}/hooks/trello/okr-board"
    d.event("webhook_ready", timeout=15)
    d.wait_for(lambda _: passes(d, "okr-board"), timeout=15)
    trello.deliveries.settled()
    before = len(passes(d, "okr-board"))
    body = json.dumps({"action": {"type": "updateCard", "memberCreator": PERSON}, "model": {"id": board}}).encode()

    assert httpx.head(url).status_code == 200 and httpx.get(url).status_code == 200
    assert httpx.post(url, content=body).status_code == 401  # no signature
    wrong = trello_signature("not-the-secret", body, url)
    assert httpx.post(url, content=body, headers={"X-Trello-Webhook": wrong}).status_code == 401
    other_url = trello_signature(SECRET, body, url + "x")  # signed for another callback
    assert httpx.post(url, content=body, headers={"X-Trello-Webhook": other_url}).status_code == 401
    assert httpx.put(url, content=body).status_code == 405
    big = b"x" * (1024 * 1024 + 1)
    assert (
        httpx.post(url, content=big, headers={"X-Trello-Webhook": trello_signature(SECRET, big, url)}).status_code
        == 413
    )
    assert httpx.post(f"http://127.0.0.1:{port}/hooks/trello/nope", content=body).status_code == 404
    assert httpx.post(f"http://127.0.0.1:{port}/hooks/notion/okr-board", content=body).status_code == 404
    assert metric(d, "unauthorized", "okr-board") == 3
    assert metric(d, "too_large", "okr-board") == 1
    assert metric(d, "method_not_allowed", "okr-board") == 1
    assert metric(d, "not_found", "unknown") == 1 and metric(d, "not_found", "okr-board") == 1
    assert metric(d, "check", "okr-board") == 2 + trello.calls["POST webhooks"]
    assert metric(d, "accepted", "okr-board") == 0
    _poll(lambda: False, timeout=0.8)  # twice push_delay: a rejected request started nothing
    assert len(passes(d, "okr-board")) == before

    good = trello_signature(SECRET, body, url)
    assert httpx.post(url, content=body, headers={"X-Trello-Webhook": good}).status_code == 200
    d.wait_for(lambda _: len(passes(d, "okr-board")) > before, timeout=5)
    assert passes(d, "okr-board")[-1]["trigger"] == "push"
    d.stop()
    assert SECRET not in d.log_text()


def test_one_webhook_across_reload_and_restart_and_none_once_push_is_off_or_the_source_gone(tmp_path, trello, daemons):
    board = okr_board(trello, 1, 2)
    port = free_port()
    config = trello_config(tmp_path, trello, board, port)
    url = f"http://127.0.0.1:{port}/hooks/trello/okr-board"
    d = daemons(config, ENV)
    d.event("webhook_ready", timeout=15)
    assert len(hooks_for(trello, url)) == 1

    d.proc.send_signal(signal.SIGHUP)  # reload: checked again, not created again
    d.wait_for(lambda lines: sum(e.get("event") == "webhook_ready" for e in lines) >= 2, timeout=10)
    assert len(hooks_for(trello, url)) == 1 and trello.calls["POST webhooks"] == 1
    assert d.stop()[0] == 0

    d = daemons(config, ENV)  # restart
    assert d.event("webhook_ready", timeout=15)["new"] is False
    assert len(hooks_for(trello, url)) == 1 and trello.calls["POST webhooks"] == 1

    trello_config(tmp_path, trello, board, port, push=False)  # push turned off, then SIGHUP
    d.proc.send_signal(signal.SIGHUP)
    d.event("webhook_removed", timeout=10)
    assert hooks_for(trello, url) == []
    assert httpx.head(url).status_code == 404  # and the path is closed
    trello_config(tmp_path, trello, board, port)  # on again
    d.proc.send_signal(signal.SIGHUP)
    d.wait_for(lambda lines: any(e.get("event") == "webhook_ready" and e.get("new") for e in lines), timeout=10)
    assert len(hooks_for(trello, url)) == 1
    assert d.stop()[0] == 0

    # The source leaves the config while syncd is stopped: the next start removes its webhook.
    trello_config(tmp_path, trello, board, port, name="renamed-board")
    d = daemons(config, ENV)
    d.event("webhook_removed", timeout=15)
    d.event("webhook_ready", timeout=15)
    assert hooks_for(trello, url) == []
    assert len(hooks_for(trello, f"http://127.0.0.1:{port}/hooks/trello/renamed-board")) == 1
    assert d.stop()[0] == 0


def test_syncd_check_says_whether_push_is_set_up_for_a_board(tmp_path, trello, daemons, syncd, monkeypatch):
    board = okr_board(trello, 1, 2)
    port = free_port()
    config = trello_config(tmp_path, trello, board, port)
    url = f"http://127.0.0.1:{port}/hooks/trello/okr-board"
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("TRELLO_APP_SECRET")
    run = syncd("check", "--config", config)
    assert run.code == 1, run.out
    assert "okrs.okr-board (trello): FAILED" in run.out
    assert "push: TRELLO_APP_SECRET is not set" in run.out
    assert f"no webhook sends this board's events to {url} yet" in run.out
    assert f"curl -I {url}" in run.out

    d = daemons(config, ENV)
    d.event("webhook_ready", timeout=15)
    d.stop()
    monkeypatch.setenv("TRELLO_APP_SECRET", SECRET)
    run = syncd("check", "--config", config)
    assert run.code == 0, run.out
    (hook,) = hooks_for(trello, url)
    assert f"push: webhook {hook['id']} registered for {url}, active" in run.out
    assert SECRET not in run.out and TOKEN not in run.out


# --- Notion ----------------------------------------------------------------------------------------


def notion_config(folder: Path, fake: NotionFake, dbs: dict[str, str], port: int) -> Path:
    return _push_config(folder, port, "state/syncd.db", f"""
[limits]
notion_per_second = 1000

[[okrs]]
type = "notion"
name = "team-okrs"
objectives = "{dbs["objectives_db"]}"
key_results = "{dbs["key_results_db"]}"
base_url = "{fake.url}"
push = true
""")  # fmt: skip


def test_notion_verification_then_signed_events_one_pass_per_edit_and_the_token_kept_private(
    tmp_path, daemons, syncd, monkeypatch
):
    with NotionFake(tokens=("secret_pushTestTokenNotion0000000000",)) as fake:
        dbs = okr_workspace(fake, objectives=2, key_results=6)
        kr = dbs["key_results"][0]
        port = free_port()
        config = notion_config(tmp_path, fake, dbs, port)
        env = {"NOTION_TOKEN": "secret_pushTestTokenNotion0000000000"}
        d = daemons(config, env)
        url = f"http://127.0.0.1:{port}/hooks/notion/team-okrs"
        d.event("webhook_ready", timeout=15)
        assert fake.calls["users.me"] == 1
        d.wait_for(lambda _: passes(d, "team-okrs"), timeout=15)

        sub = fake.subscribe(url)  # a person creates the subscription in Notion's settings
        assert sub["verification_status"] == 200
        token_file = tmp_path / "state" / "syncd.db.notion-team-okrs.token"
        assert token_file.read_text().strip() == sub["token"]
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        status = syncd("status", "--config", str(config))
        assert str(token_file) in status.out and "Verify" in status.out and sub["token"] not in status.out
        monkeypatch.setenv("NOTION_TOKEN", env["NOTION_TOKEN"])
        check = syncd("check", "--config", str(config))
        # (the running service holds the lock and the port, which check reports too)
        assert "okrs.team-okrs (notion): ok" in check.out
        assert f"push: verified: the verification token is in {token_file}" in check.out
        assert sub["token"] not in check.out
        assert fake.verify(sub, token_file.read_text().strip())  # ... and pastes it into Notion's form

        before = len(passes(d, "team-okrs"))
        fake.advance(minutes=2)
        old = fake.get(kr, "Progress")
        fake.edit(kr, {"Current": 91})
        fake.edit(kr, {"Current": 92})  # two quick edits: Notion merges them into one event
        d.wait_for(lambda _: fake.get(kr, "Progress") not in (old, None) and len(passes(d, "team-okrs")) > before)
        events = fake.deliveries.settled()
        assert metric(d, "accepted", "team-okrs") == 1
        new = passes(d, "team-okrs")[before:]
        assert len(new) == 1 and new[0]["trigger"] == "push" and new[0]["writes"] >= 1
        own = [e for e in events if e.payload["authors"] == [{"id": BOT, "type": "bot"}]]
        assert own and metric(d, "own", "team-okrs") == len(own)  # syncd's write came back: no pass
        _poll(lambda: False, timeout=0.8)
        assert len(passes(d, "team-okrs")) == before + 1

        body = json.dumps(events[0].payload).encode()
        assert (
            httpx.post(url, content=body, headers={"X-Notion-Signature": notion_signature("wrong", body)}).status_code
            == 401
        )
        assert httpx.get(url).status_code == 405
        # Another verification request does not replace the token people pasted into Notion.
        assert httpx.post(url, json={"verification_token": "secret_" + "z" * 43}).status_code == 200
        assert token_file.read_text().strip() == sub["token"]
        d.stop()
        for text in (d.log_text(), (tmp_path / "state" / "syncd.db").read_bytes().decode("latin-1")):
            assert sub["token"] not in text
