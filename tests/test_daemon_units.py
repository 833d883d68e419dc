"""The service's parts in-process: scheduling and backoff, redaction, metrics."""

from __future__ import annotations

import io
import json
import logging
import random
import threading
from types import SimpleNamespace

import pytest

from syncd.logs import JsonFormatter, RedactFilter, Redactor, secret_values, setup_logging
from syncd.observe import Metrics, parse_listen
from syncd.scheduler import PassResult, Scheduler, next_delay
from tests.conftest import write_config
from tests.sim_time import SimTime

# --- backoff -----------------------------------------------------------------------------


def test_next_delay_backs_off_exponentially_up_to_a_cap():
    rng = random.Random(1)
    assert 60 <= next_delay(60, "ok", 0, rng=rng) <= 66  # the interval, plus at most 10% jitter
    assert 60 <= next_delay(60, "failed", 1, rng=rng) <= 66  # first failure: the next interval
    assert 240 <= next_delay(60, "failed", 3, rng=rng) <= 264
    assert 3600 <= next_delay(60, "failed", 20, rng=rng) <= 3630  # capped (jitter at most 30s)
    assert 7200 <= next_delay(7200, "failed", 5, rng=rng) <= 7230  # an interval above the cap is kept
    assert 300 <= next_delay(60, "partial", 0, retry_after=300, rng=rng) <= 330  # the service's Retry-After


def _cfg(name: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, type="csv")


def test_a_slow_source_neither_runs_twice_at_once_nor_delays_the_others():
    passes = {"slow": 0, "fast": 0}
    running = {"slow": 0, "fast": 0}
    overlap = []
    release = threading.Event()
    lock = threading.Lock()

    def run_pass(slot):
        with lock:
            running[slot.name] += 1
            if running[slot.name] > 1:
                overlap.append(slot.name)
        if slot.name == "slow":
            release.wait(5)
        with lock:
            running[slot.name] -= 1
            passes[slot.name] += 1
        return PassResult("ok")

    clock = SimTime()
    scheduler = Scheduler(run_pass, rng=random.Random(2), clock=clock)
    scheduler.configure([("kpis", _cfg("slow"), 0.05), ("kpis", _cfg("fast"), 0.05)])
    clock.drive(scheduler, 0.6, held={"slow"})
    assert scheduler.running() == ["slow"]
    assert passes["fast"] >= 5 and passes["slow"] == 0
    release.set()
    assert scheduler.wait_idle(2) == []
    assert overlap == []


def test_a_failing_source_backs_off_and_a_crash_is_a_failure():
    passes = {"bad": 0, "good": 0, "buggy": 0}

    def run_pass(slot):
        passes[slot.name] += 1
        if slot.name == "buggy":
            raise KeyError("a bug")
        return PassResult("failed" if slot.name == "bad" else "ok", reason="no such file")

    clock = SimTime()
    scheduler = Scheduler(run_pass, rng=random.Random(3), clock=clock)
    scheduler.configure([("kpis", _cfg(n), 0.04) for n in passes])
    clock.drive(scheduler, 1.0)
    scheduler.wait_idle(1)
    assert passes["good"] >= 12
    assert 3 <= passes["bad"] <= 7  # 0.04, 0.08, 0.16, 0.32...: about 5 in a second
    assert scheduler.slots["bad"].failures == passes["bad"]
    assert scheduler.slots["buggy"].failures == passes["buggy"] >= 3
    assert scheduler.slots["good"].failures == 0


def test_reconfigure_adds_removes_and_keeps_failures():
    seen = []
    clock = SimTime()
    scheduler = Scheduler(lambda slot: seen.append(slot.name) or PassResult("ok"), rng=random.Random(4), clock=clock)
    scheduler.configure([("kpis", _cfg("a"), 0.05)], failures={"a": 4})
    assert scheduler.slots["a"].failures == 4
    scheduler.configure([("okrs", _cfg("b"), 0.05)])
    clock.drive(scheduler, 0.3)
    assert set(scheduler.slots) == {"b"} and set(seen) == {"b"}


