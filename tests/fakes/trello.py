"""A loopback fake of the Trello REST API (``/1/...``), shaped after recorded traffic.

Boards with nested lists, labels, cards (with ``customFieldItems``), custom
fields and checklists; cards, custom field items (one or in bulk), labels and
``idLabels``, checklists, comments. Parameters come as query string, form
(``value[text]=cool``) or JSON, like the real API. Errors look like Trello's:
plain text for 4xx (``unauthorized permission requested``), JSON for 429
(``{"error":"API_TOKEN_LIMIT_EXCEEDED",...}``, no ``Retry-After`` unless
``retry_after_header``). Every answer carries the ``X-Rate-Limit-*`` headers.
Nested cards and checklists are capped at 1,000 and labels at 50 unless asked.
"""

from __future__ import annotations

import itertools
import socket
import re
import threading
from collections import deque
from typing import Any

from tests.fakes.server import FakeServer, HTTPError, RateLimit, Request, Response

__all__ = ["TrelloFake", "TrelloRateLimit"]

CAP = 1000
_COLOURS = {"green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black"}
_COLOURS |= {f"{c}_{v}" for c in list(_COLOURS) for v in ("light", "dark")}
BOARD_FIELDS = ["name", "desc", "descData", "closed", "idOrganization", "idEnterprise", "pinned", "url", "shortUrl",
                "labelNames"]  # fmt: skip
CARD_FIELDS = ["badges", "checkItemStates", "closed", "dateLastActivity", "desc", "descData", "due", "dueComplete",
               "dueReminder", "email", "idBoard", "idChecklists", "idLabels", "idList", "idMembers", "idMembersVoted",
               "idShort", "idAttachmentCover", "isTemplate", "labels", "manualCoverAttachment", "name", "pos",
               "shortLink", "shortUrl", "subscribed", "url"]  # fmt: skip
#: ``/boards/{id}/cards`` leaves ``email`` out (recorded); ``/cards/{id}`` has it.
LIST_CARD_FIELDS = [f for f in CARD_FIELDS if f != "email"]
LIST_FIELDS = ["name", "closed", "pos", "softLimit", "idBoard", "subscribed"]
LABEL_FIELDS = ["idBoard", "name", "color"]
_NOT_FOUND = "The requested resource was not found."
_OAUTH = re.compile(r'(oauth_consumer_key|oauth_token)="([^"]*)"')


class TrelloRateLimit(RateLimit):
    """Trello's two limits: ``per_token`` and ``per_key`` requests per ``period``."""

    def __init__(self, per_token: int = 100, per_key: int = 300, period: float = 10.0, retry_after: float | None = None):
        super().__init__(per_token, period, retry_after)
        self.per_key = per_key
        self._local = threading.local()

    def admit(self, key: str, now: float) -> float | None:
        token, _, api_key = key.partition("\n")
        with self._lock:
            queues = [(self._seen.setdefault("token:" + token, deque()), self.limit, "API_TOKEN_LIMIT_EXCEEDED"),
                      (self._seen.setdefault("key:" + api_key, deque()), self.per_key, "API_KEY_LIMIT_EXCEEDED")]  # fmt: skip
            for q, limit, code in queues:
                while q and q[0] <= now - self.period:
                    q.popleft()
                if len(q) >= limit:
                    self._local.code = code
                    return q[0] + self.period - now
            for (q, _, _), name in zip(queues, ("token:" + token, "key:" + api_key)):
                q.append(now)
                self.peak[name] = max(self.peak[name], len(q))
            return None

    def last_code(self) -> str:
        return getattr(self._local, "code", "API_TOKEN_LIMIT_EXCEEDED")


