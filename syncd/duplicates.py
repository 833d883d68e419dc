"""``duplicate_id``: two items of one source that syncd cannot tell apart.

Two rows with one ID (or, without an ID column, one KPI name) share their
history and their writes: the warning says which items, and where each is.
"""

from __future__ import annotations

from collections import defaultdict

from .model import ReadResult, Warning

__all__ = ["duplicate_warnings"]


def duplicate_warnings(result: ReadResult) -> list[Warning]:
    """One warning per id (or KPI name) held by more than one item of the source."""
    keys: list[tuple[str, str]] = []
    for k in result.kpis:
        keys.append(("KPI id", k.id))
        keys.append(("KPI name", k.name.strip()))
    for o in result.objectives:
        keys.append(("objective id", o.id))
        keys.extend(("key result id", kr.id) for kr in o.key_results)
    seen: set[tuple[str, str]] = set()
    twice = {key for key in keys if key in seen or seen.add(key)}  # type: ignore[func-returns-value]
    if not twice:
        return []  # the common case: one pass over the ids, nothing else
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    names: dict[str, set[str]] = defaultdict(set)
    for k in result.kpis:
        for key in (("KPI id", k.id), ("KPI name", k.name.strip())):
            if key in twice:
                groups[key].append(k.where)
        if ("KPI name", k.name.strip()) in twice:
            names[k.name.strip()].add(k.id)
    for o in result.objectives:
        if ("objective id", o.id) in twice:
            groups[("objective id", o.id)].append(o.where)
        for kr in o.key_results:
            if ("key result id", kr.id) in twice:
                groups[("key result id", kr.id)].append(kr.where)
    out: list[Warning] = []
    for (what, ident), places in groups.items():
        if what == "KPI name" and len(names[ident]) == 1:
            continue  # the same item: already warned about as one id
        shown = ", ".join(p or "?" for p in places[:5]) + (f" and {len(places) - 5} more" if len(places) > 5 else "")
        out.append(
            Warning(
                code="duplicate_id",
                item=ident,
                message=f"{len(places)} items share the {what} {ident!r} ({shown}): syncd cannot tell them apart "
                "and their history and writes mix; give each its own",
            )
        )
    return out
