"""The one retry policy and the pacer, over real sockets against the shared fake machinery."""

from __future__ import annotations

import threading
from datetime import UTC

import httpx
import pytest

from syncd.http import Pacer, RetryPolicy, Runtime, StopToken, Transient, call
from syncd.lock import LockError, hold
from syncd.source import Deferred, SourceError
from syncd.state import SQLiteStore
from tests.fakes.server import FakeServer, RateLimit, Response


class Echo(FakeServer):
    def __init__(self):
        super().__init__()
        self.route("GET", "/ping", "ping", lambda r: {"ok": True})

    def rate_limited(self, request, wait):
        return Response(429, {"error": "slow down"}, {"Retry-After": f"{wait:.3f}"})


def _get(client: httpx.Client, url: str):
    def once():
        try:
            r = client.get(url)
        except httpx.TransportError as e:
            raise Transient(f"connection failed: {e.__class__.__name__}") from None
        if r.status_code == 429 or r.status_code >= 500:
            after = r.headers.get("retry-after")
            raise Transient(f"HTTP {r.status_code}", retry_after=float(after) if after else None, status=r.status_code)
        return r.json()

    return once


@pytest.fixture
def echo():
    with Echo() as server:
        yield server


def _policy(sleeps, **kw):
    return RetryPolicy(initial=0.001, max_backoff=0.01, sleep=sleeps.append, **kw)


def test_transient_failures_are_retried_until_success(echo):
    echo.fail_next(2, 503)
    echo.drop_next(1)
    sleeps: list[float] = []
    with httpx.Client() as client:
        assert call(_get(client, echo.url + "/ping"), policy=_policy(sleeps)) == {"ok": True}
    assert echo.calls["ping"] == 4 and len(sleeps) == 3


def test_retry_after_is_obeyed_and_shared_through_the_pacer(echo):
    echo.storm(1, retry_after=2)
    sleeps: list[float] = []
    clock = [100.0]
    pacer = Pacer(1000, 1, clock=lambda: clock[0], sleep=lambda s: None)
    with httpx.Client() as client:
        call(_get(client, echo.url + "/ping"), policy=_policy(sleeps), pacer=pacer)
    assert 2 <= sleeps[0] < 3
    assert pacer._held_until >= 102  # every caller on this pacer waits too


def test_attempts_are_bounded_and_the_message_says_so(echo):
    echo.fail_next(10, 500)
    sleeps: list[float] = []
    with httpx.Client() as client, pytest.raises(SourceError) as e:
        call(_get(client, echo.url + "/ping"), policy=_policy(sleeps, attempts=3), what="board X")
    assert echo.calls["ping"] == 3 and "gave up after 3 attempts" in str(e.value) and "board X" in str(e.value)


def test_a_long_retry_after_defers_instead_of_stalling(echo):
    echo.storm(1, retry_after=600)
    sleeps: list[float] = []
    with httpx.Client() as client, pytest.raises(Deferred) as e:
        call(_get(client, echo.url + "/ping"), policy=_policy(sleeps, max_wait=60), service="notion")
    assert e.value.retry_after == 600 and sleeps == [] and "next pass" in str(e.value)


def test_errors_that_are_not_transient_are_not_retried():
    attempts = []

    def fn():
        attempts.append(1)
        raise SourceError("unauthorized: check NOTION_TOKEN")

    with pytest.raises(SourceError):
        call(fn, policy=RetryPolicy(sleep=lambda s: None))
    assert len(attempts) == 1


def test_retry_listeners_hear_each_retry(echo):
    heard = []
    runtime = Runtime(_policy([]), listeners=[lambda service, exc: heard.append((service, exc.status))])
    echo.storm(2, retry_after=0)
    with httpx.Client() as client:
        runtime.call(_get(client, echo.url + "/ping"), service="trello")
    assert heard == [("trello", 429), ("trello", 429)]


def test_pacer_spaces_calls_below_the_limit():
    clock = [0.0]
    slept: list[float] = []

    def sleep(s):
        slept.append(s)
        clock[0] += s

    pacer = Pacer(3, 1.0, clock=lambda: clock[0], sleep=sleep)
    times = []
    for _ in range(30):
        pacer.acquire()
        times.append(clock[0])
    # No window of one second ever holds more than 3 calls, and 30 calls take ~10.7 s (90% of the limit).
    assert all(sum(1 for t in times if start <= t < start + 1) <= 3 for start in times)
    assert 10 < times[-1] < 10.8


