"""One retry and pacing policy: 429 (Retry-After), 5xx, 529, dropped connections, bad bodies."""

from __future__ import annotations

import pytest

from syncd.http import Runtime
from syncd.source import SourceError
from tests.fakes.notion import RateLimit, okr_workspace
from tests.test_notion import TOKEN, MemoryCache, _fresh_pacers, fake, make_config, open_okrs  # noqa: F401 - fixtures


@pytest.fixture
def ws(fake):
    built = okr_workspace(fake, objectives=2, key_results=150)
    fake.advance(hours=1)
    return built


def _read(fake, ws, **config):
    source = open_okrs(
        make_config(fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"], **config), MemoryCache()
    )
    return source, source.read()


@pytest.mark.parametrize("fault", ["storm", "500", "502", "503", "504", "529", "drop", "malformed"])
def test_transient_failures_are_ridden_out_and_every_attempt_counted(fake, ws, fault):
    if fault == "storm":
        fake.storm(3, retry_after=0)
    elif fault == "drop":
        fake.drop_next(2)
    elif fault == "malformed":
        fake.malformed_next(2)
    else:
        fake.fail_next(3, int(fault))
    source, result = _read(fake, ws)
    assert sum(len(o.key_results) for o in result.objectives) == 150
    assert source.calls.total() == fake.calls.total()  # every attempt counted, by endpoint
    injected = 2 if fault in ("drop", "malformed") else 3
    # 2 databases.retrieve + 2 data_sources.retrieve + 3 queries, plus one attempt per injected fault
    assert source.calls.total() == 7 + injected


def test_notion_clients_own_retry_is_off(fake, ws):
    fake.storm(1, retry_after=0)
    source, _ = _read(fake, ws)
    # the SDK would retry a 429 itself and hide the attempt; here both attempts are counted
    assert source.transport.client._max_retries == 0
    assert fake.responses_429 == 1 and source.calls.total() == fake.calls.total()


def test_retry_after_is_obeyed_and_shared_through_the_pacer(fake, ws):
    fake.fractional_retry_after = True
    fake.storm(1, retry_after=0.3)
    slept: list[float] = []
    source = open_okrs(
        make_config(fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"]), MemoryCache()
    )
    source.policy.sleep = slept.append
    source.read()
    assert slept and slept[0] >= 0.3
    assert source.transport.pacer.waited >= 0.25  # the pause held every caller of the token


def test_persistent_failure_fails_the_source_with_a_clear_message(fake, ws):
    fake.fail_next(50, 503)
    with pytest.raises(SourceError) as e:
        _read(fake, ws)
    assert "503 service_unavailable" in str(e.value) and "gave up after 6 attempts" in str(e.value)
    assert str(e.value).startswith("okrs:")


def test_a_429_storm_never_pushes_past_the_rate_limit(fake, ws):
    """Test-sized: a fake enforcing 40 requests/second, syncd pacing at 30/s (a margin for a
    busy test machine, where a delayed request bunches the next ones), a storm of 429s."""
    fake.fractional_retry_after = True
    fake.rate_limit = RateLimit(40, 1.0)
    fake.storm(4, retry_after=0.1)
    config = make_config(fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"], per_second=30)
    second = {**config.okrs[0].model_dump(), "name": "okrs2"}
    config.okrs.append(type(config.okrs[0])(**second))
    cache, runtime = MemoryCache(), Runtime.from_config(config)
    first_source = open_okrs(config, cache, runtime=runtime)
    other = open_okrs(config, cache, index=1, runtime=runtime)
    assert first_source.transport.pacer is other.transport.pacer  # one token, one pace
    for _ in range(3):
        first_source.read()
        other.read()
        cache.forget("pages:")
    assert fake.responses_429 == 4  # only the injected storm: the limit itself never answered 429
    assert fake.rate_limit.peak[f"Bearer {TOKEN}"] <= 40


def test_two_tokens_two_pacers():
    runtime = Runtime()
    a = runtime.pacer("notion", "secret_a", 3, 1.0)
    assert a is runtime.pacer("notion", "secret_a", 3, 1.0)
    assert a is not runtime.pacer("notion", "secret_b", 3, 1.0)
