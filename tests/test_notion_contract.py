"""The fake against real Notion traffic recorded in tests/recordings/notion/.

Shapes are compared structurally (the same keys at every level, the same kinds
of leaf values where both are set), and recorded error-producing requests are
replayed against the fake to get the same status, code and message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from notion_client import Client

from tests.conftest import RECORDINGS
from tests.fakes.notion import NotionFake

ROOT = RECORDINGS / "notion"
UN = ROOT / "ultimate-notion"
TOKEN = "secret_contract"


def recorded(path: Path) -> list[dict[str, Any]]:
    """Interactions of either recorder's format as {method, uri, status, request, response, headers, version}."""
    out = []
    for it in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]:
        rq, rs = it["request"], it["response"]
        body = rs["body"]["string"] if isinstance(rs.get("body"), dict) else rs.get("content")
        status = rs["status"]["code"] if "status" in rs else rs["status_code"]
        version = (rq.get("headers") or {}).get("notion-version", [""])[0]
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body
        request = json.loads(rq["body"]) if rq.get("body") else None
        out.append({"method": rq["method"], "uri": rq["uri"], "status": status, "request": request,
                    "response": parsed, "headers": {k.lower(): v for k, v in (rs.get("headers") or {}).items()},
                    "version": version})  # fmt: skip
    return out


def find(path: Path, method: str, part: str, status: int = 200) -> dict[str, Any]:
    for it in recorded(path):
        if it["method"] == method and part in it["uri"] and it["status"] == status:
            return it
    raise LookupError(f"no {method} {part} {status} in {path.name}")


def same_shape(real: Any, fake: Any, where: str = "$", *, extra_ok: frozenset[str] = frozenset()) -> None:
    """Same keys at every level; same kind of leaf where both are set (null matches anything)."""
    if real is None or fake is None:
        return
    if isinstance(real, dict):
        assert isinstance(fake, dict), f"{where}: the fake gives {type(fake).__name__}, Notion an object"
        missing, extra = set(real) - set(fake), set(fake) - set(real) - extra_ok
        assert not missing and not extra, f"{where}: keys missing {sorted(missing)}, extra {sorted(extra)}"
        for k in real:
            same_shape(real[k], fake[k], f"{where}.{k}", extra_ok=extra_ok)
    elif isinstance(real, list):
        assert isinstance(fake, list), f"{where}: the fake gives {type(fake).__name__}, Notion an array"
        if real and fake:
            same_shape(real[0], fake[0], f"{where}[0]", extra_ok=extra_ok)
    elif real is not None and fake is not None:
        kinds = (bool,) if isinstance(real, bool) else (int, float) if isinstance(real, (int, float)) else (type(real),)
        assert isinstance(fake, kinds) and not (isinstance(fake, bool) and not isinstance(real, bool)), (
            f"{where}: Notion gives {type(real).__name__}, the fake {type(fake).__name__}"
        )


@pytest.fixture
def fake():
    with NotionFake((TOKEN,)) as f:
        yield f


def get(fake: NotionFake, path: str, version: str = "2025-09-03", token: str = TOKEN) -> httpx.Response:
    return httpx.get(fake.url + path, headers={"authorization": f"Bearer {token}", "notion-version": version})


def send(fake: NotionFake, method: str, path: str, body: Any, version: str = "2025-09-03") -> httpx.Response:
    headers = {"authorization": f"Bearer {TOKEN}", "notion-version": version}
    return httpx.request(method, fake.url + path, json=body, headers=headers)


# --- errors ---------------------------------------------------------------------------------------


def test_recorded_errors_replayed_give_the_same_status_code_and_message(fake):
    cases = [
        (ROOT / "test_client_request_auth.yaml", "/v1/users", 401, "secret_wrong"),
        (ROOT / "test_build_request_error_integration.yaml", "/v1/pages/", 404, TOKEN),
        (UN / "test_cli" / "test_upload_invalid_page_uuid.yaml", "/v1/pages/", 400, TOKEN),
        (UN / "test_session" / "test_get_page_by_id.yaml", "/v1/pages/", 404, TOKEN),
    ]
    for path, part, status, token in cases:
        it = find(path, "GET", part, status)
        real = it["response"]
        if status == 404:
            fake.integration = real["message"].split('integration "')[1].rstrip('".')
        response = get(fake, it["uri"].removeprefix("https://api.notion.com"), it["version"] or "2025-09-03", token)
        body = response.json()
        assert response.status_code == real["status"] == status
        assert (body["code"], body["message"]) == (real["code"], real["message"]), path.name
        same_shape(real, body)


