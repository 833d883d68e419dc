"""A loopback fake of the Trello REST API (``/1/...``), shaped after recorded traffic.

Boards with nested lists, labels, cards (with ``customFieldItems``), custom
fields and checklists; cards, custom field items (one or in bulk), labels and
``idLabels``, checklists, comments. Parameters come as query string, form
(``value[text]=cool``) or JSON, like the real API. Errors look like Trello's:
plain text for 4xx (``unauthorized permission requested``), JSON for 429
(``{"error":"API_TOKEN_LIMIT_EXCEEDED",...}``, no ``Retry-After`` unless
``retry_after_header``). Every answer carries the ``X-Rate-Limit-*`` headers.
Nested cards and checklists are capped at 1,000 and labels at 50 unless asked.
The account's objects (building, loading, lookups, JSON shapes) are in
:mod:`tests.fakes._trello_board`; this module serves them.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import deque
from typing import Any

import httpx

from tests.fakes._deliver import Deliverer, Delivery
from tests.fakes._trello_board import (
    _NOT_FOUND,
    BOARD_FIELDS,
    CAP,
    CARD_FIELDS,
    LABEL_FIELDS,
    LIST_CARD_FIELDS,
    LIST_FIELDS,
    TrelloBoards,
)
from tests.fakes.server import FakeServer, HTTPError, RateLimit, Request, Response

__all__ = ["TrelloFake", "TrelloRateLimit", "trello_signature", "SYNCD_MEMBER", "PERSON"]

#: The member the token belongs to (syncd's own writes are authored by it).
SYNCD_MEMBER = {"id": "5e679b808e6e8828784b30e1", "username": "syncdbot", "fullName": "syncd bot", "initials": "SB",
                "avatarHash": None, "activityBlocked": False, "idMemberReferrer": None}  # fmt: skip
#: A person editing the board in Trello (the recorded deliveries' member).
PERSON = {"id": "4f0b777fd1e39cca3f217850", "username": "cfadl", "fullName": "Aaron Longwell", "initials": "ADL",
          "avatarHash": "7118bd3bff810a24d163e2719ce0849c", "activityBlocked": False, "idMemberReferrer": None}  # fmt: skip


def trello_signature(secret: str, body: bytes, callback: str) -> str:
    """What Trello sends in ``X-Trello-Webhook``: base64 HMAC-SHA1(app secret, body + callbackURL)."""
    import base64
    import hashlib
    import hmac

    return base64.b64encode(hmac.new(secret.encode(), body + callback.encode(), hashlib.sha1).digest()).decode()


_COLOURS = {"green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black"}
_COLOURS |= {f"{c}_{v}" for c in list(_COLOURS) for v in ("light", "dark")}
_OAUTH = re.compile(r'(oauth_consumer_key|oauth_token)="([^"]*)"')


class TrelloRateLimit(RateLimit):
    """Trello's two limits: ``per_token`` and ``per_key`` requests per ``period``."""

    def __init__(
        self, per_token: int = 100, per_key: int = 300, period: float = 10.0, retry_after: float | None = None
    ):
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


