"""Trello boards over httpx: one board read per pass, writes at the floor.

Reads: one ``GET /1/boards/{id}`` with lists, labels (all of them), custom
fields, checklists and visible cards with their custom field items nested;
cards are paged (``/boards/{id}/cards?before=``) only past Trello's 1,000 cap.
Writes: per changed card one ``PUT /1/cards/{id}/customFields`` with every
changed item, plus one ``POST``/``DELETE`` on ``idLabels`` per label change, so
labels people added are never touched (``PUT idLabels`` would replace them).

Credentials go in the ``Authorization: OAuth ...`` header, never in a URL.
Every call waits for two pacers (per token and per key, shared by all boards on
the same credentials) and goes through :meth:`syncd.http.Runtime.call`.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from syncd.http import RetryPolicy
from syncd.mappings.trello import (
    STATUS_COLOURS,
    STATUS_KEYS,
    Board,
    Names,
    apply_plan,
    build_objectives,
    field_problem,
    index_board,
    plan_card,
)
from syncd.model import ItemError, Objective, Patch, ReadResult
from syncd.source import Action, BaseSource, Deferred, Performed, Role, SourceContext, SourceError, credential

from .transport import Pacers, Transport, TrelloError, TrelloErrors

__all__ = ["TrelloSource", "open", "board_ref", "ORIGIN", "CARD_CAP"]

ORIGIN = "https://api.trello.com"
#: Trello returns at most this many cards (and checklists) in one request.
CARD_CAP = 1000
CARD_FIELDS = "name,idList,idLabels,closed,due,dueComplete,pos,shortLink,shortUrl"
_BOARD_PARAMS = {
    "fields": "name,closed,url,shortUrl",
    "lists": "open",
    "list_fields": "name,closed,pos",
    "labels": "all",
    "label_fields": "name,color",
    "labels_limit": "1000",  # the default is 50
    "cards": "visible",  # open cards in open lists
    "card_fields": CARD_FIELDS,
    "card_customFieldItems": "true",
    "customFields": "true",
    "checklists": "all",
    "checklist_fields": "idCard",
    "checkItem_fields": "state",
}
_URL = re.compile(r"trello\.com/b/([A-Za-z0-9]+)")
_ID = re.compile(r"[A-Za-z0-9]+")


def board_ref(text: str) -> str:
    """A board id, short link or URL -> what ``/1/boards/{id}`` takes."""
    text = text.strip()
    m = _URL.search(text)
    if m:
        return m.group(1)
    if _ID.fullmatch(text):
        return text
    raise ValueError(f"board: {text!r} is not a Trello board id, short link or URL (https://trello.com/b/AbCd1234)")


def open(role: Role, config: Any, ctx: SourceContext) -> TrelloSource:  # noqa: A001 - the registry's name
    return TrelloSource(role, config, ctx)


class TrelloSource(BaseSource):
    service = "trello"

    def __init__(self, role: Role, config: Any, ctx: SourceContext, *, workers: int = 8):
        self.name: str = config.name
        self.role = role
        self.config = config
        self.ctx = ctx
        self.calls: Counter[str] = Counter()
        #: The runtime's policy; replaceable by tests (fast sleeps).
        self.policy: RetryPolicy = ctx.runtime.policy
        self.errors = TrelloErrors(board=config.board, source=config.name, key_env=config.key_env,
                                   token_env=config.token_env)  # fmt: skip
        #: Concurrent card writes (the pacers, not this, set the rate).
        self.workers = workers
        self.origin = (config.base_url or ORIGIN).rstrip("/").removesuffix("/1")
        self._lock = threading.Lock()
        self._http: Transport | None = None
        self._board: Board | None = None
        self._names: Names | None = None
        self._objectives: list[Objective] = []
        self._planned: list[Action] = []

    # -- transport --------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        where = f'board "{self.config.board}"'
        return tuple(  # type: ignore[return-value]
            credential(self.ctx.env, var, where=where, what=(
                f"your Trello {what} (https://trello.com/power-ups/admin), or name another variable with {key}"))
            for var, what, key in ((self.config.key_env, "API key", "key_env"), (self.config.token_env, "token", "token_env"))
        )  # fmt: skip

    def _transport(self) -> Transport:
        if self._http is None:
            key, token = self._credentials()
            limits, runtime = self.ctx.config.limits, self.ctx.runtime
            pacer = Pacers(
                runtime.pacer("trello", token, limits.trello_per_10s, 10),
                runtime.pacer("trello-key", key, limits.trello_key_per_10s, 10),
            )
            self._http = Transport(self.origin, key, token, pacer=pacer, calls=self.calls, runtime=runtime,
                                   errors=self.errors, timeout=self.ctx.config.syncd.timeout.total_seconds(),
                                   workers=self.workers)  # fmt: skip
        return self._http

    def _request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                 body: Any = None, what: str, parse: bool = True) -> Any:  # fmt: skip
        return self._transport().request(
            method, path, policy=self.policy, params=params, body=body, what=what, parse=parse
        )

    def _refused(self, e: TrelloError, what: str) -> SourceError:
        """A whole-source failure, saying what to check."""
        return self.errors.refused(e.status, e.text, what)

    def _get(self, path: str, params: dict[str, str], what: str) -> Any:
        try:
            return self._request("GET", path, params=params, what=what)
        except TrelloError as e:
            raise self._refused(e, what) from None

    # -- reading ----------------------------------------------------------------------------

    def _names_checked(self) -> Names:
        if self._names is None:
            try:
                self._names = Names.from_config(self.config.fields, self.config.progress_scale)
            except ValueError as e:
                raise SourceError(f'source "{self.name}": {e}') from None
        return self._names

    def _board_id(self) -> str:
        try:
            return board_ref(self.config.board)
        except ValueError as e:
            raise SourceError(f'source "{self.name}": {e}') from None

    def _fetch_board(self) -> Board:
        ref = self._board_id()
        what = f'reading board "{self.config.board}"'
        raw = self._get(f"/boards/{ref}", dict(_BOARD_PARAMS), what)
        if not isinstance(raw, dict) or not isinstance(raw.get("lists"), list):
            raise SourceError(
                f'Trello answered board "{self.config.board}" with something that is not a board; check base_url'
            )
        more: list[dict[str, Any]] = []
        if len(raw.get("cards") or []) >= CARD_CAP or len(raw.get("checklists") or []) >= CARD_CAP:
            more = self._page_cards(raw.get("id") or ref, what)
        return index_board(raw, more)

    def _page_cards(self, board_id: str, what: str) -> list[dict[str, Any]]:
        """Every visible card, 1,000 a page, with its checklists.

        Asked newest first (``before`` the oldest id seen); a server that answers
        oldest first is followed with ``since`` the newest id seen instead. A page
        that brings no new card, or cards on the wrong side of the cursor, fails
        the source: a partial board must never pass for a synced one.
        """
        params = {"filter": "visible", "fields": CARD_FIELDS, "customFieldItems": "true", "checklists": "all",
                  "checklist_fields": "idCard", "checkItem_fields": "state", "limit": str(CARD_CAP), "sort": "-id"}  # fmt: skip
        cards: list[dict[str, Any]] = []
        seen: set[str] = set()
        pages = 0
        while True:
            page = self._get(f"/boards/{board_id}/cards", params, what + " (cards past the first 1,000)")
            pages += 1
            if not isinstance(page, list) or not all(
                isinstance(c, dict) and isinstance(c.get("id"), str) for c in page
            ):
                raise SourceError(
                    f'Trello answered the cards of board "{self.config.board}" with something that is not a list '
                    "of cards; check base_url"
                )
            ids = [c["id"] for c in page]
            before, since = params.get("before"), params.get("since")
            stray = [i for i in ids if (before and i >= before) or (since and i <= since)]
            new = {i for i in ids if i not in seen}
            if stray or (page and not new):
                raise SourceError(
                    f'paging the cards of board "{self.config.board}" made no progress: page {pages} '
                    f"({len(page)} cards) repeated {len(page) - len(new) or len(stray)} already read; "
                    f"{len(seen)} cards read so far, the board was not synced (nothing written); "
                    "check base_url or any proxy in front of Trello"
                )
            seen |= new
            cards.extend(page)
            if len(page) < CARD_CAP:
                return cards
            descending = ids[0] > ids[-1]
            params.pop("before", None), params.pop("since", None)
            if descending:
                params["before"] = min(seen)
            else:
                params["since"] = max(seen)

    def read(self) -> ReadResult:
        """The board, read once; writes nothing (missing labels and fields are ``prepare``'s)."""
        if self.role != "okrs":
            raise SourceError(f'source "{self.name}": a Trello board holds OKRs; list it under [[okrs]], not [[kpis]]')
        names = self._names_checked()
        board = self._fetch_board()
        notes: list[str] = []
        if not board.lists:
            notes.append(f'board "{board.name}" has no open lists, so no objectives')
        everything = dict.fromkeys(("status", "progress", "current", "score"), True)
        draft, _ = build_objectives(board, names, source=self.name, cycle=self.config.cycle, writable=everything)
        writable, self._planned = self._plan(board, names, _needs(draft), notes)
        objectives, errors = build_objectives(
            board, names, source=self.name, cycle=self.config.cycle, writable=writable
        )
        self._board = board
        self._objectives = objectives
        return ReadResult(objectives=objectives, errors=errors, notes=notes)

    def prepare(self) -> list[Action]:
        """The labels and custom fields missing on the board (``create_missing``), to create before writing."""
        planned, self._planned = self._planned, []
        return planned

    def _plan(
        self, board: Board, names: Names, needs: set[str], notes: list[str]
    ) -> tuple[dict[str, bool], list[Action]]:
        """Which owned fields can be written (counting what is planned), and the creations planned."""
        create = self.config.create_missing
        writable: dict[str, bool] = {}
        actions: list[Action] = []
        if "status" in needs:
            missing = [k for k in STATUS_KEYS if not board.label_ids(names[k])]
            for key in missing:
                text = f'label "{names[key]}" ({STATUS_COLOURS[key]})'
                if not create:
                    notes.append(
                        f'{text} is missing on board "{board.name}" and create_missing = false: create it by hand'
                    )
                    continue
                body: dict[str, Any] = {"name": names[key], "color": STATUS_COLOURS[key], "idBoard": board.id}
                actions.append(self._creation("/labels", body, text, board, board.add_label, "status"))
            writable["status"] = bool(create and missing) or any(board.label_ids(names[k]) for k in STATUS_KEYS)
        for key in ("progress", "current", "score"):
            if key not in needs:
                continue
            problem = field_problem(board.field(names[key]))
            text = f'custom field "{names[key]}"'
            if problem is None:
                writable[key] = True
            elif problem != "missing":
                notes.append(
                    f'{text} on board "{board.name}" is {problem}: change it or name another with fields.{key}'
                )
            elif not create:
                notes.append(f'{text} is missing on board "{board.name}" and create_missing = false: '
                             "create it (a number field) to have syncd write it")  # fmt: skip
            else:
                body = {"idModel": board.id, "modelType": "board", "name": names[key], "type": "number",
                        "pos": "bottom", "display_cardFront": True}  # fmt: skip
                actions.append(self._creation("/customFields", body, f"{text} (number)", board, board.add_field, key))
                writable[key] = True
        return writable, actions

    def _creation(self, path: str, body: dict[str, Any], text: str, board: Board, add: Any, key: str) -> Action:
        def perform() -> Performed:
            done = Performed()
            if self._create(path, body, text.removesuffix(" (number)"), board, done.notes, add):
                done.notes.append(f'created {text} on board "{board.name}"')
            else:
                self._unwritable(key)
            return done

        return Action(self.name, f'create {text} on board "{board.name}"', perform)

    def _unwritable(self, key: str) -> None:
        """A creation failed: no item writes ``key`` this pass (unless a status label is still there)."""
        if key == "status" and self._board is not None:
            names = self._names_checked()
            if any(self._board.label_ids(names[k]) for k in STATUS_KEYS):
                return
        for o in self._objectives:
            o.written.pop(key, None)
            for kr in o.key_results:
                kr.written.pop(key, None)

    def _create(self, path: str, body: dict[str, Any], text: str, board: Board, notes: list[str], add: Any) -> bool:
        try:
            made = self._request("POST", path, body=body, what=f"creating {text}")
        except TrelloError as e:
            if e.status == 401:
                raise self._refused(e, f"creating {text}") from None
            hint = " (custom fields need the Custom Fields Power-Up on the board)" if "customField" in path else ""
            notes.append(
                f'could not create {text} on board "{board.name}" ({e.status} {e.text}){hint}; create it by hand'
            )
            return False
        if not isinstance(made, dict) or not made.get("id"):
            notes.append(f'Trello did not return the new {text} on board "{board.name}"; it is written next pass')
            return False
        add(made)
        return True

    # -- writing ----------------------------------------------------------------------------

    def write(self, patches: Sequence[Patch]) -> list[ItemError]:
        if not patches:
            return []
        if self._board is None:
            self.read()
        board, names = self._board, self._names_checked()
        assert board is not None
        errors: list[ItemError] = []
        by_card: dict[str, list[Patch]] = defaultdict(list)
        for p in patches:
            by_card[p.ref].append(p)
        work = []
        for card_id, ps in by_card.items():
            card = board.cards_by_id.get(card_id)
            if card is None:
                errors.extend(
                    ItemError(self.name, p.item, f'the card is no longer open on board "{board.name}"') for p in ps
                )
                continue
            plan = plan_card(card, ps, board, names)
            errors.extend(ItemError(self.name, item, message) for item, message in plan.errors)
            if not plan.empty:
                work.append((card, plan, sorted({p.item for p in ps})))
        stop = threading.Event()
        fatal: list[BaseException] = []
        written = 0

        def one(card: dict[str, Any], plan: Any, items: list[str]) -> list[ItemError]:
            nonlocal written
            if stop.is_set():
                return [ItemError(self.name, i, f"not written: {fatal[0]}") for i in items] if fatal else []
            try:
                self._write_card(card, plan, board)
                with self._lock:
                    written += 1
                return []
            except (Deferred, _Fatal) as e:
                fatal.append(e)
                stop.set()
                return [ItemError(self.name, i, f"not written: {e}") for i in items]
            except SourceError as e:
                return [ItemError(self.name, i, str(e)) for i in items]

        with ThreadPoolExecutor(max_workers=max(1, self.workers), thread_name_prefix=f"trello-{self.name}") as pool:
            for result in pool.map(lambda w: one(*w), work):
                errors.extend(result)
        if fatal:
            first = fatal[0]
            if isinstance(first, Deferred):
                raise first
            if written == 0:
                raise SourceError(str(first))
        return errors

    def _write_card(self, card: dict[str, Any], plan: Any, board: Board) -> None:
        """One custom-field call with every changed item, then one call per label."""
        where = board.where_card(card)
        cid = card["id"]
        try:
            if plan.items:
                self._request("PUT", f"/cards/{cid}/customFields", body={"customFieldItems": plan.items},
                              what=f"writing the custom fields of {where}", parse=False)  # fmt: skip
            for lid in plan.add:
                try:
                    self._request(
                        "POST", f"/cards/{cid}/idLabels", body={"value": lid}, what=f"labelling {where}", parse=False
                    )
                except TrelloError as e:
                    if not (e.status == 400 and "already" in e.text.lower()):
                        raise
            for lid in plan.remove:
                try:
                    self._request(
                        "DELETE", f"/cards/{cid}/idLabels/{lid}", what=f"removing a label from {where}", parse=False
                    )
                except TrelloError as e:
                    if e.status not in (400, 404):  # already gone
                        raise
        except TrelloError as e:
            if e.status == 401:
                raise _Fatal(str(self._refused(e, f"writing {where}"))) from None
            raise SourceError(f"Trello refused writing {where} ({e.status} {e.text})") from None
        with self._lock:
            apply_plan(card, plan)

    # -- the rest of the protocol -----------------------------------------------------------

    def check(self) -> list[str]:
        try:
            names = self._names_checked()
            ref = self._board_id()
            params = {"fields": "name", "labels": "all", "label_fields": "name", "labels_limit": "1000",
                      "customFields": "true"}  # fmt: skip
            raw = self._get(f"/boards/{ref}", params, f'reaching board "{self.config.board}"')
        except SourceError as e:
            return [str(e)]
        board = index_board({**raw, "lists": [], "cards": []})
        problems: list[str] = []
        for key in ("progress", "current", "score"):
            problem = field_problem(board.field(names[key]))
            if problem == "missing" and not self.config.create_missing:
                problems.append(f'custom field "{names[key]}" is missing on board "{board.name}" and create_missing = false; '
                                "create it as a number field")  # fmt: skip
            elif problem not in (None, "missing"):
                problems.append(f'custom field "{names[key]}" on board "{board.name}" is {problem}')
        if not self.config.create_missing:
            problems.extend(f'label "{names[k]}" is missing on board "{board.name}" and create_missing = false; create it'
                            for k in STATUS_KEYS if not board.label_ids(names[k]))  # fmt: skip
        return problems

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


class _Fatal(SourceError):
    """Stops the remaining writes of a pass (the credentials were refused)."""


def _needs(objectives: list[Objective]) -> set[str]:
    """The owned fields this board's items would be written through."""
    needs: set[str] = set()
    for o in objectives:
        if o.ref is not None:
            needs |= {"status", "score"}
        for kr in o.key_results:
            needs |= {"status", "progress"} | ({"current"} if kr.kpi else set())
    return needs
