"""A Trello board to and from the model.

The convention (every name configurable with ``fields``, matched
case-insensitively): an open list is an objective; a card labelled
``Objective`` in it is the objective's own card (status label, ``Score``,
``Cycle``); every other open card is a key result whose numbers come from the
custom fields ``Start``, ``Target``, ``Current``, ``KPI`` and ``Weight``.
syncd writes ``Progress`` (and ``Current`` for key results that follow a KPI)
and one status label per card, and owns only the status labels it names.

Nothing here does I/O: the connector fetches the board JSON and sends what
:func:`plan_card` returns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from syncd.diff import OKR_STATUS_LABELS, AnyOf, normalise_status
from syncd.fields import TRELLO_NAMES as DEFAULT_NAMES
from syncd.model import ItemError, KeyResult, Objective, Patch
from syncd.parsing import parse_number, parse_percent_fraction

__all__ = [
    "DEFAULT_NAMES",
    "STATUS_KEYS",
    "STATUS_COLOURS",
    "Names",
    "Board",
    "CardPlan",
    "index_board",
    "build_objectives",
    "plan_card",
    "render_number",
    "norm",
]

#: Statuses that have a label; the others (Not started, No data, Invalid) have
#: none: syncd removes its own status labels from such a card and adds nothing.
STATUS_KEYS = ("on_track", "at_risk", "off_track", "done")
STATUS_COLOURS = {"on_track": "green", "at_risk": "yellow", "off_track": "red", "done": "green"}
#: Custom fields syncd writes.
OUTPUT_FIELDS = ("progress", "current", "score")
_FRACTIONS = ("progress", "score")
_WRITABLE_TYPES = ("number", "text")


def norm(name: str) -> str:
    """How names are compared: case and runs of spaces do not matter."""
    return " ".join(str(name).split()).casefold()


@dataclass(frozen=True)
class Names:
    """The configured names, checked once."""

    names: Mapping[str, str]
    #: 1: progress and score are fractions (0.4); 100: percent numbers (40).
    scale: int = 1

    @classmethod
    def from_config(cls, fields: Mapping[str, str], scale: int = 1) -> Names:
        unknown = sorted(set(fields) - set(DEFAULT_NAMES))
        if unknown:
            raise ValueError(f"fields.{unknown[0]}: unknown model field; use one of {', '.join(DEFAULT_NAMES)}")
        empty = [k for k, v in fields.items() if not str(v).strip()]
        if empty:
            raise ValueError(f"fields.{empty[0]}: empty name; give the custom field or label name")
        return cls({**DEFAULT_NAMES, **fields}, scale)

    def __getitem__(self, key: str) -> str:
        return self.names[key]


@dataclass
class Board:
    """One board read, indexed for mapping and writing."""

    id: str
    name: str
    url: str
    lists: list[dict[str, Any]]
    cards: list[dict[str, Any]]
    labels: dict[str, list[dict[str, Any]]]  # norm(name) -> labels
    fields: dict[str, dict[str, Any]]  # norm(name) -> definition
    checklists: dict[str, list[dict[str, Any]]]  # card id -> checklists
    options: dict[str, str] = field(default_factory=dict)  # list option id -> text
    cards_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)

    def label_ids(self, name: str) -> list[str]:
        return [lb["id"] for lb in self.labels.get(norm(name), []) if lb.get("id")]

    def field(self, name: str) -> dict[str, Any] | None:
        return self.fields.get(norm(name))

    def add_label(self, label: dict[str, Any]) -> None:
        self.labels.setdefault(norm(label.get("name") or ""), []).append(label)

    def add_field(self, definition: dict[str, Any]) -> None:
        self.fields.setdefault(norm(definition.get("name") or ""), definition)

    def where_card(self, card: Mapping[str, Any]) -> str:
        link = card.get("shortUrl") or (f"https://trello.com/c/{card['shortLink']}" if card.get("shortLink") else "")
        return f'card "{card.get("name", "")}" on board "{self.name}"' + (f" ({link})" if link else "")

    def where_list(self, lst: Mapping[str, Any]) -> str:
        return f'list "{lst.get("name", "")}" on board "{self.name}"' + (f" ({self.url})" if self.url else "")


def index_board(raw: Mapping[str, Any], more_cards: Iterable[Mapping[str, Any]] = ()) -> Board:
    """Index ``GET /1/boards/{id}`` (plus cards paged past the 1,000 cap).

    Archived lists and cards are dropped here whatever the server sent.
    """
    lists = sorted((dict(x) for x in raw.get("lists") or [] if not x.get("closed")), key=lambda x: x.get("pos", 0))
    open_lists = {x["id"] for x in lists}
    cards_by_id: dict[str, dict[str, Any]] = {}
    for card in [*(raw.get("cards") or []), *more_cards]:
        if card.get("id") and not card.get("closed") and card.get("idList") in open_lists:
            cards_by_id.setdefault(card["id"], dict(card))
    rank = {lid: i for i, lid in enumerate(x["id"] for x in lists)}
    cards = sorted(cards_by_id.values(), key=lambda c: (rank[c["idList"]], c.get("pos", 0)))
    labels: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for lb in raw.get("labels") or []:
        labels[norm(lb.get("name") or "")].append(dict(lb))
    fields: dict[str, dict[str, Any]] = {}
    options: dict[str, str] = {}
    for cf in raw.get("customFields") or []:
        fields.setdefault(norm(cf.get("name") or ""), dict(cf))
        for opt in cf.get("options") or []:
            options[opt.get("id") or opt.get("_id")] = (opt.get("value") or {}).get("text", "")
    checklists: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[str] = set()
    nested = [cl for c in cards for cl in c.get("checklists") or []]
    for cl in [*(raw.get("checklists") or []), *nested]:
        if cl.get("id") in seen:
            continue
        seen.add(cl.get("id"))
        checklists[cl.get("idCard", "")].append(cl)
    url = raw.get("shortUrl") or raw.get("url") or ""
    return Board(raw.get("id", ""), raw.get("name", ""), url, lists, cards, dict(labels), fields,
                 dict(checklists), options, cards_by_id)  # fmt: skip


# --- reading -----------------------------------------------------------------------------


def _raw_value(item: Mapping[str, Any], board: Board) -> Any:
    """What a custom field item holds, as the user sees it."""
    if item.get("idValue"):
        return board.options.get(item["idValue"], "")
    value = item.get("value") or {}
    for kind in ("number", "text", "date", "checked"):
        if kind in value:
            return value[kind]
    return None


def _items(card: Mapping[str, Any], board: Board, names: Names) -> dict[str, Any]:
    """model field -> raw value of the card's custom field items (only those set)."""
    by_id = {cf["id"]: key for key in DEFAULT_NAMES if (cf := board.field(names[key]))}
    out: dict[str, Any] = {}
    for item in card.get("customFieldItems") or []:
        key = by_id.get(item.get("idCustomField"))
        if key is not None:
            out[key] = _raw_value(item, board)
    return out


