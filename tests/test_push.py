"""Push (spec §9) piece by piece: config, signatures over recorded deliveries, the hook's answers,
the scheduling of event-driven passes, and the fakes' deliveries against the recordings."""

from __future__ import annotations

import json
import random
import stat
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from syncd.config import ConfigError, load_config
from syncd.push import (
    MAX_BODY,
    Hooks,
    Registrar,
    callback_url,
    notion_signature,
    notion_token_path,
    trello_signature,
)
from syncd.scheduler import PassResult, Scheduler
from tests.fakes import notion as notion_fake
from tests.fakes import trello as trello_fake
from tests.fakes.server import FakeServer, Request
from tests.sim_time import SimTime, settle


class Sink(FakeServer):
    """Where the fakes deliver in these tests: takes any POST."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[Request] = []
        self.route("POST", "/sink", "sink", lambda r: self.got.append(r) or {})


RECORDED = Path(__file__).parent / "recordings" / "webhooks"
TRELLO_EVENTS = sorted((RECORDED / "trello").glob("*/*.json"))
TRELLO_EVENTS = [p for p in TRELLO_EVENTS if "action" in json.loads(p.read_bytes())]
SECRET = "theTrelloAppSecret0000"


def _config(tmp_path: Path, body: str = "", *, syncd: str = "") -> Any:
    path = tmp_path / "syncd.toml"
    path.write_text(
        f"""
[syncd]
state = "data/syncd.db"
listen = "127.0.0.1:9321"
public_url = "https://syncd.example.com/"
{syncd}
[[okrs]]
type = "trello"
name = "board one"
board = "AbCd1234"
push = true

[[okrs]]
type = "notion"
name = "team"
objectives = "0123456789abcdef0123456789abcdef"
push = true

