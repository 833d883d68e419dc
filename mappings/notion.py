"""Notion page properties to the model, and patches back to property values.

Reading happens in two steps so that a warm run can keep what it read before:
:func:`extract` turns one page of a query into a small JSON *record* (only the
mapped properties, as plain values), which the connector keeps in the state
store; :func:`build_okrs` / :func:`build_kpis` turn records into items. Values
are read the way people see them: a percent-formatted number 0.75 is 75, except
progress and score, which are fractions everywhere in syncd.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.diff import normalise_fraction, normalise_number, normalise_status
from syncd.fields import NOTION_KPI_NAMES as KPI_DEFAULTS
from syncd.fields import NOTION_OKR_NAMES as OKR_DEFAULTS
from syncd.model import KPI, ItemError, KeyResult, Objective
from syncd.parsing import parse_bool, parse_database_id, parse_date, parse_number, parse_threshold

__all__ = [
    "OKR_DEFAULTS", "KPI_DEFAULTS", "OBJECTIVE_READS", "KEY_RESULT_READS", "KPI_READS", "TEXT_LIMIT", "WRITABLE",
    "Prop", "RenderError", "parse_database_id", "plain", "extract", "build_okrs", "build_kpis", "render", "colour_of_label", "row_kind",
]  # fmt: skip

# --- property values: reading one as a plain value, writing one from a patch ---------------------

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


def _name(text: Any) -> Any:
    """An option or person name: one of a few, repeated on every page, so one copy of each."""
    return sys.intern(text) if type(text) is str else text


def _person(u: Mapping[str, Any]) -> str:
    return _name(u.get("name") or (u.get("person") or {}).get("email") or u.get("id") or "")


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
        return _name(inner.get("name")) if inner else None
    if kind == "multi_select":
        return [_name(o.get("name")) for o in inner or ()]
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


def extract(page: Mapping[str, Any], props: Iterable[Prop], known: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A page as a small record: ``{id, url, v: {field: plain value}, more: [fields]}``.

    Property values are found by id (a renamed property keeps its id); ``more``
    lists relation fields cut at 25 references, to be fetched in full. A related
    page's id found in ``known`` (pages read before) is that one copy of the string.
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
        if v.get("type") == "relation":
            if known:
                values[p.field] = [known.get(i, i) for i in values[p.field]]
            if v.get("has_more"):
                more.append(p.field)
    out = {"id": page["id"], "url": page.get("url") or "", "v": values}
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


# --- records to the model ---------------------------------------------------------------------


OBJECTIVE_READS = ("title", "owner", "cycle", "type", "parent", "score", "status")
KEY_RESULT_READS = ("title", "objective", "kind", "start", "target", "current", "unit", "kpi", "weight",
                    "owner", "cycle", "progress", "status")  # fmt: skip
KPI_READS = tuple(KPI_DEFAULTS)

#: Numbers read as people see them (a percent-formatted 0.75 is 75).
_SCALED = {"start", "target", "current", "value", "green", "red"}


# --- plain values -> model values ----------------------------------------------------------


def _one(raw: Any) -> Any:
    """A list with one element is that element (a rollup showing one value)."""
    if isinstance(raw, list):
        return raw[0] if len(raw) == 1 else raw
    return raw


def _number(raw: Any, prop: Prop | None, field_name: str) -> tuple[float | None, str | None]:
    raw = _one(raw)
    if isinstance(raw, list):
        if not raw:
            return None, "empty"
        return None, f"a rollup with {len(raw)} values; make it calculate one number (Sum, Average...)"
    if isinstance(raw, bool):
        return None, f"a checkbox ({'checked' if raw else 'unchecked'}), not a number"
    if field_name in FRACTIONS:
        parsed = normalise_fraction(raw)
        return (parsed, None) if parsed is not None else (None, parse_number(raw).reason)
    result = parse_number(raw)
    value = result.value
    if value is not None and prop is not None and prop.percent and field_name in _SCALED:
        value = round(value * 100, 9)
    return value, result.reason


def _str(raw: Any) -> str | None:
    raw = _one(raw)
    if raw is None:
        return None
    if isinstance(raw, list):
        text = ", ".join(str(x) for x in raw if x not in (None, ""))
    elif isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    else:
        text = str(raw)
    text = text.strip()
    return text or None


_KINDS = {
    "metric": "metric", "number": "metric", "numeric": "metric", "measure": "metric",
    "milestone": "milestone", "binary": "milestone", "boolean": "milestone", "yes/no": "milestone",
    "checklist": "checklist", "tasks": "checklist", "checkbox": "checklist",
}  # fmt: skip
_TYPES = {"aspirational": "aspirational", "stretch": "aspirational", "moonshot": "aspirational",
          "committed": "committed", "commit": "committed", "roofshot": "committed"}  # fmt: skip
_ROW_KR = {"key result", "key results", "key_result", "kr", "krs", "key-result"}
_ROW_OBJ = {"objective", "objectives", "goal", "o"}
_COLOURS = {"on track": "green", "done": "green", "at risk": "amber", "off track": "red",
            "green": "green", "amber": "amber", "red": "red"}  # fmt: skip


def colour_of_label(label: Any) -> str | None:
    """The colour of a status label as written (``On track`` is green)."""
    text = normalise_status(label)
    return _COLOURS.get(text.lower().removesuffix(" (stale)")) if isinstance(text, str) else None


#: How many distinct numbers one build shares (see :meth:`_Ctx.share`).
_SHARED_NUMBERS = 4096


@dataclass
class _Ctx:
    source: str
    props: Mapping[str, Prop]  # field -> prop, for one database
    problems: list[str] = field(default_factory=list)
    #: The page's URL (or id): every reason names the property and the page.
    page: str = ""
    #: One build's numbers (shared by every page's context).
    numbers: dict[float, float] = field(default_factory=dict)

    def share(self, value: Any) -> Any:
        """An equal number read before, if any: pages repeat a few (start 0, target 100, weight 1),
        and each float parsed is 24 bytes more per item. -0.0 stays itself."""
        if type(value) is not float or (value == 0 and math.copysign(1.0, value) < 0):
            return value
        if len(self.numbers) < _SHARED_NUMBERS:
            return self.numbers.setdefault(value, value)
        return self.numbers.get(value, value)

    def num(self, rec: Mapping[str, Any], name: str) -> float | None:
        if name not in rec["v"]:
            return None
        value, reason = _number(rec["v"][name], self.props.get(name), name)
        if value is None and reason not in (None, "empty"):
            self.problems.append(f"{self.label(name)}: {reason}")
        return self.share(value)

    def label(self, name: str) -> str:
        p = self.props.get(name)
        what = f"property {p.name!r}" if p else name
        return f"{what} of page {self.page}" if self.page else what


def _written(rec: Mapping[str, Any], ctx: _Ctx, fields: Iterable[str]) -> dict[str, Any]:
    """What the page holds now for each owned field it can be written to."""
    out: dict[str, Any] = {}
    for name in fields:
        p = ctx.props.get(name)
        if p is None or not p.writable:
            continue
        raw = _one(rec["v"].get(name))
        if name == "status":
            out[name] = normalise_status(raw)
        elif name in FRACTIONS:
            out[name] = normalise_fraction(raw)
        else:
            value = normalise_number(raw)
            if value is not None and p.percent:
                value = round(value * 100, 9)
            out[name] = ctx.share(value)
    return out


def row_kind(rec: Mapping[str, Any]) -> str:
    """In one database holding both: ``objective`` or ``key_result``, from ``Type`` (or the relation)."""
    text = (_str(rec["v"].get("row_type")) or "").lower()
    if text in _ROW_KR:
        return "key_result"
    if text in _ROW_OBJ or text in _TYPES:
        return "objective"
    return "key_result" if rec["v"].get("objective") else "objective"


def _objective(rec: Mapping[str, Any], ctx: _Ctx) -> Objective:
    v = rec["v"]
    raw_type = (_str(v.get("type")) or "").lower()
    okr_type = _TYPES.get(raw_type)
    if raw_type and okr_type is None and raw_type not in _ROW_OBJ:
        ctx.problems.append(f"{ctx.label('type')}: {raw_type!r} is not aspirational or committed; "
                            "the configured default type is used")  # fmt: skip
    parent = v.get("parent")
    return Objective(
        id=rec["id"], title=_str(v.get("title")) or "(untitled)", owner=_str(v.get("owner")),
        cycle=_str(v.get("cycle")), type=okr_type,  # type: ignore[arg-type]
        parent=(parent[0] if isinstance(parent, list) and parent else _str(parent)),
        source=ctx.source, where=rec.get("url") or rec["id"], ref=rec["ref"],
        written=_written(rec, ctx, ("score", "status")), problems=ctx.problems,
    )  # fmt: skip


def _key_result(rec: Mapping[str, Any], ctx: _Ctx, objective: str) -> KeyResult:
    v = rec["v"]
    raw_kind = (_str(v.get("kind")) or "").lower()
    current_raw = _one(v.get("current"))
    if raw_kind:
        kind = _KINDS.get(raw_kind)
        if kind is None:
            ctx.problems.append(f"{ctx.label('kind')}: {raw_kind!r} is not metric, milestone or checklist; "
                                "read as metric")  # fmt: skip
            kind = "metric"
    else:
        kind = "milestone" if isinstance(current_raw, bool) else "metric"
    done: bool | None = None
    checklist: tuple[int, int] | None = None
    current: float | None = None
    reason: str | None = None
    if kind == "milestone":
        done = False if current_raw in (None, "") else parse_bool(current_raw)
        if done is None:
            ctx.problems.append(f"{ctx.label('current')}: {current_raw!r} is neither done nor not done")
    elif kind == "checklist" and isinstance(current_raw, list) and all(isinstance(x, bool) for x in current_raw):
        checklist = (sum(current_raw), len(current_raw))
    else:
        if "current" in v:
            current, reason = _number(v["current"], ctx.props.get("current"), "current")
            current = ctx.share(current)
            if current is None and reason:
                reason = f"{ctx.label('current')}: {reason}"
        if kind == "checklist":
            total = ctx.num(rec, "target")
            if current is not None and total is not None:
                checklist = (int(current), int(total))
    weight = ctx.num(rec, "weight") if v.get("weight") not in (None, "", []) else None
    kpi = v.get("kpi")
    return KeyResult(
        id=rec["id"], title=_str(v.get("title")) or "(untitled)", objective=objective, kind=kind,  # type: ignore[arg-type]
        start=ctx.num(rec, "start"), target=ctx.num(rec, "target") if kind != "checklist" else None,
        current=current, current_reason=reason, done=done, checklist=checklist, unit=_str(v.get("unit")),
        kpi=(kpi[0] if isinstance(kpi, list) and kpi else _str(kpi)), weight=1.0 if weight is None else weight,
        owner=_str(v.get("owner")), cycle=_str(v.get("cycle")), source=ctx.source,
        where=rec.get("url") or rec["id"], ref=rec["ref"],
        written=_written(rec, ctx, ("progress", "status", "current")), problems=ctx.problems,
    )  # fmt: skip


def build_okrs(
    objectives: Iterable[Mapping[str, Any]],
    key_results: Iterable[Mapping[str, Any]],
    obj_props: Mapping[str, Prop],
    kr_props: Mapping[str, Prop],
    source: str,
) -> tuple[list[Objective], list[ItemError]]:
    """Objectives with their key results attached through the ``Objective`` relation.

    Records carry ``ref`` (the connector's write handle). A key result whose
    objective is not among the objectives is an error for that item only.
    """
    objs: dict[str, Objective] = {}
    by_title: dict[str, str] = {}
    numbers: dict[float, float] = {}
    for rec in objectives:
        o = _objective(rec, _Ctx(source, obj_props, [], rec.get("url") or rec["id"], numbers))
        objs[o.id] = o
        by_title.setdefault(o.title.strip().lower(), o.id)
    errors: list[ItemError] = []
    for rec in key_results:
        link = rec["v"].get("objective")
        target = None
        if isinstance(link, list):
            target = next((i for i in link if i in objs), None)
        elif link:
            target = by_title.get(str(link).strip().lower())
        title = _str(rec["v"].get("title")) or "(untitled)"
        if target is None:
            if link:
                what = f"links to {link if isinstance(link, str) else ', '.join(link)!s}, which is not an objective syncd read"
                hint = "(is that objective in the trash, or in another database?)"
            else:
                prop = kr_props.get("objective")
                what = f"has no objective: set its {repr(prop.name) if prop else 'Objective'} relation"
                hint = "" if prop else "(map properties.objective to the relation property)"
            errors.append(
                ItemError(
                    source, rec["id"], f"key result {title!r} ({rec.get('url') or rec['id']}) {what} {hint}".strip()
                )
            )
            continue
        objective = objs[target]
        objective.key_results.append(
            _key_result(rec, _Ctx(source, kr_props, [], rec.get("url") or rec["id"], numbers), objective.id)
        )
    return list(objs.values()), errors


_DIRECTIONS = {"higher": "higher", "up": "higher", "higher is better": "higher", "increase": "higher",
               "lower": "lower", "down": "lower", "lower is better": "lower", "decrease": "lower",
               "range": "range", "band": "range", "between": "range"}  # fmt: skip
_CADENCES = {"daily", "weekly", "monthly", "quarterly"}


def build_kpis(records: Iterable[Mapping[str, Any]], props: Mapping[str, Prop], source: str) -> list[KPI]:
    out: list[KPI] = []
    numbers: dict[float, float] = {}
    for rec in records:
        ctx = _Ctx(source, props, [], rec.get("url") or rec["id"], numbers)
        v = rec["v"]
        value, reason = (
            _number(v["value"], props.get("value"), "value") if "value" in v else (None, "no Value property")
        )
        reason = f"{ctx.label('value')}: {reason}" if value is None else None
        thresholds: dict[str, Any] = {}
        threshold_reason = None
        for name in ("green", "red"):
            raw = _one(v.get(name))
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                p = props.get(name)
                thresholds[name] = round(raw * 100, 9) if p and p.percent else float(raw)
            else:
                parsed, why = parse_threshold(raw)
                thresholds[name] = parsed
                if parsed is None and threshold_reason is None:
                    threshold_reason = f"{ctx.label(name)}: {why}"
        direction = _DIRECTIONS.get((_str(v.get("direction")) or "").lower())
        cadence = (_str(v.get("cadence")) or "").lower()
        updated = parse_date((_str(v.get("updated")) or "").split("..")[0])
        out.append(KPI(
            id=rec["id"], name=_str(v.get("name")) or "(untitled)", value=value,
            value_reason=reason, unit=_str(v.get("unit")), direction=direction,  # type: ignore[arg-type]
            green=thresholds["green"], red=thresholds["red"], threshold_reason=threshold_reason,
            owner=_str(v.get("owner")), cadence=cadence if cadence in _CADENCES else None,  # type: ignore[arg-type]
            updated=updated, source=source, where=rec.get("url") or rec["id"], ref=rec["ref"],
            written=_written(rec, ctx, ("status",)), problems=ctx.problems,
        ))  # fmt: skip
    return out
