"""The Notion source through notion-client against the loopback fake: reads, calls, incremental runs."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest

from syncd.config import Config
from syncd.connectors import open_source
from syncd.http import RetryPolicy, Runtime
from syncd.source import SourceContext, SourceError
from tests.fakes.notion import NotionFake, okr_workspace

TOKEN = "secret_x"


class MemoryCache:
    """The state store's cache, in memory (values round-trip through JSON like the real one)."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}

    def get(self, source: str, key: str, default: object = None) -> object:
        raw = self.data.get((source, key))
        return default if raw is None else json.loads(raw)

    def put(self, source: str, key: str, value: object) -> None:
        self.data[(source, key)] = json.dumps(value)

    def forget(self, prefix: str) -> None:
        for k in [k for k in self.data if k[1].startswith(prefix)]:
            del self.data[k]


@pytest.fixture(autouse=True)
def _fresh_pacers():
    """Each source opened here has a runtime of its own (tests share one by passing ``runtime``)."""
    yield


@pytest.fixture
def fake():
    with NotionFake((TOKEN,)) as f:
        yield f


def make_config(fake: NotionFake, *, per_second: float = 2000, **source: Any) -> Config:
    table = {"type": "notion", "name": "okrs", "base_url": fake.url, **source}
    return Config(okrs=[table], limits={"notion_per_second": per_second})


def open_okrs(
    config: Config,
    cache: MemoryCache,
    env: dict[str, str] | None = None,
    *,
    index: int = 0,
    dry_run: bool = False,
    runtime: Runtime | None = None,
):
    ctx = SourceContext(
        config=config, cache=cache, env=env or {"NOTION_TOKEN": TOKEN}, dry_run=dry_run, runtime=runtime
    )  # type: ignore[arg-type]
    source = open_source("okrs", config.okrs[index], ctx)
    source.policy = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)
    return source


def reads(source) -> dict[str, int]:
    return {k: v for k, v in source.calls.items() if k != "data_sources.query"}


@pytest.fixture
def ws(fake):
    built = okr_workspace(fake, objectives=10, key_results=250)
    fake.advance(hours=1)  # the team set it up earlier; syncd reads it now
    return built


