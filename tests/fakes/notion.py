"""A loopback fake of the Notion API (versions 2025-09-03 and 2026-03-11).

Databases hold data sources; ``data_sources.query`` pages by cursor (at most
100), honours ``filter_properties`` and a ``last_edited_time`` filter, and cuts
relations at 25 references (``has_more``) like the real API; the full list comes
from ``pages.properties.retrieve``. ``pages.update`` validates like Notion:
unknown property, wrong type, read-only type, unknown status option, text over
2,000 characters; a new select option is added to the schema. Errors have
Notion's body shape; the shared switches (latency, 429 with ``Retry-After``,
5xx and 529 bursts, dropped connections, malformed bodies) come from
:class:`FakeServer`. The fake has its own clock (``now``, ``advance``): it
stamps ``last_edited_time`` (rounded to the minute, as Notion does) and the
``Date`` header, so tests never depend on the wall clock. What the workspace
holds (databases, pages, property values and their checks) is in
:mod:`tests.fakes._notion_pages`; this module serves it.
"""

from __future__ import annotations

import base64
import copy
import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

from ._deliver import Deliverer, Delivery
from ._notion_pages import BOT, REF_LIMIT, STATUS_OPTIONS, TEXT_LIMIT, NotionPages, _iso, _rich, okr_workspace
from .server import FakeServer, HTTPError, RateLimit, Request, Response

__all__ = ["NotionFake", "RateLimit", "okr_workspace", "STATUS_OPTIONS", "REF_LIMIT", "TEXT_LIMIT", "BOT", "PERSON",
           "notion_signature"]  # fmt: skip

#: A person editing pages in Notion (the recorded events' author).
PERSON = "c7c11cca-1d73-471d-9b6e-bdef51470190"
WORKSPACE = "13950b26-c203-4f3b-b97d-93ec06319565"