def test_pacers_are_shared_per_service_and_credential():
    runtime = Runtime()
    a = runtime.pacer("notion", "secret_one", 3)
    assert runtime.pacer("notion", "secret_one", 3) is a
    assert runtime.pacer("notion", "secret_two", 3) is not a
    assert runtime.pacer("trello", "secret_one", 10, 10) is not a
    assert Runtime().pacer("notion", "secret_one", 3) is not a  # nothing shared between runtimes


def test_a_fake_enforcing_its_limit_never_sees_a_paced_client_exceed_it(echo):
    echo.rate_limit = RateLimit(20, 1.0)
    pacer = Pacer(15, 1.0)  # below the limit, with a margin for a busy test machine
    with httpx.Client() as client:
        threads = [
            threading.Thread(
                target=lambda: [
                    call(_get(client, echo.url + "/ping"), policy=_policy([]), pacer=pacer) for _ in range(10)
                ]
            )
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert echo.calls["ping"] == 30 and echo.responses_429 == 0
    assert max(echo.rate_limit.peak.values()) <= 20


def test_malformed_bodies_are_counted_and_surface(echo):
    echo.malformed_next(1)
    with httpx.Client() as client:
        r = client.get(echo.url + "/ping")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


def test_second_holder_of_the_state_lock_is_refused_with_the_pid(tmp_path):
    import os

    state = tmp_path / "syncd.db"
    with hold(state):
        with pytest.raises(LockError) as e:
            with hold(state):
                pass
        assert f"pid {os.getpid()}" in str(e.value)
    with hold(state):  # released: a restart is not blocked
        pass


def test_sync_refuses_while_another_syncd_holds_the_state(demo, syncd):
    with hold(demo.parent / "syncd.db"):
        run = syncd("sync", "--config", demo, "--now", "2026-11-15T09:00:00Z")
    assert run.code == 1 and "another syncd" in run.err


def test_state_store_dry_run_touches_nothing(tmp_path):
    store = SQLiteStore(tmp_path / "s.db", readonly=True)
    store.put("src", "k", 1)
    store.record_kpi_values({"a": 1.0}, now=__import__("datetime").datetime(2026, 1, 1))
    store.close()
    assert not (tmp_path / "s.db").exists()


def test_state_store_history_gives_first_seen_and_previous(tmp_path):
    from datetime import datetime

    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC)
    store = SQLiteStore(tmp_path / "s.db")
    store.record_kpi_values({"nps": 40.0}, t1)
    store.record_kpi_values({"nps": 40.0}, t2)  # same value: first seen stays t1
    assert store.kpi_history({"nps": 40.0})["nps"].first_seen == t1
    store.record_kpi_values({"nps": 45.0}, t2)
    h = store.kpi_history({"nps": 45.0})["nps"]
    assert h.first_seen == t2 and h.previous == 40.0
    store.close()


# --- the stop hook (`syncd run` sets it on SIGTERM) ------------------------------------------


@pytest.fixture
def stopping():
    return StopToken()


def test_once_syncd_is_stopping_no_new_call_starts(echo, stopping):
    stopping.set()
    acquired = []
    pacer = Pacer(1000, 1, sleep=lambda s: None)
    pacer.acquire = lambda: acquired.append(1)  # type: ignore[method-assign]
    with httpx.Client() as client, pytest.raises(Deferred) as e:
        call(
            _get(client, echo.url + "/ping"),
            policy=_policy([]),
            pacer=pacer,
            service="trello",
            what="card X",
            stop=stopping,
        )
    assert str(e.value) == "syncd is stopping; the rest of this source's work moves to its next pass"
    assert e.value.retry_after == 0
    assert echo.calls["ping"] == 0 and acquired == []


def test_a_call_in_flight_when_syncd_stops_finishes_and_the_next_one_does_not_start(echo, stopping):
    with httpx.Client() as client:
        get = _get(client, echo.url + "/ping")

        def in_flight():
            stopping.set()  # SIGTERM arrives while the request is on its way
            return get()

        assert call(in_flight, policy=_policy([]), stop=stopping) == {"ok": True}
        with pytest.raises(Deferred):
            call(get, policy=_policy([]), stop=stopping)
    assert echo.calls["ping"] == 1


