"""Which Notion property holds which model field, from a data source's schema.

The schema (property ids, types, number formats, status options) is fetched
once and kept in the state store with the data source id: a warm run makes no
retrieve call. It is refreshed on the full-refresh schedule, when a query shows
a mapped property gone or changed type, and when a write fails validation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from syncd.mappings.notion import WRITABLE, Prop, parse_database_id
from syncd.source import SourceError

__all__ = ["parse_id", "compact", "resolve", "props_to_json", "props_from_json"]

_HEX32 = re.compile(r"([0-9a-fA-F]{32})(?![0-9a-fA-F])")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")

#: Types each kind of field can be read from (anything else is a mapping error).
_TEXTUAL = {"title", "rich_text", "select", "status", "multi_select", "formula", "rollup", "url", "email",
            "phone_number", "unique_id", "number", "people", "created_by", "last_edited_by", "relation", "date"}  # fmt: skip
_NUMERIC = {"number", "formula", "rollup", "rich_text", "title", "select", "status", "checkbox"}
_READABLE: dict[str, set[str]] = {
    "current": _NUMERIC | {"checkbox"},
    "objective": {"relation", "rich_text", "select", "title", "rollup", "formula"},
    "parent": {"relation", "rich_text", "select", "formula", "rollup"},
    "kpi": {"relation", "rich_text", "select", "title", "formula", "rollup"},
    "updated": {"date", "last_edited_time", "created_time", "formula", "rollup", "rich_text"},
    "cycle": _TEXTUAL,
}
for _f in ("start", "target", "weight", "progress", "score", "value", "green", "red"):
    _READABLE[_f] = _NUMERIC


#: A database (or data source) id from an id or a Notion URL (the config checks it at load).
parse_id = parse_database_id


def compact(data_source: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of ``data_sources.retrieve`` syncd needs (JSON, kept in the state store)."""
    found = data_source.get("properties") if isinstance(data_source, Mapping) else None
    if not isinstance(found, Mapping) or not found or not all(isinstance(p, Mapping) for p in found.values()):
        # A data source always has at least its title property: anything else is not Notion's answer.
        raise SourceError(
            f"the answer describing the database is not shaped like Notion's (no properties: {str(data_source)[:80]!r}); "
            "nothing was synced; is base_url pointing at Notion?"
        )
    props: dict[str, Any] = {}
    for name, p in (data_source.get("properties") or {}).items():
        kind = p.get("type")
        conf = p.get(kind) or {}
        entry: dict[str, Any] = {"id": p.get("id"), "type": kind}
        if kind == "number" and conf.get("format"):
            entry["format"] = conf["format"]
        if kind in ("select", "status", "multi_select"):
            entry["options"] = [o.get("name") for o in conf.get("options") or ()]
        props[p.get("name") or name] = entry
    title = "".join(t.get("plain_text", "") for t in data_source.get("title") or ()) or data_source.get("id", "")
    return {"title": title, "props": props}


def _find(schema: Mapping[str, Any], key: str) -> tuple[str, Mapping[str, Any]] | None:
    """A property by name, then by id (raw or URL-decoded), then by name ignoring case."""
    props = schema["props"]
    if key in props:
        return key, props[key]
    for name, p in props.items():
        if p["id"] == key or unquote(p["id"]) == unquote(key):
            return name, p
    lowered = key.strip().lower()
    for name, p in props.items():
        if name.strip().lower() == lowered:
            return name, p
    return None


def resolve(
    schema: Mapping[str, Any],
    fields: Iterable[str],
    defaults: Mapping[str, str],
    explicit: Mapping[str, str],
    what: str,
) -> tuple[dict[str, Prop], list[str], list[str]]:
    """(field -> Prop, missing explicit mappings as sentences, notes).

    A default property that is absent is simply not used; a property the
    config names explicitly must exist (the message lists the ones that do).
    The title falls back to the database's title property, whatever its name.
    """
    out: dict[str, Prop] = {}
    missing: list[str] = []
    notes: list[str] = []
    names = ", ".join(repr(n) for n in schema["props"]) or "none"
    for name in fields:
        key = explicit.get(name) or (explicit.get("type") if name == "row_type" else None) or defaults.get(name)
        if not key:
            continue
        found = _find(schema, key)
        if found is None and name in ("title", "name"):
            found = next(((n, p) for n, p in schema["props"].items() if p["type"] == "title"), None)
        if found is None:
            if name in explicit:
                missing.append(f"properties.{name} = {key!r}: {what} has no such property; its properties are {names}")
            continue
        prop_name, p = found
        allowed = _READABLE.get(name, _TEXTUAL)
        if p["type"] not in allowed and not (name in WRITABLE and p["type"] in WRITABLE[name]):
            message = (f"property {prop_name!r} in {what} is a {p['type']} property, which syncd cannot read as "
                       f"{name}; use one of: {', '.join(sorted(allowed))}")  # fmt: skip
            (missing if name in explicit else notes).append(message)
            continue
        prop = Prop(name, prop_name, p["id"], p["type"], p.get("format"), tuple(p.get("options") or ()))
        if name in WRITABLE and not prop.writable and name in ("status", "progress", "score"):
            notes.append(
                f"{what}: {prop_name!r} is a {p['type']} property, so syncd reads {name} but does not write it"
            )
        out[name] = prop
    return out, missing, notes


def props_to_json(props: Mapping[str, Prop]) -> dict[str, Any]:
    return {k: [p.name, p.id, p.type, p.format, list(p.options)] for k, p in props.items()}


def props_from_json(data: Mapping[str, Any]) -> dict[str, Prop]:
    return {k: Prop(k, v[0], v[1], v[2], v[3], tuple(v[4])) for k, v in data.items()}