@pytest.fixture
def config(fake, ws):
    return make_config(fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"])


# --- call counts --------------------------------------------------------------------------------


def test_first_ever_run_resolves_each_database_once_then_queries_at_the_floor(fake, ws, config):
    cache = MemoryCache()
    source = open_okrs(config, cache)
    result = source.read()
    assert len(result.objectives) == 10
    assert sum(len(o.key_results) for o in result.objectives) == 250
    assert source.calls["data_sources.query"] == math.ceil(250 / 100) + math.ceil(10 / 100)
    # first-ever run: one databases.retrieve + one data_sources.retrieve per database
    assert reads(source) == {"databases.retrieve": 2, "data_sources.retrieve": 2}
    assert dict(source.calls) == dict(fake.calls)


def test_cold_run_with_remembered_data_sources_makes_only_query_calls(fake, ws, config):
    cache = MemoryCache()
    open_okrs(config, cache).read()
    cache.forget("pages:")  # no snapshot: a cold read
    fake.reset_counts()
    source = open_okrs(config, cache)
    source.read()
    assert dict(source.calls) == {"data_sources.query": 4}
    assert dict(fake.calls) == {"data_sources.query": 4}


def test_only_mapped_properties_travel(fake, ws, config):
    source = open_okrs(config, MemoryCache())
    result = source.read()
    queries = [r for r in fake.log if r.path.endswith("/query")]
    kr_schema = fake.data_sources[ws["key_results_ds"]]["properties"]
    notes_id = unquote(kr_schema["Notes"]["id"])
    for request in queries:
        asked = request.query["filter_properties"]
        assert notes_id not in asked and asked
        # ids sent once-encoded (httpx encodes; syncd must not pre-encode)
        assert "%25" not in request.raw_path + "".join(asked)
        assert json.loads(request.body)["page_size"] == 100
    kr = result.objectives[0].key_results[0]
    assert set(kr.written) == {"progress", "status", "current"}


def test_warm_run_queries_only_edited_pages_once_per_database(fake, ws, config):
    cache = MemoryCache()
    open_okrs(config, cache).read()
    fake.advance(minutes=15)
    changed = ws["key_results"][:4]
    for page in changed:
        fake.edit(page, {"Current": 99})
    fake.edit(ws["objectives"][3], {"Cycle": "2026-Q4", "Name": "Renamed objective"})
    fake.reset_counts()
    source = open_okrs(config, cache)
    result = source.read()
    assert dict(source.calls) == {"data_sources.query": 2}
    bodies = [json.loads(r.body) for r in fake.log]
    assert all(b["filter"]["timestamp"] == "last_edited_time" for b in bodies)
    krs = {kr.id: kr for o in result.objectives for kr in o.key_results}
    assert len(krs) == 250  # the rest come from the state store
    assert all(krs[p].current == 99 for p in changed)
    assert "Renamed objective" in {o.title for o in result.objectives}


def test_an_edit_in_the_same_minute_as_the_last_read_is_not_missed(fake, ws, config):
    cache = MemoryCache()
    open_okrs(config, cache).read()
    fake.advance(seconds=30)  # Notion still shows the same minute
    fake.edit(ws["key_results"][7], {"Current": 55})
    result = open_okrs(config, cache).read()
    krs = {kr.id: kr for o in result.objectives for kr in o.key_results}
    assert krs[ws["key_results"][7]].current == 55


def test_trashed_pages_leave_on_the_scheduled_full_read(fake, ws, config):
    cache = MemoryCache()
    first = open_okrs(config, cache)
    first.read()
    fake.advance(minutes=10)
    gone = ws["key_results"][0]
    fake.trash(gone)
    warm = open_okrs(config, cache)
    warm.read()
    fake.reset_counts()
    later = open_okrs(config, cache)
    later.clock = lambda: first.clock() + timedelta(days=1, minutes=1).total_seconds()
    result = later.read()
    ids = {kr.id for o in result.objectives for kr in o.key_results}
    assert gone not in ids and len(ids) == 249
    # the daily full read refreshes the schema too: one retrieve per database, no database lookup
    assert dict(later.calls) == {"data_sources.query": 4, "data_sources.retrieve": 2}
    assert all("filter" not in json.loads(r.body) for r in fake.log if r.path.endswith("/query"))


def test_pages_in_the_trash_are_ignored(fake, ws, config):
    fake.trash(ws["key_results"][1])
    result = open_okrs(config, MemoryCache()).read()
    assert ws["key_results"][1] not in {kr.id for o in result.objectives for kr in o.key_results}


# --- property types and defaults ----------------------------------------------------------------


def test_every_property_type_a_team_uses(fake):
    _, ods = fake.add_database("O", {"Title": "title", "Cycle": ("date", None), "Type": ("select", ["Committed"]),
                                     "Owner": "people", "Score": ("formula", "prop(\"x\")")})  # fmt: skip
    odb = fake.data_sources[ods]["db"]
    kdb, kds = fake.add_database("K", {
        "Title": "title", "Objective": ("relation", ods), "Kind": ("select", ["metric", "milestone", "checklist"]),
        "Start": ("formula", ""), "Target": ("rollup", "sum"), "Current": ("rollup", "show_original"),
        "KPI": "rich_text", "Weight": ("select", ["2"]), "Owner": "people", "Cycle": "rich_text",
        "Progress": ("formula", ""), "Status": ("status", ["On track", "Done"]), "Unit": ("select", ["%"]),
    })  # fmt: skip
    _, pds = fake.add_database("Projects", {"Title": "title"})
    others = [fake.add_page(pds, {"Title": f"Project {i}"}) for i in range(29)]  # not objectives
    o = fake.add_page(ods, {"Title": "Big one", "Cycle": ("2026-10-01", "2026-12-31"), "Type": "Committed",
                            "Owner": ["Ada", "Grace"], "Score": 0.5})  # fmt: skip
    k1 = fake.add_page(kds, {"Title": "Retention", "Objective": [*others[:27], o], "Start": 21, "Target": 12,
                             "Current": [15], "KPI": "Churn", "Weight": "2", "Owner": ["Ada"], "Cycle": "2026-Q4",
                             "Progress": 0.667, "Status": "On track", "Unit": "%"})  # fmt: skip
    k2 = fake.add_page(kds, {"Title": "Ship it", "Objective": [o], "Kind": "milestone", "Current": [True]})
    k3 = fake.add_page(
        kds, {"Title": "Tasks", "Objective": [o], "Kind": "checklist", "Current": [True, False, True, True]}
    )
    k4 = fake.add_page(kds, {"Title": "Text", "Objective": [o], "Current": ["1,234.5"], "Start": "0", "Target": 2000})
    config = make_config(fake, objectives=odb, key_results=kdb)
    source = open_okrs(config, MemoryCache())
    result = source.read()
    assert source.calls["pages.properties.retrieve"] == 1  # the 28-target relation, fetched in full
    big = next(x for x in result.objectives if x.id == o)
    assert (big.cycle, big.type, big.owner) == ("2026-10-01..2026-12-31", "committed", "Ada, Grace")
    assert "score" not in big.written  # a formula is read, never written
    krs = {kr.id: kr for kr in big.key_results}
    assert set(krs) == {k1, k2, k3, k4}
    r = krs[k1]
    assert (r.start, r.target, r.current, r.kpi, r.weight, r.owner, r.cycle, r.unit) == (
        21,
        12,
        15,
        "Churn",
        2,
        "Ada",
        "2026-Q4",
        "%",
    )
    assert r.written == {"status": "On track"}
    assert (krs[k2].kind, krs[k2].done) == ("milestone", True)
    assert (krs[k3].kind, krs[k3].checklist) == ("checklist", (3, 4))
    assert krs[k4].current == 1234.5 and krs[k4].start == 0


def test_defaults_work_on_a_database_with_only_some_properties(fake):
    odb, ods = fake.add_database("O", {"Name": "title", "Cycle": ("select", ["2026-Q4"])})
    kdb, kds = fake.add_database("K", {"Task": "title", "Objective": ("relation", ods), "Current": "checkbox",
                                       "Weight": "number", "Type": ("select", [])})  # fmt: skip
    o = fake.add_page(ods, {"Name": "Launch", "Cycle": "2026-Q4"})
    done = fake.add_page(kds, {"Task": "Contract signed", "Objective": [o], "Current": True})
    todo = fake.add_page(kds, {"Task": "Pilot live", "Objective": [o], "Current": False})
    result = open_okrs(make_config(fake, objectives=odb, key_results=kdb), MemoryCache()).read()
    (obj,) = result.objectives
    assert obj.type is None and obj.cycle == "2026-Q4" and obj.written == {}
    krs = {kr.id: kr for kr in obj.key_results}
    assert krs[done].title == "Contract signed"  # the title property, whatever its name
    assert (krs[done].kind, krs[done].done, krs[todo].done) == ("milestone", True, False)
    assert krs[done].cycle is None  # takes its objective's
    assert krs[done].weight == 1.0  # empty weight


def test_percent_numbers_read_as_people_see_them(fake):
    odb, ods = fake.add_database("O", {"Name": "title"})
    kdb, kds = fake.add_database("K", {"Name": "title", "Objective": ("relation", ods),
                                       "Start": ("number", {"format": "percent"}), "Target": ("number", {"format": "percent"}),
                                       "Current": ("number", {"format": "percent"}), "Progress": ("number", {"format": "percent"})})  # fmt: skip
    o = fake.add_page(ods, {"Name": "Retention"})
    fake.add_page(
        kds,
        {"Name": "Raise retention", "Objective": [o], "Start": 0.75, "Target": 0.85, "Current": 0.8, "Progress": 0.5},
    )
    (obj,) = open_okrs(make_config(fake, objectives=odb, key_results=kdb), MemoryCache()).read().objectives
    (kr,) = obj.key_results
    assert (kr.start, kr.target, kr.current) == (75, 85, 80)
    assert kr.written == {"progress": 0.5, "current": 80}


def test_one_database_with_a_type_select(fake):
    db, ds = fake.add_database("OKRs", {"Name": "title", "Type": ("select", ["Objective", "Key result"]),
                                        "Objective": ("relation", None), "Current": "number", "Target": "number",
                                        "Status": ("select", [])})  # fmt: skip
    o = fake.add_page(ds, {"Name": "Delight users", "Type": "Objective"})
    fake.add_page(ds, {"Name": "NPS to 50", "Type": "Key result", "Objective": [o], "Current": 30, "Target": 50})
    fake.add_page(
        ds, {"Name": "CSAT to 90", "Objective": [o], "Current": 80, "Target": 90}
    )  # no Type: the relation says
    source = open_okrs(make_config(fake, objectives=db), MemoryCache())
    (obj,) = source.read().objectives
    assert obj.title == "Delight users" and {kr.title for kr in obj.key_results} == {"NPS to 50", "CSAT to 90"}
    assert source.calls["data_sources.query"] == 1


def test_properties_map_by_name_or_id(fake, ws):
    kr_schema = fake.data_sources[ws["key_results_ds"]]["properties"]
    config = make_config(fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"],
                         properties={"current": kr_schema["Start"]["id"], "start": "Current"})  # fmt: skip
    result = open_okrs(config, MemoryCache()).read()
    kr = result.objectives[0].key_results[1]
    assert kr.current == 0 and kr.start == fake.get(kr.id, "Current")


def test_database_urls_are_accepted(fake, ws):
    url = f"https://www.notion.so/acme/Key-results-{ws['key_results_db'].replace('-', '')}?v=0123456789abcdef0123456789abcdef"
    config = make_config(fake, objectives=ws["objectives_db"].replace("-", ""), key_results=url)
    assert len(open_okrs(config, MemoryCache()).read().objectives) == 10


def test_a_key_result_without_its_objective_is_an_item_error(fake, ws, config):
    fake.trash(ws["objectives"][0])
    result = open_okrs(config, MemoryCache()).read()
    assert len(result.objectives) == 9
    assert len(result.errors) == 25
    assert "not an objective syncd read" in result.errors[0].message


# --- errors a user meets ------------------------------------------------------------------------


def test_rejected_token_fails_the_source_with_a_clear_message(fake, ws, config):
    source = open_okrs(config, MemoryCache(), {"NOTION_TOKEN": "secret_wrong_123"})
    with pytest.raises(SourceError) as e:
        source.read()
    message = str(e.value)
    assert "unauthorized" in message and "NOTION_TOKEN" in message and "secret_wrong_123" not in message
    assert source.calls.total() == 1  # a 401 is not retried


def test_missing_token_names_the_variable(fake, ws):
    config = make_config(fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"], token_env="OKR_NOTION")
    with pytest.raises(SourceError, match="OKR_NOTION is not set"):
        open_okrs(config, MemoryCache(), {"NOTION_TOKEN": TOKEN}).read()
    result = open_okrs(config, MemoryCache(), {"OKR_NOTION": TOKEN}).read()
    assert len(result.objectives) == 10


def test_unshared_database_says_how_to_share_it(fake, ws, config):
    fake.shared[TOKEN] = {ws["objectives_db"]}
    with pytest.raises(SourceError) as e:
        open_okrs(config, MemoryCache()).read()
    assert "object_not_found" in str(e.value) and "Connections" in str(e.value)
    assert ws["key_results_db"] in str(e.value)


def test_a_mapped_property_that_does_not_exist_lists_the_ones_that_do(fake, ws):
    config = make_config(
        fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"], properties={"current": "Actual"}
    )
    with pytest.raises(SourceError) as e:
        open_okrs(config, MemoryCache()).read()
    assert "properties.current = 'Actual'" in str(e.value) and "'Current'" in str(e.value) and "'Notes'" in str(e.value)


def test_an_unknown_field_in_the_mapping_is_refused(fake, ws):
    config = make_config(
        fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"], properties={"progres": "P"}
    )
    with pytest.raises(SourceError, match="properties.progres is not a field"):
        open_okrs(config, MemoryCache())


def test_check_reports_problems_as_sentences(fake, ws):
    config = make_config(
        fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"], properties={"score": "Grade"}
    )
    source = open_okrs(config, MemoryCache())
    problems = source.check()
    assert len(problems) == 1 and "Grade" in problems[0]
    good = open_okrs(make_config(fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"]), MemoryCache())
    assert good.check() == []


def test_kpis_from_a_notion_database(fake):
    db, ds = fake.add_database("KPIs", {"Name": "title", "Value": ("number", {"format": "percent"}),
                                        "Direction": ("select", ["higher"]), "Green": "number", "Red": "number",
                                        "Cadence": ("select", ["monthly"]), "Updated": ("date", None), "Status": ("select", [])})  # fmt: skip
    page = fake.add_page(ds, {"Name": "Payroll accuracy", "Value": 0.996, "Direction": "higher", "Green": 99.5, "Red": 99,
                              "Cadence": "monthly", "Updated": "2026-11-01"})  # fmt: skip
    config = Config(
        kpis=[{"type": "notion", "name": "kpi", "database": db, "base_url": fake.url}],
        limits={"notion_per_second": 2000},
    )
    source = open_source(
        "kpis", config.kpis[0], SourceContext(config=config, cache=MemoryCache(), env={"NOTION_TOKEN": TOKEN})
    )
    (kpi,) = source.read().kpis
    assert (kpi.id, kpi.value, kpi.direction, kpi.green, kpi.red, kpi.cadence) == (
        page,
        99.6,
        "higher",
        99.5,
        99,
        "monthly",
    )
    assert str(kpi.updated) == "2026-11-01" and kpi.written == {"status": None}
