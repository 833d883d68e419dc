"""Notion property values: reading one as a plain value, writing one from a patch.

Kept apart from the model-building in :mod:`syncd.mappings.notion` because both the
connector (records, writes) and the mapping use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["TEXT_LIMIT", "FRACTIONS", "WRITABLE", "Prop", "RenderError", "plain", "extract", "render"]

#: Notion's limit on one rich text element.
TEXT_LIMIT = 2000
#: Fields holding a fraction 0..1 in every source (a percent format shows 0.42 as 42%).
FRACTIONS = frozenset({"progress", "score"})
#: Which property types syncd can write each owned field to.
WRITABLE = {
    "status": {"select", "status", "rich_text"},
    "progress": {"number", "rich_text"},
    "score": {"number", "rich_text"},
    "current": {"number", "rich_text"},
}


@dataclass(frozen=True)
class Prop:
    """A mapped property as the data source's schema describes it."""

    field: str
    name: str
    id: str
    type: str
    format: str | None = None  # number format ("percent"...)
    options: tuple[str, ...] = ()  # select/status option names

    @property
    def percent(self) -> bool:
        return self.type == "number" and self.format == "percent"

    @property
    def writable(self) -> bool:
        return self.type in WRITABLE.get(self.field, set())


class RenderError(Exception):
    """A value cannot be written to a property (an unknown status option)."""


# --- page property value -> plain JSON value -----------------------------------------------


def _text(parts: Iterable[Mapping[str, Any]] | None) -> str:
    return "".join(p.get("plain_text") or (p.get("text") or {}).get("content") or "" for p in parts or ())


def _date(d: Mapping[str, Any] | None) -> str | None:
    if not d or not d.get("start"):
        return None
    return f"{d['start']}..{d['end']}" if d.get("end") else d["start"]


def _person(u: Mapping[str, Any]) -> str:
    return u.get("name") or (u.get("person") or {}).get("email") or u.get("id") or ""


def plain(value: Mapping[str, Any] | None) -> Any:
    """One property value as a plain JSON value (what a person sees in the cell).

    number → float|None, text types → str, select/status → name, checkbox → bool,
    date → ``start`` or ``start..end``, people → names, relation → page ids,
    formula/rollup → their inner value (a rollup array gives a list).
    """
    if not value:
        return None
    kind = value.get("type")
    inner = value.get(kind) if kind else None
    if kind in ("title", "rich_text"):
        return _text(inner)
    if kind in ("number", "checkbox", "url", "email", "phone_number", "string", "boolean"):
        return inner
    if kind in ("select", "status"):
        return inner.get("name") if inner else None
    if kind == "multi_select":
        return [o.get("name") for o in inner or ()]
    if kind == "date":
        return _date(inner)
    if kind == "people":
        return [_person(u) for u in inner or ()]
    if kind in ("created_by", "last_edited_by"):
        return _person(inner or {})
    if kind in ("created_time", "last_edited_time"):
        return inner
    if kind == "relation":
        return [r.get("id") for r in inner or ()]
    if kind == "unique_id":
        return (
            f"{inner.get('prefix')}-{inner.get('number')}"
            if inner and inner.get("prefix")
            else (inner or {}).get("number")
        )
    if kind in ("formula", "rollup"):
        if not inner:
            return None
        sub = inner.get("type")
        if sub == "array":
            return [plain(x) for x in inner.get("array") or ()]
        if sub == "date":
            return _date(inner.get("date"))
        return inner.get(sub)
    return None


def extract(page: Mapping[str, Any], props: Iterable[Prop]) -> dict[str, Any]:
    """A page as a small record: ``{id, url, edited, v: {field: plain value}, more: [fields]}``.

    Property values are found by id (a renamed property keeps its id); ``more``
    lists relation fields cut at 25 references, to be fetched in full.
    """
    by_id = {v.get("id"): v for v in (page.get("properties") or {}).values() if isinstance(v, dict)}
    values: dict[str, Any] = {}
    more: list[str] = []
    for p in props:
        v = by_id.get(p.id)
        if v is None:
            v = (page.get("properties") or {}).get(p.name)
        if v is None:
            continue
        values[p.field] = plain(v)
        if v.get("type") == "relation" and v.get("has_more"):
            more.append(p.field)
    out = {"id": page["id"], "url": page.get("url") or "", "edited": page.get("last_edited_time"), "v": values}
    if more:
        out["more"] = more
    return out


# --- patches -> property values ------------------------------------------------------------


def _rich(text: str) -> list[dict[str, Any]]:
    text = text[:TEXT_LIMIT]
    return [{"type": "text", "text": {"content": text}}] if text else []


def render(prop: Prop, value: Any) -> dict[str, Any]:
    """The ``pages.update`` value that sets ``prop`` to ``value`` (normalised, as in a Patch).

    Progress and score go to numbers as fractions (a percent format shows 0.42
    as 42%); other numbers on a percent format are divided by 100. A status
    property must already have the option (the API cannot create one): else
    :class:`RenderError` lists the options there are. A select gains the option.
    """
    if prop.type == "number":
        if value is None:
            return {"number": None}
        number = float(value)
        if prop.percent and prop.field not in FRACTIONS:
            number = round(number / 100, 12)
        return {"number": number}
    if prop.type in ("select", "status"):
        if value is None:
            return {prop.type: None}
        name = str(value)
        existing = {o.lower(): o for o in prop.options}
        if name.lower() in existing:
            name = existing[name.lower()]
        elif prop.type == "status":
            have = ", ".join(repr(o) for o in prop.options) or "none"
            raise RenderError(
                f"the status property {prop.name!r} has no option {name!r} and the Notion API cannot add one: "
                f"add it in Notion (its options are {have}), or map status to a select property"
            )
        return {prop.type: {"name": name[:100]}}
    if prop.type == "rich_text":
        if value is None:
            return {"rich_text": []}
        if prop.field in FRACTIONS and isinstance(value, (int, float)):
            text = f"{round(value * 100, 1):g}%"
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = str(value)
        return {"rich_text": _rich(text)}
    raise RenderError(f"property {prop.name!r} is a {prop.type} property, which syncd cannot write")
