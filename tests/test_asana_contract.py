"""The source contract (tests/contract.py) run by the Asana source against its loopback fake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncd.config import Config
from syncd.connectors import REGISTRY
from tests.asana_helpers import okr_goals
from tests.contract import SourceContract, World
from tests.fakes.asana import PREFIX, AsanaFake


class TestAsanaContract(SourceContract):
    @pytest.fixture
    def world(self, tmp_path: Path) -> Any:
        with AsanaFake() as fake:
            ws, _ = okr_goals(fake, 2, 4)
            config = Config(
                syncd={"state": str(tmp_path / "state.db")},
                okrs=[{"type": "asana", "name": "src", "workspace": ws, "base_url": fake.url + PREFIX}],
                limits={"asana_per_minute": 1_000_000},
            )

            def snapshot() -> dict[tuple[str, str], Any]:
                out: dict[tuple[str, str], Any] = {}
                for gid, goal in fake.goals.items():
                    for f in ("name", "notes", "status", "start_on", "due_on"):
                        out[(gid, f)] = goal[f]
                    metric = goal["metric"] or {}
                    for f in ("initial_number_value", "target_number_value", "current_number_value"):
                        out[(gid, f)] = metric.get(f)
                return out

            def refuse() -> str:
                gid = next(g for g, goal in fake.goals.items() if goal["name"] == "KR 1.1")
                fake.refuse = lambda r: 403 if r.method != "GET" and gid in r.path else None
                return gid

            def break_it() -> None:
                config.okrs[0].workspace = "999"

            yield World(
                config=config,
                registry=REGISTRY,
                env={"ASANA_TOKEN": fake.token},
                role="okrs",
                owned={"status", "current_number_value"},
                snapshot=snapshot,
                mutations=lambda: sum(1 for r in fake.log if r.method != "GET"),
                credential=("ASANA_TOKEN", fake.token),
                refuse_one=refuse,
                storm=lambda n, after: fake.storm(n, after),
                burst=lambda n: fake.fail_next(n, 503),
                break_it=break_it,
            )