def test_a_wait_between_attempts_ends_when_syncd_stops(echo, stopping):
    import time

    echo.fail_next(1, 503)
    policy = RetryPolicy(initial=30, max_backoff=30)  # the default sleep: 15 to 30 s before the next attempt
    timer = threading.Timer(0.05, stopping.set)
    with httpx.Client() as client:
        attempt = _get(client, echo.url + "/ping")

        def first_then_stop():
            # The stop comes during the wait after the failed attempt, however long that attempt
            # took (on a loaded machine the first request can outlast any fixed timer).
            try:
                return attempt()
            finally:
                if not timer.is_alive():
                    timer.start()

        started = time.monotonic()
        try:
            with pytest.raises(Deferred):
                call(first_then_stop, policy=policy, service="notion", stop=stopping)
        finally:
            timer.cancel()
    assert time.monotonic() - started < 5
    assert echo.calls["ping"] == 1  # the failed attempt only: no retry after the stop


def test_a_call_held_back_by_the_pacer_does_not_start_once_syncd_stops(echo, stopping):
    pacer = Pacer(1000, 1, sleep=lambda s: stopping.set())  # SIGTERM while waiting for the slot
    pacer.pause(5)
    with httpx.Client() as client, pytest.raises(Deferred):
        call(_get(client, echo.url + "/ping"), policy=_policy([]), pacer=pacer, stop=stopping)
    assert echo.calls["ping"] == 0


def test_without_the_stop_the_default_wait_still_waits(stopping):
    import time

    started = time.monotonic()
    RetryPolicy().sleep(0.05)
    assert time.monotonic() - started >= 0.04


def test_pacing_on_real_start_times_rides_out_jitter_at_85_percent_or_more():
    """Notion's 3 requests per sliding second, simulated: each wake-up is late by up to 10 ms
    (a busy machine) and each request takes up to 100 ms more or less to reach the server.
    The server never sees a 4th request in any second, and the calls still use >= 85% of it."""
    import random
    from collections import deque

    rng = random.Random(7)
    clock = [0.0]

    def late_sleep(s: float) -> None:
        clock[0] += s + rng.uniform(0, 0.010)

    pacer = Pacer(3, 1.0, clock=lambda: clock[0], sleep=late_sleep)
    arrivals: list[float] = []
    for _ in range(300):
        pacer.acquire()
        arrivals.append(clock[0] + rng.uniform(0, 0.100))
        clock[0] += rng.uniform(0, 0.050)  # the call itself
    window: deque[float] = deque()
    worst = 0
    for t in sorted(arrivals):
        window.append(t)
        while window[0] <= t - 1.0:
            window.popleft()
        worst = max(worst, len(window))
    assert worst <= 3  # no 429 from a server enforcing the limit
    utilisation = (len(arrivals) - 3) / 3 / (arrivals[-1] - arrivals[0])
    assert utilisation >= 0.85


def test_a_late_caller_pushes_the_next_ones_back():
    """A call that starts late (its thread woke up late) moves the slots after it: the gap the
    server sees never shrinks below the pacer's spacing."""
    clock = [0.0]
    pacer = Pacer(3, 1.0, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    pacer.acquire()
    clock[0] += 0.5  # the first call's thread is held up before its request goes out
    pacer.acquire()
    second = clock[0]
    pacer.acquire()
    assert clock[0] - second == pytest.approx(pacer.spacing)


def test_a_long_retry_after_defers_the_other_sources_on_that_credential_at_once(echo):
    """A Retry-After beyond the policy is shared through the pacer: the next call on the same
    credential (another source, the same pass) defers at once instead of sleeping an hour."""
    echo.storm(1, retry_after=3600)
    pacer = Pacer(1000, 1, sleep=lambda s: pytest.fail(f"slept {s:.0f}s"))
    with httpx.Client() as client:
        with pytest.raises(Deferred):
            call(_get(client, echo.url + "/ping"), policy=_policy([], max_wait=60), pacer=pacer, service="notion")
        with pytest.raises(Deferred) as e:
            call(_get(client, echo.url + "/ping"), policy=_policy([], max_wait=60), pacer=pacer, service="notion")
    assert e.value.retry_after > 3500 and "next pass" in str(e.value)
    assert echo.calls["ping"] == 1