def notion_signature(token: str, body: bytes) -> str:
    """What Notion sends in ``X-Notion-Signature``."""
    import hashlib
    import hmac

    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def _merge_events(first: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """Notion aggregates events on one page within a short window: authors and properties add up."""
    authors = list(first["authors"])
    authors += [a for a in later["authors"] if a not in authors]
    props = list(first["data"].get("updated_properties", []))
    props += [p for p in later["data"].get("updated_properties", []) if p not in props]
    return {**first, "timestamp": later["timestamp"], "authors": authors,
            "data": {**first["data"], "updated_properties": props}}  # fmt: skip


VERSIONS = ("2025-09-03", "2026-03-11")
_ERROR_CODES = {400: "validation_error", 401: "unauthorized", 403: "restricted_resource", 404: "object_not_found",
                409: "conflict_error", 429: "rate_limited", 500: "internal_server_error", 502: "bad_gateway",
                503: "service_unavailable", 504: "gateway_timeout", 529: "service_overload"}  # fmt: skip


def _parse_time(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _valid_uuid(text: str) -> str | None:
    raw = text.replace("-", "").lower()
    if len(raw) != 32 or any(c not in "0123456789abcdef" for c in raw) or (raw[16] not in "89ab" and raw.strip("0")):
        return None
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


class NotionFake(NotionPages, FakeServer):
    service = "notion"

    def __init__(self, tokens: tuple[str, ...] = ("secret_x",), *, now: datetime | None = None, seed: int = 7):
        super().__init__()
        self.tokens = set(tokens)
        #: token -> database ids it may open; a token absent here may open everything.
        self.shared: dict[str, set[str]] = {}
        self.now = now or datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
        self.integration = "syncd tests"
        #: 429s say ``Retry-After`` in whole seconds like Notion; tests may allow fractions.
        self.fractional_retry_after = False
        self.databases: dict[str, dict[str, Any]] = {}
        self.data_sources: dict[str, dict[str, Any]] = {}
        self.pages: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self._rng = random.Random(seed)
        v1 = "/v1"
        self.route("GET", f"{v1}/databases/(?P<id>[^/]+)", "databases.retrieve", self._database)
        self.route("POST", f"{v1}/databases/(?P<id>[^/]+)/query", "databases.query", self._old_query)
        self.route("GET", f"{v1}/data_sources/(?P<id>[^/]+)", "data_sources.retrieve", self._data_source)
        self.route("POST", f"{v1}/data_sources/(?P<id>[^/]+)/query", "data_sources.query", self._query)
        self.route(
            "GET", f"{v1}/pages/(?P<id>[^/]+)/properties/(?P<prop>.+)", "pages.properties.retrieve", self._property
        )
        self.route("GET", f"{v1}/pages/(?P<id>[^/]+)", "pages.retrieve", self._page)
        self.route("PATCH", f"{v1}/pages/(?P<id>[^/]+)", "pages.update", self._update)
        self.route("POST", f"{v1}/comments", "comments.create", self._comment)
        self.route("GET", f"{v1}/comments", "comments.list", self._comments)
        self.route("GET", f"{v1}/users/me", "users.me", self._me)
        #: Webhook subscriptions (made by a person in the integration's settings: see :meth:`subscribe`).
        self.subscriptions: list[dict[str, Any]] = []
        #: Events on one page within this many seconds are delivered as one (Notion aggregates them).
        self.deliveries = Deliverer(merge=_merge_events, window=0.2)

    def stop(self) -> None:
        super().stop()
        self.deliveries.close()

    # -- webhooks ----------------------------------------------------------------------------

    def _me(self, request: Request) -> dict[str, Any]:
        return {"object": "user", "id": BOT, "name": self.integration, "avatar_url": None, "type": "bot",
                "bot": {"owner": {"type": "workspace", "workspace": True}, "workspace_name": "syncd tests"},
                "request_id": str(uuid.uuid4())}  # fmt: skip

    def subscribe(self, url: str) -> dict[str, Any]:
        """A person creates a subscription: Notion POSTs the verification token to ``url`` at once."""
        token = "secret_" + "".join(self._rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                                    for _ in range(43))  # fmt: skip
        sub = {"id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)), "url": url, "token": token,
               "verified": False}  # fmt: skip
        self.subscriptions.append(sub)
        import httpx

        sub["verification_status"] = httpx.post(url, json={"verification_token": token}, timeout=5).status_code
        return sub

    def verify(self, sub: dict[str, Any], token: str) -> bool:
        """The person pastes the token into the Verify form; events flow once it matches."""
        sub["verified"] = token == sub["token"]
        return bool(sub["verified"])

    def _emit_page(self, page_id: str, names: list[str], author: tuple[str, str]) -> None:
        page = self.pages[page_id]
        ds = self.data_sources[page["ds"]]
        props = [ds["properties"][n]["id"] for n in names if n in ds["properties"]]
        for sub in self.subscriptions:
            if not sub["verified"]:
                continue
            event = {"id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)), "timestamp": _iso(self.now, False),
                     "workspace_id": WORKSPACE, "workspace_name": "syncd tests", "subscription_id": sub["id"],
                     "integration_id": BOT, "type": "page.properties_updated",
                     "authors": [{"id": author[0], "type": author[1]}],
                     "accessible_by": [{"id": PERSON, "type": "person"}, {"id": BOT, "type": "bot"}],
                     "attempt_number": 1, "entity": {"id": page_id, "type": "page"},
                     "data": {"parent": {"id": page["ds"], "type": "database"}, "updated_properties": props}}  # fmt: skip
            token = sub["token"]
            self.deliveries.send(Delivery(sub["url"], event, lambda body, t=token: {"X-Notion-Signature": notion_signature(t, body)},
                                          key=(sub["id"], page_id), extra={"author": author[0]}))  # fmt: skip

    def edit(self, page_id: str, values: dict[str, Any], person: str = PERSON) -> None:
        """What a person does in Notion: change values (the page's edit time moves; subscriptions hear of it)."""
        super().edit(page_id, values)
        self._emit_page(page_id, list(values), (person, "person"))

    # -- clock -------------------------------------------------------------------------------

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def start(self) -> NotionFake:
        super().start()
        fake = self
        assert self._httpd is not None
        handler = self._httpd.RequestHandlerClass
        # Notion's Date header is the fake's clock, not the wall clock.
        handler.date_time_string = lambda h, timestamp=None: format_datetime(fake.now, usegmt=True)  # type: ignore[attr-defined]
        return self

    # -- the service's ways ----------------------------------------------------------------

    def error_body(self, status: int, code: str, message: str, **extra: Any) -> Response:
        if code == "FAULT":
            code = _ERROR_CODES.get(status, "internal_server_error")
            message = {529: "Notion is overloaded; try again later."}.get(status, message)
        body = {
            "object": "error",
            "status": status,
            "code": code,
            "message": message,
            **extra,
            "request_id": str(uuid.uuid4()),
        }
        return Response(status, body)

    def rate_limited(self, request: Request, wait: float) -> Response:
        after = f"{wait:.3f}" if self.fractional_retry_after else str(max(0, math.ceil(wait)))
        response = self.error_body(
            429, "rate_limited", "You have been rate limited. Please try again in a few minutes."
        )
        response.headers["retry-after"] = after
        return response

    def authorize(self, request: Request) -> None:
        version = request.headers.get("notion-version")
        if not version:
            raise HTTPError(
                400,
                "missing_version",
                "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
            )
        if version not in VERSIONS:
            raise HTTPError(
                400, "validation_error", f"Notion-Version header failed validation: unsupported version `{version}`."
            )
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            raise HTTPError(401, "unauthorized", "API token is invalid.")

    # -- helpers for handlers -------------------------------------------------------------

    def _version(self, request: Request) -> str:
        return request.headers.get("notion-version", VERSIONS[0])

    def _token(self, request: Request) -> str:
        return request.headers.get("authorization", "")[7:]

    def _not_found(self, kind: str, ident: str) -> HTTPError:
        return HTTPError(404, "object_not_found",
                         f"Could not find {kind} with ID: {ident}. Make sure the relevant pages and databases are "
                         f"shared with your integration \"{self.integration}\".",
                         additional_data={"integration_id": BOT})  # fmt: skip

    def _uuid(self, text: str, what: str) -> str:
        ident = _valid_uuid(text)
        if ident is None:
            raise HTTPError(
                400,
                "validation_error",
                f'path failed validation: path.{what} should be a valid uuid, instead was `"{text}"`.',
            )
        return ident

    def _may_open(self, request: Request, db_id: str) -> bool:
        allowed = self.shared.get(self._token(request))
        return allowed is None or db_id in allowed

    def _ds(self, request: Request, text: str) -> tuple[str, dict[str, Any]]:
        ident = self._uuid(text, "data_source_id")
        ds = self.data_sources.get(ident)
        if ds is None or not self._may_open(request, ds["db"]):
            raise self._not_found("data_source", ident)
        return ident, ds

    def _get_page(self, request: Request, text: str) -> tuple[str, dict[str, Any]]:
        ident = self._uuid(text, "page_id")
        page = self.pages.get(ident)
        if page is None or not self._may_open(request, self.data_sources[page["ds"]]["db"]):
            raise self._not_found("page", ident)
        return ident, page

    def _find_prop(self, ds: dict[str, Any], key: str) -> tuple[str, dict[str, Any]] | None:
        if key in ds["properties"]:
            return key, ds["properties"][key]
        for name, p in ds["properties"].items():
            if unquote(p["id"]) == unquote(key):
                return name, p
        return None

    # -- handlers ----------------------------------------------------------------------------

    def _database(self, request: Request) -> dict[str, Any]:
        ident = self._uuid(request.params["id"], "database_id")
        db = self.databases.get(ident)
        if db is None or not self._may_open(request, ident):
            raise self._not_found("database", ident)
        out = {"object": "database", "id": ident, "title": _rich(db["title"]), "description": [],
               "parent": {"type": "page_id", "page_id": BOT.replace("f1", "01")}, "is_inline": False,
               "in_trash": False, "is_locked": False, "created_time": _iso(db["created"]),
               "last_edited_time": _iso(db["created"]),
               "data_sources": [{"id": d, "name": self.data_sources[d]["title"]} for d in db["data_sources"]],
               "icon": None, "cover": None, "url": f"https://www.notion.so/{ident.replace('-', '')}", "public_url": None}  # fmt: skip
        if self._version(request) == "2025-09-03":
            out["archived"] = False
        return {**out, "request_id": str(uuid.uuid4())}

    def _old_query(self, request: Request) -> None:
        raise HTTPError(400, "invalid_request_url", "Invalid request URL.")

    def _data_source(self, request: Request) -> dict[str, Any]:
        ident, ds = self._ds(request, request.params["id"])
        out = {"object": "data_source", "id": ident, "cover": None, "icon": None, "created_time": _iso(ds["created"]),
               "created_by": {"object": "user", "id": BOT}, "last_edited_by": {"object": "user", "id": BOT},
               "last_edited_time": _iso(ds["created"]), "title": _rich(ds["title"]), "description": [],
               "is_inline": False, "properties": copy.deepcopy(ds["properties"]),
               "parent": {"type": "database_id", "database_id": ds["db"]},
               "database_parent": {"type": "page_id", "page_id": BOT.replace("f1", "01")},
               "url": f"https://www.notion.so/{ds['db'].replace('-', '')}", "public_url": None, "in_trash": False}  # fmt: skip
        if self._version(request) == "2025-09-03":
            out["archived"] = False
        return {**out, "request_id": str(uuid.uuid4())}

    def _only(self, request: Request, ds: dict[str, Any]) -> set[str] | None:
        keys = request.query.get("filter_properties") or request.query.get("filter_properties[]")
        if not keys:
            return None
        names = set()
        for key in keys:
            found = self._find_prop(ds, key)
            if found is None:
                raise HTTPError(400, "validation_error", f"filter_properties: property `{key}` does not exist.")
            names.add(found[0])
        return names

    def _query(self, request: Request) -> dict[str, Any]:
        ident, ds = self._ds(request, request.params["id"])
        body = request.json() or {}
        version = self._version(request)
        if "archived" in body and version != "2025-09-03":
            raise HTTPError(
                400,
                "validation_error",
                "body failed validation: body.archived is not a valid parameter for this version; use in_trash.",
            )
        size = body.get("page_size", 100)
        if not isinstance(size, int) or not 1 <= size <= 100:
            raise HTTPError(
                400,
                "validation_error",
                f"body failed validation: body.page_size should be ≤ `100`, instead was `{size}`.",
            )
        only = self._only(request, ds)
        match = self._filter(ds, body.get("filter"))
        trashed = bool(body.get("in_trash"))
        start = 0
        if body.get("start_cursor"):
            try:
                start = int(base64.urlsafe_b64decode(body["start_cursor"].split(":", 2)[2] + "==").decode())
            except (ValueError, IndexError):
                raise HTTPError(
                    400, "validation_error", "body failed validation: body.start_cursor should be a valid cursor."
                ) from None
        # The cursor is a position in the data source's pages (creation order), so a read of
        # n pages costs O(n) in all, not a scan of the whole workspace per call.
        order = ds["pages"]

        def matches(pos: int) -> bool:
            page = self.pages[order[pos]]
            return page["in_trash"] == trashed and bool(match(page))

        chunk: list[str] = []
        pos = start
        while pos < len(order) and len(chunk) < size:
            if matches(pos):
                chunk.append(order[pos])
            pos += 1
        while pos < len(order) and not matches(pos):
            pos += 1
        more = pos < len(order)
        cursor = f"s:{ident}:{base64.urlsafe_b64encode(str(pos).encode()).decode().rstrip('=')}" if more else None
        return {"object": "list", "results": [self.render_page(i, version, only) for i in chunk], "next_cursor": cursor,
                "has_more": more, "type": "page_or_data_source", "page_or_data_source": {}, "request_id": str(uuid.uuid4())}  # fmt: skip

    def _filter(self, ds: dict[str, Any], f: dict[str, Any] | None) -> Any:
        if not f:
            return lambda page: True
        if "and" in f or "or" in f:
            parts = [self._filter(ds, x) for x in f.get("and") or f.get("or")]
            join = all if "and" in f else any
            return lambda page: join(m(page) for m in parts)
        if f.get("timestamp") in ("last_edited_time", "created_time"):
            field = "edited" if f["timestamp"] == "last_edited_time" else "created"
            cond = f.get(f["timestamp"]) or {}
            ((op, raw),) = cond.items()
            at = _parse_time(raw)
            ops = {"on_or_after": lambda t: t >= at, "after": lambda t: t > at, "before": lambda t: t < at,
                   "on_or_before": lambda t: t <= at, "equals": lambda t: t == at}  # fmt: skip
            if op not in ops:
                raise HTTPError(
                    400,
                    "validation_error",
                    f"body failed validation: body.filter.{f['timestamp']}.{op} is not supported.",
                )
            return lambda page: ops[op](page[field].replace(second=0, microsecond=0))
        found = self._find_prop(ds, f.get("property", ""))
        if found is None:
            raise HTTPError(400, "validation_error", f"Could not find property with name or id: {f.get('property')}")
        name, prop = found
        kind = prop["type"]
        cond = f.get(kind)
        if not isinstance(cond, dict):
            raise HTTPError(400, "validation_error", f"body failed validation: filter for {name} should use `{kind}`.")
        ((op, arg),) = cond.items()

        def test(page: dict[str, Any]) -> bool:
            value = self._plain(page["properties"][name])
            return {"equals": value == arg, "does_not_equal": value != arg, "is_empty": value in (None, "", []),
                    "is_not_empty": value not in (None, "", [])}.get(op, False)  # fmt: skip

        return test

    def _page(self, request: Request) -> dict[str, Any]:
        ident, page = self._get_page(request, request.params["id"])
        only = self._only(request, self.data_sources[page["ds"]])
        return {**self.render_page(ident, self._version(request), only), "request_id": str(uuid.uuid4())}

    def _property(self, request: Request) -> dict[str, Any]:
        ident, page = self._get_page(request, request.params["id"])
        ds = self.data_sources[page["ds"]]
        found = self._find_prop(ds, request.params["prop"])
        if found is None:
            raise HTTPError(404, "object_not_found", f"Could not find property with ID: {request.params['prop']}.")
        name, prop = found
        value = page["properties"][name]
        kind = value["type"]
        if kind not in ("relation", "people", "title", "rich_text"):
            return {
                "object": "property_item",
                "id": prop["id"],
                "type": kind,
                kind: value[kind],
                "request_id": str(uuid.uuid4()),
            }
        items = value[kind]
        size = int(request.arg("page_size") or 25)
        start = int(request.arg("start_cursor") or 0)
        chunk = items[start : start + size]
        more = start + size < len(items)
        results = [{"object": "property_item", "type": kind, "id": prop["id"], kind: item} for item in chunk]
        return {"object": "list", "results": results, "next_cursor": str(start + size) if more else None,
                "has_more": more, "type": "property_item",
                "property_item": {"id": prop["id"], "next_url": None, "type": kind, kind: {}},
                "request_id": str(uuid.uuid4())}  # fmt: skip

    def _update(self, request: Request) -> dict[str, Any]:
        ident, page = self._get_page(request, request.params["id"])
        body = request.json() or {}
        version = self._version(request)
        allowed = {"properties", "icon", "cover", "is_locked", "template", "erase_content", "in_trash"}
        if version == "2025-09-03":
            allowed.add("archived")
        extra = set(body) - allowed
        if extra:
            raise HTTPError(
                400, "validation_error", f"body failed validation: body.{sorted(extra)[0]} should be not present."
            )
        if page["in_trash"] and body.get("in_trash") is not False:
            raise HTTPError(
                400,
                "validation_error",
                "Can't edit block that is archived. You must unarchive the block before editing.",
            )
        ds = self.data_sources[page["ds"]]
        changes: dict[str, dict[str, Any]] = {}
        for key, value in (body.get("properties") or {}).items():
            found = self._find_prop(ds, key)
            if found is None:
                raise HTTPError(400, "validation_error", f"{key} is not a property that exists.")
            name, prop = found
            changes[name] = self._validate(name, prop, value)
        for name, value in changes.items():
            page["properties"][name] = value
        if "in_trash" in body or "archived" in body:
            page["in_trash"] = bool(body.get("in_trash", body.get("archived")))
        page["edited"] = self.now
        if changes:
            self._emit_page(ident, list(changes), (BOT, "bot"))
        return {**self.render_page(ident, version), "request_id": str(uuid.uuid4())}

    def _comment(self, request: Request) -> dict[str, Any]:
        body = request.json() or {}
        page_id = (body.get("parent") or {}).get("page_id")
        if not page_id:
            raise HTTPError(400, "validation_error", "body failed validation: body.parent.page_id should be defined.")
        ident, _ = self._get_page(request, page_id)
        parts = body.get("rich_text")
        if not isinstance(parts, list) or not parts:
            raise HTTPError(400, "validation_error", "body failed validation: body.rich_text should be defined.")
        text = "".join(((p or {}).get("text") or {}).get("content", "") for p in parts)
        comment = {"object": "comment", "id": self.new_id(), "parent": {"type": "page_id", "page_id": ident},
                   "discussion_id": self.new_id(), "created_time": _iso(self.now), "last_edited_time": _iso(self.now),
                   "created_by": {"object": "user", "id": BOT}, "rich_text": _rich(text),
                   "display_name": {"type": "integration", "resolved_name": self.integration}}  # fmt: skip
        self.comments.setdefault(ident, []).append(comment)
        return {**comment, "request_id": str(uuid.uuid4())}

    def _comments(self, request: Request) -> dict[str, Any]:
        ident, _ = self._get_page(request, request.arg("block_id") or "")
        items = self.comments.get(ident, [])
        size = int(request.arg("page_size") or 100)
        start = int(request.arg("start_cursor") or 0)
        more = start + size < len(items)
        return {"object": "list", "results": items[start:start + size], "next_cursor": str(start + size) if more else None,
                "has_more": more, "type": "comment", "comment": {}, "request_id": str(uuid.uuid4())}  # fmt: skip