[[okrs]]
type = "trello"
name = "polled"
board = "XyZ98765"
{body}
""",
        encoding="utf-8",
    )
    return load_config(path)


# --- config ----------------------------------------------------------------------------------------


def test_pushed_sources_poll_at_reconcile_unless_they_set_an_interval(tmp_path):
    config = _config(tmp_path)
    board, team, polled = config.okrs
    assert config.syncd.push_delay == timedelta(seconds=2) and config.syncd.reconcile == timedelta(hours=6)
    assert board.secret_env == "TRELLO_APP_SECRET" and team.secret_env == "NOTION_WEBHOOK_TOKEN"
    assert config.interval_of(board) == timedelta(hours=6) == config.interval_of(team)
    assert config.interval_of(polled) == timedelta(minutes=15)
    assert callback_url(config, board) == "https://syncd.example.com/hooks/trello/board%20one"
    config = _config(tmp_path, 'interval = "1m"\npush = true', syncd='reconcile = "2h"\npush_delay = "500ms"')
    assert config.interval_of(config.okrs[2]) == timedelta(minutes=1)  # its own interval wins
    assert config.interval_of(config.okrs[0]) == timedelta(hours=2)
    assert config.syncd.push_delay == timedelta(milliseconds=500)


def test_push_without_a_public_url_or_with_a_bad_one_is_refused_naming_the_key(tmp_path):
    path = tmp_path / "syncd.toml"
    path.write_text('[[okrs]]\ntype = "trello"\nname = "b"\nboard = "AbCd1234"\npush = true\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "okrs[0].push: needs [syncd] listen and public_url" in str(e.value)
    path.write_text('[syncd]\npublic_url = "syncd.example.com"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "syncd.public_url: expected the https address" in str(e.value)


# --- signatures over the recorded deliveries -------------------------------------------------------


@pytest.mark.parametrize("recording", TRELLO_EVENTS, ids=lambda p: p.name)
def test_trello_signature_is_base64_hmac_sha1_of_the_raw_body_and_callback(recording):
    import base64
    import hashlib
    import hmac

    body = recording.read_bytes()  # the exact bytes, whitespace and all
    url = "https://syncd.example.com/hooks/trello/board"
    expected = base64.b64encode(hmac.new(SECRET.encode(), body + url.encode(), hashlib.sha1).digest()).decode()
    assert trello_signature(SECRET, body, url) == expected == trello_fake.trello_signature(SECRET, body, url)


def test_notion_signature_is_sha256_hex_of_the_raw_body():
    body = (RECORDED / "notion/zulip/page_properties_updated.json").read_bytes()
    import hashlib
    import hmac

    token = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"
    expected = "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    assert notion_signature(token, body) == expected == notion_fake.notion_signature(token, body)


# --- the hook's answers -----------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.counts: list[tuple[str, str]] = []
        self.events: list[str] = []
        self.secrets: list[str] = []


def _hooks(config: Any, env: dict[str, str]) -> tuple[Hooks, Recorder]:
    r = Recorder()
    hooks = Hooks(config, env, count=lambda s, o: r.counts.append((s, o)), on_event=r.events.append,
                  on_secret=r.secrets.extend)  # fmt: skip
    return hooks, r


def _post(hooks: Hooks, path: str, body: bytes, headers: dict[str, str] | None = None, method: str = "POST") -> Any:
    h = {"content-length": str(len(body)), **{k.lower(): v for k, v in (headers or {}).items()}}
    reads: list[int] = []

    def read(n: int) -> bytes:
        reads.append(n)
        return body[:n]

    reply = hooks.handle(method, path, h, read)
    reply.reads = reads  # type: ignore[attr-defined]
    return reply


def test_trello_events_are_accepted_only_when_signed_and_syncds_own_start_nothing(tmp_path):
    config = _config(tmp_path)
    hooks, r = _hooks(config, {"TRELLO_APP_SECRET": SECRET})
    path = "/hooks/trello/board%20one"
    url = "https://syncd.example.com" + path
    body = (RECORDED / "trello/TrelloDotNet/UpdateCardTitle.json").read_bytes()
    person = json.loads(body)["action"]["memberCreator"]["id"]
    sig = {"X-Trello-Webhook": trello_signature(SECRET, body, url)}

    assert _post(hooks, path, body).status == 401
    assert _post(hooks, path, body, {"X-Trello-Webhook": trello_signature("other", body, url)}).status == 401
    assert _post(hooks, path, body + b" ", sig).status == 401  # one byte more than what was signed
    assert r.events == []
    assert _post(hooks, path, body, sig).status == 200
    assert r.events == ["board one"]
    hooks.set_own("board one", [person])  # as if syncd's member made that edit
    assert _post(hooks, path, body, sig).status == 200
    assert r.events == ["board one"]  # no second pass asked for
    assert [o for _, o in r.counts] == ["unauthorized"] * 3 + ["accepted", "own"]


def test_trello_signatures_made_over_latin1_low_bytes_are_accepted_too(tmp_path):
    import base64
    import hashlib
    import hmac

    config = _config(tmp_path)
    hooks, r = _hooks(config, {"TRELLO_APP_SECRET": SECRET})
    path = "/hooks/trello/board%20one"
    url = "https://syncd.example.com" + path
    body = json.dumps({"action": {"type": "updateCard", "data": {"card": {"name": "Q4 – «growth» ✓"}}}},
                      ensure_ascii=False).encode()  # fmt: skip
    low = bytes(ord(c) & 0xFF for c in body.decode() + url)
    node_binary = base64.b64encode(hmac.new(SECRET.encode(), low, hashlib.sha1).digest()).decode()
    assert _post(hooks, path, body, {"X-Trello-Webhook": node_binary}).status == 200
    assert _post(hooks, path, body, {"X-Trello-Webhook": trello_signature(SECRET, body, url)}).status == 200
    assert r.events == ["board one"] * 2


def test_unknown_sources_wrong_methods_big_bodies_and_missing_secrets(tmp_path):
    config = _config(tmp_path)
    hooks, r = _hooks(config, {})
    body = b"{}"
    assert _post(hooks, "/hooks/trello/nobody", body).status == 404
    assert _post(hooks, "/hooks/trello/polled", body).status == 404  # configured, but not pushed
    assert _post(hooks, "/hooks/notion/board%20one", body).status == 404  # the wrong service's path
    reply = _post(hooks, "/hooks/trello/board%20one", body, method="DELETE")
    assert reply.status == 405 and reply.headers["Allow"] == "HEAD, GET, POST"
    assert _post(hooks, "/hooks/notion/team", body, method="GET").status == 405
    assert _post(hooks, "/hooks/trello/board%20one", b"", method="HEAD").status == 200
    big = _post(hooks, "/hooks/trello/board%20one", b"x", {"content-length": str(MAX_BODY + 1)})
    assert big.status == 413 and big.reads == []  # refused before reading it
    assert _post(hooks, "/hooks/trello/board%20one", body).status == 401  # TRELLO_APP_SECRET not set
    assert r.events == []
    assert r.counts == [("unknown", "not_found"), ("polled", "not_found"), ("board one", "not_found"),
                        ("board one", "method_not_allowed"), ("team", "method_not_allowed"), ("board one", "check"),
                        ("board one", "too_large"), ("board one", "unauthorized")]  # fmt: skip


def test_notion_verification_is_kept_in_a_private_file_then_events_are_checked_with_it(tmp_path, caplog):
    config = _config(tmp_path)
    hooks, r = _hooks(config, {})
    path = "/hooks/notion/team"
    recorded = (RECORDED / "notion/zulip/verification.json").read_bytes()
    token = json.loads(recorded)["verification_token"]
    event = (RECORDED / "notion/zulip/page_properties_updated.json").read_bytes()

    assert (
        _post(hooks, path, event, {"X-Notion-Signature": notion_signature(token, event)}).status == 401
    )  # no token yet
    with caplog.at_level("INFO", logger="syncd.push"):
        assert _post(hooks, path, recorded).status == 200
    file = notion_token_path(config, "team")
    assert file == tmp_path / "data" / "syncd.db.notion-team.token"
    assert file.read_text().strip() == token and stat.S_IMODE(file.stat().st_mode) == 0o600
    assert r.secrets == [token] and str(file) in caplog.text and token not in caplog.text
    assert _post(hooks, path, event, {"X-Notion-Signature": notion_signature(token, event)}).status == 200
    assert _post(hooks, path, event, {"X-Notion-Signature": notion_signature("secret_other", event)}).status == 401
    assert r.events == ["team"]
    # The bot's own edits start nothing; an event merged from the bot and a person does.
    author = json.loads(event)["authors"][0]["id"]
    hooks.set_own("team", [author])
    assert _post(hooks, path, event, {"X-Notion-Signature": notion_signature(token, event)}).status == 200
    merged = json.dumps({**json.loads(event), "authors": [{"id": author, "type": "bot"},
                                                          {"id": "someone", "type": "person"}]}).encode()  # fmt: skip
    assert _post(hooks, path, merged, {"X-Notion-Signature": notion_signature(token, merged)}).status == 200
    assert r.events == ["team", "team"]
    # NOTION_WEBHOOK_TOKEN signs too, when set.
    hooks2, r2 = _hooks(config, {"NOTION_WEBHOOK_TOKEN": "secret_fromTheEnvironment"})
    sig = notion_signature("secret_fromTheEnvironment", event)
    assert _post(hooks2, path, event, {"X-Notion-Signature": sig}).status == 200 and r2.events == ["team"]


# --- scheduling ----------------------------------------------------------------------------------


class _Cfg:
    def __init__(self, name: str) -> None:
        self.name = name


def test_a_burst_of_events_shares_one_pass_and_a_running_pass_is_followed_by_one_more():
    started: list[float] = []
    release = threading.Event()
    clock = SimTime()

    def run_pass(slot: Any) -> PassResult:
        started.append(clock())
        if len(started) == 2:
            release.wait(5)
        return PassResult("ok")

    s = Scheduler(run_pass, rng=random.Random(1), clock=clock)
    s.configure([("okrs", _Cfg("b"), 3600.0)])
    s.run_soon("b", 3600)  # the first pass is far away
    t0 = clock()
    for _ in range(5):  # a burst
        s.push("b", 0.2)
    clock.drive(s, 0.1)
    assert started == []  # not before push_delay
    clock.drive(s, 0.4)
    assert len(started) == 1 and 0.2 <= started[0] - t0 < 0.5
    assert s.slots["b"].trigger == "push"
    s.push("b", 0.0)
    clock.drive(s, 0.1, held={"b"})
    assert len(started) == 2 and s.slots["b"].running  # the second pass hangs
    for _ in range(4):
        s.push("b", 0.05)  # events during it
    clock.drive(s, 0.2, held={"b"})
    release.set()
    settle(s, set())
    clock.drive(s, 0.5)
    assert len(started) == 3  # at most one more after it
    clock.drive(s, 0.3)
    assert len(started) == 3 and not s.slots["b"].running
    assert 3500 < s.seconds_to("b") <= 3600 * 1.1  # then back to its interval
    s.push("gone", 0)  # an event for a source no longer configured is dropped
    clock.drive(s, 0.05)


# --- registration ---------------------------------------------------------------------------------


class _Store(dict):  # type: ignore[type-arg]
    def get(self, source: str, key: str, default: object = None) -> Any:  # type: ignore[override]
        return super().get((source, key), default)

    def put(self, source: str, key: str, value: object) -> None:
        self[(source, key)] = json.loads(json.dumps(value))


def test_the_registrar_retries_a_failed_setup_and_tears_down_what_is_no_longer_pushed(tmp_path):
    config = _config(tmp_path)
    hooks, _ = _hooks(config, {})
    calls: list[tuple[str, str]] = []
    fail = {"board one": 1}

    def setup(role: str, cfg: Any, url: str) -> dict[str, Any]:
        calls.append(("setup", cfg.name))
        if fail.get(cfg.name):
            fail[cfg.name] -= 1
            raise RuntimeError("Trello is down")
        return {"own": [f"me-{cfg.name}"], "webhook": "w1" if cfg.type == "trello" else None}

    store = _Store()
    reg = Registrar(store, hooks, setup, lambda name, record: calls.append(("teardown", name)))
    reg._thread = threading.current_thread()  # driven by hand below, without a thread of its own
    reg.configure(config)
    assert reg.step() is False and reg.problems["board one"] == "Trello is down"
    assert reg.step() is True
    assert calls == [("setup", "board one"), ("setup", "team"), ("setup", "board one")]
    records = store.get("", "push.registrations")
    assert set(records) == {"board one", "team"} and records["board one"]["callback"].endswith("/board%20one")
    assert hooks._own["team"] == frozenset({"me-team"})
    config.okrs[0].push = False  # push turned off (or the source removed), then a reload
    reg.configure(config)
    assert reg.step() is True
    assert calls[-2:] == [("teardown", "board one"), ("setup", "team")]  # a reload checks the others again
    assert set(store.get("", "push.registrations")) == {"team"}


# --- the fakes against the recordings ------------------------------------------------------------


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__ if value is not None else None


def test_the_trello_fakes_deliveries_and_webhook_records_look_like_the_recorded_ones():
    recorded = [json.loads(p.read_bytes()) for p in TRELLO_EVENTS]
    record = json.loads((RECORDED / "trello/TrelloDotNet/ListOfWebhooks.json").read_bytes())[0]
    with trello_fake.TrelloFake() as fake, Sink() as sink:
        from tests.trello_helpers import okr_board

        board = okr_board(fake, 1, 1)
        card = next(c for c in fake.cards if fake.cards[c]["name"] == "KR 1.1")
        fake.webhooks["w"] = {**record, "idModel": board, "callbackURL": sink.url + "/sink", "_token": fake.token,
                              "_key": fake.key}  # fmt: skip
        fake.person_sets(card, "Current", 5)
        (d,) = fake.deliveries.settled()
        listed = fake._hook_json(fake.webhooks["w"])
    assert set(listed) == set(record)
    payload = d.payload
    assert set(payload) == {"model", "action"} and all(set(r) == {"model", "action"} for r in recorded)
    keys = set.intersection(*(set(r["action"]) for r in recorded))
    assert keys <= set(payload["action"])  # every key each recorded action has
    member_keys = set.intersection(*(set(r["action"]["memberCreator"]) for r in recorded))
    assert member_keys <= set(payload["action"]["memberCreator"])
    assert payload["action"]["memberCreator"]["id"] == payload["action"]["idMemberCreator"] == trello_fake.PERSON["id"]
    assert {"id", "name", "shortLink"} <= set(payload["action"]["data"]["board"])
    assert {"id", "name", "desc", "closed", "url", "shortUrl"} <= set(payload["model"])
    sig = d.sign(json.dumps(payload).encode())["X-Trello-Webhook"]
    assert sig == trello_signature(fake.secrets[fake.key], json.dumps(payload).encode(), d.url)


def test_the_notion_fakes_verification_and_events_look_like_the_recorded_ones():
    verification = json.loads((RECORDED / "notion/zulip/verification.json").read_bytes())
    recorded = json.loads((RECORDED / "notion/zulip/page_properties_updated.json").read_bytes())
    with notion_fake.NotionFake() as fake, Sink() as sink:
        ws = notion_fake.okr_workspace(fake, objectives=1, key_results=1)
        sub = fake.subscribe(sink.url + "/sink")
        got = [r.json() for r in sink.got]
        assert set(got[0]) == set(verification) and got[0]["verification_token"].startswith("secret_")
        fake.verify(sub, sub["token"])
        fake.edit(ws["key_results"][0], {"Current": 3})
        fake.edit(ws["key_results"][0], {"Start": 1}, person="another-person")
        (d,) = fake.deliveries.settled()  # two edits within the window: one event
    event = d.payload
    assert set(event) == set(recorded) and _shape(event["entity"]) == _shape(recorded["entity"])
    assert set(event["data"]) == set(recorded["data"]) and event["type"] == recorded["type"]
    assert [a["id"] for a in event["authors"]] == [notion_fake.PERSON, "another-person"]
    assert len(event["data"]["updated_properties"]) == 2
    body = json.dumps(event).encode()
    assert d.sign(body)["X-Notion-Signature"] == notion_signature(sub["token"], body)
