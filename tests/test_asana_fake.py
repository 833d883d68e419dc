"""The Asana fake, and syncd's requests, against Asana's documented bodies (tests/recordings/asana/).

The references are the vendor's OpenAPI examples (see SOURCES.md there), not
recorded traffic, so what is compared is shape: every key the fake sends must
be one Asana sends, with the same JSON type; every key syncd sends in a request
body must be one Asana documents for that request; the envelopes (``data``,
``next_page``, ``errors``) must match.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.asana_helpers import asana, asana_server, open_asana, sync_once  # noqa: F401 - fixtures
from tests.fakes.asana import PREFIX

REFERENCE = Path(__file__).resolve().parent / "recordings" / "asana"


def ref(name: str) -> Any:
    return json.loads((REFERENCE / name).read_text())


@pytest.fixture(autouse=True)
def _pacers():
    yield


def _kind(a: Any) -> str:
    if isinstance(a, bool):
        return "bool"
    if isinstance(a, (int, float)):
        return "number"
    return type(a).__name__


def shape_error(fake: Any, real: Any, where: str = "$") -> str | None:
    """Why ``fake`` does not look like ``real`` (None, in either, fits any type)."""
    if fake is None or real is None:
        return None
    if _kind(fake) != _kind(real):
        return f"{where}: the fake sends {_kind(fake)}, Asana {_kind(real)}"
    if isinstance(fake, dict):
        extra = set(fake) - set(real)
        if extra:
            return f"{where}: the fake sends {sorted(extra)}, which Asana does not"
        return next((e for k in fake if (e := shape_error(fake[k], real[k], f"{where}.{k}"))), None)
    if isinstance(fake, list) and real:
        return next((e for i, x in enumerate(fake) if (e := shape_error(x, real[0], f"{where}[{i}]"))), None)
    return None


def _account(fake):
    ws = fake.add_workspace()
    team = fake.add_team(ws)
    period = fake.add_period("2026-10-01", "2026-12-31")
    top = fake.add_goal(ws, "Grow web traffic by 30%", team=team, period=period, metric=(5.2, 10.2, 8.12),
                        status="green", notes="KPI: traffic")  # fmt: skip
    kid = fake.add_goal(ws, "Ship the blog", team=team, period=period, metric=(0, 1, 0), unit="percentage")
    fake.add_subgoal(top, kid, 1.0)
    fake.add_supporting_work(top)
    return ws, team, period, top, kid


def _get(fake, path: str, **params: str) -> httpx.Response:
    return httpx.get(fake.url + PREFIX + path, params=params, headers={"Authorization": f"Bearer {fake.token}"})


def test_goal_records_look_like_asanas(asana):
    ws, team, period, top, kid = _account(asana)
    full = ref("get_goals_goal_gid.200.json")
    r = _get(asana, f"/goals/{top}")
    assert r.status_code == 200 and set(r.json()) == {"data"}
    assert shape_error(r.json()["data"], full["data"]) is None
    assert set(r.json()["data"]) >= set(full["data"]) - {"custom_fields", "custom_field_settings"}
    listed = _get(asana, "/goals", workspace=ws, limit="1")
    page = ref("get_goals.200.json")
    assert set(listed.json()) == set(page) and set(listed.json()["next_page"]) == set(page["next_page"])
    assert set(listed.json()["data"][0]) == set(page["data"][0])  # the compact goal
    assert shape_error(listed.json(), page) is None
    from syncd.mappings.asana import GOAL_FIELDS

    picked = _get(asana, "/goals", workspace=ws, limit="100", opt_fields=",".join(GOAL_FIELDS)).json()
    assert picked["next_page"] is None
    for goal in picked["data"]:
        assert shape_error(goal, full["data"]) is None
        assert set(goal) == {"gid"} | {f.split(".")[0] for f in GOAL_FIELDS}


def test_relationships_parents_status_updates_and_periods_look_like_asanas(asana):
    ws, team, period, top, kid = _account(asana)
    rels = _get(asana, "/goal_relationships", supported_goal=top, limit="100").json()
    assert shape_error(rels, ref("get_goal_relationships.200.json")) is None
    assert {x["resource_subtype"] for x in rels["data"]} == {"subgoal", "supporting_work"}
    parents = _get(asana, f"/goals/{kid}/parentGoals").json()
    assert shape_error(parents, ref("get_goals_goal_gid_parentGoals.200.json")) is None
    assert [p["gid"] for p in parents["data"]] == [top]
    tp = _get(asana, f"/time_periods/{period}").json()
    assert shape_error(tp, ref("get_time_periods_time_period_gid.200.json")) is None
    posted = httpx.post(asana.url + PREFIX + "/status_updates", headers={"Authorization": f"Bearer {asana.token}"},
                        json={"data": {"parent": top, "status_type": "at_risk", "text": "hm", "title": "t"}})  # fmt: skip
    assert posted.status_code == 201
    assert shape_error(posted.json(), ref("post_status_updates.201.json")) is None
    listed = _get(asana, "/status_updates", parent=top, limit="10").json()
    assert shape_error(listed, ref("get_status_updates.200.json")) is None
    assert asana.goals[top]["status"] == "yellow"  # the latest update sets the goal's status


def test_errors_look_like_asanas(asana):
    documented = ref("error_response.json")
    for response in (
        httpx.get(asana.url + PREFIX + "/goals", params={"workspace": "1"}, headers={"Authorization": "Bearer nope"}),
        _get(asana, "/goals", workspace="1"),
        _get(asana, "/goals", workspace=asana.add_workspace(), limit="101"),
    ):
        assert response.status_code in (400, 401, 404)
        body = response.json()
        assert set(body) == {"errors"} and set(body["errors"][0]) == set(documented["errors"][0])
    asana.storm(1)
    limited = _get(asana, "/goals", workspace="1")
    assert limited.status_code == 429 and limited.headers["retry-after"].isdigit()
    assert set(limited.json()["errors"][0]) == set(documented["errors"][0])
    assert _get(asana, "/goals", workspace=asana.add_workspace(), opt_fields="name,bogus").status_code == 400


def test_syncds_request_bodies_are_the_documented_ones(asana):
    ws = asana.add_workspace()
    top = asana.add_goal(ws, "Grow", metric=(0, 1, 0), start_on="2026-10-01", due_on="2026-12-31", status="red")
    kr = asana.add_goal(ws, "Retention", metric=(75, 85, 76), notes="KPI: retention", status="red")
    asana.add_subgoal(top, kr)
    source = open_asana(asana, ws, status_updates=True)
    from syncd.model import KPI
    from tests.asana_helpers import patches_for

    result = source.read()
    result.kpis.append(KPI(id="retention", name="retention", value=84.0))
    assert source.write([p for p in patches_for(source, result) if p.source == "goals"]) == []
    documented = {
        ("PUT", "goal"): ref("put_goals_goal_gid.request.json"),
        ("POST", "setMetricCurrentValue"): ref("post_goals_goal_gid_setMetricCurrentValue.request.json"),
        ("POST", "status_updates"): ref("post_status_updates.request.json"),
    }
    seen = set()
    for r in asana.log:
        if r.method == "GET":
            continue
        key = (r.method, "goal" if r.method == "PUT" else r.path.rsplit("/", 1)[-1])
        body, doc = r.json(), documented[key]
        assert set(body) == {"data"} and set(body["data"]) <= set(doc["data"]), (key, body)
        for k, v in body["data"].items():
            if doc["data"][k] not in (None, {}):
                assert _kind(v) == _kind(doc["data"][k]), (key, k)
        seen.add(key)
    assert seen == set(documented)


SPEC = Path(__file__).resolve().parents[2] / "shared" / "reference" / "asana" / "openapi" / "asana_oas.yaml"
#: The ``opt_fields`` enums of GET /goals and GET /goal_relationships, excerpted verbatim from that
#: spec (see tests/recordings/asana/SOURCES.md), so the check runs from a clone alone.
OPT_FIELDS = Path(__file__).resolve().parent / "recordings" / "asana" / "opt_fields.json"


def _spec_enums() -> dict[str, set[str]]:
    import yaml

    paths = yaml.safe_load(SPEC.read_text())["paths"]
    enums = {}
    for path in ("/goals", "/goal_relationships"):
        (p,) = [x for x in paths[path]["get"]["parameters"] if x.get("name") == "opt_fields"]
        enums[path] = set(p["schema"]["items"]["enum"])
    return enums


def test_the_fields_syncd_and_the_fake_name_are_in_asanas_spec():
    from syncd.mappings.asana import GOAL_FIELDS, RELATIONSHIP_FIELDS
    from tests.fakes.asana import GOAL_OPT_FIELDS, RELATIONSHIP_OPT_FIELDS

    enums = {path: set(fields) for path, fields in json.loads(OPT_FIELDS.read_text())["GET"].items()}
    assert set(GOAL_FIELDS) <= enums["/goals"] and GOAL_OPT_FIELDS - {"resource_type"} <= enums["/goals"]
    assert set(RELATIONSHIP_FIELDS) <= enums["/goal_relationships"]
    assert RELATIONSHIP_OPT_FIELDS - {"resource_type"} <= enums["/goal_relationships"]


@pytest.mark.skipif(
    not SPEC.exists(), reason="Asana's OpenAPI spec (../shared/reference/asana/) is not beside this clone"
)
def test_the_excerpt_of_the_spec_is_verbatim():
    enums = {path: set(fields) for path, fields in json.loads(OPT_FIELDS.read_text())["GET"].items()}
    assert enums == _spec_enums()
