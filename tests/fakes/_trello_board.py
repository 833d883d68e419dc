"""The Trello fake's account: boards, lists, labels, custom fields, cards, checklists.

What the account holds, apart from how it is served: building boards (tests)
or loading recorded objects (contract tests), finding things by id or short
link with Trello's 404/400 distinction, and shaping them as Trello's JSON (the
default field sets, nested cards and checklists, card badges). :class:`TrelloBoards`
is mixed into :class:`tests.fakes.trello.TrelloFake`, which holds the data and
its lock and serves it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

from tests.fakes.server import HTTPError

CAP = 1000
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


class TrelloBoards:
    """The account's objects; :meth:`TrelloFake.reset` creates the tables and the id sequence."""

    boards: dict[str, dict[str, Any]]
    lists: dict[str, dict[str, Any]]
    cards: dict[str, dict[str, Any]]
    labels: dict[str, dict[str, Any]]
    fields: dict[str, dict[str, Any]]
    checklists: dict[str, dict[str, Any]]
    items: dict[str, dict[str, dict[str, Any]]]  # card -> field -> item
    comments: dict[str, list[dict[str, Any]]]
    _seq: Iterator[int]
    _data_lock: threading.RLock

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
                self.boards[oid] = {
                    **{k: obj.get(k) for k in ["id", *BOARD_FIELDS]},
                    "shortLink": short,
                    "_customFields": True,
                }
            elif kind == "list":
                self._stub_board(obj["idBoard"])
                self.lists[oid] = {k: obj.get(k) for k in ["id", *LIST_FIELDS]}
            elif kind == "label":
                self.labels[oid] = {
                    "id": oid,
                    "idBoard": obj.get("idBoard"),
                    "name": obj.get("name", ""),
                    "color": obj.get("color"),
                }
            elif kind == "field":
                self.fields[oid] = {k: v for k, v in obj.items() if k != "limits"}
            elif kind == "checklist":
                if obj["idCard"] not in self.cards:
                    self.load("card", {"id": obj["idCard"], "name": "Card", "idBoard": obj["idBoard"],
                                       "idList": obj["idBoard"][:-4] + "list", "idLabels": [], "closed": False})  # fmt: skip
                self.checklists[oid] = {k: obj[k] for k in ("id", "name", "idCard", "pos", "idBoard", "checkItems")}
            elif kind == "item":
                value = obj.get("value") or {}
                kind_of = (
                    "list"
                    if obj.get("idValue")
                    else {"checked": "checkbox"}.get(next(iter(value), ""), next(iter(value), "text"))
                )
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
            self.load(
                "board",
                {"id": board, "name": "Board", "closed": False, "shortUrl": f"https://trello.com/b/{board[-8:]}"},
            )

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
        return (
            HTTPError(404, "", _NOT_FOUND) if re.fullmatch(r"[0-9a-f]{24}", ref) else HTTPError(400, "", "invalid id")
        )

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

    def _checklist_json(
        self, cl: dict[str, Any], fields: list[str] | None, check_fields: list[str] | None
    ) -> dict[str, Any]:
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
