"""Asana Goals over httpx: goals read at the floor, relationships cached, writes one call per changed field.

Reads: ``GET /goals`` (workspace, narrowed by team and time period) with the
``opt_fields`` the mapping reads, 100 a page, every pass. Which goals are
subgoals of which (``GET /goal_relationships?supported_goal=``, and each
objective's ``GET /goals/{gid}/parentGoals`` for alignment, when team or
time period narrow the selection) is read on a cold
or full-refresh pass and kept in the state store between them; for a goal that
appears later, the pass that first sees it reads its parent goals (and a
selected parent's subgoals again), else its own subgoals.
Writes: ``PUT /goals/{gid}`` for a status colour and ``POST
/goals/{gid}/setMetricCurrentValue`` for a key result that follows a KPI;
with ``status_updates``, one ``POST /status_updates`` per colour change,
exactly once (see :mod:`._status_updates`).

Every call waits for the pacer shared by every Asana source on the same token
(``[limits] asana_per_minute``) and goes through the one retry policy.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from syncd.http import Refused, RetryPolicy
from syncd.mappings.asana import (
    GOAL_FIELDS,
    PARENT_FIELDS,
    RELATIONSHIP_FIELDS,
    GoalWrite,
    Relation,
    build_objectives,
    plan_write,
    read_order,
    structure,
    where_goal,
)
from syncd.model import ItemError, Patch, ReadResult
from syncd.source import Action, BaseSource, Deferred, Performed, Role, SourceContext, SourceError, credential

from ._status_updates import StatusUpdates
from .transport import AsanaErrors, Transport

__all__ = ["AsanaSource", "open", "BASE_URL"]

BASE_URL = "https://app.asana.com/api/1.0"
_CACHE = "structure"


def open(role: Role, config: Any, ctx: SourceContext) -> AsanaSource:  # noqa: A001 - the registry's name
    return AsanaSource(role, config, ctx)


class AsanaSource(BaseSource):
    service = "asana"

    def __init__(self, role: Role, config: Any, ctx: SourceContext, *, workers: int = 4):
        self.name: str = config.name
        self.role = role
        self.config = config
        self.ctx = ctx
        self.calls: Counter[str] = Counter()
        #: The runtime's policy; replaceable by tests (fast sleeps).
        self.policy: RetryPolicy = ctx.runtime.policy
        #: Wall clock for the full-refresh schedule (tests replace it).
        self.clock = time.time
        #: Calls in flight at once (the pacer, not this, sets the rate; Asana also caps concurrent requests).
        self.workers = workers
        self._http: Transport | None = None
        self._goals: dict[str, dict[str, Any]] | None = None
        self._status_updates: StatusUpdates | None = None

    # -- transport --------------------------------------------------------------------------

    def _token(self) -> str:
        return credential(self.ctx.env, self.config.token_env, where=f'source "{self.name}"', what=(
            "an Asana personal access token (Asana: My settings > Apps > Developer apps), "
            "or name another variable with token_env"))  # fmt: skip

    def _transport(self) -> Transport:
        if self._http is None:
            token = self._token()
            runtime = self.ctx.runtime
            pacer = runtime.pacer("asana", token, self.ctx.config.limits.asana_per_minute, 60)
            errors = AsanaErrors(source=self.name, workspace=self.config.workspace, scope=self._scope_text(),
                                 token_env=self.config.token_env)  # fmt: skip
            self._http = Transport((self.config.base_url or BASE_URL), token, pacer=pacer, policy=self.policy,
                                   calls=self.calls, timeout=self.ctx.config.syncd.timeout.total_seconds(),
                                   workers=self.workers, runtime=runtime, errors=errors)  # fmt: skip
        return self._http

    def _scope_text(self) -> str:
        c = self.config
        parts = [f"workspace {c.workspace}"] + ([f"team {c.team}"] if c.team else [])
        return " / ".join(parts + ([f"time period {c.time_period}"] if c.time_period else []))

    # -- reading ----------------------------------------------------------------------------

    def _goal_params(self) -> dict[str, str]:
        params = {"workspace": self.config.workspace, "opt_fields": ",".join(GOAL_FIELDS)}
        if self.config.team:
            params["team"] = self.config.team
        if self.config.time_period:
            params["time_periods"] = self.config.time_period
        return params

    def _read_goals(self) -> list[dict[str, Any]]:
        what = f"reading the goals of {self._scope_text()}"
        return list(self._transport().pages("/goals", self._goal_params(), what=what))

    def _relations(self, goal: dict[str, Any]) -> list[Relation]:
        where = where_goal(goal)
        what = f"reading the subgoals of {where}"
        params = {"supported_goal": goal["gid"], "resource_subtype": "subgoal",
                  "opt_fields": ",".join(RELATIONSHIP_FIELDS)}  # fmt: skip
        out = []
        for rel in self._transport().pages("/goal_relationships", params, what=what, goal=where):
            sub = rel.get("supporting_resource") or {}
            if rel.get("resource_subtype", "subgoal") != "subgoal" or sub.get("resource_type", "goal") != "goal":
                continue
            weight = rel.get("contribution_weight")
            out.append(Relation(str(sub.get("gid")), float(weight) if isinstance(weight, (int, float)) else None))
        return out

    def _parents(self, goal: dict[str, Any]) -> list[str]:
        where = where_goal(goal)
        what = f"reading the parent goals of {where}"
        found = self._transport().data("GET", f"/goals/{goal['gid']}/parentGoals",
                                       params={"opt_fields": ",".join(PARENT_FIELDS)}, what=what, goal=where)  # fmt: skip
        return [str(p["gid"]) for p in found or [] if isinstance(p, dict) and p.get("gid")]

    def _scope(self) -> list[str | None]:
        return [self.config.workspace, self.config.team, self.config.time_period]

    def read(self) -> ReadResult:
        if self.role != "okrs":
            raise SourceError(f'source "{self.name}": Asana goals are OKRs; list it under [[okrs]], not [[kpis]]')
        goals = self._read_goals()
        by_gid = {g["gid"]: g for g in goals}
        cached = self.ctx.cache.get(self.name, _CACHE) or {}
        assert isinstance(cached, dict)
        now = self.clock()
        cold = (
            not cached
            or cached.get("scope") != self._scope()
            or now - float(cached.get("at", 0)) >= self.config.full_refresh.total_seconds()
        )
        known: dict[str, list[Relation]] = {}
        parents: dict[str, list[str]] = {}
        if not cold:
            known = {g: [Relation(s, w) for s, w in rels] for g, rels in (cached.get("relations") or {}).items()}
            parents = {g: list(p) for g, p in (cached.get("parents") or {}).items()}
        subgoals = {r.goal for g, rels in known.items() if g in by_gid for r in rels}
        changed = cold
        # One at a time, in read_order: a goal found to be a subgoal is not read itself (reading in
        # parallel would read some of those too).
        for gid in read_order(goals):
            if gid in known or gid in subgoals:
                continue
            changed = True
            if not cold:
                # A goal new since the cold pass is most often a new subgoal of a known goal: ask for its
                # parents, and re-read a selected parent's subgoals (for the weights) instead of its own.
                found = self._parents(by_gid[gid])
                inside = [p for p in found if p in by_gid]
                for parent in inside:
                    known[parent] = self._relations(by_gid[parent])
                    subgoals.update(r.goal for r in known[parent])
                if inside and gid in subgoals:
                    continue
                parents[gid] = [p for p in found if p not in by_gid]
            known[gid] = self._relations(by_gid[gid])
            subgoals.update(r.goal for r in known[gid])
        selected = {g: rels for g, rels in known.items() if g in by_gid}
        # Over a whole workspace every parent goal is selected, so an objective has none outside it.
        narrowed = bool(self.config.team or self.config.time_period)
        orphans = [g for g in structure(goals, selected).objectives if g not in parents] if narrowed else []
        for gid, found in zip(orphans, self._map(lambda g: self._parents(by_gid[g]), orphans)):
            parents[gid] = found
            changed = True
        if changed:
            self.ctx.cache.put(self.name, _CACHE, {
                "scope": self._scope(),
                "at": now if cold else float(cached.get("at", now)),
                "relations": {g: [[r.goal, r.weight] for r in rels] for g, rels in selected.items()},
                "parents": {g: p for g, p in parents.items() if g in by_gid},
            })  # fmt: skip
        objectives, notes = build_objectives(goals, selected, source=self.name, cycle=self.config.cycle,
                                             parents=parents)  # fmt: skip
        if not goals:
            notes.append(f"Asana has no goals in {self._scope_text()} that the token can see")
        self._goals = by_gid
        return ReadResult(objectives=objectives, notes=notes)

    def prepare(self) -> list[Action]:
        """Status updates an earlier pass intended and did not finish (a crash, an ambiguous failure)."""
        if not self.config.status_updates:
            return []
        updates = self._updates()
        pending = updates.pending()
        if not pending:
            return []

        def resume() -> Performed:
            return Performed(errors=updates.resume())

        what = f"finish {len(pending)} status update(s) an earlier pass left unposted (or drop stale ones)"
        return [Action(self.name, what, resume)]

    def _updates(self) -> StatusUpdates:
        if self._status_updates is None:
            today = (self.ctx.now or datetime.now(UTC)).date()
            self._status_updates = StatusUpdates(self.name, self.ctx.cache, self._transport, today)
        return self._status_updates

    # -- writing ----------------------------------------------------------------------------

    def _map(self, fn: Any, items: Sequence[Any]) -> list[Any]:
        """``fn`` over ``items``, ``workers`` at a time (the pacer, not this, sets the rate)."""
        if len(items) <= 1 or self.workers <= 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"asana-{self.name}") as pool:
            return list(pool.map(fn, items))

    def write(self, patches: Sequence[Patch]) -> list[ItemError]:
        if not patches:
            return []
        if self._goals is None:
            self.read()
        goals = self._goals or {}
        updates = self._updates() if self.config.status_updates else None
        by_goal: dict[str, list[Patch]] = defaultdict(list)
        for p in patches:
            by_goal[str(p.ref or p.item)].append(p)
        stop = threading.Event()
        fatal: list[SourceError] = []
        written: list[int] = []

        def one(gid: str) -> list[ItemError]:
            """A goal's writes in order (the status before its status update)."""
            errors: list[ItemError] = []
            ps = by_goal[gid]
            for i, p in enumerate(ps):
                if stop.is_set():
                    errors.extend(ItemError(self.name, q.item, f"not written: {fatal[0]}", fields=(q.field,))
                                  for q in ps[i:])  # fmt: skip
                    break
                goal = goals.get(gid)
                plan = plan_write(p, goal)
                if isinstance(plan, str):
                    errors.append(ItemError(self.name, p.item, f"{plan}; not written", fields=(p.field,)))
                    continue
                if plan is None:
                    continue
                assert goal is not None
                try:
                    self._send(plan, goal, updates, errors)
                    written.append(1)
                except Refused as e:
                    if not AsanaErrors.stops_the_source(e):
                        errors.append(ItemError(self.name, p.item, str(e), fields=(p.field,)))
                        continue
                    fatal.append(e)
                    stop.set()
                    errors.extend(ItemError(self.name, q.item, f"not written: {e}", fields=(q.field,)) for q in ps[i:])
                    break
                except Deferred as e:
                    fatal.append(e)
                    stop.set()
                    errors.extend(ItemError(self.name, q.item, f"not written: {e}", fields=(q.field,)) for q in ps[i:])
                    break
                except SourceError as e:
                    errors.append(ItemError(self.name, p.item, str(e), fields=(p.field,)))
            return errors

        errors = [e for found in self._map(one, list(by_goal)) for e in found]
        if fatal and not written:
            first = fatal[0]
            raise first if isinstance(first, Deferred) else SourceError(str(first))
        return errors

    def _send(self, plan: GoalWrite, goal: dict[str, Any], updates: StatusUpdates | None,
              errors: list[ItemError]) -> None:  # fmt: skip
        where = where_goal(goal)
        old = goal.get("status")
        key = None
        new = plan.body["data"].get("status")
        if updates is not None and plan.field == "status" and old in ("green", "yellow", "red") and new != old:
            key = updates.intend(plan.goal, where, old, new, plan.patch.progress)
        what = f"setting the status of {where}" if plan.field == "status" else f"setting the metric of {where}"
        try:
            self._transport().request(plan.method, plan.path, body=plan.body, what=what, goal=where)
        except Refused as e:
            if key:
                updates.forget(key)  # type: ignore[union-attr]
            if e.status == 400 and plan.field == "status":
                raise Refused(f"Asana refused the status of {where} (400 {e.text}); Asana sets a goal's status only "
                              "when the goal has a metric: give it one, or set its status by hand",
                              kind=e.kind, status=e.status, text=e.text) from None  # fmt: skip
            raise
        # Not known to have failed (Deferred, gave up on 5xx): the intent stays, and the next pass posts
        # it (posting a status update sets the goal's status too, so the two agree either way).
        if plan.field == "status":
            goal["status"] = new
        else:
            (goal.get("metric") or {})["current_number_value"] = plan.body["data"]["current_number_value"]
        if key:
            error = updates.post(key)  # type: ignore[union-attr]
            if error:
                errors.append(error)

    # -- the rest of the protocol -----------------------------------------------------------

    def check(self) -> list[str]:
        what = f"reaching the goals of {self._scope_text()}"
        try:
            params = {**self._goal_params(), "opt_fields": "name"}
            self._transport().request("GET", "/goals", params={**params, "limit": "1"}, what=what)
        except SourceError as e:
            return [str(e)]
        return []

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
