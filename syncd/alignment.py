"""Alignment: each objective's ``parent``, resolved across every OKR source of the pass.

Pure, like the rest of evaluation. A parent is named by id first, then by title
(case and surrounding spaces ignored). What does not resolve, or resolves to
several objectives, is ``unknown_parent``; a chain of parents that comes back
to where it started is one ``alignment_loop``, and its objectives count as
having no parent; with ``[okr] company_sources`` set, an objective of any
other source without a parent is ``unaligned_objective``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence

from .model import Objective, ObjectiveResult, Warning

__all__ = ["align"]


def _named(o: Objective) -> str:
    return f"{o.title!r} ({o.source}, id {o.id})" if o.source else f"{o.title!r} (id {o.id})"


def _resolve(objectives: Sequence[Objective], warnings: list[Warning], judged: int) -> list[int | None]:
    """The index of each objective's parent (None: no parent or unresolved); warnings for the first ``judged``."""
    by_id: dict[str, int] = {}
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, o in enumerate(objectives):
        by_id.setdefault(o.id, i)
        by_id.setdefault(o.id.strip(), i)
        by_title[o.title.strip().casefold()].append(i)
    parent_of: list[int | None] = [None] * len(objectives)
    for i, o in enumerate(objectives):
        ref = (o.parent or "").strip()
        if not ref:
            continue
        j = by_id.get(o.parent or "", by_id.get(ref))
        if j is None:
            same = by_title.get(ref.casefold(), [])
            candidates = [k for k in same if k != i]
            if len(candidates) == 1:
                j = candidates[0]
            elif candidates and i < judged:
                listed = "; ".join(_named(objectives[k]) for k in candidates)
                warnings.append(Warning(code="unknown_parent", item=o.id, message=(
                    f"Objective {o.title!r} names parent {ref!r}, but {len(candidates)} objectives have that "
                    f"title: {listed}; name the parent by its id instead.")))  # fmt: skip
                continue
            elif candidates:
                continue
            elif same:
                j = i  # it names itself: a loop of one
            elif i < judged:
                warnings.append(Warning(code="unknown_parent", item=o.id, message=(
                    f"Objective {o.title!r} names parent {ref!r}, but no objective in any OKR source has that "
                    "id or title: check the spelling; until then it counts as having no parent.")))  # fmt: skip
                continue
        parent_of[i] = j
    return parent_of


def _loops(parent_of: list[int | None]) -> list[list[int]]:
    """Every cycle of the parent graph, each once, in the order its members are met."""
    state = [0] * len(parent_of)  # 0 not seen, 1 on the current walk, 2 done
    loops: list[list[int]] = []
    for start in range(len(parent_of)):
        path: list[int] = []
        node: int | None = start
        while node is not None and state[node] == 0:
            state[node] = 1
            path.append(node)
            node = parent_of[node]
        if node is not None and state[node] == 1:
            loops.append(path[path.index(node) :])
        for k in path:
            state[k] = 2
    return loops


def align(
    objectives: Sequence[Objective],
    results: Sequence[ObjectiveResult],
    *,
    company_sources: Collection[str] = (),
    context: Sequence[Objective] = (),
) -> list[Warning]:
    """Set ``parent`` and ``children`` on ``results`` (``results[i]`` is ``objectives[i]``'s); return the warnings.

    ``context``: objectives of sources not read in this pass (their last
    recorded outline): parents may name them, and they may name these as
    parents, but they get no results and no warnings.
    """
    warnings: list[Warning] = []
    if not company_sources and not any(o.parent for o in objectives) and not any(o.parent for o in context):
        return warnings  # nothing to resolve: the common case costs one scan
    judged = len(objectives)
    objectives = [*objectives, *context]
    parent_of = _resolve(objectives, warnings, judged)
    for loop in _loops(parent_of):
        members = sorted(loop)
        if members[0] >= judged:
            for k in loop:
                parent_of[k] = None
            continue  # wholly in other sources: their own passes report it
        chain = " -> ".join(repr(objectives[k].title) for k in [*loop, loop[0]])
        warnings.append(Warning(code="alignment_loop", item=objectives[members[0]].id, message=(
            f"Following parents from objective {objectives[loop[0]].title!r} comes back to it: {chain}; "
            f"these {len(loop)} objective(s) count as having no parent until one of them names a parent "
            "outside the loop.")))  # fmt: skip
        for k in loop:
            parent_of[k] = None
    for i, j in enumerate(parent_of):
        if j is not None:
            if i < judged:
                results[i].parent = objectives[j].id
            if j < judged:
                results[j].children.append(objectives[i].id)
    if company_sources:
        company = ", ".join(sorted(company_sources))
        for i, o in enumerate(objectives[:judged]):
            if parent_of[i] is None and o.source not in company_sources:
                warnings.append(Warning(code="unaligned_objective", item=o.id, message=(
                    f"Objective {o.title!r} ({o.source}) has no parent: team OKRs should ladder up to a company "
                    f"objective (sources {company}); name one in its Parent field.")))  # fmt: skip
    return warnings
