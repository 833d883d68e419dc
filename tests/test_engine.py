"""The engine against a stub source: what it writes, what it reports, how failures stay local."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from syncd import engine
from syncd.config import load_config
from syncd.model import KPI, ItemError, ReadResult
from syncd.registry import Registry
from syncd.source import BaseSource, Deferred, SourceError
from tests.conftest import write_config

NOW = datetime(2026, 11, 15, 9, tzinfo=UTC)
#: The engine is given its source types: here the scripted stubs stand in for "csv".
STUBS = Registry({"csv": "stub_connector"})


def sync(config, **kw):
    return engine.sync(config, registry=STUBS, **kw)


class StubSource(BaseSource):
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
            KPI(
                id=f"{self.name}-{i}",
                name=f"KPI {i}",
                value=v,
                direction="higher",
                green=10.0,
                red=5.0,
                source=self.name,
                written={"status": None},
            )
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
    StubSource.behaviour = {}
    cfg = write_config(
        tmp_path / "s.toml",
        '[[kpis]]\nname = "a"\ntype = "csv"\npath = "a.csv"\n[[kpis]]\nname = "b"\ntype = "csv"\npath = "b.csv"\n',
    )
    return load_config(cfg)


def test_every_source_is_read_evaluated_and_written(stub):
    report = sync(stub, now=NOW)
    assert report.exit_code == 0
    assert [(p.item, p.new) for p in report.writes if p.source == "a"] == [
        ("a-0", "Green"),
        ("a-1", "Amber"),
        ("a-2", "Red"),
    ]
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


# --- the optional flush hook ---------------------------------------------------------


class BatchingStub(StubSource):
    """A stub whose ``write`` only queues and whose ``flush`` the test scripts."""

    events: list[tuple[str, str]] = []

    def write(self, patches):
        self.events.append(("write", self.name))
        return super().write(patches)

    def flush(self):
        self.events.append(("flush", self.name))
        fail = self.behaviour.get(("flush", self.name))
        if isinstance(fail, Exception):
            raise fail
        return list(fail or [])


@pytest.fixture
def batching(stub):
    import sys

    sys.modules["stub_connector"].open = BatchingStub  # type: ignore[attr-defined]
    BatchingStub.events = []
    return stub


def test_flush_is_called_on_every_source_after_all_writes(batching):
    report = sync(batching, now=NOW)
    assert report.exit_code == 0
    assert BatchingStub.events == [("write", "a"), ("write", "b"), ("flush", "a"), ("flush", "b")]
    assert len(report.writes) == 6 and report.sources["a"].writes == 3


def test_a_flush_error_is_charged_to_the_source_it_names(batching):
    # a's flush sent b's queued writes too, and one of b's items failed
    StubSource.behaviour[("flush", "a")] = [ItemError("b", "b-1", "refused")]
    report = sync(batching, now=NOW)
    assert report.exit_code == 1
    assert [(e.source, e.item, e.message) for e in report.errors] == [("b", "b-1", "refused")]
    assert [p.item for p in report.writes if p.source == "b"] == ["b-0", "b-2"]
    assert [p.item for p in report.writes if p.source == "a"] == ["a-0", "a-1", "a-2"]
    assert report.sources["b"].outcome == "failed" and report.sources["b"].writes == 2
    assert report.sources["a"].outcome == "ok" and report.sources["a"].writes == 3


def test_a_flush_side_effect_failure_keeps_the_write(batching):
    StubSource.behaviour[("flush", "a")] = [ItemError("a", "a-1", "status written, but not coloured", fields=())]
    report = sync(batching, now=NOW)
    assert report.exit_code == 1
    assert [p.item for p in report.writes if p.source == "a"] == ["a-0", "a-1", "a-2"]


def test_a_flush_that_raises_loses_that_sources_writes_only(batching):
    StubSource.behaviour[("flush", "a")] = SourceError("sheet 1AbC: values:batchUpdate answered 500")
    StubSource.behaviour[("flush", "b")] = Deferred("sheets asked to wait 300s", retry_after=300)
    report = sync(batching, now=NOW)
    assert report.exit_code == 1
    assert report.writes == []
    assert [(e.source, e.message) for e in report.errors] == [
        ("a", "nothing written: sheet 1AbC: values:batchUpdate answered 500"),
        ("b", "sheets asked to wait 300s"),
    ]
    assert report.sources["a"].outcome == "failed" and report.sources["a"].writes == 0
    assert report.sources["b"].outcome == "partial" and report.sources["b"].retry_after == 300


def test_a_dry_run_never_flushes(batching):
    report = sync(batching, now=NOW, dry_run=True)
    assert len(report.writes) == 6 and BatchingStub.events == []


def test_what_is_made_while_the_collector_is_paused_is_not_rescanned_as_young():
    import gc

    assert gc.isenabled()
    with engine.paused_gc():
        assert not gc.isenabled()
        made = [[i] for i in range(1000)]  # lists: tracked by the collector
    assert gc.isenabled()
    young = {id(o) for o in gc.get_objects(generation=0)}
    assert not young & {id(o) for o in made}
    assert {id(o) for o in made} <= {id(o) for o in gc.get_objects(generation=2)}
