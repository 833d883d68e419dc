"""The engine against a stub source: what it writes, what it reports, how failures stay local."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest

import connectors
from syncd.config import load_config
from syncd.engine import sync
from syncd.model import KPI, ItemError, ReadResult
from syncd.source import Deferred, SourceError
from tests.conftest import write_config

NOW = datetime(2026, 11, 15, 9, tzinfo=timezone.utc)


class StubSource:
    """A source whose reads and writes the test scripts."""

    service = "stub"
    behaviour: dict[str, object] = {}

    def __init__(self, role, config, ctx):
        self.name, self.role, self.calls = config.name, role, Counter()
        self.written: list = []

    def read(self) -> ReadResult:
        self.calls["read"] += 1
        fail = self.behaviour.get(("read", self.name))
        if fail:
            raise fail  # type: ignore[misc]
        kpis = [
            KPI(id=f"{self.name}-{i}", name=f"KPI {i}", value=v, direction="higher", green=10.0, red=5.0,
                source=self.name, written={"status": None})
            for i, v in enumerate([12.0, 7.0, 1.0])
        ]
        return ReadResult(kpis=kpis)

    def write(self, patches):
        self.calls["write"] += 1
        fail = self.behaviour.get(("write", self.name))
        if isinstance(fail, Exception):
            raise fail
        return list(fail or [])

    def check(self):
        return []

    def close(self):
        pass


@pytest.fixture
def stub(monkeypatch, tmp_path):
    import sys
    import types

    module = types.ModuleType("stub_connector")
    module.open = StubSource  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "stub_connector", module)
    monkeypatch.setitem(connectors._MODULES, "csv", "stub_connector")
    StubSource.behaviour = {}
    cfg = write_config(
        tmp_path / "s.toml",
        '[[kpis]]\nname = "a"\ntype = "csv"\npath = "a.csv"\n[[kpis]]\nname = "b"\ntype = "csv"\npath = "b.csv"\n',
    )
    return load_config(cfg)


def test_every_source_is_read_evaluated_and_written(stub):
    report = sync(stub, now=NOW)
    assert report.exit_code == 0
    assert [(p.item, p.new) for p in report.writes if p.source == "a"] == [("a-0", "Green"), ("a-1", "Amber"), ("a-2", "Red")]
    assert report.api_calls == {"stub": 4}


def test_a_failing_source_fails_alone(stub):
    StubSource.behaviour[("read", "a")] = SourceError("a.csv: no such file")
    report = sync(stub, now=NOW)
    assert report.exit_code == 1
    assert [(e.source, e.message) for e in report.errors] == [("a", "a.csv: no such file")]
    assert {p.source for p in report.writes} == {"b"}
    assert report.sources["a"].outcome == "failed" and report.sources["b"].outcome == "ok"


def test_a_deferred_source_is_partial_never_a_success(stub):
    StubSource.behaviour[("read", "a")] = Deferred("notion asked to wait 300s", retry_after=300)
    report = sync(stub, now=NOW)
    assert report.sources["a"].outcome == "partial" and report.sources["a"].retry_after == 300
    assert report.exit_code == 1


def test_failed_writes_are_reported_and_the_rest_still_written(stub):
    StubSource.behaviour[("write", "a")] = [ItemError("a", "a-1", "refused")]
    report = sync(stub, now=NOW)
    assert report.exit_code == 1
    assert [p.item for p in report.writes if p.source == "a"] == ["a-0", "a-2"]
    assert report.errors[0].message == "refused"


def test_a_side_effect_failure_keeps_the_write(stub):
    StubSource.behaviour[("write", "a")] = [ItemError("a", "a-1", "status written, but not coloured", fields=())]
    report = sync(stub, now=NOW)
    assert report.exit_code == 1  # the user should know the colour is missing
    assert [p.item for p in report.writes if p.source == "a"] == ["a-0", "a-1", "a-2"]


def test_a_source_that_cannot_write_at_all_keeps_its_items_unwritten(stub):
    StubSource.behaviour[("write", "b")] = SourceError("b.csv: the file is read-only")
    report = sync(stub, now=NOW)
    assert {p.source for p in report.writes} == {"a"}
    assert report.errors[0].message.startswith("nothing written: b.csv")


def test_dry_run_reads_and_shows_writes_but_never_writes(stub):
    report = sync(stub, now=NOW, dry_run=True)
    assert len(report.writes) == 6 and report.api_calls == {"stub": 2}
    assert not stub.state_path.exists()