def _bool(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes")


def _fields(param: str | None, default: list[str]) -> list[str] | None:
    """``fields=name,closed`` -> those; ``all`` or absent -> the default (None: all)."""
    if param is None:
        return default
    return None if param == "all" else [f for f in param.split(",") if f]


class TrelloFake(FakeServer):
    service = "trello"

    def __init__(self, key: str = "test-key", token: str = "test-token") -> None:
        super().__init__()
        self.key, self.token = key, token
        self._data_lock = threading.RLock()
        self.reset()
        b, c, cf = r"(?P<board>[^/]+)", r"(?P<card>[^/]+)", r"(?P<field>[^/]+)"
        for method, pattern, name, handler in [
            ("GET", rf"/1/boards/{b}", "GET board", self._get_board),
            ("GET", rf"/1/boards/{b}/cards(?:/(?P<filter>\w+))?", "GET board cards", self._get_board_cards),
            ("GET", rf"/1/boards/{b}/lists", "GET board lists", self._get_board_lists),
            ("GET", rf"/1/boards/{b}/labels", "GET board labels", self._get_board_labels),
            ("POST", rf"/1/boards/{b}/labels", "POST board label", self._post_label),
            ("GET", rf"/1/boards/{b}/(?i:customFields)", "GET board customFields", self._get_board_fields),
            ("GET", rf"/1/boards/{b}/checklists", "GET board checklists", self._get_board_checklists),
            ("GET", rf"/1/cards/{c}", "GET card", self._get_card),
            ("PUT", rf"/1/cards/{c}", "PUT card", self._put_card),
            ("GET", rf"/1/cards/{c}/(?i:customFieldItems)", "GET card customFieldItems", self._get_items),
            ("PUT", rf"/1/cards/{c}/(?i:customField)/{cf}/item", "PUT card customField item", self._put_item),
            ("PUT", rf"/1/cards/{c}/(?i:customFields)", "PUT card customFields", self._put_items),
            ("POST", rf"/1/cards/{c}/idLabels", "POST card idLabels", self._post_card_label),
            ("DELETE", rf"/1/cards/{c}/idLabels/(?P<label>[^/]+)", "DELETE card idLabels", self._delete_card_label),
            ("POST", rf"/1/cards/{c}/actions/comments", "POST card comment", self._post_comment),
            ("GET", rf"/1/cards/{c}/actions", "GET card actions", self._get_actions),
            ("PUT", rf"/1/cards/{c}/checkItem/(?P<item>[^/]+)", "PUT card checkItem", self._put_check_item),
            ("GET", r"/1/labels/(?P<label>[^/]+)", "GET label", self._get_label),
            ("POST", r"/1/labels", "POST label", self._post_label),
            ("GET", rf"/1/(?i:customFields)/{cf}", "GET customField", self._get_field),
            ("GET", rf"/1/(?i:customFields)/{cf}/options", "GET customField options", self._get_options),
            ("POST", r"/1/(?i:customFields)", "POST customField", self._post_field),
            ("GET", r"/1/checklists/(?P<checklist>[^/]+)", "GET checklist", self._get_checklist),
        ]:
            self.route(method, pattern, name, self._locked(handler))

    def reset(self) -> None:
        """Back to an empty account with default switches (one server can serve many tests)."""
        with self._data_lock, self._lock:
            #: token -> the key it was made for
            self.tokens: dict[str, str] = {self.token: self.key}
            #: Send ``Retry-After`` on 429 (Trello usually does not).
            self.retry_after_header = False
            #: The rate window the ``X-Rate-Limit-*-Interval-Ms`` headers name when no rate limit is set.
            self.period = 10.0
            self.rate_limit = None
            self.latency = 0.0
            self._faults.clear()
            self.boards: dict[str, dict[str, Any]] = {}
            self.lists: dict[str, dict[str, Any]] = {}
            self.cards: dict[str, dict[str, Any]] = {}
            self.labels: dict[str, dict[str, Any]] = {}
            self.fields: dict[str, dict[str, Any]] = {}
            self.checklists: dict[str, dict[str, Any]] = {}
            self.items: dict[str, dict[str, dict[str, Any]]] = {}  # card -> field -> item
            self.comments: dict[str, list[dict[str, Any]]] = {}
            self._seq = itertools.count(1)
        self.reset_counts()

    # -- building boards (tests) -------------------------------------------------------------

    def new_id(self) -> str:
        n = next(self._seq)
        return f"{0x5E000000 + n:08x}{n:016x}"

    def add_board(self, name: str = "OKRs", *, custom_fields: bool = True) -> str:
        bid = self.new_id()
        short = f"b{int(bid[-7:], 16):07d}"[:8]
        self.boards[bid] = {"id": bid, "name": name, "desc": "", "descData": None, "closed": False,
                            "idOrganization": None, "idEnterprise": None, "pinned": False, "shortLink": short,
                            "url": f"https://trello.com/b/{short}/{name.lower().replace(' ', '-')}",
                            "shortUrl": f"https://trello.com/b/{short}", "labelNames": {},
                            "_customFields": custom_fields}  # fmt: skip
        return bid

    def add_list(self, board: str, name: str, *, closed: bool = False) -> str:
        lid = self.new_id()
        pos = 16384 * (1 + sum(1 for x in self.lists.values() if x["idBoard"] == board))
        self.lists[lid] = {"id": lid, "name": name, "closed": closed, "pos": pos, "softLimit": None, "idBoard": board,
                           "subscribed": False}  # fmt: skip
        return lid

    def add_label(self, board: str, name: str, color: str | None = "green") -> str:
        lid = self.new_id()
        self.labels[lid] = {"id": lid, "idBoard": board, "name": name, "color": color}
        return lid

    def add_field(self, board: str, name: str, type: str = "number", options: list[str] = ()) -> str:  # noqa: A002
        fid = self.new_id()
        self.fields[fid] = {"id": fid, "idModel": board, "modelType": "board", "fieldGroup": f"{int(fid, 16):064x}",
                            "display": {"cardFront": True}, "name": name, "pos": 16384 * (len(self.fields) + 1),
                            "type": type}  # fmt: skip
        if type == "list":
            self.fields[fid]["options"] = [{"id": self.new_id(), "idCustomField": fid, "value": {"text": o},
                                            "color": "none", "pos": 16384 * (i + 1)} for i, o in enumerate(options)]  # fmt: skip
        return fid

    def add_card(self, list_id: str, name: str, *, labels: list[str] = (), fields: dict[str, Any] | None = None,
                 checklists: list[list[tuple[str, bool]]] = (), due: str | None = None, due_complete: bool = False,
                 closed: bool = False) -> str:  # fmt: skip
        lst = self.lists[list_id]
        cid = self.new_id()
        n = next(self._seq)
        short = f"c{n:07d}"
        self.cards[cid] = {"id": cid, "name": name, "desc": "", "closed": closed, "idBoard": lst["idBoard"],
                           "idList": list_id, "idLabels": list(labels), "due": due, "dueComplete": due_complete,
                           "pos": 16384 * n, "idShort": n, "shortLink": short, "shortUrl": f"https://trello.com/c/{short}",
                           "url": f"https://trello.com/c/{short}/{n}", "dateLastActivity": "2026-11-01T09:00:00.000Z"}  # fmt: skip
        for name_, value in (fields or {}).items():
            self.set_value(cid, name_, value)
        for items in checklists:
            clid = self.new_id()
            self.checklists[clid] = {"id": clid, "name": "Checklist", "idCard": cid, "pos": 16384, "idBoard": lst["idBoard"],
                                     "checkItems": [{"idChecklist": clid, "state": "complete" if done else "incomplete",
                                                     "idMember": None, "id": self.new_id(), "name": text,
                                                     "nameData": None, "pos": 16384 * (i + 1), "due": None}
                                                    for i, (text, done) in enumerate(items)]}  # fmt: skip
        return cid

    def load(self, kind: str, obj: dict[str, Any]) -> None:
        """Store an object as the real API returned it (contract tests seed the fake with recordings)."""
        with self._data_lock:
            oid = obj["id"]
            if kind == "board":
                short = (obj.get("shortUrl") or "").rsplit("/", 1)[-1] or oid[-8:]
                self.boards[oid] = {**{k: obj.get(k) for k in ["id", *BOARD_FIELDS]}, "shortLink": short, "_customFields": True}
            elif kind == "list":
                self._stub_board(obj["idBoard"])
                self.lists[oid] = {k: obj.get(k) for k in ["id", *LIST_FIELDS]}
            elif kind == "label":
                self.labels[oid] = {"id": oid, "idBoard": obj.get("idBoard"), "name": obj.get("name", ""), "color": obj.get("color")}
            elif kind == "field":
                self.fields[oid] = {k: v for k, v in obj.items() if k != "limits"}
            elif kind == "checklist":
                if obj["idCard"] not in self.cards:
                    self.load("card", {"id": obj["idCard"], "name": "Card", "idBoard": obj["idBoard"],
                                       "idList": obj["idBoard"][:-4] + "list", "idLabels": [], "closed": False})  # fmt: skip
                self.checklists[oid] = {k: obj[k] for k in ("id", "name", "idCard", "pos", "idBoard", "checkItems")}
            elif kind == "item":
                value = obj.get("value") or {}
                kind_of = "list" if obj.get("idValue") else {"checked": "checkbox"}.get(next(iter(value), ""), next(iter(value), "text"))
                if obj["idCustomField"] not in self.fields:
                    board = self.cards.get(obj["idModel"], {}).get("idBoard", "")
                    self.fields[obj["idCustomField"]] = {"id": obj["idCustomField"], "idModel": board, "modelType": "board",
                                                         "name": obj["idCustomField"], "type": kind_of, "pos": 1,
                                                         "options": [{"id": obj["idValue"]}] if obj.get("idValue") else []}  # fmt: skip
                self.items.setdefault(obj["idModel"], {})[obj["idCustomField"]] = dict(obj)
            elif kind == "card":
                self._stub_board(obj["idBoard"])
                if obj["idList"] not in self.lists:
                    self.lists[obj["idList"]] = {"id": obj["idList"], "name": "List", "closed": False, "pos": 1,
                                                 "softLimit": None, "idBoard": obj["idBoard"], "subscribed": False}  # fmt: skip
                for label in obj.get("labels") or []:
                    self.load("label", label)
                keys = ("id", "name", "desc", "closed", "idBoard", "idList", "idLabels", "due", "dueComplete", "pos",
                        "idShort", "shortLink", "shortUrl", "url", "dateLastActivity")  # fmt: skip
                self.cards[oid] = {k: obj.get(k) for k in keys}
                self.cards[oid]["idLabels"] = list(obj.get("idLabels") or [])
                for item in obj.get("customFieldItems") or []:
                    self.load("item", item)
            else:
                raise ValueError(f"unknown kind {kind!r}")

    def _stub_board(self, board: str) -> None:
        if board not in self.boards:
            self.load("board", {"id": board, "name": "Board", "closed": False, "shortUrl": f"https://trello.com/b/{board[-8:]}"})

    def field_named(self, board: str, name: str) -> dict[str, Any]:
        for f in self.fields.values():
            if f["idModel"] == board and f["name"].lower() == name.lower():
                return f
        raise KeyError(f"no custom field {name!r} on board {board}")

    def set_value(self, card: str, field: str, value: Any) -> None:
        """Set a card's custom field (by name) as a person would in the UI."""
        f = self.field_named(self.cards[card]["idBoard"], field)
        item = {"id": self.new_id(), "idCustomField": f["id"], "idModel": card, "modelType": "card"}
        if f["type"] == "list":
            item["idValue"] = next(o["id"] for o in f["options"] if o["value"]["text"] == value)
        else:
            kind = {"number": "number", "text": "text", "date": "date", "checkbox": "checked"}[f["type"]]
            item["value"] = {kind: str(value).lower() if isinstance(value, bool) else str(value)}
        self.items.setdefault(card, {})[f["id"]] = item

    def value(self, card: str, field: str) -> str | None:
        f = self.field_named(self.cards[card]["idBoard"], field)
        item = self.items.get(card, {}).get(f["id"])
        return None if item is None else next(iter((item.get("value") or {}).values()), item.get("idValue"))

    def label_names(self, card: str) -> list[str]:
        return sorted(self.labels[i]["name"] for i in self.cards[card]["idLabels"])

    # -- FakeServer hooks ------------------------------------------------------------------------

    def _credentials(self, request: Request) -> tuple[str, str]:
        found = dict(_OAUTH.findall(request.headers.get("authorization", "")))
        key = found.get("oauth_consumer_key") or request.arg("key") or ""
        token = found.get("oauth_token") or request.arg("token") or ""
        return key, token

    def rate_limit_key(self, request: Request) -> str:
        key, token = self._credentials(request)
        return f"{token}\n{key}"

    def authorize(self, request: Request) -> None:
        key, token = self._credentials(request)
        if key not in self.tokens.values():
            raise HTTPError(401, "", "invalid key")
        if not token:
            raise HTTPError(401, "", "unauthorized permission requested")
        if self.tokens.get(token) != key:
            raise HTTPError(401, "", "invalid token")

    def error_body(self, status: int, code: str, message: str, **extra: Any) -> Response:
        if status == 429:
            return Response(429, {"error": code, "message": message}, self._rate_headers(None))
        return Response(status, message, {"content-type": "text/plain; charset=utf-8", **self._rate_headers(None)})

    def rate_limited(self, request: Request, wait: float) -> Response:
        code = self.rate_limit.last_code() if isinstance(self.rate_limit, TrelloRateLimit) else "API_TOKEN_LIMIT_EXCEEDED"
        response = self.error_body(429, code, "Rate limit exceeded")
        if self.retry_after_header and wait:
            response.headers["Retry-After"] = str(max(1, round(wait)))
        return response

    def _rate_headers(self, request: Request | None) -> dict[str, str]:
        rl = self.rate_limit
        token_max = rl.limit if rl else 100
        key_max = rl.per_key if isinstance(rl, TrelloRateLimit) else 300
        period = int((rl.period if rl else self.period) * 1000)
        return {"X-Rate-Limit-Api-Token-Interval-Ms": str(period), "X-Rate-Limit-Api-Token-Max": str(token_max),
                "X-Rate-Limit-Api-Token-Remaining": str(token_max - 1),
                "X-Rate-Limit-Api-Key-Interval-Ms": str(period), "X-Rate-Limit-Api-Key-Max": str(key_max),
                "X-Rate-Limit-Api-Key-Remaining": str(key_max - 1),
                "X-Rate-Limit-Member-Interval-Ms": "10000", "X-Rate-Limit-Member-Max": "200",
                "X-Rate-Limit-Member-Remaining": "199"}  # fmt: skip

    def _locked(self, handler: Any) -> Any:
        def run(request: Request) -> Response:
            with self._data_lock:
                result = handler(request)
            return result if isinstance(result, Response) else Response(200, result, self._rate_headers(request))

        return run

    # -- lookups ---------------------------------------------------------------------------------

    def _board(self, ref: str) -> dict[str, Any]:
        for b in self.boards.values():
            if ref in (b["id"], b.get("shortLink")):
                return b
        raise self._missing(ref)

    def _card(self, ref: str) -> dict[str, Any]:
        if ref in self.cards:
            return self.cards[ref]
        for c in self.cards.values():
            if c.get("shortLink") == ref:
                return c
        raise self._missing(ref)

    @staticmethod
    def _missing(ref: str) -> HTTPError:
        """Trello: a well-formed id that is not there is 404; anything else 400 ``invalid id``."""
        return HTTPError(404, "", _NOT_FOUND) if re.fullmatch(r"[0-9a-f]{24}", ref) else HTTPError(400, "", "invalid id")

    def _get(self, table: dict[str, dict[str, Any]], ref: str) -> dict[str, Any]:
        if ref not in table:
            raise self._missing(ref)
        return table[ref]

    # -- rendering ---------------------------------------------------------------------------------

    @staticmethod
    def _pick(obj: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        out = {"id": obj["id"]}
        out.update((k, v) for k, v in obj.items() if not k.startswith("_") and (fields is None or k in fields))
        return out

    def _card_json(self, card: dict[str, Any], fields: list[str] | None, items: bool, checklists: bool = False,
                   checklist_fields: list[str] | None = None, check_fields: list[str] | None = None,
                   by_card: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:  # fmt: skip
        if by_card is None:
            by_card = self._checklists_by_card()
        lists = by_card.get(card["id"], [])
        check = [i for cl in lists for i in cl["checkItems"]]
        full = {**card, "labels": [self.labels[i] for i in card["idLabels"] if i in self.labels],
                "idChecklists": [cl["id"] for cl in lists], "checkItemStates": [], "descData": None,
                "dueReminder": None, "email": None, "idMembers": [], "idMembersVoted": [], "idAttachmentCover": None,
                "isTemplate": False, "manualCoverAttachment": False, "subscribed": False,
                "badges": {"checkItems": len(check), "checkItemsChecked": sum(i["state"] == "complete" for i in check),
                           "comments": len(self.comments.get(card["id"], [])), "due": card["due"],
                           "dueComplete": card["dueComplete"]}}  # fmt: skip
        out = self._pick(full, fields if fields is not None else CARD_FIELDS)
        if items:
            out["customFieldItems"] = list(self.items.get(card["id"], {}).values())
        if checklists:
            out["checklists"] = [self._checklist_json(cl, checklist_fields, check_fields) for cl in lists]
        return out

    def _checklists_by_card(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for cl in self.checklists.values():
            out.setdefault(cl["idCard"], []).append(cl)
        return out

    def _checklist_json(self, cl: dict[str, Any], fields: list[str] | None, check_fields: list[str] | None) -> dict[str, Any]:
        out = self._pick(cl, fields)
        out["checkItems"] = [self._pick(i, check_fields) for i in cl["checkItems"]]
        return out

    def _visible(self, board_id: str, flt: str) -> list[dict[str, Any]]:
        lists = {k: v for k, v in self.lists.items() if v["idBoard"] == board_id}
        rank = {lid: (lst["pos"], lid) for lid, lst in lists.items()}
        cards = [c for c in self.cards.values() if c["idBoard"] == board_id]
        keep = {"all": lambda c: True, "closed": lambda c: c["closed"], "open": lambda c: not c["closed"],
                "visible": lambda c: not c["closed"] and not lists[c["idList"]]["closed"],
                "none": lambda c: False}.get(flt)  # fmt: skip
        if keep is None:
            raise HTTPError(400, "", "invalid value for filter")
        return sorted(filter(keep, cards), key=lambda c: (rank[c["idList"]], c["pos"]))

    # -- handlers ---------------------------------------------------------------------------------

    def _get_board(self, r: Request) -> Any:
        b = self._board(r.params["board"])
        out = self._pick(b, _fields(r.arg("fields"), BOARD_FIELDS))
        if r.arg("cards", "none") != "none":
            cards = self._visible(b["id"], r.arg("cards"))[:CAP]
            cf = _fields(r.arg("card_fields"), LIST_CARD_FIELDS)
            by_card = self._checklists_by_card()
            items = _bool(r.arg("card_customFieldItems"))
            out["cards"] = [self._card_json(c, cf, items, by_card=by_card) for c in cards]
        if r.arg("labels", "none") != "none":
            limit = int(r.arg("labels_limit") or 50)
            out["labels"] = [self._pick(x, _fields(r.arg("label_fields"), LABEL_FIELDS))
                             for x in self.labels.values() if x["idBoard"] == b["id"]][:limit]  # fmt: skip
        if r.arg("lists", "none") != "none":
            flt = r.arg("lists")
            lists = sorted((x for x in self.lists.values() if x["idBoard"] == b["id"]
                            and (flt == "all" or x["closed"] == (flt == "closed"))), key=lambda x: x["pos"])  # fmt: skip
            out["lists"] = [self._pick(x, _fields(r.arg("list_fields"), LIST_FIELDS)) for x in lists]
        if _bool(r.arg("customFields")):
            out["customFields"] = [f for f in self.fields.values() if f["idModel"] == b["id"]]
        if r.arg("checklists", "none") != "none":
            out["checklists"] = self._board_checklists(b["id"], r)[:CAP]
        return out

    def _board_checklists(self, board_id: str, r: Request) -> list[dict[str, Any]]:
        return [self._checklist_json(cl, _fields(r.arg("checklist_fields"), None), _fields(r.arg("checkItem_fields"), None))
                for cl in self.checklists.values() if cl["idBoard"] == board_id]  # fmt: skip

    def _get_board_cards(self, r: Request) -> Any:
        b = self._board(r.params["board"])
        cards = self._visible(b["id"], r.params.get("filter") or r.arg("filter") or "visible")
        if r.arg("sort") == "-id":
            cards.sort(key=lambda c: c["id"], reverse=True)
        if r.arg("before"):
            cards = [c for c in cards if c["id"] < r.arg("before")]
        if r.arg("since"):
            cards = [c for c in cards if c["id"] > r.arg("since")]
        limit = min(int(r.arg("limit") or CAP), CAP)
        with_lists = r.arg("checklists", "none") != "none"
        by_card = self._checklists_by_card()
        return [self._card_json(c, _fields(r.arg("fields"), LIST_CARD_FIELDS), _bool(r.arg("customFieldItems")), with_lists,
                                _fields(r.arg("checklist_fields"), None), _fields(r.arg("checkItem_fields"), None), by_card)
                for c in cards[:limit]]  # fmt: skip

    def _get_board_lists(self, r: Request) -> Any:
        b = self._board(r.params["board"])
        flt = r.arg("filter", "open")
        return [self._pick(x, _fields(r.arg("fields"), LIST_FIELDS)) for x in sorted(self.lists.values(), key=lambda x: x["pos"])
                if x["idBoard"] == b["id"] and (flt == "all" or x["closed"] == (flt == "closed"))]  # fmt: skip

    def _get_board_labels(self, r: Request) -> Any:
        b = self._board(r.params["board"])
        return [self._pick(x, _fields(r.arg("fields"), LABEL_FIELDS)) for x in self.labels.values()
                if x["idBoard"] == b["id"]][: int(r.arg("limit") or 50)]  # fmt: skip

    def _get_board_fields(self, r: Request) -> Any:
        b = self._board(r.params["board"])
        return [f for f in self.fields.values() if f["idModel"] == b["id"]]

    def _get_board_checklists(self, r: Request) -> Any:
        return self._board_checklists(self._board(r.params["board"])["id"], r)

    def _get_card(self, r: Request) -> Any:
        return self._card_json(self._card(r.params["card"]), _fields(r.arg("fields"), CARD_FIELDS), _bool(r.arg("customFieldItems")))

    def _put_card(self, r: Request) -> Any:
        card = self._card(r.params["card"])
        for key in ("name", "desc", "due"):
            if r.arg(key) is not None:
                card[key] = r.arg(key) or None if key == "due" else r.arg(key)
        for key in ("closed", "dueComplete"):
            if r.arg(key) is not None:
                card[key] = _bool(r.arg(key))
        if r.arg("idList") is not None:
            card["idList"] = self._get(self.lists, r.arg("idList"))["id"]
        if r.arg("idLabels") is not None:  # replaces the whole set
            ids = [i for i in r.arg("idLabels").split(",") if i]
            for i in ids:
                self._get(self.labels, i)
            card["idLabels"] = ids
        return self._card_json(card, CARD_FIELDS, False)

    def _get_items(self, r: Request) -> Any:
        return list(self.items.get(self._card(r.params["card"])["id"], {}).values())

    def _set_item(self, card: dict[str, Any], field_id: str, value: Any, id_value: Any) -> dict[str, Any]:
        f = self.fields.get(field_id)
        if f is None or f["idModel"] != card["idBoard"]:
            raise HTTPError(404, "", _NOT_FOUND)
        items = self.items.setdefault(card["id"], {})
        if value in ("", {}, None) and not id_value:
            items.pop(field_id, None)  # clearing
            return {"_value": None}
        item = items.get(field_id) or {"id": self.new_id(), "idCustomField": field_id, "idModel": card["id"], "modelType": "card"}
        item.pop("value", None), item.pop("idValue", None)
        if f["type"] == "list":
            if id_value not in {o["id"] for o in f.get("options", [])}:
                raise HTTPError(400, "", "Invalid custom field item value.")
            item["idValue"] = id_value
        else:
            kind = {"number": "number", "text": "text", "date": "date", "checkbox": "checked"}[f["type"]]
            if not isinstance(value, dict) or set(value) != {kind}:
                raise HTTPError(400, "", "Invalid custom field item value.")
            raw = value[kind]
            if kind == "number":
                try:
                    float(raw)
                except (TypeError, ValueError):
                    raise HTTPError(400, "", "Invalid custom field item value.") from None
            item["value"] = {kind: (str(raw).lower() if isinstance(raw, bool) else str(raw))}
        items[field_id] = item
        return item

    def _put_item(self, r: Request) -> Any:
        card = self._card(r.params["card"])
        data = r.json_or_none()
        if isinstance(data, dict):
            value, id_value = data.get("value"), data.get("idValue")
        else:  # form or query: value[text]=cool, idValue=...
            pairs = {**{k: v[0] for k, v in r.form().items()}, **{k: v[0] for k, v in r.query.items()}}
            value = {m.group(1): v for k, v in pairs.items() if (m := re.fullmatch(r"value\[(\w+)\]", k))} or pairs.get("value")
            id_value = pairs.get("idValue")
        return self._set_item(card, r.params["field"], value, id_value)

    def _put_items(self, r: Request) -> Any:
        card = self._card(r.params["card"])
        data = r.json_or_none()
        entries = data.get("customFieldItems") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise HTTPError(400, "", "customFieldItems must be an array")
        return [self._set_item(card, e.get("idCustomField", ""), e.get("value"), e.get("idValue")) for e in entries]

    def _post_card_label(self, r: Request) -> Any:
        card = self._card(r.params["card"])
        label = self._get(self.labels, r.arg("value") or "")
        if label["idBoard"] != card["idBoard"]:
            raise HTTPError(400, "", "invalid value for value")
        if label["id"] in card["idLabels"]:
            raise HTTPError(400, "", "that label is already on the card")
        card["idLabels"].append(label["id"])
        return list(card["idLabels"])

    def _delete_card_label(self, r: Request) -> Any:
        card = self._card(r.params["card"])
        if r.params["label"] not in card["idLabels"]:
            raise HTTPError(404, "", _NOT_FOUND)
        card["idLabels"].remove(r.params["label"])
        return {"_value": None}

    def _post_comment(self, r: Request) -> Any:
        card = self._card(r.params["card"])
        text = r.arg("text")
        if not text:
            raise HTTPError(400, "", "invalid value for text")
        board, lst = self.boards[card["idBoard"]], self.lists[card["idList"]]
        action = {"id": self.new_id(), "idMemberCreator": "5e679b808e6e8828784b30e1", "type": "commentCard",
                  "date": "2026-11-15T12:00:00.000Z",
                  "data": {"text": text, "textData": {"emoji": {}},
                           "card": {k: card[k] for k in ("id", "name", "idShort", "shortLink")},
                           "board": {"id": board["id"], "name": board["name"], "shortLink": board["shortLink"]},
                           "list": {"id": lst["id"], "name": lst["name"]}}}  # fmt: skip
        self.comments.setdefault(card["id"], []).append(action)
        return action

    def _get_actions(self, r: Request) -> Any:
        return list(reversed(self.comments.get(self._card(r.params["card"])["id"], [])))

    def _put_check_item(self, r: Request) -> Any:
        card = self._card(r.params["card"])
        for cl in self.checklists.values():
            for item in cl["checkItems"]:
                if item["id"] == r.params["item"] and cl["idCard"] == card["id"]:
                    if r.arg("state") in ("complete", "incomplete"):
                        item["state"] = r.arg("state")
                    if r.arg("name"):
                        item["name"] = r.arg("name")
                    return {**item, "type": None, "creationMethod": None}
        raise HTTPError(404, "", _NOT_FOUND)

    def _get_label(self, r: Request) -> Any:
        return self._pick(self._get(self.labels, r.params["label"]), _fields(r.arg("fields"), LABEL_FIELDS))

    def _post_label(self, r: Request) -> Any:
        board = self._board(r.params.get("board") or r.arg("idBoard") or "")
        name, color = r.arg("name") or "", r.arg("color")
        if color in ("", "null"):
            color = None
        if color is not None and color not in _COLOURS:
            raise HTTPError(400, "", "invalid value for color")
        return self.labels[self.add_label(board["id"], name, color)]

    def _get_field(self, r: Request) -> Any:
        return self._get(self.fields, r.params["field"])

    def _get_options(self, r: Request) -> Any:
        f = self._get(self.fields, r.params["field"])
        return [{"color": o["color"], "pos": o["pos"], "_id": o["id"], "value": o["value"]} for o in f.get("options", [])]

    def _post_field(self, r: Request) -> Any:
        board = self._board(r.arg("idModel") or "")
        if not board["_customFields"]:
            raise HTTPError(403, "", "Custom Fields Power-Up is not enabled on this board")
        kind = r.arg("type")
        if kind not in ("number", "text", "date", "checkbox", "list") or not r.arg("name"):
            raise HTTPError(400, "", "invalid value for type" if r.arg("name") else "invalid value for name")
        return self.fields[self.add_field(board["id"], r.arg("name") or "", kind)]

    def _get_checklist(self, r: Request) -> Any:
        cl = self._get(self.checklists, r.params["checklist"])
        return self._checklist_json(cl, _fields(r.arg("fields"), None), _fields(r.arg("checkItem_fields"), None))
