"""Shared by the Trello tests and bench: build OKR boards on the fake, open the source.

Also the ``server``/``fake`` fixtures of the Trello test modules; a module uses
them by importing both names (``fake`` needs ``server``).
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
from syncd.http import RetryPolicy, Runtime
from syncd.model import Patch, ReadResult
from syncd.source import SourceContext, perform
from tests.fakes.trello import TrelloFake

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
FAST = {"trello_per_10s": 1_000_000, "trello_key_per_10s": 1_000_000}


@pytest.fixture(scope="module")
def server() -> Iterator[TrelloFake]:
    """One fake per test module: starting a server per test is slow, and ``fake`` resets it."""
    with TrelloFake() as f:
        yield f


@pytest.fixture
def fake(server: TrelloFake) -> TrelloFake:
    """The module's fake, emptied, with a test-sized rate window."""
    server.reset()
    server.period = 0.02  # the rate window a 429 makes the client wait out
    return server


class DictCache:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], object] = {}

    def get(self, source: str, key: str, default: object = None) -> object:
        return self.data.get((source, key), default)

    def put(self, source: str, key: str, value: object) -> None:
        self.data[(source, key)] = value


def okr_board(fake: TrelloFake, objectives: int = 10, key_results: int = 300, *, labels: bool = True,
              fields: bool = True, name: str = "OKRs 2026") -> str:  # fmt: skip
    """A board with ``objectives`` lists, each with an objective card and its share of metric cards.

    Current values spread progress over the whole range, so statuses vary.
    """
    board = fake.add_board(name)
    objective = fake.add_label(board, "Objective", "purple")
    if labels:
        for text, colour in (("On track", "green"), ("At risk", "yellow"), ("Off track", "red"), ("Done", "green")):
            fake.add_label(board, text, colour)
    for f in ("Start", "Target", "Current", "Weight"):
        fake.add_field(board, f, "number")
    fake.add_field(board, "KPI", "text")
    fake.add_field(board, "Cycle", "text")
    if fields:
        fake.add_field(board, "Progress", "number")
        fake.add_field(board, "Score", "number")
    for o in range(objectives):
        lst = fake.add_list(board, f"Objective {o + 1}")
        fake.add_card(lst, f"Objective {o + 1}", labels=[objective], fields={"Cycle": "2026-Q4"})
        share = key_results // objectives + (1 if o < key_results % objectives else 0)
        for k in range(share):
            fake.add_card(lst, f"KR {o + 1}.{k + 1}", fields={"Start": 0, "Target": 100, "Current": (k * 37) % 101})
    return board


def kpis_and_board(fake: TrelloFake, board: str, *, per_10s: int = 10_000, okr: str = "") -> str:
    """The config tables of a CSV of KPIs (``kpis.csv``) beside a board on the fake, paced far
    above what a test sends; ``okr``: more keys of the board's table."""
    return f"""
[limits]
trello_per_10s = {per_10s}
trello_key_per_10s = {per_10s}

[[kpis]]
type = "csv"
name = "kpis"
path = "kpis.csv"

[[okrs]]
type = "trello"
name = "okr-board"
board = "{board}"
base_url = "{fake.url}"
{okr}
"""


def open_trello(fake: TrelloFake, board: str, *, env: dict[str, str] | None = None, dry_run: bool = False,
                limits: dict[str, float] | None = None, runtime: Runtime | None = None, **cfg: Any) -> Any:  # fmt: skip
    config = Config(
        okrs=[{"type": "trello", "name": cfg.pop("name", "board"), "board": board, "base_url": fake.url, **cfg}],
        limits=limits or FAST,
    )
    env = {"TRELLO_API_KEY": fake.key, "TRELLO_TOKEN": fake.token} if env is None else env
    ctx = SourceContext(config=config, cache=DictCache(), env=env, dry_run=dry_run, now=NOW, runtime=runtime)  # type: ignore[arg-type]
    source = open_source("okrs", config.okrs[0], ctx)
    source.policy = RetryPolicy(sleep=lambda s: None, initial=0.01, max_backoff=0.05)
    return source


def patches_for(source: Any, result: ReadResult) -> list[Patch]:
    """What the engine would ask this source to write at NOW."""
    settings = EvalSettings.from_config(source.ctx.config)
    evaluation = evaluate(result.kpis, result.objectives, now=NOW, settings=settings)
    return desired_patches(evaluation, result.kpis, result.objectives)


def sync_once(source: Any) -> tuple[ReadResult, list[Patch], list[Any]]:
    """What a pass does with one board: read, perform what ``prepare`` plans, evaluate, write."""
    result = source.read()
    result.notes.extend(perform(source.prepare()).notes)
    patches = patches_for(source, result)
    return result, patches, source.write(patches)