def _number(raw: Any, key: str, names: Names, problems: list[str]) -> float | None:
    if raw is None or raw == "":
        return None
    parsed = parse_number(raw)
    if parsed.value is None:
        problems.append(f"custom field {names[key]} holds {raw!r}: {parsed.reason}")
    return parsed.value


def _fraction(raw: Any, names: Names) -> float | None:
    """A written Progress/Score, in 0..1 whatever the board's scale."""
    if raw is None or raw == "":
        return None
    value = parse_percent_fraction(raw).value
    if value is None or (isinstance(raw, str) and "%" in raw):
        return value
    return value / names.scale


#: Statuses without a label: a card with none of syncd's labels already shows them.
_UNLABELLED = AnyOf({"Not started", "No data", "Invalid"})


def _status_of(card: Mapping[str, Any], owned: Mapping[str, str]) -> str | AnyOf:
    """The status the card's labels show, among the labels syncd owns."""
    shown = sorted({owned[i] for i in card.get("idLabels") or [] if i in owned})
    if not shown:
        return _UNLABELLED
    # Two status labels never equal a desired status, so the next write cleans up.
    return normalise_status(shown[0]) if len(shown) == 1 else ", ".join(shown)  # type: ignore[return-value]


def owned_labels(board: Board, names: Names) -> dict[str, str]:
    """label id -> the status label text it stands for (``On track``)."""
    return {lid: OKR_STATUS_LABELS[key] for key in STATUS_KEYS for lid in board.label_ids(names[key])}


