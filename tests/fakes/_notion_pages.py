"""The Notion fake's workspace: databases, pages and their property values.

What the workspace holds, apart from how it is served: building databases and
pages (tests), property values in their stored, plain and rendered forms, and
the checks ``pages.update`` applies to a value before storing it, like Notion.
:class:`NotionPages` is mixed into :class:`tests.fakes.notion.NotionFake`,
which re-exports :func:`okr_workspace`.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .server import HTTPError

if TYPE_CHECKING:
    from .notion import NotionFake

REF_LIMIT = 25
TEXT_LIMIT = 2000

_READ_ONLY = {
    "formula",
    "rollup",
    "created_time",
    "last_edited_time",
    "created_by",
    "last_edited_by",
    "unique_id",
    "button",
}
_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:;[]{}?=`~_"
BOT = "00000000-0000-4000-8000-0000000000f1"


def _iso(t: datetime, minute: bool = True) -> str:
    if minute:
        t = t.replace(second=0, microsecond=0)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _rich(text: str) -> list[dict[str, Any]]:
    if not text:
        return []
    return [{"type": "text", "text": {"content": text, "link": None},
             "annotations": {"bold": False, "italic": False, "strikethrough": False, "underline": False,
                             "code": False, "color": "default"},
             "plain_text": text, "href": None}]  # fmt: skip


class NotionPages:
    """Databases, pages and property values; the ids come from the fake's seeded ``_rng``."""

    now: datetime
    databases: dict[str, dict[str, Any]]
    data_sources: dict[str, dict[str, Any]]
    pages: dict[str, dict[str, Any]]
    _rng: random.Random

    # -- ids -----------------------------------------------------------------------------------

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
                options = [
                    {"id": self.new_id(), "name": o, "color": "default", "description": None} for o in conf or ()
                ]
                entry[kind] = {"options": options}
                if kind == "status":
                    entry[kind]["groups"] = [
                        {"id": self.new_id(), "name": "To-do", "color": "gray", "option_ids": [o["id"] for o in options[:1]]},
                        {"id": self.new_id(), "name": "In progress", "color": "blue", "option_ids": [o["id"] for o in options[1:-1]]},
                        {"id": self.new_id(), "name": "Complete", "color": "green", "option_ids": [o["id"] for o in options[-1:]]},
                    ]  # fmt: skip
            elif kind == "relation":
                entry[kind] = {
                    "data_source_id": conf,
                    "database_id": None,
                    "type": "single_property",
                    "single_property": {},
                }
            elif kind == "formula":
                entry[kind] = {"expression": conf or ""}
            elif kind == "rollup":
                entry[kind] = {
                    "function": conf or "show_original",
                    "relation_property_name": "",
                    "rollup_property_name": "",
                }
            else:
                entry[kind] = {}
            schema[name] = entry
        self.databases[db_id] = {"title": title, "data_sources": [ds_id], "created": self.now}
        self.data_sources[ds_id] = {"db": db_id, "title": title, "properties": schema, "created": self.now, "pages": []}
        return db_id, ds_id

    def add_page(self, ds_id: str, values: dict[str, Any]) -> str:
        page_id = self.new_id()
        ds = self.data_sources[ds_id]
        props = {name: self._value(ds, name, None) for name in ds["properties"]}
        self.pages[page_id] = {
            "ds": ds_id,
            "properties": props,
            "in_trash": False,
            "created": self.now,
            "edited": self.now,
        }
        ds["pages"].append(page_id)
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
            start, end = value if isinstance(value, tuple) else (value, None)
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
                inner = {
                    "type": "array",
                    "array": [self._typed(v, "rollup") for v in value],
                    "function": "show_original",
                }
            else:
                inner = {**self._typed(value, "rollup"), "function": p["rollup"].get("function", "sum")}
        else:
            inner = value
        return {"id": p["id"], "type": kind, kind: inner}

    @staticmethod
    def _typed(value: Any, where: str) -> dict[str, Any]:
        if isinstance(value, bool):
            return {
                "type": "boolean" if where == "formula" else "checkbox",
                ("boolean" if where == "formula" else "checkbox"): value,
            }
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
        option = {
            "id": self.new_id(),
            "name": name,
            "color": self._rng.choice(["gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red"]),
            "description": None,
        }
        options.append(option)
        return {"id": option["id"], "name": name, "color": option["color"]}

    # -- the forms Notion shows and accepts ---------------------------------------------------

    def render_page(self, page_id: str, version: str, only: set[str] | None = None) -> dict[str, Any]:
        page = self.pages[page_id]
        ds = self.data_sources[page["ds"]]
        props: dict[str, Any] = {}
        for name, value in page["properties"].items():
            if only is not None and name not in only:
                continue
            # Stored values are replaced, never changed in place, and the answer is
            # serialised at once: only what is cut needs a copy.
            if value["type"] == "relation":
                value = {
                    **value,
                    "relation": value["relation"][:REF_LIMIT],
                    "has_more": len(value["relation"]) > REF_LIMIT,
                }
            elif value["type"] == "people":
                value = {**value, "people": value["people"][:REF_LIMIT]}
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
                raise HTTPError(
                    400,
                    "validation_error",
                    f"body failed validation: {where}.number should be a number or `null`, instead was `{inner!r}`.",
                )
        elif kind in ("select", "status"):
            if inner is not None:
                if not isinstance(inner, dict) or not isinstance(inner.get("name"), str):
                    raise HTTPError(
                        400, "validation_error", f"body failed validation: {where}.{kind}.name should be a string."
                    )
                if kind == "select" and "," in inner["name"]:
                    raise HTTPError(400, "validation_error", "Select option names cannot contain commas.")
                option = self._option(prop, inner["name"], create=kind == "select")
                if option is None:
                    raise HTTPError(
                        400,
                        "validation_error",
                        f'Invalid status option. Status option "{inner["name"]}" does not exist".',
                    )
                inner = option
        elif kind in ("rich_text", "title"):
            if not isinstance(inner, list) or len(inner) > 100:
                raise HTTPError(
                    400,
                    "validation_error",
                    f"body failed validation: {where}.{kind} should be an array of at most 100 items.",
                )
            text = ""
            for i, part in enumerate(inner):
                content = ((part or {}).get("text") or {}).get("content")
                if not isinstance(content, str):
                    raise HTTPError(
                        400,
                        "validation_error",
                        f"body failed validation: {where}.{kind}[{i}].text.content should be a string.",
                    )
                if len(content) > TEXT_LIMIT:
                    raise HTTPError(
                        400,
                        "validation_error",
                        f"body failed validation: {where}.{kind}[{i}].text.content.length should be ≤ `{TEXT_LIMIT}`, instead was `{len(content)}`.",
                    )
                text += content
            inner = _rich(text)
        elif kind == "checkbox" and not isinstance(inner, bool):
            raise HTTPError(400, "validation_error", f"body failed validation: {where}.checkbox should be a boolean.")
        return {"id": prop["id"], "type": kind, kind: inner}


# --- a ready-made OKR workspace (tests and bench) ------------------------------------------

STATUS_OPTIONS = ["Not started", "On track", "At risk", "Off track", "Done", "No data", "Invalid"]


def okr_workspace(
    fake: NotionFake, objectives: int = 10, key_results: int = 250, *, cycle: str = "2026-Q4"
) -> dict[str, Any]:
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