def test_the_old_database_query_endpoint_is_gone_in_the_pinned_version(fake):
    real = find(ROOT / "test_api_response_error.yaml", "GET", "/v1/invalid", 400)["response"]
    db, _ = fake.add_database("D", {"Name": "title"})
    response = send(fake, "POST", f"/v1/databases/{db}/query", {})
    assert response.status_code == 400
    same_shape(real, response.json())
    assert response.json()["code"] == real["code"] == "invalid_request_url"


def test_a_429_has_notions_body_and_an_integer_retry_after(fake):
    fake.storm(1, retry_after=2)
    response = get(fake, "/v1/users/me")
    body = response.json()
    assert response.status_code == 429 and response.headers["retry-after"] == "2"
    assert set(body) == {"object", "status", "code", "message", "request_id"} and body["code"] == "rate_limited"


# --- databases and data sources ------------------------------------------------------------------


def test_databases_retrieve_lists_data_sources_and_no_properties(fake):
    real = find(ROOT / "test_databases_retrieve.yaml", "GET", "/v1/databases/")["response"]
    db, ds = fake.add_database("Test Database", {"Name": "title"})
    mine = get(fake, f"/v1/databases/{db}").json()
    same_shape(real, mine)
    assert "properties" not in mine and mine["data_sources"] == [{"id": ds, "name": "Test Database"}]


def test_data_sources_retrieve_schema(fake):
    real = find(ROOT / "test_data_sources_retrieve.yaml", "GET", "/v1/data_sources/")["response"]
    _, ds = fake.add_database("Test", {"Name": "title"})
    same_shape(real, get(fake, f"/v1/data_sources/{ds}").json())
    # property configurations, including status options and groups (2026-03-11 recording)
    search = find(UN / "test_session" / "test_search_page.yaml", "GET", "/v1/data_sources/")
    real_props = search["response"]["properties"]
    _, ds2 = fake.add_database("Task DB", {"Task": "title", "Status": ("status", ["Backlog", "Done"]),
                                           "Priority": ("select", ["High"]), "Due Date": ("date", None)})  # fmt: skip
    mine = get(fake, f"/v1/data_sources/{ds2}", "2026-03-11").json()["properties"]
    for name in ("Status", "Priority", "Due Date", "Task"):
        same_shape(real_props[name], mine[name], name)


def test_number_formats_in_the_schema(fake):
    real = find(UN / "test_database" / "test_schema.yaml", "GET", "/v1/data_sources/")["response"]["properties"]
    number = next(p for p in real.values() if p["type"] == "number")
    _, ds = fake.add_database("S", {"Name": "title", "Cost": ("number", {"format": "dollar"})})
    mine = get(fake, f"/v1/data_sources/{ds}").json()["properties"]["Cost"]
    same_shape(number, mine)
    assert mine["number"] == {"format": "dollar"}


# --- query and pages -----------------------------------------------------------------------------


def test_query_list_shape_in_both_versions(fake):
    empty = find(ROOT / "test_data_sources_query.yaml", "POST", "/query")["response"]
    _, ds = fake.add_database("D", {"Name": "title"})
    same_shape(empty, send(fake, "POST", f"/v1/data_sources/{ds}/query", {}).json())
    full = find(UN / "test_database" / "test_more_than_max_page_size_pages.yaml", "POST", "/query")
    for i in range(110):
        fake.add_page(ds, {"Name": f"Page {i}"})
    first = send(fake, "POST", f"/v1/data_sources/{ds}/query", {"page_size": 100}, "2026-03-11").json()
    same_shape(
        {k: v for k, v in full["response"].items() if k != "results"},
        {k: v for k, v in first.items() if k != "results"},
    )
    assert (
        (len(full["response"]["results"]), full["response"]["has_more"])
        == (len(first["results"]), first["has_more"])
        == (100, True)
    )
    assert full["response"]["next_cursor"].startswith("s:") and first["next_cursor"].startswith("s:")
    rest = send(
        fake,
        "POST",
        f"/v1/data_sources/{ds}/query",
        {"page_size": 100, "start_cursor": first["next_cursor"]},
        "2026-03-11",
    ).json()
    assert (len(rest["results"]), rest["has_more"], rest["next_cursor"]) == (10, False, None)


