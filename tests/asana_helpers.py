"""Shared by the Asana tests and bench: build goal trees on the fake, open the source.

Also the ``asana_server``/``asana`` fixtures; a test module uses them by
importing both names (``asana`` needs ``asana_server``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from syncd.config import Config
from syncd.connectors import open_source
from syncd.diff import desired_patches
from syncd.evaluate import EvalSettings, evaluate
from syncd.http import RetryPolicy
from syncd.model import Patch, ReadResult
from syncd.source import SourceContext, perform
from tests.fakes.asana import PREFIX, AsanaFake
from tests.trello_helpers import DictCache

__all__ = ["NOW", "FAST", "asana_server", "asana", "okr_goals", "open_asana", "patches_for", "sync_once", "DictCache"]

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
FAST = {"asana_per_minute": 1_000_000}


@pytest.fixture(scope="module")
def asana_server() -> Iterator[AsanaFake]:
    with AsanaFake() as f:
        yield f


@pytest.fixture
def asana(asana_server: AsanaFake) -> AsanaFake:
    """The module's fake, emptied."""
    asana_server.reset()
    return asana_server


def okr_goals(fake: AsanaFake, objectives: int = 3, key_results: int = 9, *, workspace: str | None = None,
              period: str | None = None, status: str | None = None) -> tuple[str, str]:  # fmt: skip
    """A workspace (and a Q4 time period) with ``objectives`` goals, each with its share of metric subgoals.

    Current values spread progress over the whole range, so statuses vary. Returns (workspace, period).
    """
    ws = workspace or fake.add_workspace()
    period = period or fake.add_period("2026-10-01", "2026-12-31")
    for o in range(objectives):
        parent = fake.add_goal(ws, f"Objective {o + 1}", period=period, metric=(0, 100, None),
                               progress_source="subgoal_progress", status=status)  # fmt: skip
        share = key_results // objectives + (1 if o < key_results % objectives else 0)
        for k in range(share):
            child = fake.add_goal(ws, f"KR {o + 1}.{k + 1}", period=period,
                                  metric=(0, 100, float((k * 37 + o * 11) % 101)), status=status)  # fmt: skip
            fake.add_subgoal(parent, child, 1.0)
    return ws, period


def open_asana(fake: AsanaFake, workspace: str, *, env: dict[str, str] | None = None, dry_run: bool = False,
               cache: Any = None, limits: dict[str, float] | None = None, now: datetime = NOW, **cfg: Any) -> Any:  # fmt: skip
    config = Config(
        okrs=[{"type": "asana", "name": cfg.pop("name", "goals"), "workspace": workspace,
               "base_url": fake.url + PREFIX, **cfg}],
        limits=limits or FAST,
    )  # fmt: skip
    env = {"ASANA_TOKEN": fake.token} if env is None else env
    ctx = SourceContext(config=config, cache=DictCache() if cache is None else cache, env=env, dry_run=dry_run, now=now)
    source = open_source("okrs", config.okrs[0], ctx)
    source.policy = RetryPolicy(sleep=lambda s: None, initial=0.01, max_backoff=0.05)
    return source


def patches_for(source: Any, result: ReadResult, now: datetime = NOW) -> list[Patch]:
    """What the engine would ask this source to write at ``now``."""
    settings = EvalSettings.from_config(source.ctx.config)
    evaluation = evaluate(result.kpis, result.objectives, now=now, settings=settings)
    return desired_patches(evaluation, result.kpis, result.objectives)


def sync_once(source: Any, now: datetime = NOW) -> tuple[ReadResult, list[Patch], list[Any]]:
    """What a pass does with one source: read, perform what ``prepare`` plans, evaluate, write."""
    result = source.read()
    done = perform(source.prepare())
    result.notes.extend(done.notes)
    result.errors.extend(done.errors)
    patches = patches_for(source, result, now)
    return result, patches, source.write(patches)
