"""The Trello fake itself: parameters every way the API takes them, caps, limits, errors."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.trello import TrelloRateLimit
from tests.trello_helpers import fake, server  # noqa: F401 - fixtures

AUTH = {"Authorization": 'OAuth oauth_consumer_key="test-key", oauth_token="test-token"'}


@pytest.fixture
def http(fake):
    with httpx.Client(base_url=fake.url + "/1", headers=AUTH) as client:
        yield client


def _board(fake):
    board = fake.add_board("B")
    label = fake.add_label(board, "Mine", "blue")
    fake.add_field(board, "N", "number")
    fake.add_field(board, "T", "text")
    card = fake.add_card(fake.add_list(board, "L"), "C")
    return board, label, card


def test_custom_field_items_as_query_form_or_json(fake, http):
    board, _, card = _board(fake)
    n, t = fake.field_named(board, "N")["id"], fake.field_named(board, "T")["id"]
    assert http.put(f"/cards/{card}/customField/{t}/item", data={"value[text]": "cool"}).json()["value"] == {
        "text": "cool"
    }
    assert http.put(f"/cards/{card}/customField/{n}/item", json={"value": {"number": 42}}).json()["value"] == {
        "number": "42"
    }
    assert http.put(f"/cards/{card}/customField/{t}/item", params={"value[text]": "nice"}).status_code == 200
    assert fake.value(card, "T") == "nice"
    bad = http.put(f"/cards/{card}/customField/{n}/item", json={"value": {"number": "lots"}})
    assert (bad.status_code, bad.text) == (400, "Invalid custom field item value.")
    assert http.put(f"/cards/{card}/customField/{n}/item", json={"value": ""}).json() == {"_value": None}
    assert fake.value(card, "N") is None


def test_bulk_custom_fields_and_labels(fake, http):
    board, label, card = _board(fake)
    n, t = fake.field_named(board, "N")["id"], fake.field_named(board, "T")["id"]
    items = [{"idCustomField": n, "value": {"number": "0.4"}}, {"idCustomField": t, "value": {"text": "40%"}}]
    assert http.put(f"/cards/{card}/customFields", json={"customFieldItems": items}).status_code == 200
    assert (fake.value(card, "N"), fake.value(card, "T")) == ("0.4", "40%")
    assert http.post(f"/cards/{card}/idLabels", data={"value": label}).json() == [label]
    again = http.post(f"/cards/{card}/idLabels", params={"value": label})
    assert (again.status_code, again.text) == (400, "that label is already on the card")
    assert http.delete(f"/cards/{card}/idLabels/{label}").json() == {"_value": None}
    assert http.put(f"/cards/{card}", json={"idLabels": label}).json()["idLabels"] == [label]
    assert fake.calls["PUT card customFields"] == 1 and fake.calls["POST card idLabels"] == 2


def test_board_nesting_caps_and_paging(fake, http):
    board, _, _ = _board(fake)
    for i in range(60):
        fake.add_label(board, f"L{i}", "sky")
    lst = fake.add_list(board, "Many")
    for i in range(1005):
        fake.add_card(lst, f"card {i}")
    nested = http.get(f"/boards/{board}", params={"cards": "visible", "labels": "all", "lists": "open"}).json()
    assert len(nested["cards"]) == 1000 and len(nested["labels"]) == 50 and len(nested["lists"]) == 2
    assert len(http.get(f"/boards/{board}", params={"labels": "all", "labels_limit": 1000}).json()["labels"]) == 61
    page = http.get(f"/boards/{board}/cards", params={"limit": 1000, "sort": "-id"}).json()
    rest = http.get(f"/boards/{board}/cards", params={"limit": 1000, "sort": "-id", "before": page[-1]["id"]}).json()
    assert len(page) == 1000 and len(rest) == 6 and not {c["id"] for c in page} & {c["id"] for c in rest}


def test_archived_filters(fake, http):
    board, _, _ = _board(fake)
    old = fake.add_list(board, "Old", closed=True)
    fake.add_card(old, "in an archived list")
    fake.add_card(next(iter(fake.lists)), "archived", closed=True)
    names = lambda flt: sorted(c["name"] for c in http.get(f"/boards/{board}/cards/{flt}").json())  # noqa: E731
    assert names("visible") == ["C"]
    assert names("open") == ["C", "in an archived list"]
    assert names("closed") == ["archived"]


def test_token_and_key_limits_answer_like_trello(fake):
    fake.tokens["second-token"] = "test-key"
    fake.rate_limit = TrelloRateLimit(per_token=2, per_key=3, period=60)
    board, _, _ = _board(fake)

    def get(token):
        auth = {"Authorization": f'OAuth oauth_consumer_key="test-key", oauth_token="{token}"'}
        return httpx.get(f"{fake.url}/1/boards/{board}", headers=auth)

    assert [get("test-token").status_code for _ in range(3)] == [200, 200, 429]
    assert get("test-token").json()["error"] == "API_TOKEN_LIMIT_EXCEEDED"
    assert get("second-token").status_code == 200
    limited = get("second-token")
    assert limited.status_code == 429 and limited.json()["error"] == "API_KEY_LIMIT_EXCEEDED"
    assert limited.headers["X-Rate-Limit-Api-Token-Max"] == "2" and "retry-after" not in limited.headers
    assert fake.responses_429 == 3


def test_comments_checklists_and_options(fake, http):
    board, _, card = _board(fake)
    fake.add_field(board, "P", "list", ["High", "Low"])
    fake.set_value(card, "P", "Low")
    field = fake.field_named(board, "P")
    assert [o["_id"] for o in http.get(f"/customfields/{field['id']}/options").json()] == [
        o["id"] for o in field["options"]
    ]
    http.post(f"/cards/{card}/actions/comments", data={"text": "Status: On track"})
    assert [a["data"]["text"] for a in http.get(f"/cards/{card}/actions").json()] == ["Status: On track"]
    cl = fake.add_card(next(iter(fake.lists)), "With", checklists=[[("a", False)]])
    item = next(iter(fake.checklists.values()))["checkItems"][0]
    assert http.put(f"/cards/{cl}/checkItem/{item['id']}", data={"state": "complete"}).json()["state"] == "complete"
    assert http.get(f"/boards/{board}/cards", params={"fields": "name"}).json()[0] == {"id": card, "name": "C"}


def test_switches_and_auth(fake, http):
    board, _, _ = _board(fake)
    fake.fail_next(1, 502)
    assert http.get(f"/boards/{board}").status_code == 502
    fake.malformed_next(1)
    assert http.get(f"/boards/{board}").text.startswith("<html>")
    assert (
        httpx.get(f"{fake.url}/1/boards/{board}", params={"key": "test-key", "token": "test-token"}).status_code == 200
    )
    assert httpx.get(f"{fake.url}/1/boards/{board}", params={"key": "test-key", "token": "bad"}).text == "invalid token"
    assert http.get("/boards/5e00ffffffffffffffffffff").text == "The requested resource was not found."
    assert fake.calls["GET board"] == 5
