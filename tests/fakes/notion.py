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
``Date`` header, so tests never depend on the wall clock.
"""

from __future__ import annotations

import base64
import copy
import math
import random
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, unquote

from .server import FakeServer, HTTPError, RateLimit, Request, Response

__all__ = ["NotionFake", "RateLimit"]

VERSIONS = ("2025-09-03", "2026-03-11")
REF_LIMIT = 25
TEXT_LIMIT = 2000
_READ_ONLY = {"formula", "rollup", "created_time", "last_edited_time", "created_by", "last_edited_by", "unique_id", "button"}
_ERROR_CODES = {400: "validation_error", 401: "unauthorized", 403: "restricted_resource", 404: "object_not_found",
                409: "conflict_error", 429: "rate_limited", 500: "internal_server_error", 502: "bad_gateway",
                503: "service_unavailable", 504: "gateway_timeout", 529: "service_overload"}  # fmt: skip
_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:;[]{}?=`~_"
BOT = "00000000-0000-4000-8000-0000000000f1"


def _iso(t: datetime, minute: bool = True) -> str:
    if minute:
        t = t.replace(second=0, microsecond=0)
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse_time(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _rich(text: str) -> list[dict[str, Any]]:
    if not text:
        return []
    return [{"type": "text", "text": {"content": text, "link": None},
             "annotations": {"bold": False, "italic": False, "strikethrough": False, "underline": False,
                             "code": False, "color": "default"},
             "plain_text": text, "href": None}]  # fmt: skip


def _valid_uuid(text: str) -> str | None:
    raw = text.replace("-", "").lower()
    if len(raw) != 32 or any(c not in "0123456789abcdef" for c in raw) or (raw[16] not in "89ab" and raw.strip("0")):
        return None
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


class NotionFake(FakeServer):
    service = "notion"

    def __init__(self, tokens: tuple[str, ...] = ("secret_x",), *, now: datetime | None = None, seed: int = 7):
        super().__init__()
        self.tokens = set(tokens)
        #: token -> database ids it may open; a token absent here may open everything.
        self.shared: dict[str, set[str]] = {}
        self.now = now or datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)
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
        self.route("GET", f"{v1}/pages/(?P<id>[^/]+)/properties/(?P<prop>.+)", "pages.properties.retrieve", self._property)
        self.route("GET", f"{v1}/pages/(?P<id>[^/]+)", "pages.retrieve", self._page)
        self.route("PATCH", f"{v1}/pages/(?P<id>[^/]+)", "pages.update", self._update)
        self.route("POST", f"{v1}/comments", "comments.create", self._comment)
        self.route("GET", f"{v1}/comments", "comments.list", self._comments)

    # -- clock and ids -----------------------------------------------------------------------

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def start(self) -> "NotionFake":
        super().start()
        fake = self
        assert self._httpd is not None
        handler = self._httpd.RequestHandlerClass
        # Notion's Date header is the fake's clock, not the wall clock.
        handler.date_time_string = lambda h, timestamp=None: format_datetime(fake.now, usegmt=True)  # type: ignore[attr-defined]
        return self

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _prop_id(self) -> str:
        return quote("".join(self._rng.choice(_ID_CHARS) for _ in range(4)), safe="_")

    # -- building a workspace (tests) ----------------------------------------------------

    def add_database(self, title: str, properties: dict[str, Any], *, ds_id: str | None = None) -> tuple[str, str]:
        """``properties``: name -> type, or (type, options list | {"format": ...} | target ds id)."""
        db_id, ds_id = self.new_id(), ds_id or self.new_id()
        schema: dict[str, dict[str, Any]] = {}
        for name, spec in properties.items():
            kind, conf = (spec, None) if isinstance(spec, str) else spec
            entry: dict[str, Any] = {"id": "title" if kind == "title" else self._prop_id(), "name": name,
                                     "description": None, "type": kind}  # fmt: skip
            if kind == "number":
                entry[kind] = {"format": (conf or {}).get("format", "number")}
            elif kind in ("select", "multi_select", "status"):
                options = [{"id": self.new_id(), "name": o, "color": "default", "description": None} for o in conf or ()]
                entry[kind] = {"options": options}
                if kind == "status":
                    entry[kind]["groups"] = [
                        {"id": self.new_id(), "name": "To-do", "color": "gray", "option_ids": [o["id"] for o in options[:1]]},
                        {"id": self.new_id(), "name": "In progress", "color": "blue", "option_ids": [o["id"] for o in options[1:-1]]},
                        {"id": self.new_id(), "name": "Complete", "color": "green", "option_ids": [o["id"] for o in options[-1:]]},
                    ]  # fmt: skip
            elif kind == "relation":
                entry[kind] = {"data_source_id": conf, "database_id": None, "type": "single_property", "single_property": {}}
            elif kind == "formula":
                entry[kind] = {"expression": conf or ""}
            elif kind == "rollup":
                entry[kind] = {"function": conf or "show_original", "relation_property_name": "", "rollup_property_name": ""}
            else:
                entry[kind] = {}
            schema[name] = entry
        self.databases[db_id] = {"title": title, "data_sources": [ds_id], "created": self.now}
        self.data_sources[ds_id] = {"db": db_id, "title": title, "properties": schema, "created": self.now}
        return db_id, ds_id

    def add_page(self, ds_id: str, values: dict[str, Any]) -> str:
        page_id = self.new_id()
        ds = self.data_sources[ds_id]
        props = {name: self._value(ds, name, None) for name in ds["properties"]}
        self.pages[page_id] = {"ds": ds_id, "properties": props, "in_trash": False, "created": self.now, "edited": self.now}
        for name, value in values.items():
            props[name] = self._value(ds, name, value)
        return page_id

    def edit(self, page_id: str, values: dict[str, Any]) -> None:
        """What a person does in Notion: change values (the page's edit time moves)."""
        page = self.pages[page_id]
        ds = self.data_sources[page["ds"]]
        for name, value in values.items():
            page["properties"][name] = self._value(ds, name, value)
        page["edited"] = self.now

    def trash(self, page_id: str) -> None:
        self.pages[page_id]["in_trash"] = True
        self.pages[page_id]["edited"] = self.now

    def get(self, page_id: str, name: str) -> Any:
        """A property's value as plain Python (for assertions)."""
        return self._plain(self.pages[page_id]["properties"][name])

    @staticmethod
    def _plain(value: dict[str, Any]) -> Any:
        kind = value["type"]
        inner = value[kind]
        if kind in ("title", "rich_text"):
            return "".join(t["plain_text"] for t in inner)
        if kind in ("select", "status"):
            return inner["name"] if inner else None
        if kind == "relation":
            return [r["id"] for r in inner]
        return inner

    def _value(self, ds: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
        """A property value object from a plain Python value (the stored form)."""
        p = ds["properties"][name]
        kind = p["type"]
        if kind in ("title", "rich_text"):
            inner: Any = _rich(value or "")
        elif kind in ("select", "status"):
            inner = None
            if value is not None:
                inner = self._option(p, value, create=kind == "select")
                if inner is None:
                    raise ValueError(f"status {name} has no option {value!r}")
        elif kind == "multi_select":
            inner = [self._option(p, v, create=True) for v in value or ()]
        elif kind == "date":
            start, end = (value if isinstance(value, tuple) else (value, None))
            inner = {"start": start, "end": end, "time_zone": None} if start else None
        elif kind == "checkbox":
            inner = bool(value)
        elif kind == "people":
            inner = [{"object": "user", "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, n)), "name": n, "avatar_url": None,
                      "type": "person", "person": {"email": f"{n.lower().replace(' ', '.')}@example.com"}}
                     for n in value or ()]  # fmt: skip
        elif kind == "relation":
            inner = [{"id": i} for i in value or ()]
        elif kind == "formula":
            inner = self._typed(value, "formula")
        elif kind == "rollup":
            if isinstance(value, list):
                inner = {"type": "array", "array": [self._typed(v, "rollup") for v in value], "function": "show_original"}
            else:
                inner = {**self._typed(value, "rollup"), "function": p["rollup"].get("function", "sum")}
        else:
            inner = value
        return {"id": p["id"], "type": kind, kind: inner}

    @staticmethod
    def _typed(value: Any, where: str) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"type": "boolean" if where == "formula" else "checkbox", ("boolean" if where == "formula" else "checkbox"): value}
        if isinstance(value, (int, float)) or value is None:
            return {"type": "number", "number": value}
        if isinstance(value, dict) and "date" in value:
            return {"type": "date", "date": {"start": value["date"], "end": None, "time_zone": None}}
        if where == "rollup":
            return {"type": "rich_text", "rich_text": _rich(str(value))}
        return {"type": "string", "string": str(value)}

    def _option(self, prop: dict[str, Any], name: str, *, create: bool) -> dict[str, Any] | None:
        options = prop[prop["type"]]["options"]
        for o in options:
            if o["name"] == name:
                return {"id": o["id"], "name": o["name"], "color": o["color"]}
        if not create:
            return None
        option = {"id": self.new_id(), "name": name, "color": self._rng.choice(["gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red"]), "description": None}
        options.append(option)
        return {"id": option["id"], "name": name, "color": option["color"]}

    # -- the service's ways ----------------------------------------------------------------

    def error_body(self, status: int, code: str, message: str, **extra: Any) -> Response:
        if code == "FAULT":
            code = _ERROR_CODES.get(status, "internal_server_error")
            message = {529: "Notion is overloaded; try again later."}.get(status, message)
        body = {"object": "error", "status": status, "code": code, "message": message, **extra, "request_id": str(uuid.uuid4())}
        return Response(status, body)

    def rate_limited(self, request: Request, wait: float) -> Response:
        after = f"{wait:.3f}" if self.fractional_retry_after else str(max(0, math.ceil(wait)))
        response = self.error_body(429, "rate_limited", "You have been rate limited. Please try again in a few minutes.")
        response.headers["retry-after"] = after
        return response

    def authorize(self, request: Request) -> None:
        version = request.headers.get("notion-version")
        if not version:
            raise HTTPError(400, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.")
        if version not in VERSIONS:
            raise HTTPError(400, "validation_error", f"Notion-Version header failed validation: unsupported version `{version}`.")
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
            raise HTTPError(400, "validation_error", f"path failed validation: path.{what} should be a valid uuid, instead was `\"{text}\"`.")
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

    def render_page(self, page_id: str, version: str, only: set[str] | None = None) -> dict[str, Any]:
        page = self.pages[page_id]
        ds = self.data_sources[page["ds"]]
        props: dict[str, Any] = {}
        for name, value in page["properties"].items():
            if only is not None and name not in only:
                continue
            value = copy.deepcopy(value)
            if value["type"] == "relation":
                value["has_more"] = len(value["relation"]) > REF_LIMIT
                value["relation"] = value["relation"][:REF_LIMIT]
            if value["type"] == "people":
                value["people"] = value["people"][:REF_LIMIT]
            props[name] = value
        title = next((self.get(page_id, n) for n, p in ds["properties"].items() if p["type"] == "title"), "")
        slug = "-".join(title.split()[:6])
        out = {
            "object": "page", "id": page_id, "created_time": _iso(page["created"]), "last_edited_time": _iso(page["edited"]),
            "created_by": {"object": "user", "id": BOT}, "last_edited_by": {"object": "user", "id": BOT},
            "cover": None, "icon": None,
            "parent": {"type": "data_source_id", "data_source_id": page["ds"], "database_id": ds["db"]},
            "in_trash": page["in_trash"], "is_archived": page["in_trash"], "is_locked": False, "properties": props,
            "url": f"https://www.notion.so/{slug + '-' if slug else ''}{page_id.replace('-', '')}", "public_url": None,
        }  # fmt: skip
        if version == "2025-09-03":
            out["archived"] = page["in_trash"]
        return out

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
            raise HTTPError(400, "validation_error", "body failed validation: body.archived is not a valid parameter for this version; use in_trash.")
        size = body.get("page_size", 100)
        if not isinstance(size, int) or not 1 <= size <= 100:
            raise HTTPError(400, "validation_error", f"body failed validation: body.page_size should be ≤ `100`, instead was `{size}`.")
        only = self._only(request, ds)
        match = self._filter(ds, body.get("filter"))
        trashed = bool(body.get("in_trash"))
        ids = [i for i, p in self.pages.items() if p["ds"] == ident and p["in_trash"] == trashed and match(p)]
        start = 0
        if body.get("start_cursor"):
            try:
                start = int(base64.urlsafe_b64decode(body["start_cursor"].split(":", 2)[2] + "==").decode())
            except (ValueError, IndexError):
                raise HTTPError(400, "validation_error", "body failed validation: body.start_cursor should be a valid cursor.") from None
        chunk = ids[start:start + size]
        more = start + size < len(ids)
        cursor = f"s:{ident}:{base64.urlsafe_b64encode(str(start + size).encode()).decode().rstrip('=')}" if more else None
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
            (op, raw), = cond.items()
            at = _parse_time(raw)
            ops = {"on_or_after": lambda t: t >= at, "after": lambda t: t > at, "before": lambda t: t < at,
                   "on_or_before": lambda t: t <= at, "equals": lambda t: t == at}  # fmt: skip
            if op not in ops:
                raise HTTPError(400, "validation_error", f"body failed validation: body.filter.{f['timestamp']}.{op} is not supported.")
            return lambda page: ops[op](page[field].replace(second=0, microsecond=0))
        found = self._find_prop(ds, f.get("property", ""))
        if found is None:
            raise HTTPError(400, "validation_error", f"Could not find property with name or id: {f.get('property')}")
        name, prop = found
        kind = prop["type"]
        cond = f.get(kind)
        if not isinstance(cond, dict):
            raise HTTPError(400, "validation_error", f"body failed validation: filter for {name} should use `{kind}`.")
        (op, arg), = cond.items()

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
            return {"object": "property_item", "id": prop["id"], "type": kind, kind: value[kind], "request_id": str(uuid.uuid4())}
        items = value[kind]
        size = int(request.arg("page_size") or 25)
        start = int(request.arg("start_cursor") or 0)
        chunk = items[start:start + size]
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
            raise HTTPError(400, "validation_error", f"body failed validation: body.{sorted(extra)[0]} should be not present.")
        if page["in_trash"] and not body.get("in_trash") is False:
            raise HTTPError(400, "validation_error", "Can't edit block that is archived. You must unarchive the block before editing.")
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
        return {**self.render_page(ident, version), "request_id": str(uuid.uuid4())}

    def _validate(self, name: str, prop: dict[str, Any], value: Any) -> dict[str, Any]:
        kind = prop["type"]
        where = f"body.properties.{name}"
        if kind in _READ_ONLY:
            raise HTTPError(400, "validation_error", f"{name} is a {kind} property, which cannot be updated.")
        if not isinstance(value, dict):
            raise HTTPError(400, "validation_error", f"body failed validation: {where} should be an object.")
        keys = set(value) - {"type", "id"}
        if keys != {kind} or value.get("type", kind) != kind:
            raise HTTPError(400, "validation_error", f"{name} is expected to be {kind}.")
        inner = value[kind]
        if kind == "number":
            if inner is not None and (isinstance(inner, bool) or not isinstance(inner, (int, float))):
                raise HTTPError(400, "validation_error", f"body failed validation: {where}.number should be a number or `null`, instead was `{inner!r}`.")
        elif kind in ("select", "status"):
            if inner is not None:
                if not isinstance(inner, dict) or not isinstance(inner.get("name"), str):
                    raise HTTPError(400, "validation_error", f"body failed validation: {where}.{kind}.name should be a string.")
                if kind == "select" and "," in inner["name"]:
                    raise HTTPError(400, "validation_error", "Select option names cannot contain commas.")
                option = self._option(prop, inner["name"], create=kind == "select")
                if option is None:
                    raise HTTPError(400, "validation_error", f"Invalid status option. Status option \"{inner['name']}\" does not exist\".")
                inner = option
        elif kind in ("rich_text", "title"):
            if not isinstance(inner, list) or len(inner) > 100:
                raise HTTPError(400, "validation_error", f"body failed validation: {where}.{kind} should be an array of at most 100 items.")
            text = ""
            for i, part in enumerate(inner):
                content = ((part or {}).get("text") or {}).get("content")
                if not isinstance(content, str):
                    raise HTTPError(400, "validation_error", f"body failed validation: {where}.{kind}[{i}].text.content should be a string.")
                if len(content) > TEXT_LIMIT:
                    raise HTTPError(400, "validation_error", f"body failed validation: {where}.{kind}[{i}].text.content.length should be ≤ `{TEXT_LIMIT}`, instead was `{len(content)}`.")
                text += content
            inner = _rich(text)
        elif kind == "checkbox" and not isinstance(inner, bool):
            raise HTTPError(400, "validation_error", f"body failed validation: {where}.checkbox should be a boolean.")
        return {"id": prop["id"], "type": kind, kind: inner}

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


# --- a ready-made OKR workspace (tests and bench) ------------------------------------------

STATUS_OPTIONS = ["Not started", "On track", "At risk", "Off track", "Done", "No data", "Invalid"]


def okr_workspace(fake: NotionFake, objectives: int = 10, key_results: int = 250, *, cycle: str = "2026-Q4") -> dict[str, Any]:
    """Two databases, the way a team sets them up: objectives (Status a status
    property, Score percent) and key results (Status a select, Progress percent),
    each with a ``Notes`` property syncd does not own."""
    odb, ods = fake.add_database("Objectives", {
        "Name": "title", "Owner": "people", "Cycle": ("select", [cycle]), "Type": ("select", ["Committed", "Aspirational"]),
        "Score": ("number", {"format": "percent"}), "Status": ("status", STATUS_OPTIONS), "Notes": "rich_text",
    })  # fmt: skip
    kdb, kds = fake.add_database("Key results", {
        "Name": "title", "Objective": ("relation", ods), "Kind": ("select", ["metric", "milestone"]),
        "Start": "number", "Target": "number", "Current": "number", "Weight": "number",
        "Progress": ("number", {"format": "percent"}), "Status": ("select", STATUS_OPTIONS[:5]), "Notes": "rich_text",
    })  # fmt: skip
    objs = [fake.add_page(ods, {"Name": f"Objective {i}", "Owner": [f"Owner {i % 4}"], "Cycle": cycle,
                                "Notes": f"notes of objective {i}"}) for i in range(objectives)]  # fmt: skip
    krs = [fake.add_page(kds, {"Name": f"Raise metric {i}", "Objective": [objs[i % max(1, objectives)]], "Start": 0,
                               "Target": 100, "Current": (i * 7) % 101, "Notes": f"notes of key result {i}"})
           for i in range(key_results)]  # fmt: skip
    return {"objectives_db": odb, "objectives_ds": ods, "key_results_db": kdb, "key_results_ds": kds,
            "objectives": objs, "key_results": krs}  # fmt: skip