class TrelloFake(TrelloBoards, FakeServer):
    service = "trello"

    def __init__(self, key: str = "test-key", token: str = "test-token", secret: str = "test-app-secret") -> None:
        super().__init__()
        self.key, self.token = key, token
        #: key -> the app secret that signs its tokens' webhook deliveries
        self.secrets = {key: secret}
        self._data_lock = threading.RLock()
        self.deliveries = Deliverer()
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
            ("GET", r"/1/members/me", "GET members me", self._get_me),
            ("GET", r"/1/tokens/(?P<token>[^/]+)/webhooks", "GET token webhooks", self._get_token_webhooks),
            ("POST", r"/1/tokens/(?P<token>[^/]+)/webhooks", "POST token webhooks", self._post_webhook),
            ("POST", r"/1/webhooks/?", "POST webhooks", self._post_webhook),
            ("GET", r"/1/webhooks/(?P<hook>[^/]+)", "GET webhook", self._get_webhook),
            ("PUT", r"/1/webhooks/(?P<hook>[^/]+)", "PUT webhook", self._put_webhook),
            ("DELETE", r"/1/webhooks/(?P<hook>[^/]+)", "DELETE webhook", self._delete_webhook),
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
            #: How ``GET /boards/{id}/cards`` pages: ``"sorted"`` honours ``sort=-id``
            #: (newest first), ``"ascending"`` ignores it (oldest first), ``"stuck"``
            #: ignores the ``before``/``since`` cursor too (every page the same).
            self.card_paging = "sorted"
            self._faults.clear()
            self.boards: dict[str, dict[str, Any]] = {}
            self.lists: dict[str, dict[str, Any]] = {}
            self.cards: dict[str, dict[str, Any]] = {}
            self.labels: dict[str, dict[str, Any]] = {}
            self.fields: dict[str, dict[str, Any]] = {}
            self.checklists: dict[str, dict[str, Any]] = {}
            self.items: dict[str, dict[str, dict[str, Any]]] = {}  # card -> field -> item
            self.comments: dict[str, list[dict[str, Any]]] = {}
            #: webhook id -> the record, with the token that made it under ``_token``
            self.webhooks: dict[str, dict[str, Any]] = {}
            #: token -> the member it belongs to
            self.members: dict[str, dict[str, Any]] = {self.token: dict(SYNCD_MEMBER)}
            self.deliveries.clear()
            self._seq = itertools.count(1)
        self.reset_counts()

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
        code = (
            self.rate_limit.last_code() if isinstance(self.rate_limit, TrelloRateLimit) else "API_TOKEN_LIMIT_EXCEEDED"
        )
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

    def stop(self) -> None:
        super().stop()
        self.deliveries.close()

    # -- webhooks ---------------------------------------------------------------------------------

    def _get_me(self, r: Request) -> Any:
        return self._pick(self.members[self._credentials(r)[1]], _fields(r.arg("fields"), None))

    @staticmethod
    def _hook_json(h: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in h.items() if not k.startswith("_")}

    def _get_token_webhooks(self, r: Request) -> Any:
        token = r.params["token"]
        if token != self._credentials(r)[1]:
            raise HTTPError(401, "", "invalid token")
        return [self._hook_json(h) for h in self.webhooks.values() if h["_token"] == token]

    def _post_webhook(self, r: Request) -> Any:
        key, token = self._credentials(r)
        url, model = r.arg("callbackURL") or "", r.arg("idModel") or ""
        if not url.startswith(("http://", "https://")):
            raise HTTPError(400, "", "invalid value for callbackURL")
        if model not in self.boards and model not in self.cards and model not in self.lists:
            raise HTTPError(400, "", "invalid value for idModel")
        if any(h["callbackURL"] == url and h["idModel"] == model and h["_token"] == token
               for h in self.webhooks.values()):  # fmt: skip
            raise HTTPError(400, "", "A webhook with that callback, model, and token already exists")
        # Trello checks the callback URL with a HEAD before it creates the webhook.
        self._data_lock.release()  # the receiver may call the API meanwhile
        try:
            try:
                status = httpx.head(url, timeout=5).status_code
            except httpx.HTTPError:
                status = 0
        finally:
            self._data_lock.acquire()
        if status != 200:
            raise HTTPError(400, "", f"URL ({url}) did not return 200 status code, got {status or 'no answer'}")
        hid = self.new_id()
        self.webhooks[hid] = {"id": hid, "description": r.arg("description") or "", "idModel": model,
                              "callbackURL": url, "active": _bool(r.arg("active") or "true"), "consecutiveFailures": 0,
                              "firstConsecutiveFailDate": None, "_token": token, "_key": key}  # fmt: skip
        return self._hook_json(self.webhooks[hid])

    def _webhook(self, r: Request) -> dict[str, Any]:
        h = self.webhooks.get(r.params["hook"])
        if h is None or h["_token"] != self._credentials(r)[1]:
            raise HTTPError(404, "", "model not found")
        return h

    def _get_webhook(self, r: Request) -> Any:
        return self._hook_json(self._webhook(r))

    def _put_webhook(self, r: Request) -> Any:
        h = self._webhook(r)
        for k in ("description", "callbackURL", "idModel"):
            if r.arg(k) is not None:
                h[k] = r.arg(k)
        if r.arg("active") is not None:
            h["active"] = _bool(r.arg("active"))
        return self._hook_json(h)

    def _delete_webhook(self, r: Request) -> Any:
        self.webhooks.pop(self._webhook(r)["id"])
        return {"_value": None}

    def _emit(self, board_id: str, kind: str, data: dict[str, Any], member: dict[str, Any]) -> None:
        """Deliver an action on ``board_id`` to every active webhook watching it, signed like Trello."""
        board = self.boards[board_id]
        action = {"id": self.new_id(), "idMemberCreator": member["id"],
                  "data": {**data, "board": {"id": board["id"], "name": board["name"], "shortLink": board["shortLink"]}},
                  "appCreator": None, "type": kind, "date": "2026-11-15T12:00:00.000Z", "limits": None,
                  "display": {"translationKey": f"action_{kind}"},
                  "memberCreator": {k: member.get(k) for k in ("id", "activityBlocked", "avatarHash", "fullName",
                                                                "idMemberReferrer", "initials", "username")}}  # fmt: skip
        model = self._pick(board, ["id", *BOARD_FIELDS])
        for h in list(self.webhooks.values()):
            if h["idModel"] != board_id or not h["active"]:
                continue
            secret, url = self.secrets.get(h["_key"], ""), h["callbackURL"]
            self.deliveries.send(Delivery(url, {"model": model, "action": action},
                                          lambda body, s=secret, u=url: {"X-Trello-Webhook": trello_signature(s, body, u)},
                                          extra={"type": kind, "author": member["id"], "webhook": h["id"]}))  # fmt: skip

    def _emit_card(self, card: dict[str, Any], kind: str, member: dict[str, Any], **data: Any) -> None:
        lst = self.lists.get(card["idList"], {})
        self._emit(card["idBoard"], kind, {"card": {k: card[k] for k in ("id", "name", "idShort", "shortLink")},
                                           "list": {"id": lst.get("id"), "name": lst.get("name")}, **data}, member)  # fmt: skip

    def _member(self, r: Request) -> dict[str, Any]:
        return self.members.get(self._credentials(r)[1], SYNCD_MEMBER)

    def person_sets(self, card: str, field: str, value: Any, person: dict[str, Any] = PERSON) -> None:
        """A person changes a card's custom field in Trello: the board's webhooks hear of it."""
        with self._data_lock:
            self.set_value(card, field, value)
            f = self.field_named(self.cards[card]["idBoard"], field)
            self._emit_card(self.cards[card], "updateCustomFieldItem", person,
                            customField={"id": f["id"], "name": f["name"], "type": f["type"]},
                            customFieldItem=self.items[card][f["id"]])  # fmt: skip

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
        if r.arg("sort") == "-id" and self.card_paging == "sorted":
            cards.sort(key=lambda c: c["id"], reverse=True)
        elif self.card_paging != "sorted":
            cards.sort(key=lambda c: c["id"])
        if r.arg("before") and self.card_paging != "stuck":
            cards = [c for c in cards if c["id"] < r.arg("before")]
        if r.arg("since") and self.card_paging != "stuck":
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
        return self._card_json(
            self._card(r.params["card"]), _fields(r.arg("fields"), CARD_FIELDS), _bool(r.arg("customFieldItems"))
        )

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
        item = items.get(field_id) or {
            "id": self.new_id(),
            "idCustomField": field_id,
            "idModel": card["id"],
            "modelType": "card",
        }
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
            value = {m.group(1): v for k, v in pairs.items() if (m := re.fullmatch(r"value\[(\w+)\]", k))} or pairs.get(
                "value"
            )
            id_value = pairs.get("idValue")
        out = self._set_item(card, r.params["field"], value, id_value)
        f = self.fields[r.params["field"]]
        self._emit_card(card, "updateCustomFieldItem", self._member(r),
                        customField={"id": f["id"], "name": f["name"], "type": f["type"]})  # fmt: skip
        return out

    def _put_items(self, r: Request) -> Any:
        card = self._card(r.params["card"])
        data = r.json_or_none()
        entries = data.get("customFieldItems") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise HTTPError(400, "", "customFieldItems must be an array")
        out = [self._set_item(card, e.get("idCustomField", ""), e.get("value"), e.get("idValue")) for e in entries]
        for e in entries:  # Trello records one action per item
            f = self.fields[e.get("idCustomField", "")]
            self._emit_card(card, "updateCustomFieldItem", self._member(r),
                            customField={"id": f["id"], "name": f["name"], "type": f["type"]})  # fmt: skip
        return out

    def _post_card_label(self, r: Request) -> Any:
        card = self._card(r.params["card"])
        label = self._get(self.labels, r.arg("value") or "")
        if label["idBoard"] != card["idBoard"]:
            raise HTTPError(400, "", "invalid value for value")
        if label["id"] in card["idLabels"]:
            raise HTTPError(400, "", "that label is already on the card")
        card["idLabels"].append(label["id"])
        self._emit_card(card, "addLabelToCard", self._member(r), label=self._pick(label, ["id", "name", "color"]))
        return list(card["idLabels"])

    def _delete_card_label(self, r: Request) -> Any:
        card = self._card(r.params["card"])
        if r.params["label"] not in card["idLabels"]:
            raise HTTPError(404, "", _NOT_FOUND)
        card["idLabels"].remove(r.params["label"])
        label = self.labels.get(r.params["label"], {"id": r.params["label"]})
        self._emit_card(card, "removeLabelFromCard", self._member(r), label=self._pick(label, ["id", "name", "color"]))
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
        return [
            {"color": o["color"], "pos": o["pos"], "_id": o["id"], "value": o["value"]} for o in f.get("options", [])
        ]

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