def _written(values: Mapping[str, Any], writable: Mapping[str, bool], card: Mapping[str, Any],
             owned: Mapping[str, str], names: Names, fields: Iterable[str]) -> dict[str, Any]:  # fmt: skip
    written: dict[str, Any] = {}
    if writable.get("status"):
        written["status"] = _status_of(card, owned)
    for key in fields:
        if writable.get(key):
            raw = values.get(key)
            written[key] = _fraction(raw, names) if key in _FRACTIONS else parse_number(raw).value
    return written


def build_objectives(
    board: Board, names: Names, *, source: str, cycle: str | None, writable: Mapping[str, bool]
) -> tuple[list[Objective], list[ItemError]]:
    """Objectives (open lists) with their key results (open cards).

    ``writable`` says which owned fields exist on the board (or will be
    created): ``status``, ``progress``, ``current``, ``score``.
    """
    owned = owned_labels(board, names)
    objective_labels = set(board.label_ids(names["objective"]))
    by_list: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for card in board.cards:
        by_list[card["idList"]].append(card)
    objectives: list[Objective] = []
    errors: list[ItemError] = []
    for lst in board.lists:
        cards = by_list.get(lst["id"], [])
        heads = [c for c in cards if objective_labels & set(c.get("idLabels") or [])]
        head = heads[0] if heads else None
        head_ids = {c["id"] for c in heads}
        problems: list[str] = []
        if len(heads) > 1:
            problems.append(
                f"{board.where_list(lst)}: {len(heads)} cards carry the label {names['objective']}; "
                f"using {head['name']!r} (remove the label from the others)"  # type: ignore[index]
            )
        objective = Objective(id=lst["id"], title=lst.get("name", ""), source=source, where=board.where_list(lst),
                              cycle=cycle, problems=problems)  # fmt: skip
        if head is not None:
            values = _items(head, board, names)
            if values.get("cycle"):
                objective.cycle = str(values["cycle"]).strip() or cycle
            objective.parent = str(values.get("parent") or "").strip() or None
            kind = str(values.get("type") or "").strip().lower()
            if kind in ("aspirational", "committed"):
                objective.type = kind  # type: ignore[assignment]
            elif kind:
                # On the objective's own list: the model copied ``problems`` when it was built.
                objective.problems.append(
                    f"{board.where_card(head)}: custom field {names['type']} holds {kind!r}; "
                    "use aspirational or committed (the configured default is used)"
                )
            objective.ref = head["id"]
            objective.written = _written(values, writable, head, owned, names, ["score"])
        for card in cards:
            if card["id"] in head_ids:
                continue
            objective.key_results.append(_key_result(card, board, names, lst, source, writable, owned))
        objectives.append(objective)
    return objectives, errors


def _key_result(card: dict[str, Any], board: Board, names: Names, lst: Mapping[str, Any], source: str,
                writable: Mapping[str, bool], owned: Mapping[str, str]) -> KeyResult:  # fmt: skip
    values = _items(card, board, names)
    problems: list[str] = []
    start = _number(values.get("start"), "start", names, problems)
    target = _number(values.get("target"), "target", names, problems)
    current = _number(values.get("current"), "current", names, problems)
    kpi = str(values.get("kpi") or "").strip() or None
    weight = _number(values.get("weight"), "weight", names, problems)
    if weight is not None and weight < 0:
        problems.append(f"custom field {names['weight']} is {weight:g}; a weight cannot be negative, 1 is used")
        weight = None
    where = board.where_card(card)
    problems = [f"{where}: {p}" for p in problems]  # every reason names the card
    kr = KeyResult(id=card["id"], title=card.get("name", ""), objective=lst["id"], source=source,
                   where=where, ref=card["id"], kpi=kpi,
                   weight=1.0 if weight is None else weight, problems=problems,
                   unit=str(values.get("unit") or "").strip() or None)  # fmt: skip
    has_numbers = any(values.get(k) not in (None, "") for k in ("start", "target", "current")) or kpi
    items = [i for cl in board.checklists.get(card["id"], []) for i in cl.get("checkItems") or []]
    if has_numbers:
        kr.kind, kr.start, kr.target, kr.current = "metric", start, target, current
        if current is None and kpi is None and values.get("current") in (None, ""):
            kr.current_reason = f"{where}: custom field {names['current']} is empty"
    elif items:
        kr.kind = "checklist"
        kr.checklist = (sum(1 for i in items if i.get("state") == "complete"), len(items))
    elif card.get("dueComplete") or card.get("due"):
        kr.kind, kr.done = "milestone", bool(card.get("dueComplete"))
    else:
        kr.kind = "metric"
        kr.current_reason = (
            f"{where}: the card has no {names['start']}/{names['target']}/{names['current']} numbers, "
            "no checklist and no due date"
        )
    fields = ["progress"] + (["current"] if kpi else [])
    kr.written = _written(values, writable, card, owned, names, fields)
    return kr


