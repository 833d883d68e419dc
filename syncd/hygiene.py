"""Hygiene warnings: the failure signs the OKR literature names.

Too many objectives, key results that measure activity instead of outcome,
health measures dressed up as OKRs, goals that were too easy or plans that were
too weak. None of these changes a status: each is a :class:`Warning` with the
item's id and a sentence saying what is wrong and what to do.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .cycles import Cycle
from .model import KeyResult, Objective, ObjectiveResult, Warning

if TYPE_CHECKING:
    from .settings import EvalSettings

__all__ = ["hygiene_warnings", "ACTIVITY_WORDS", "KPI_WORDS"]

ACTIVITY_WORDS = ("launch", "implement", "create", "build", "complete", "release", "ship")
KPI_WORDS = ("maintain", "keep", "sustain", "stay")
#: Four weeks: long enough into a cycle for "all done" or "all off track" to mean something.
SETTLED = timedelta(days=28)

_ACTIVITY = re.compile(rf"^\W*({'|'.join(ACTIVITY_WORDS)})\b", re.IGNORECASE)
_KPI_LIKE = re.compile(rf"^\W*({'|'.join(KPI_WORDS)})\b", re.IGNORECASE)


def _w(code: str, item: str, message: str) -> Warning:
    return Warning(code=code, item=item, message=message)


def _too_many_objectives(
    objectives: Sequence[Objective], settings: EvalSettings, context: Sequence[Objective] = ()
) -> list[Warning]:
    """One warning per owner and cycle over the limit, on the first objective past it.

    Counted over every OKR source: with ``context`` (the sources this pass did not read), in the
    config's order of sources, so a one-source pass warns as a whole pass does.
    """
    if context:
        order = {name: i for i, name in enumerate(settings.okr_sources)}
        objectives = sorted([*objectives, *context], key=lambda o: order.get(o.source, len(order)))
    groups: dict[tuple[str, str], list[Objective]] = defaultdict(list)
    keys: dict[str | None, str] = {}  # cycle text -> the cycle it names (a handful per pass)
    for o in objectives:
        key_cycle = keys.get(o.cycle)
        if key_cycle is None:
            cycle = settings.cycle(o.cycle)
            key_cycle = keys[o.cycle] = cycle.label if isinstance(cycle, Cycle) else (o.cycle or "").strip().casefold()
        groups[((o.owner or "").strip().casefold(), key_cycle)].append(o)
    out = []
    for (_, key_cycle), group in groups.items():
        if len(group) <= settings.max_objectives:
            continue
        first = group[0]
        who = f"{first.owner.strip()} has" if first.owner and first.owner.strip() else "objectives without an owner:"
        cycle = settings.cycle(first.cycle)
        name = cycle.label if isinstance(cycle, Cycle) else (first.cycle or "").strip()
        when = f"in {name}" if key_cycle else "without a cycle"
        extra = group[settings.max_objectives]
        out.append(_w("too_many_objectives", extra.id, (
            f"{who} {len(group)} objectives {when} (from {first.title!r} to {group[-1].title!r}); "
            f"more than {settings.max_objectives} spreads the team too thin: "
            "keep the 3 to 5 that matter most.")))  # fmt: skip
    return out


def _key_result_warnings(obj: Objective, kr: KeyResult, out: list[Warning]) -> None:
    if kr.kind == "milestone" and _ACTIVITY.match(kr.title):
        out.append(_w("activity_key_result", kr.id, (
            f"Key result {kr.title!r} measures an activity, not an outcome: say what changes "
            "when it is done (a number that moves), and keep the task in the plan.")))  # fmt: skip
    if _KPI_LIKE.match(kr.title):
        out.append(_w("kpi_as_okr", kr.id, (
            f"Key result {kr.title!r} keeps something as it is: a health measure belongs with the KPIs; "
            "a key result should measure a change.")))  # fmt: skip
    if kr.kind == "metric" and (kr.start is None or kr.target is None):
        missing = " and ".join(n for n, v in (("start", kr.start), ("target", kr.target)) if v is None)
        out.append(_w("unmeasurable", kr.id, (
            f"Key result {kr.title!r} of objective {obj.title!r} has no {missing} value, so its progress "
            "cannot be measured: give it a start and a target.")))  # fmt: skip


class _Settled:
    """For each cycle text: the cycle, if ``now`` is four weeks or more into it, and whether it has ended
    (worked out once per pass: thousands of objectives share a handful of cycles)."""

    __slots__ = ("now", "settings", "known")

    def __init__(self, now: datetime, settings: EvalSettings):
        self.now, self.settings = now, settings
        self.known: dict[str | None, tuple[Cycle, bool] | None] = {}

    def __call__(self, text: str | None) -> tuple[Cycle, bool] | None:
        if text in self.known:
            return self.known[text]
        cycle = self.settings.cycle(text)
        answer = None
        if isinstance(cycle, Cycle):
            # Four weeks on the team's calendar (wall clock in the cycle's timezone), so a
            # DST change in between does not move the day by an hour.
            local = self.now.astimezone(cycle.start.tzinfo).replace(tzinfo=None)
            if local - cycle.start.replace(tzinfo=None) >= SETTLED:
                answer = (cycle, cycle.ended(self.now))
        self.known[text] = answer
        return answer


def _pace_warnings(obj: Objective, result: ObjectiveResult, settled: _Settled, out: list[Warning]) -> None:
    """``too_easy`` and ``weak_planning``: judged only four weeks or more into the cycle."""
    krs = result.key_results
    if not krs:
        return
    status = krs[0].status
    if status not in ("done", "off_track") or any(k.status != status for k in krs):
        return  # each needs every key result done, or every one off track
    known = settled(obj.cycle)
    if known is None:
        return
    cycle, ended = known
    if status == "done" and len(krs) >= 2 and not ended:
        out.append(_w("too_easy", obj.id, (
            f"Every key result of objective {obj.title!r} is already done four weeks or more before "
            f"{cycle.label} ends: the targets were too easy; set more ambitious ones next cycle.")))  # fmt: skip
    if status == "off_track":
        out.append(_w("weak_planning", obj.id, (
            f"Every key result of objective {obj.title!r} is off track four weeks or more into {cycle.label}: "
            "revisit the plan and the targets with the owner.")))  # fmt: skip


def hygiene_warnings(
    objectives: Sequence[Objective],
    results: Sequence[ObjectiveResult],
    *,
    now: datetime,
    settings: EvalSettings,
    context: Sequence[Objective] = (),
) -> list[Warning]:
    """Every hygiene warning for these objectives; ``results[i]`` is the result of ``objectives[i]``.

    ``missing_data`` and ``unknown_kpi`` come from evaluation itself, which
    returns them together with these. ``context``: the objectives of OKR sources this pass did
    not read (as last recorded), counted with these for ``too_many_objectives``.
    """
    now = settings.local(now)
    out = _too_many_objectives(objectives, settings, context)
    settled = _Settled(now, settings)
    for obj, result in zip(objectives, results):
        n = len(obj.key_results)
        if n == 0:
            out.append(_w("no_key_results", obj.id, (
                f"Objective {obj.title!r} has no key results: add 2 to 5 that measure the outcome, "
                "or nobody can tell whether it is being reached.")))  # fmt: skip
        elif n > settings.max_key_results:
            out.append(_w("too_many_key_results", obj.id, (
                f"Objective {obj.title!r} has {n} key results, more than {settings.max_key_results}: "
                "keep the few that best show the outcome.")))  # fmt: skip
        if _KPI_LIKE.match(obj.title):
            out.append(_w("kpi_as_okr", obj.id, (
                f"Objective {obj.title!r} keeps something as it is: a health measure belongs with the KPIs; "
                "an objective should describe a change.")))  # fmt: skip
        for kr in obj.key_results:
            _key_result_warnings(obj, kr, out)
        _pace_warnings(obj, result, settled, out)
    return out
