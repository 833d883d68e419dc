"""A Hypothesis state machine over whole passes with two in-memory sources (vdirsyncer's way).

Rules: a person edits a value, a threshold or an owned field; a write is refused or the service
asks to wait; a source disappears (and comes back); a pass runs. Invariants: after a pass, a
source that passed cleanly holds exactly the status evaluation wants; nothing outside owned
fields changes; a refused or deferred write is never reported as written; the state store
records exactly the writes that landed (read back from its ``written`` table); a failing source
leaves the other one synced.
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from syncd import engine
from syncd.config import Config
from syncd.connectors import REGISTRY
from syncd.http import RetryPolicy
from tests.memory_source import MemoryService, MemoryTable

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
NAMES = ("a", "b")
ITEMS = ("k1", "k2", "k3")
values = st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda v: round(v, 1))


def wanted(row: dict) -> str:
    """The status SPEC §2 gives a ``higher`` KPI with thresholds green >= red."""
    v, g, r = row["value"], row["green"], row["red"]
    return "Green" if v >= g else "Red" if v < r else "Amber"


class SyncMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        import tempfile

        self.tmp = tempfile.mkdtemp()
        self.services = {
            n: MemoryService(
                token=f"mem-secret-{n}-0123456789",
                rows={i: {"name": i, "value": 50.0, "green": 60.0, "red": 40.0, "note": f"{n}/{i}"} for i in ITEMS},
            )
            for n in NAMES
        }
        self.tables = {
            n: MemoryTable(n, svc, token_env=f"MEMORY_TOKEN_{n.upper()}") for n, svc in self.services.items()
        }
        self.notes = {(n, i): row["note"] for n, svc in self.services.items() for i, row in svc.rows.items()}
        self.config = Config(syncd={"state": f"{self.tmp}/state.db"})
        self.last: engine.SyncReport | None = None

    @rule(name=st.sampled_from(NAMES), item=st.sampled_from(ITEMS), v=values)
    def person_edits_a_value(self, name: str, item: str, v: float) -> None:
        self.services[name].rows[item]["value"] = v

    @rule(name=st.sampled_from(NAMES), item=st.sampled_from(ITEMS), g=values, gap=values)
    def person_edits_thresholds(self, name: str, item: str, g: float, gap: float) -> None:
        self.services[name].rows[item].update(green=g, red=round(g - gap, 1))

    @rule(name=st.sampled_from(NAMES), item=st.sampled_from(ITEMS), s=st.sampled_from(["Green", "Red", "", "x"]))
    def person_edits_the_owned_field(self, name: str, item: str, s: str) -> None:
        self.services[name].rows[item]["status"] = s

    @rule(name=st.sampled_from(NAMES), item=st.sampled_from(ITEMS))
    def a_write_is_refused(self, name: str, item: str) -> None:
        self.services[name].refuse.add(item)

    @rule(name=st.sampled_from(NAMES))
    def the_service_asks_to_wait(self, name: str) -> None:
        self.services[name].faults.append((429, 3600.0))

    @rule(name=st.sampled_from(NAMES), gone=st.booleans())
    def a_source_disappears_or_returns(self, name: str, gone: bool) -> None:
        self.services[name].gone = gone

    def _recorded(self) -> dict[tuple[str, str, str], object]:
        """What the state store says syncd has written: (source, item, field) -> value."""
        import json
        import sqlite3
        from pathlib import Path

        path = Path(self.tmp) / "state.db"
        if not path.exists():
            return {}
        with closing(sqlite3.connect(path)) as db:
            rows = db.execute("SELECT source, item, field, value FROM written").fetchall()
        return {(s, i, f): json.loads(v) for s, i, f, v in rows}

    @rule()
    def a_pass_runs(self) -> None:
        self.before = {n: {i: dict(r) for i, r in svc.rows.items()} for n, svc in self.services.items()}
        self.recorded_before = self._recorded()
        self.last = engine.sync(
            self.config,
            now=NOW,
            registry=REGISTRY.with_types(memory="tests.memory_source"),
            env={t.token_env: t.service.token for t in self.tables.values()},
            sources=[("kpis", t) for t in self.tables.values()],
        )
        for svc in self.services.values():  # the switches hold for one pass
            svc.refuse.clear()
            svc.faults.clear()
        self.clean_sources_hold_what_evaluation_wants()
        self.only_written_patches_are_reported_and_nothing_else_changes()
        self.the_store_records_exactly_the_writes_that_landed()

    def the_store_records_exactly_the_writes_that_landed(self) -> None:
        report = self.last
        assert report is not None
        recorded = self._recorded()
        landed = {(p.source, p.item, p.field): p.new for p in report.writes}
        for key, value in landed.items():  # every write that landed is recorded, with its value
            assert recorded.get(key) == value, (key, value, recorded.get(key))
        for key, value in recorded.items():  # and nothing else changed in the record
            if key not in landed:
                assert self.recorded_before.get(key) == value, (key, value)

    def clean_sources_hold_what_evaluation_wants(self) -> None:
        report = self.last
        assert report is not None
        for name, svc in self.services.items():
            if report.sources[name].outcome == "ok":
                for item, row in svc.rows.items():
                    assert row.get("status") == wanted(row), (name, item, row)

    def only_written_patches_are_reported_and_nothing_else_changes(self) -> None:
        report = self.last
        assert report is not None
        failed = {(e.source, e.item) for e in report.errors}
        for p in report.writes:
            assert (p.source, p.item) not in failed
            assert self.services[p.source].rows[p.item]["status"] == p.new
        written = {(p.source, p.item) for p in report.writes}
        for name, svc in self.services.items():
            for item, row in svc.rows.items():
                was = self.before[name][item]
                assert {k: v for k, v in row.items() if k != "status"} == {
                    k: v for k, v in was.items() if k != "status"
                }
                if (name, item) not in written:
                    assert row.get("status") == was.get("status")

    @invariant()
    def notes_nobody_owns_never_change(self) -> None:
        for (name, item), note in self.notes.items():
            assert self.services[name].rows[item]["note"] == note


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        RetryPolicy,
        "from_config",
        classmethod(lambda cls, c: cls(attempts=3, max_wait=60, initial=0.001, max_backoff=0.01, sleep=lambda s: None)),
    )


TestSyncMachine = SyncMachine.TestCase
TestSyncMachine.settings = settings(
    max_examples=25, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
