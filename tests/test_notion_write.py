"""Writing back to Notion: one update per changed page, native values, clear refusals, comments once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from notion_client import APIResponseError, Client

from syncd.mappings.notion import Prop, RenderError, render
from syncd.model import Patch
from syncd.source import SourceError, perform
from tests.fakes.notion import okr_workspace
from tests.fakes.server import HTTPError
from tests.test_notion import TOKEN, MemoryCache, _fresh_pacers, fake, make_config, open_okrs  # noqa: F401 - fixtures

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def ws(fake):
    built = okr_workspace(fake, objectives=3, key_results=9)
    fake.advance(hours=1)
    return built


def _patch(item, field, old, new, kind="key_result", colour=None):
    return Patch(
        source=item.source, item=item.id, field=field, old=old, new=new, ref=item.ref, kind=kind, colour=colour
    )


def _source(fake, ws, cache=None, **extra):
    config = make_config(fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"], **extra)
    source = open_okrs(config, cache or MemoryCache())
    source.ctx.now = NOW
    return source


def test_one_update_per_changed_page_with_every_changed_property(fake, ws):
    source = _source(fake, ws)
    objectives = source.read().objectives
    kr1, kr2 = objectives[0].key_results[:2]
    obj = objectives[1]
    patches = [
        _patch(kr1, "progress", None, 0.42), _patch(kr1, "status", None, "At risk", colour="amber"),
        _patch(kr2, "status", None, "On track", colour="green"),
        _patch(obj, "score", None, 0.61, kind="objective"), _patch(obj, "status", None, "On track", kind="objective"),
    ]  # fmt: skip
    fake.reset_counts()
    notes_before = {p: fake.get(p, "Notes") for p in ws["key_results"] + ws["objectives"]}
    errors = source.write(patches)
    assert errors == []
    assert dict(fake.calls) == {"pages.update": 3}
    bodies = {r.path.rsplit("/", 1)[1]: json.loads(r.body) for r in fake.log}
    assert bodies[kr1.id] == {"properties": {"Progress": {"number": 0.42}, "Status": {"select": {"name": "At risk"}}}}
    assert bodies[obj.id] == {"properties": {"Score": {"number": 0.61}, "Status": {"status": {"name": "On track"}}}}
    assert fake.get(kr1.id, "Progress") == 0.42 and fake.get(obj.id, "Status") == "On track"
    # properties syncd does not own are untouched
    assert {p: fake.get(p, "Notes") for p in notes_before} == notes_before
    assert fake.get(kr1.id, "Current") == fake.get(kr1.id, "Current") and fake.get(kr1.id, "Target") == 100


def test_nothing_is_written_without_patches(fake, ws):
    source = _source(fake, ws)
    source.read()
    fake.reset_counts()
    assert source.write([]) == []
    assert fake.calls.total() == 0


def test_a_status_property_without_the_option_fails_that_field_only(fake, ws):
    schema = fake.data_sources[ws["objectives_ds"]]["properties"]["Status"]["status"]
    schema["options"] = [o for o in schema["options"] if o["name"] != "At risk"]
    source = _source(fake, ws)
    obj = source.read().objectives[0]
    errors = source.write(
        [_patch(obj, "status", None, "At risk", kind="objective"), _patch(obj, "score", None, 0.3, kind="objective")]
    )
    assert len(errors) == 1 and errors[0].item == obj.id
    message = errors[0].message
    assert "'At risk'" in message and "'On track'" in message and "cannot add" in message
    assert fake.get(obj.id, "Score") == 0.3  # the rest of the page was still written
    assert fake.calls["pages.update"] == 1


def test_a_select_gains_the_option(fake, ws):
    source = _source(fake, ws)
    kr = source.read().objectives[0].key_results[0]
    assert source.write([_patch(kr, "status", None, "No data")]) == []
    options = [o["name"] for o in fake.data_sources[ws["key_results_ds"]]["properties"]["Status"]["select"]["options"]]
    assert "No data" in options and fake.get(kr.id, "Status") == "No data"


def test_existing_option_spelling_is_kept(fake, ws):
    source = _source(fake, ws)
    kr = source.read().objectives[0].key_results[0]
    options = fake.data_sources[ws["key_results_ds"]]["properties"]["Status"]["select"]["options"]
    options[1]["name"] = "ON TRACK"
    source._prepare(source._dbs["key_results"], refresh=True)
    source.write([_patch(kr, "status", None, "On track")])
    assert fake.get(kr.id, "Status") == "ON TRACK" and len(options) == 5


def test_a_schema_change_since_the_cache_is_recovered_once(fake, ws):
    cache = MemoryCache()
    source = _source(fake, ws, cache)
    kr = source.read().objectives[0].key_results[0]
    # someone turns Progress into a text property after syncd cached the schema
    prop = fake.data_sources[ws["key_results_ds"]]["properties"]["Progress"]
    prop["type"], prop["rich_text"] = "rich_text", {}
    del prop["number"]
    fake.reset_counts()
    later = _source(fake, ws, cache)
    later.read()
    assert later.write([_patch(kr, "progress", None, 0.42)]) == []
    assert fake.get(kr.id, "Progress") == "42%"
    assert fake.calls["pages.update"] == 2 and fake.calls["data_sources.retrieve"] == 1


def test_a_refused_value_names_the_property_and_the_value(fake, ws):
    source = _source(fake, ws)
    kr = source.read().objectives[0].key_results[0]
    fake.trash(kr.id)
    errors = source.write([_patch(kr, "progress", None, 0.5)])
    assert len(errors) == 1
    assert "Progress = 0.5" in errors[0].message and "archived" in errors[0].message and kr.where in errors[0].message


def test_rich_text_is_cut_at_2000_characters(fake):
    prop = Prop("status", "Note", "x", "rich_text")
    payload = render(prop, "x" * 2500)
    assert len(payload["rich_text"][0]["text"]["content"]) == 2000
    db, ds = fake.add_database("T", {"Name": "title", "Note": "rich_text"})
    page = fake.add_page(ds, {"Name": "a"})
    client = Client(auth=TOKEN, base_url=fake.url, retry=False)
    client.pages.update(page, properties={"Note": payload})
    with pytest.raises(APIResponseError, match="should be ≤ `2000`"):
        client.pages.update(page, properties={"Note": {"rich_text": [{"text": {"content": "y" * 2001}}]}})
    client.close()


def test_render_native_values():
    assert render(Prop("progress", "P", "p", "number", "percent"), 0.42) == {"number": 0.42}
    assert render(Prop("current", "C", "c", "number", "percent"), 85.0) == {"number": 0.85}
    assert render(Prop("current", "C", "c", "number", "number"), 85.0) == {"number": 85.0}
    assert render(Prop("progress", "P", "p", "rich_text"), 0.425) == {
        "rich_text": [{"type": "text", "text": {"content": "42.5%"}}]
    }
    assert render(Prop("status", "S", "s", "status", None, ("Off track",)), "off track") == {
        "status": {"name": "Off track"}
    }
    with pytest.raises(RenderError, match="no option 'Done'"):
        render(Prop("status", "S", "s", "status", None, ("Off track",)), "Done")


# --- comments ---------------------------------------------------------------------------------


def test_a_colour_change_gets_one_dated_comment(fake, ws):
    cache = MemoryCache()
    source = _source(fake, ws, cache, comment_on_change=True)
    kr, other = source.read().objectives[0].key_results[:2]
    errors = source.write([
        _patch(kr, "status", "On track", "At risk", colour="amber"),
        _patch(other, "status", None, "On track", colour="green"),  # first write: no colour change
    ])  # fmt: skip
    assert errors == []
    (comment,) = fake.comments[kr.id]
    assert comment["rich_text"][0]["plain_text"] == "2026-11-15: status changed from On track to At risk (syncd)"
    assert other.id not in fake.comments
    # the same change again (the page was reverted by hand and syncd rewrites it): no second comment that day
    source.write([_patch(kr, "status", "On track", "At risk", colour="amber")])
    assert len(fake.comments[kr.id]) == 1


def test_a_comment_is_not_duplicated_after_a_crash(fake, ws):
    cache = MemoryCache()
    source = _source(fake, ws, cache, comment_on_change=True)
    kr = source.read().objectives[0].key_results[0]
    comments = source._comments()
    key = comments.intend(kr.id, "On track", "Off track", kr.where)
    comments.intents[key]["tried"] = True
    comments._intents._save()
    # the post reached Notion, then the process was killed before it noted "sent"
    fake.comments[kr.id] = [
        {"object": "comment", "id": "c", "rich_text": [{"plain_text": comments.intents[key]["text"]}]}
    ]
    fake.reset_counts()
    again = _source(fake, ws, cache, comment_on_change=True)
    again.read()
    assert perform(again.prepare()).errors == []
    assert len(fake.comments[kr.id]) == 1
    assert fake.calls["comments.list"] == 1 and fake.calls["comments.create"] == 0
    assert cache.get("okrs", "comments")[key]["sent"] is True


def test_a_comment_intent_left_before_the_post_is_posted_next_pass(fake, ws):
    cache = MemoryCache()
    source = _source(fake, ws, cache, comment_on_change=True)
    kr = source.read().objectives[0].key_results[0]
    source._comments().intend(kr.id, "On track", "Off track", kr.where)  # killed right after
    again = _source(fake, ws, cache, comment_on_change=True)
    again.read()
    perform(again.prepare())  # what a real pass does after the read
    assert len(fake.comments[kr.id]) == 1 and fake.calls["comments.list"] == 0


def test_an_ambiguous_comment_failure_is_checked_before_posting_again(fake, ws):
    source = _source(fake, ws, comment_on_change=True)
    kr = source.read().objectives[0].key_results[0]
    fake.reset_counts()
    real = fake._comment

    def commit_then_fail(request):
        real(request)  # Notion took it...
        raise HTTPError(502, "bad_gateway", "upstream died")  # ...the answer got lost

    fake._routes = [(m, p, n, commit_then_fail if n == "comments.create" else h) for m, p, n, h in fake._routes]
    assert source.write([_patch(kr, "status", "On track", "Off track", colour="red")]) == []
    assert len(fake.comments[kr.id]) == 1
    assert fake.calls["comments.create"] == 1 and fake.calls["comments.list"] == 1


def test_no_comment_when_the_update_fails(fake, ws):
    cache = MemoryCache()
    source = _source(fake, ws, cache, comment_on_change=True)
    kr = source.read().objectives[0].key_results[0]
    fake.trash(kr.id)
    assert len(source.write([_patch(kr, "status", "On track", "Off track", colour="red")])) == 1
    assert kr.id not in fake.comments and cache.get("okrs", "comments") == {}


def test_a_dry_run_writes_no_comment(fake, ws):
    cache = MemoryCache()
    source = _source(fake, ws, cache, comment_on_change=True)
    kr = source.read().objectives[0].key_results[0]
    source._comments().intend(kr.id, "On track", "Off track", kr.where)
    config = make_config(fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"], comment_on_change=True)
    dry = open_okrs(config, cache, dry_run=True)
    dry.read()
    assert kr.id not in fake.comments


def test_writes_refresh_the_snapshot_so_warm_reads_see_them(fake, ws):
    cache = MemoryCache()
    source = _source(fake, ws, cache)
    kr = source.read().objectives[0].key_results[0]
    source.write([_patch(kr, "progress", None, 0.25)])
    fake.advance(minutes=30)
    again = _source(fake, ws, cache)
    krs = {k.id: k for o in again.read().objectives for k in o.key_results}
    assert krs[kr.id].written["progress"] == 0.25


def test_unknown_token_on_write_fails_the_source(fake, ws):
    source = _source(fake, ws)
    kr = source.read().objectives[0].key_results[0]
    fake.tokens.clear()
    with pytest.raises(SourceError, match="unauthorized"):
        source.write([_patch(kr, "progress", None, 0.25)])


def test_the_state_stores_copy_of_a_written_page_is_notions_answer_with_whole_relations(fake):
    _, ods = fake.add_database("O", {"Name": "title"})
    objectives = [fake.add_page(ods, {"Name": f"Objective {i}"}) for i in range(30)]
    _, kds = fake.add_database("K", {"Name": "title", "Objective": ("relation", ods), "Current": "number",
                                     "Status": ("select", ["On track", "At risk"])})  # fmt: skip
    kr_page = fake.add_page(kds, {"Name": "Shared", "Objective": objectives, "Current": 5})
    other = fake.add_page(kds, {"Name": "Other", "Objective": objectives[:1], "Current": 6})
    fake.advance(hours=1)
    cache = MemoryCache()
    ws = {"objectives_db": fake.data_sources[ods]["db"], "key_results_db": fake.data_sources[kds]["db"]}
    source = _source(fake, ws, cache)
    krs = {kr.id: kr for o in source.read().objectives for kr in o.key_results}
    assert source.write([_patch(krs[kr_page], "status", None, "At risk")]) == []
    pages = cache.get("okrs", f"pages:{ws['key_results_db']}")["pages"]  # type: ignore[index]
    # the answer cut the relation at 25; the copy keeps the 30 read before, and the status written
    assert pages[kr_page]["v"]["objective"] == objectives and pages[kr_page]["v"]["status"] == "At risk"
    assert pages[other]["v"] == {"title": "Other", "objective": objectives[:1], "current": 6, "status": None}