# --- writing -----------------------------------------------------------------------------


@dataclass
class CardPlan:
    """What one card needs: one custom-field call and one call per label change."""

    card: str
    items: list[dict[str, Any]] = field(default_factory=list)
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    #: (item id, message) for patches that cannot be rendered.
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: The patches behind each part, for error reports.
    items_for: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.items or self.add or self.remove)


def render_number(value: float) -> str:
    """How Trello stores a number: a plain decimal string (``"0.4"``, ``"40"``)."""
    text = format(Decimal(repr(round(float(value), 9))).normalize(), "f")
    return "0" if text in ("-0", "") else text


def _render_field(definition: Mapping[str, Any], key: str, value: float, names: Names) -> dict[str, Any]:
    if key in _FRACTIONS:
        if definition.get("type") == "text":
            return {"text": f"{render_number(round(value * 100, 1))}%"}
        value = round(value * names.scale, 3 if names.scale == 1 else 1)
    kind = "text" if definition.get("type") == "text" else "number"
    return {kind: render_number(value)}


def plan_card(card: Mapping[str, Any], patches: Iterable[Patch], board: Board, names: Names) -> CardPlan:
    """Turn one card's patches into custom field items and label changes."""
    plan = CardPlan(card=card["id"])
    owned = owned_labels(board, names)
    on_card = list(card.get("idLabels") or [])
    for p in patches:
        if p.field == "status":
            key = {v: k for k, v in OKR_STATUS_LABELS.items()}.get(normalise_status(p.new) or "")
            wanted: str | None = None
            if key in STATUS_KEYS:
                ids = board.label_ids(names[key])
                if not ids:
                    plan.errors.append((p.item, f'label "{names[key]}" is missing on board "{board.name}"; '
                                                "create it or set create_missing = true"))  # fmt: skip
                    continue
                wanted = next((i for i in ids if i in on_card), ids[0])
                if wanted not in on_card:
                    plan.add.append(wanted)
            plan.remove.extend(i for i in on_card if i in owned and i != wanted)
            plan.items_for.append(p.item)
        elif p.field in OUTPUT_FIELDS:
            definition = board.field(names[p.field])
            if definition is None or not definition.get("id"):
                plan.errors.append((p.item, f'custom field "{names[p.field]}" is missing on board "{board.name}"; '
                                            "create it or set create_missing = true"))  # fmt: skip
                continue
            if p.new is None:
                continue  # syncd never clears a value
            plan.items.append(
                {"idCustomField": definition["id"], "value": _render_field(definition, p.field, float(p.new), names)}
            )
            plan.items_for.append(p.item)
        else:
            plan.errors.append((p.item, f"{p.field} is not a field syncd writes on Trello cards"))
    return plan


def apply_plan(card: dict[str, Any], plan: CardPlan) -> None:
    """Update the card as read so that a second write in one pass sees it."""
    items = {i.get("idCustomField"): i for i in card.get("customFieldItems") or []}
    for item in plan.items:
        items[item["idCustomField"]] = {**items.get(item["idCustomField"], {}), **item}
    card["customFieldItems"] = list(items.values())
    labels = [i for i in card.get("idLabels") or [] if i not in plan.remove]
    card["idLabels"] = labels + [i for i in plan.add if i not in labels]


def field_problem(definition: Mapping[str, Any] | None) -> str | None:
    """Why syncd cannot write this custom field (None: it can)."""
    if definition is None:
        return "missing"
    if definition.get("type") not in _WRITABLE_TYPES:
        return f"a {definition.get('type')} field; syncd writes a number (or text) field"
    return None