def test_page_objects_per_version(fake):
    old = find(ROOT / "test_pages_retrieve.yaml", "GET", "/v1/pages/")["response"]
    new = find(UN / "test_session" / "test_get_page_by_id.yaml", "GET", "/v1/pages/")["response"]
    _, ds = fake.add_database("D", {"title": "title"})
    page = fake.add_page(ds, {"title": "Tests"})
    for real, version in ((old, "2025-09-03"), (new, "2026-03-11")):
        mine = get(fake, f"/v1/pages/{page}", version).json()
        real = {**real, "parent": mine["parent"]}  # recorded pages sit under a page, ours under a data source
        same_shape(real, mine)
    assert "archived" in old and "archived" not in new


def test_property_values_of_every_type_syncd_reads(fake):
    values: dict[str, dict[str, Any]] = {}
    for path in sorted((UN / "test_query").glob("*.yaml")):
        for it in recorded(path):
            for page in (it["response"] or {}).get("results", []) if isinstance(it["response"], dict) else []:
                for value in (page.get("properties") or {}).values():
                    kind = value["type"]
                    inner = value.get(kind)
                    key = kind + ("/" + inner["type"] if kind in ("formula", "rollup") and inner else "")
                    if key == "rollup/array" and inner.get("array"):
                        key += "/" + inner["array"][0]["type"]
                    if inner not in (None, [], {}) and key not in values:
                        values[key] = value
    _, other = fake.add_database("Other", {"Name": "title"})
    target = fake.add_page(other, {"Name": "x"})
    _, ds = fake.add_database("All", {
        "title": "title", "rich_text": "rich_text", "number": "number", "select": ("select", ["Open"]),
        "status": ("status", ["Not started"]), "date": ("date", None), "checkbox": "checkbox", "people": "people",
        "relation": ("relation", other), "multi_select": ("multi_select", ["a"]), "url": "url",
        "f_number": ("formula", ""), "f_string": ("formula", ""), "f_boolean": ("formula", ""), "f_date": ("formula", ""),
        "r_number": ("rollup", "sum"), "r_array": ("rollup", "show_original"), "r_date": ("rollup", "latest_date"),
    })  # fmt: skip
    page = fake.add_page(ds, {
        "title": "Item", "rich_text": "Text", "number": 2, "select": "Open", "status": "Not started",
        "date": "2026-06-27T18:01:00.000+01:00", "checkbox": True, "people": ["Ada"], "relation": [target],
        "multi_select": ["a"], "url": "https://example.com", "f_number": 1, "f_string": "s", "f_boolean": True,
        "f_date": {"date": "2024-11-25"}, "r_number": 72, "r_array": [42], "r_date": {"date": "2024-11-25"},
    })  # fmt: skip
    mine = send(fake, "POST", f"/v1/data_sources/{ds}/query", {}).json()["results"][0]["properties"]
    checked = []
    pairs = {"formula/number": "f_number", "formula/string": "f_string", "formula/boolean": "f_boolean",
             "formula/date": "f_date", "rollup/number": "r_number", "rollup/array/number": "r_array", "rollup/date": "r_date"}  # fmt: skip
    for key, real in values.items():
        name = pairs.get(key, key)
        if name not in mine:
            continue
        same_shape(
            {k: v for k, v in real.items() if k != "id"}, {k: v for k, v in mine[name].items() if k != "id"}, key
        )
        checked.append(key)
    needed = {
        "title",
        "rich_text",
        "number",
        "select",
        "status",
        "date",
        "checkbox",
        "relation",
        "formula/number",
        "rollup/number",
    }
    assert needed <= set(checked), f"not recorded: {needed - set(checked)}"