# --- logs ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _root_logger():
    """setup_logging replaces the root logger's handlers: put pytest's back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


SECRETS = {
    "NOTION_TOKEN": "ntn_abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    "TRELLO_TOKEN": "ATTA" + "f" * 64,
    "HOOK": "http://127.0.0.1:9/services/T0001/B0001/s3cr3tW3bh00kT0k3n",
    "OPS_NOTION": "custom-token-value-1234",
}


def test_secret_values_are_those_the_config_names(tmp_path):
    from syncd.config import load_config

    config = load_config(
        write_config(
            tmp_path / "c.toml",
            (
                '[[okrs]]\nname = "n"\ntype = "notion"\nobjectives = "0123456789abcdef0123456789abcdef"\ntoken_env = "OPS_NOTION"\n\n'
                '[[alerts]]\nurl_env = "HOOK"\n'
            ),
        )
    )
    found = secret_values(config, {**SECRETS, "HOME": "/root/not-a-secret"})
    assert {SECRETS["OPS_NOTION"], SECRETS["HOOK"], SECRETS["NOTION_TOKEN"], SECRETS["TRELLO_TOKEN"]} <= found
    assert "/root/not-a-secret" not in found


@pytest.mark.parametrize(
    "text",
    [
        "token ntn_abcdefghijklmnopqrstuvwxyz0123456789ABCD refused",
        "GET https://api.trello.com/1/boards/x?key=0123456789abcdef&token=ATTAdeadbeef",
        "posting to https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX failed",
        "Authorization: Bearer ya29.a0AfH6SMBxxxxxxxxxxxxxxxxxxxxxxxx",
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEv...\\n-----END PRIVATE KEY-----\\n"}',
    ],
)
def test_known_secret_shapes_are_redacted(text):
    out = Redactor()(text)
    for secret in ("ntn_abc", "0123456789abcdef", "ATTAdeadbeef", "XXXXXXXXXXXX", "ya29.a0", "MIIEv"):
        assert secret not in out
    assert "***" in out


def test_the_log_handler_redacts_messages_arguments_tracebacks_and_extras():
    stream = io.StringIO()
    redactor = Redactor(SECRETS.values())
    handler = setup_logging("json", redactor, stream=stream)
    log = logging.getLogger("syncd.test")
    try:
        log.warning("calling %s", SECRETS["HOOK"], extra={"url": SECRETS["HOOK"]})
        try:
            raise RuntimeError(f"401 for token {SECRETS['OPS_NOTION']}")
        except RuntimeError:
            log.exception("source failed")
    finally:
        handler.flush()
    text = stream.getvalue()
    for value in SECRETS.values():
        assert value not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["message"] == "calling ***" and lines[0]["url"] == "***" and lines[0]["level"] == "warning"
    assert "RuntimeError: 401 for token ***" in lines[1]["exception"]


def test_text_logs_on_a_terminal_json_elsewhere():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    handler = setup_logging(None, Redactor(), stream=Tty())
    assert not isinstance(handler.formatter, JsonFormatter)
    handler = setup_logging(None, Redactor(), stream=io.StringIO())
    assert isinstance(handler.formatter, JsonFormatter)
    assert any(isinstance(f, RedactFilter) for f in handler.filters)


# --- observe ---------------------------------------------------------------------------


def test_parse_listen():
    assert parse_listen("127.0.0.1:9321") == ("127.0.0.1", 9321)
    assert parse_listen("[::1]:0") == ("::1", 0)
    for bad in ("9321", "localhost", "host:port", ":80"):
        with pytest.raises(ValueError, match="expected host:port"):
            parse_listen(bad)


def test_retries_and_429s_are_counted_per_service():
    from syncd.http import Transient

    metrics = Metrics()
    metrics.on_retry("notion", Transient("slow down", status=429, retry_after=1))
    metrics.on_retry("notion", Transient("bad gateway", status=502))
    text = metrics.render().decode()
    assert 'syncd_http_retries_total{service="notion"} 2.0' in text
    assert 'syncd_http_429_total{service="notion"} 1.0' in text


def test_a_partial_pass_comes_back_when_the_service_said_not_at_the_interval():
    times: list[float] = []
    clock = SimTime()

    def run_pass(slot):
        times.append(clock())
        return PassResult("partial", retry_after=0.2) if len(times) == 1 else PassResult("ok")

    scheduler = Scheduler(run_pass, rng=random.Random(5), clock=clock)
    scheduler.configure([("okrs", _cfg("notion"), 30.0)])
    scheduler.run_soon("notion")  # skip the start-up jitter
    clock.drive(scheduler, 0.8)
    assert len(times) == 2
    assert 0.2 <= times[1] - times[0] <= 0.5
