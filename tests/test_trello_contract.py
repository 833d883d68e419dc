"""The Trello fake against real recorded traffic (tests/recordings/trello/).

Two directions: (1) every recorded ruby-trello interaction is replayed against
the fake, seeded with the recorded objects, and must get the same status and a
body of the same shape, with the same values for the fields the fake models;
(2) every object the fake sends (including the answer to syncd's own board
request) may only carry keys the real API sends, with the same JSON types.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from tests.conftest import RECORDINGS
from tests.fakes.trello import TrelloFake
from tests.trello_helpers import okr_board, open_trello, sync_once

SAMPLES = RECORDINGS / "trello"
CASSETTES = sorted((SAMPLES / "ruby-trello").glob("*.yml"))
#: Fields whose values must match the recording exactly after seeding.
SAME_VALUE = {"id", "name", "idList", "idBoard", "idLabels", "closed", "due", "dueComplete", "pos", "value", "idValue",
              "idCustomField", "idModel", "modelType", "type", "color", "state", "idCard", "text", "_value"}  # fmt: skip


def _interactions(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text())["http_interactions"]


def _body(response: dict[str, Any]) -> Any:
    text = response["body"]["string"]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _kind(a: Any) -> str:
    if isinstance(a, bool):
        return "bool"
    if isinstance(a, (int, float)):
        return "number"
    return type(a).__name__


def shape_error(fake: Any, real: Any, where: str = "$", values: bool = False) -> str | None:
    """Why ``fake`` does not look like ``real``: a key Trello does not send, another JSON type,
    or (with ``values``) another value for a field the fake models. None fits any type.

    In lists, an element is compared with the recorded one of the same ``id``, else it must
    look like at least one recorded element (Trello's lists mix shapes: a list-type custom
    field item has ``idValue`` and no ``value``).
    """
    if fake is None or real is None:
        return None
    if _kind(fake) != _kind(real):
        return f"{where}: fake sends {_kind(fake)}, Trello sends {_kind(real)}"
    if isinstance(fake, dict):
        extra = set(fake) - set(real)
        if extra:
            return f"{where}: the fake sends {sorted(extra)}, which Trello does not"
        for k in fake:
            if values and k in SAME_VALUE and not isinstance(real[k], dict) and fake[k] != real[k]:
                return f"{where}.{k}: fake {fake[k]!r}, recorded {real[k]!r}"
            error = shape_error(fake[k], real[k], f"{where}.{k}", values)
            if error:
                return error
    elif isinstance(fake, list) and real:
        by_id = {r["id"]: r for r in real if isinstance(r, dict) and r.get("id")}
        for i, item in enumerate(fake):
            if isinstance(item, dict) and item.get("id") and item["id"] in by_id:
                error = shape_error(item, by_id[item["id"]], f"{where}[{i}]", values)
            elif values and isinstance(item, dict) and by_id:
                continue  # seeded from another recording; its shape is checked against the samples
            else:
                errors = [shape_error(item, r, f"{where}[{i}]") for r in real]
                error = None if None in errors else errors[0]
            if error:
                return error
    return None


def assert_shape(fake: Any, real: Any, where: str = "$", *, values: bool = False) -> None:
    error = shape_error(fake, real, where, values)
    assert error is None, error


def _seed(fake: TrelloFake, interactions: list[dict[str, Any]]) -> None:
    """Load what the recorded GETs returned (first answer per URL only)."""
    seen: set[str] = set()
    for it in interactions:
        req, res = it["request"], it["response"]
        path = urlsplit(req["uri"]).path
        if req["method"] != "get" or res["status"]["code"] != 200 or path in seen:
            continue
        seen.add(path)
        body, parts = _body(res), path.split("/")[2:]
        kinds = {("boards",): "board", ("boards", "lists"): "list", ("boards", "cards"): "card",
                 ("boards", "labels"): "label", ("boards", "customFields"): "field", ("boards", "checklists"): "checklist",
                 ("cards",): "card", ("cards", "customFieldItems"): "item", ("labels",): "label",
                 ("customFields",): "field", ("checklists",): "checklist"}  # fmt: skip
        kind = kinds.get(tuple(p for i, p in enumerate(parts) if i % 2 == 0))
        for obj in body if isinstance(body, list) else [body]:
            if kind and isinstance(obj, dict) and "id" in obj:
                fake.load(kind, obj)


@pytest.fixture(scope="module")
def recorded_fake():
    with TrelloFake(key="DEVELOPER_PUBLIC_KEY", token="MEMBER_TOKEN") as fake:
        yield fake


@pytest.mark.parametrize("cassette", CASSETTES, ids=lambda p: p.stem)
def test_replayed_traffic_gets_the_same_answers(recorded_fake, cassette):
    fake = recorded_fake
    fake.reset()
    for other in CASSETTES:  # some cassettes write to objects only others read
        if other != cassette:
            _seed(fake, _interactions(other))
    interactions = _interactions(cassette)
    _seed(fake, interactions)
    with httpx.Client() as client:
        for it in interactions:
            req, res = it["request"], it["response"]
            url = urlsplit(req["uri"])
            headers = {k: v[0] for k, v in (req.get("headers") or {}).items() if k.lower() == "content-type"}
            got = client.request(req["method"].upper(), f"{fake.url}{url.path}?{url.query}",
                                 content=(req["body"].get("string") or "").encode(), headers=headers)  # fmt: skip
            where = f"{cassette.stem}: {req['method'].upper()} {url.path}"
            assert got.status_code == res["status"]["code"], f"{where}: {got.status_code} {got.text[:200]}"
            # A new object (a comment) has ids and names the fake chooses; a list of label ids does not.
            created = req["method"] == "post" and isinstance(_body(res), dict)
            assert_shape(got.json(), _body(res), where, values=not created)
            recorded = {k.lower() for k in res["headers"] if k.lower().startswith("x-rate-limit")}
            assert recorded <= {k.lower() for k in got.headers}, where


def _sample(path: str) -> Any:
    return json.loads((SAMPLES / path).read_text())


def _cassette_body(name: str, method: str, path_end: str) -> Any:
    for it in _interactions(SAMPLES / "ruby-trello" / f"{name}.yml"):
        if it["request"]["method"] == method and urlsplit(it["request"]["uri"]).path.endswith(path_end):
            return _body(it["response"])
    raise LookupError(name)


def _union(*objects: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for obj in objects:
        for k, v in obj.items():
            out[k] = v if out.get(k) is None else out[k]
    return out


@pytest.fixture
def fake():
    with TrelloFake() as f:
        yield f


def test_syncds_board_request_gets_only_what_trello_sends(fake):
    board = okr_board(fake, 2, 4)
    card = next(iter(fake.cards))
    fake.add_card(fake.cards[card]["idList"], "With a checklist", checklists=[[("a", True), ("b", False)]])
    sync_once(open_trello(fake, board))
    request = fake.log[0]
    answer = httpx.get(fake.url + request.raw_path, params={k: v[0] for k, v in request.query.items()},
                       headers={"Authorization": request.headers["authorization"]}).json()  # fmt: skip
    cards = _cassette_body("can_get_cards_of_board", "get", "/cards")
    items = _cassette_body("custom_field_item_save_2", "get", "/customFieldItems")
    real_card = _union(*cards, {"customFieldItems": items})
    for c in answer["cards"]:
        assert_shape(c, real_card, "board.cards")
    lists = _cassette_body("can_get_lists_of_board", "get", "/lists") + _sample("TrelloDotNet/GetListExample.json")
    assert_shape(answer["lists"], [_union(*lists)], "board.lists")
    labels = _cassette_body("can_get_labels_of_board", "get", "/labels") + _sample("TrelloDotNet/GetLabelsExample.json")
    assert_shape(answer["labels"], [_union(*labels)], "board.labels")
    fields = _cassette_body("can_get_custom_fields_of_board", "get", "/customFields")
    assert_shape(
        answer["customFields"],
        [_union(*fields, _sample("adlio-trello/customFields/api-example.json"))],
        "board.customFields",
    )
    checklists = _cassette_body("can_get_checklists_of_board", "get", "/checklists") + _sample(
        "TrelloDotNet/Checklists.json"
    )
    assert_shape(answer["checklists"], checklists, "board.checklists")
    recorded_board = _body(_interactions(SAMPLES / "ruby-trello" / "can_get_lists_of_board.yml")[0]["response"])
    board_fields = _union(recorded_board, _sample("TrelloDotNet/GetBoardExample.json"))
    assert_shape({k: v for k, v in answer.items() if not isinstance(v, list)}, board_fields, "board")


def test_cards_lists_labels_fields_and_checklists_match_the_client_samples(fake):
    board = fake.add_board("B")
    label = fake.add_label(board, "Hello", "yellow_light")
    fake.add_field(board, "Pick", "list", ["High", "Low"])
    fake.add_field(board, "N", "number")
    lst = fake.add_list(board, "L")
    card = fake.add_card(lst, "C", labels=[label], fields={"Pick": "High", "N": 3}, checklists=[[("x", False)]])
    auth = {"Authorization": 'OAuth oauth_consumer_key="test-key", oauth_token="test-token"'}
    get = lambda path, **p: httpx.get(f"{fake.url}/1{path}", params=p, headers=auth).json()  # noqa: E731
    list_items = _sample("adlio-trello/cards/list-cards-api-example.json")
    real_card = _union(*_sample("TrelloDotNet/GetBoardCardList.json"), *list_items)
    real_card["customFieldItems"] = list_items[0]["customFieldItems"] + _cassette_body(
        "custom_field_item_save_2", "get", "/customFieldItems"
    )
    assert_shape(get(f"/boards/{board}/cards", customFieldItems="true"), [real_card], "cards")
    assert_shape(get(f"/cards/{card}"), _sample("TrelloDotNet/GetCardExample.json"), "card")
    assert_shape(get(f"/boards/{board}/lists"), [_union(*_sample("TrelloDotNet/GetListExample.json"))], "lists")
    assert_shape(get(f"/boards/{board}/labels"), [_union(*_sample("TrelloDotNet/GetLabelsExample.json"))], "labels")
    real_fields = _sample("adlio-trello/boards/4ed7e27fe6abb2517a21383d/customFields.json")
    assert_shape(
        get(f"/boards/{board}/customFields"),
        [_union(_sample("TrelloDotNet/GetCustomField.json"), *real_fields)],
        "fields",
    )
    assert_shape(get(f"/boards/{board}/checklists"), _sample("TrelloDotNet/Checklists.json"), "checklists")
    comment = httpx.post(f"{fake.url}/1/cards/{card}/actions/comments", data={"text": "hi"}, headers=auth).json()
    assert_shape(comment, _sample("TrelloDotNet/Objects/ReturnValueFromAddComment.json"), "comment")
    assert comment["type"] == "commentCard" and comment["data"]["text"] == "hi"


def test_errors_look_like_trellos(fake):
    board = fake.add_board("B")
    no_token = httpx.get(f"{fake.url}/1/boards/{board}", params={"key": "test-key"})
    assert no_token.status_code == 401 and no_token.headers["content-type"].startswith("text/plain")
    assert no_token.text == (SAMPLES / "adlio-trello/boards/unauthorized.txt").read_text().strip()
    assert httpx.get(f"{fake.url}/1/boards/{board}", params={"key": "nope", "token": "x"}).text == "invalid key"
    fake.storm(1)
    limited = httpx.get(f"{fake.url}/1/boards/{board}", params={"key": "test-key", "token": "test-token"})
    assert limited.status_code == 429 and "retry-after" not in limited.headers
    assert limited.json() == {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
    assert (
        httpx.get(f"{fake.url}/1/boards/nonsense", params={"key": "test-key", "token": "test-token"}).text
        == "invalid id"
    )