def test_relations_are_cut_at_25_and_read_in_full_with_properties_retrieve(fake):
    path = UN / "test_page" / "test_more_than_max_refs_per_relation_property.yaml"
    its = recorded(path)
    real_page = next(
        it["response"]
        for it in its
        if it["method"] == "GET"
        and "/properties/" not in it["uri"]
        and "/v1/pages/" in it["uri"]
        and it["status"] == 200
    )
    real_rel = next(v for v in real_page["properties"].values() if v["type"] == "relation" and v.get("has_more"))
    real_items = next(it for it in its if "/properties/" in it["uri"])
    _, items = fake.add_database("Items", {"Name": "title"})
    refs = [fake.add_page(items, {"Name": f"Item {i}"}) for i in range(30)]
    _, customers = fake.add_database("Customers", {"Name": "title", "Items Purchased": ("relation", items)})
    page = fake.add_page(customers, {"Name": "Customer", "Items Purchased": refs})
    mine = get(fake, f"/v1/pages/{page}", "2026-03-11").json()["properties"]["Items Purchased"]
    same_shape({k: v for k, v in real_rel.items() if k != "id"}, {k: v for k, v in mine.items() if k != "id"})
    assert (len(real_rel["relation"]), real_rel["has_more"]) == (len(mine["relation"]), mine["has_more"]) == (25, True)
    prop = mine["id"]
    full = get(fake, f"/v1/pages/{page}/properties/{prop}?page_size=100", "2026-03-11").json()
    same_shape(real_items["response"], full)
    assert len(full["results"]) == len(real_items["response"]["results"]) == 30
    # notion-client sends the property id as it is in the path
    client = Client(auth=TOKEN, base_url=fake.url, retry=False, notion_version="2026-03-11")
    assert len(client.pages.properties.retrieve(page, prop, page_size=100)["results"]) == 30
    client.close()


def test_recorded_page_updates_replay_against_the_fake(fake):
    its = [
        it
        for it in recorded(UN / "test_page" / "test_option_page_props.yaml")
        if it["method"] == "PATCH" and "/v1/pages/" in it["uri"]
    ]
    assert its
    _, ds = fake.add_database("Option Page Props Test", {"Title": "title", "Status": ("select", ["In Progress"]),
                                                         "Multi Status": ("multi_select", ["Option 1"])})  # fmt: skip
    page = fake.add_page(ds, {"Title": "Page 1"})
    for it in its:
        props = {k: v for k, v in it["request"]["properties"].items() if k != "Multi Status"}
        if not props:
            continue
        response = send(fake, "PATCH", f"/v1/pages/{page}", {"properties": props}, "2026-03-11")
        assert response.status_code == 200, response.text
        name = props["Status"]["select"]["name"]
        same_shape(it["response"]["properties"]["Status"], response.json()["properties"]["Status"])
        assert (
            response.json()["properties"]["Status"]["select"]["name"]
            == it["response"]["properties"]["Status"]["select"]["name"]
            == name
        )


def test_comment_shapes(fake):
    created = find(ROOT / "test_comments_create.yaml", "POST", "/v1/comments")
    listed = find(ROOT / "test_comments_list.yaml", "GET", "/v1/comments")
    _, ds = fake.add_database("D", {"Name": "title"})
    page = fake.add_page(ds, {"Name": "p"})
    mine = send(fake, "POST", "/v1/comments", {**created["request"], "parent": {"page_id": page}}).json()
    same_shape(created["response"], mine)
    same_shape(listed["response"], get(fake, f"/v1/comments?block_id={page}").json())


def test_what_syncd_sends_has_the_recorded_request_shapes(fake):
    """The query and update bodies syncd sends look like the ones Notion was recorded accepting."""
    from tests.fakes.notion import okr_workspace
    from tests.test_notion import MemoryCache, make_config, open_okrs

    recorded_query = find(UN / "test_database" / "test_more_than_max_page_size_pages.yaml", "POST", "/query")["request"]
    ws = okr_workspace(fake, objectives=1, key_results=3)
    fake.tokens.add("secret_x")
    source = open_okrs(
        make_config(fake, objectives=ws["objectives_db"], key_results=ws["key_results_db"]), MemoryCache()
    )
    source.read()
    for request in fake.log:
        if request.path.endswith("/query"):
            assert set(json.loads(request.body)) <= set(recorded_query) | {"start_cursor", "filter"}
            assert request.headers["notion-version"] == "2025-09-03"
