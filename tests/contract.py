"""The source contract: one test class every source type runs (vdirsyncer's StorageTests way).

Subclass :class:`SourceContract` once per source type and give it a ``world``
fixture returning a :class:`World` for that type: a source named ``src`` with
a few items whose owned fields need writing, on a loopback fake (or a file,
or memory), and the switches the tests flip. A world that cannot do one thing
(a local file has no 429) leaves that switch ``None``: the test is skipped
with the reason. The tests run whole engine passes, as ``syncd sync`` does.

    class TestAsanaContract(SourceContract):
        @pytest.fixture
        def world(self, tmp_path, asana): return AsanaWorld(tmp_path, asana)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from syncd import engine
from syncd.config import Config
from syncd.http import RetryPolicy
from syncd.registry import Registry
from syncd.source import Role, SourceContext

__all__ = ["SourceContract", "World", "NOW"]

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


@dataclass
class World:
    """One source type, seeded, and how to look at it and make it misbehave."""

    config: Config
    registry: Registry
    env: dict[str, str]
    #: The fields syncd owns there, as :meth:`snapshot` names them.
    owned: set[str]
    #: {(item, field): value} of everything the source holds (owned or not).
    snapshot: Callable[[], dict[tuple[str, str], Any]]
    #: How many requests that change something the service has seen so far.
    mutations: Callable[[], int]
    role: Role = "kpis"
    #: The table of the source under test (default: the config's only source).
    table: Any = None
    #: ``sources=`` for the engine when the table is not in ``config`` (the memory source).
    sources: list[tuple[str, Any]] | None = None
    #: The variable holding the credential, and the secret itself (None: no credential).
    credential: tuple[str, str] | None = None
    #: The variable holds the secret itself (False: it names a file, whose path may be shown).
    holds_secret: bool = True
    #: Make the service refuse the next write of one item; returns its id.
    refuse_one: Callable[[], str] | None = None
    #: The next ``n`` calls answer 429 (with Retry-After ``seconds``) or a 5xx.
    storm: Callable[[int, float], None] | None = None
    burst: Callable[[int], None] | None = None
    #: Point the source at something that does not exist (for ``check``).
    break_it: Callable[[], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def run(self, *, dry_run: bool = False, env: Mapping[str, str] | None = None) -> engine.SyncReport:
        return engine.sync(
            self.config,
            now=NOW,
            registry=self.registry,
            dry_run=dry_run,
            env=self.env if env is None else env,
            sources=self.sources,
        )

    def open(self, env: Mapping[str, str] | None = None) -> Any:
        table = self.table if self.table is not None else self.config.sources()[0][1]
        ctx = SourceContext(config=self.config, cache=_NoCache(), env=self.env if env is None else env, dry_run=True)
        return self.registry.open(self.role, table, ctx)


class _NoCache:
    def get(self, source: str, key: str, default: object = None) -> object:
        return default

    def put(self, source: str, key: str, value: object) -> None:
        pass


def _needs(world: World, switch: str) -> Any:
    value = getattr(world, switch)
    if value is None:
        pytest.skip(f"this source type has no {switch.replace('_', ' ')}")
    return value


class SourceContract:
    """What every source type promises (SPEC §3, §6): subclasses provide ``world``."""

    @pytest.fixture(autouse=True)
    def _test_sized_retries(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The engine's runtime retries at once (the waits are the policy's, not slept)."""
        monkeypatch.setattr(
            RetryPolicy,
            "from_config",
            classmethod(
                lambda cls, c: cls(
                    attempts=c.syncd.retries,
                    max_wait=c.syncd.max_retry_wait.total_seconds(),
                    initial=0.001,
                    max_backoff=0.01,
                    sleep=lambda s: None,
                )
            ),
        )

    @pytest.fixture
    def world(self) -> World:
        raise NotImplementedError("a contract subclass provides the world fixture")

    def test_a_first_pass_writes_and_a_second_pass_writes_nothing(self, world: World) -> None:
        first = world.run()
        assert first.exit_code == 0, first.errors
        assert first.writes, "the seeded items need their owned fields written"
        before = world.mutations()
        second = world.run()
        assert second.exit_code == 0 and second.writes == []
        assert world.mutations() == before  # not one request that changes anything

    def test_only_owned_fields_are_written_and_nothing_is_cleared(self, world: World) -> None:
        before = world.snapshot()
        assert world.run().exit_code == 0
        after = world.snapshot()
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert changed, "a first pass writes something"
        assert {f for _, f in changed} <= world.owned, sorted(changed)
        cleared = [k for k in changed if before.get(k) not in (None, "") and after.get(k) in (None, "")]
        assert cleared == []

    def test_a_refused_item_fails_alone(self, world: World) -> None:
        refused = _needs(world, "refuse_one")()
        report = world.run()
        assert report.exit_code == 1
        assert {e.item for e in report.errors} == {refused}, report.errors
        assert [p for p in report.writes if p.item != refused], "the other items were still written"
        assert all(p.item != refused for p in report.writes)

    def test_a_429_storm_and_a_5xx_burst_are_ridden_out(self, world: World) -> None:
        _needs(world, "storm")(3, 0.01)
        _needs(world, "burst")(2)
        report = world.run()
        assert report.exit_code == 0, report.errors
        assert report.writes and world.run().writes == []

    def test_a_retry_after_beyond_the_limit_defers_to_the_next_pass(self, world: World) -> None:
        _needs(world, "storm")(1, 3600)
        report = world.run()
        outcome = next(iter(report.sources.values()))
        assert report.exit_code == 1 and outcome.outcome == "partial"
        assert outcome.retry_after is not None and outcome.retry_after >= 3600
        assert "next pass" in " ".join(outcome.errors)
        assert world.run().exit_code == 0  # the next pass does the work

    def test_a_missing_credential_names_its_variable_and_never_the_secret(self, world: World) -> None:
        variable, secret = _needs(world, "credential")
        env = {k: v for k, v in world.env.items() if k != variable}
        report = world.run(env=env)
        assert report.exit_code == 1
        message = " ".join(e.message for e in report.errors)
        assert variable in message and secret not in message
        wrong = world.run(env={**env, variable: "wrong-" + secret[::-1]})
        shown = " ".join(e.message for e in wrong.errors)
        assert wrong.exit_code == 1 and secret not in shown
        if world.holds_secret:
            assert secret[::-1] not in shown

    def test_check_answers_in_sentences(self, world: World) -> None:
        source = world.open()
        try:
            assert source.check() == []
        finally:
            source.close()
        _needs(world, "break_it")()
        source = world.open()
        try:
            problems = source.check()
        finally:
            source.close()
        assert problems
        for p in problems:
            assert len(p.split()) >= 5 and "Traceback" not in p and not re.search(r"\bError\(", p), p

    def test_a_dry_run_sends_nothing_that_changes_anything(self, world: World) -> None:
        before, calls = world.snapshot(), world.mutations()
        report = world.run(dry_run=True)
        assert report.exit_code == 0 and report.writes  # it shows what it would write
        assert world.mutations() == calls and world.snapshot() == before

    def test_close_can_be_called_twice(self, world: World) -> None:
        source = world.open()
        source.read()
        source.close()
        source.close()
