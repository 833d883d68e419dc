"""A loopback fake of the Asana REST API (``/api/1.0/...``): Goals, their
relationships, metrics and status updates, shaped after the vendor's OpenAPI
examples (tests/recordings/asana/, checked in tests/test_asana_fake.py).

Like Asana: every answer is a ``{"data": ...}`` envelope; lists are paged with
``limit`` (1..100) and an opaque ``offset`` from ``next_page``; objects carry
their compact fields unless ``opt_fields`` names others (``gid`` is always
sent, a nested ``metric.unit`` sends ``metric: {gid, unit}``), and an unknown
opt_field is a 400; errors are ``{"errors": [{"message", "help", "phrase"}]}``
(401 bad token, 402 Goals on a free workspace, 403 a goal private to someone,
404 unknown gid); a 429 carries ``Retry-After`` in seconds. A goal's status can
only be written when it has a metric (the spec's note on ``status``). The
shared switches of :class:`tests.fakes.server.FakeServer` all apply.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import threading
from typing import Any

from tests.fakes.server import FakeServer, HTTPError, RateLimit, Request, Response

__all__ = ["AsanaFake", "PREFIX", "GOAL_OPT_FIELDS"]

PREFIX = "/api/1.0"
_HELP = "For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"
#: ``opt_fields`` ``GET /goals`` accepts (from the OpenAPI spec's enum, the parts the fake models).
GOAL_OPT_FIELDS = frozenset(
    {"current_status_update", "current_status_update.resource_subtype", "current_status_update.title", "due_on",
     "followers", "followers.name", "html_notes", "is_workspace_level", "liked", "metric", "metric.can_manage",
     "metric.currency_code", "metric.current_display_value", "metric.current_number_value",
     "metric.initial_number_value", "metric.is_custom_weight", "metric.precision", "metric.progress_source",
     "metric.resource_subtype", "metric.target_number_value", "metric.unit", "name", "notes", "num_likes", "offset",
     "owner", "owner.name", "path", "privacy_setting", "start_on", "status", "team", "team.name", "time_period",
     "time_period.display_name", "time_period.end_on", "time_period.period", "time_period.start_on", "uri",
     "workspace", "workspace.name", "resource_type"}
)  # fmt: skip
RELATIONSHIP_OPT_FIELDS = frozenset(
    {"contribution_weight", "offset", "path", "resource_subtype", "supported_goal", "supported_goal.name",
     "supported_goal.owner", "supported_goal.owner.name", "supporting_resource", "supporting_resource.name", "uri",
     "resource_type"}
)  # fmt: skip
STATUS_UPDATE_OPT_FIELDS = frozenset(
    {"author", "author.name", "created_at", "created_by", "created_by.name", "html_text", "modified_at", "offset",
     "parent", "parent.name", "path", "resource_subtype", "status_type", "text", "title", "uri", "resource_type"}
)  # fmt: skip
_GOAL_COMPACT = ("resource_type", "name", "owner")
_RELATIONSHIP_COMPACT = ("resource_type", "resource_subtype", "supporting_resource", "contribution_weight")
_STATUS_COMPACT = ("resource_type", "title", "resource_subtype")
#: Nested objects: what each sends when named without a sub-field.
_NESTED_COMPACT = {
    "owner": ("resource_type", "name"), "team": ("resource_type", "name"), "workspace": ("resource_type", "name"),
    "time_period": ("resource_type", "end_on", "start_on", "period", "display_name"),
    "metric": ("resource_type", "resource_subtype", "precision", "unit", "currency_code", "initial_number_value",
               "target_number_value", "current_number_value", "current_display_value", "progress_source",
               "is_custom_weight", "can_manage"),
    "current_status_update": ("resource_type", "title", "resource_subtype"),
    "supporting_resource": ("resource_type", "name"), "supported_goal": ("resource_type", "name", "owner"),
    "parent": ("resource_type", "name"), "author": ("resource_type", "name"), "created_by": ("resource_type", "name"),
}  # fmt: skip
_GOAL_STATUSES = {"green", "yellow", "red", "achieved", "partial", "missed", "dropped"}
_STATUS_TYPE_COLOUR = {"on_track": "green", "at_risk": "yellow", "off_track": "red", "achieved": "achieved",
                       "partial": "partial", "missed": "missed", "dropped": "dropped"}  # fmt: skip
_TOO_MANY = "You have made too many requests recently. Please, be chill."
#: Without ``limit`` Asana answers unpaged, but refuses results this large.
_UNPAGED_CAP = 1000


class AsanaFake(FakeServer):
    service = "asana"

    def __init__(self, token: str = "test-token") -> None:
        super().__init__()
        self.token = token
        self._data_lock = threading.RLock()
        self.reset()
        g, p = r"(?P<goal>[^/]+)", PREFIX
        for method, pattern, name, handler in [
            ("GET", rf"{p}/goals", "GET goals", self._get_goals),
            ("GET", rf"{p}/goals/{g}", "GET goal", self._get_goal),
            ("PUT", rf"{p}/goals/{g}", "PUT goal", self._put_goal),
            ("POST", rf"{p}/goals/{g}/setMetricCurrentValue", "POST setMetricCurrentValue", self._set_metric),
            ("GET", rf"{p}/goals/{g}/parentGoals", "GET parentGoals", self._get_parents),
            ("GET", rf"{p}/goal_relationships", "GET goal_relationships", self._get_relationships),
            ("GET", rf"{p}/status_updates", "GET status_updates", self._get_status_updates),
            ("POST", rf"{p}/status_updates", "POST status_updates", self._post_status_update),
            ("GET", rf"{p}/time_periods/(?P<period>[^/]+)", "GET time_period", self._get_time_period),
            ("GET", rf"{p}/users/me", "GET me", self._get_me),
        ]:
            self.route(method, pattern, name, self._locked(handler))

    def reset(self) -> None:
        """An empty account on a paid workspace, default switches."""
        with self._data_lock, self._lock:
            #: token -> user gid
            self.tokens: dict[str, str] = {self.token: "1200000000000001"}
            self.workspaces: dict[str, dict[str, Any]] = {}
            self.teams: dict[str, dict[str, Any]] = {}
            self.periods: dict[str, dict[str, Any]] = {}
            self.goals: dict[str, dict[str, Any]] = {}
            #: goal gid -> the tokens that may see it (absent: public to the workspace)
            self.private: dict[str, set[str]] = {}
            self.relationships: dict[str, dict[str, Any]] = {}
            self.status_updates: list[dict[str, Any]] = []
            #: Seconds sent in Retry-After with a 429 (None: the time until a slot frees up, rounded up).
            self.retry_after: float | None = None
            #: The next N status updates are taken, then answered 503 (an ambiguous failure).
            self.lose_update_answers = 0
            self.refuse = None
            #: Refuse status updates with 403 (no permission to comment on goals).
            self.refuse_updates = False
            self.rate_limit = None
            self.latency = 0.0
            self._faults.clear()
            self._seq = itertools.count(1)
        self.reset_counts()

    # -- building the account (tests) ---------------------------------------------------

    def new_gid(self) -> str:
        return str(1_201_000_000_000_000 + next(self._seq))

    def add_workspace(self, name: str = "Acme", *, paid: bool = True) -> str:
        gid = self.new_gid()
        self.workspaces[gid] = {"gid": gid, "resource_type": "workspace", "name": name, "paid": paid}
        return gid

    def add_team(self, workspace: str, name: str = "Marketing") -> str:
        gid = self.new_gid()
        self.teams[gid] = {"gid": gid, "resource_type": "team", "name": name, "workspace": workspace}
        return gid

    def add_period(self, start_on: str, end_on: str, period: str = "Q4", display_name: str | None = None) -> str:
        gid = self.new_gid()
        self.periods[gid] = {"gid": gid, "resource_type": "time_period", "end_on": end_on, "start_on": start_on,
                             "period": period, "display_name": display_name or f"{period} FY{start_on[2:4]}"}  # fmt: skip
        return gid

    def add_goal(self, workspace: str, name: str, *, team: str | None = None, period: str | None = None,
                 metric: tuple[float, float, float | None] | None = None, unit: str = "none",
                 status: str | None = None, notes: str = "", start_on: str | None = None, due_on: str | None = None,
                 owner: str = "Greg Sanchez", progress_source: str = "manual") -> str:  # fmt: skip
        """A goal; ``metric`` is (initial, target, current)."""
        gid = self.new_gid()
        self.goals[gid] = {
            "gid": gid, "resource_type": "goal", "name": name, "html_notes": f"<body>{notes}</body>", "notes": notes,
            "due_on": due_on, "start_on": start_on, "is_workspace_level": team is None, "liked": False, "likes": [],
            "num_likes": 0, "team": team, "workspace": workspace, "followers": [], "time_period": period,
            "metric": None, "owner": {"gid": "1200000000000002", "resource_type": "user", "name": owner},
            "current_status_update": None, "status": status, "privacy_setting": "public_to_workspace",
            "default_access_level": "editor",
        }  # fmt: skip
        if metric is not None:
            self.set_metric(gid, *metric, unit=unit, progress_source=progress_source)
        return gid

    def set_metric(self, gid: str, initial: float, target: float, current: float | None, *, unit: str = "none",
                   progress_source: str = "manual") -> None:  # fmt: skip
        self.goals[gid]["metric"] = {
            "gid": self.new_gid(), "resource_type": "task", "resource_subtype": "number", "precision": 2,
            "unit": unit, "currency_code": "EUR" if unit == "currency" else None, "initial_number_value": initial,
            "target_number_value": target, "current_number_value": current,
            "current_display_value": "" if current is None else f"{current:.2f}",
            "progress_source": progress_source, "is_custom_weight": False, "can_manage": True,
        }  # fmt: skip

    def add_subgoal(self, parent: str, child: str, weight: float | None = 1.0) -> str:
        gid = self.new_gid()
        self.relationships[gid] = {"gid": gid, "resource_type": "goal_relationship", "resource_subtype": "subgoal",
                                   "supporting_resource": child, "supported_goal": parent,
                                   "contribution_weight": weight}  # fmt: skip
        return gid

    def add_supporting_work(self, parent: str, project_name: str = "Launch plan") -> str:
        gid = self.new_gid()
        project = {"gid": self.new_gid(), "resource_type": "project", "name": project_name}
        self.relationships[gid] = {"gid": gid, "resource_type": "goal_relationship",
                                   "resource_subtype": "supporting_work", "supporting_resource": project,
                                   "supported_goal": parent, "contribution_weight": 0}  # fmt: skip
        return gid

    def updates_on(self, goal: str) -> list[dict[str, Any]]:
        return [u for u in self.status_updates if u["parent"] == goal]

    # -- FakeServer hooks ----------------------------------------------------------------

    def _token(self, request: Request) -> str:
        auth = request.headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else ""

    def rate_limit_key(self, request: Request) -> str:
        return self._token(request)

    def authorize(self, request: Request) -> None:
        if self._token(request) not in self.tokens:
            raise HTTPError(401, "", "Not Authorized")

    def error_body(self, status: int, code: str, message: str, **extra: Any) -> Response:
        body = {"errors": [{"message": message, "help": _HELP, "phrase": "6 sad squid snuggle softly"}]}
        return Response(status, body, dict(extra.get("headers") or {}))

    def rate_limited(self, request: Request, wait: float) -> Response:
        after = self.retry_after if self.retry_after is not None else wait
        # Whole seconds, as Asana sends; a test-sized wait under half a second is sent as 0.
        seconds = math.ceil(after) if after >= 0.5 else 0
        return self.error_body(429, "", _TOO_MANY, headers={"Retry-After": str(seconds)})

    def enforce(self, per_minute: int, period: float = 60.0) -> RateLimit:
        """Asana's per-token limit (150/min free, 1,500/min paid), or a test-sized one."""
        self.rate_limit = RateLimit(per_minute, period)
        return self.rate_limit

    def _locked(self, handler: Any) -> Any:
        def run(request: Request) -> Response:
            with self._data_lock:
                result = handler(request)
            return result if isinstance(result, Response) else Response(200, result)

        return run

    # -- shaping -------------------------------------------------------------------------

    def _opt_fields(self, request: Request, allowed: frozenset[str]) -> list[str] | None:
        raw = request.arg("opt_fields")
        if raw is None:
            return None
        fields = [f.strip() for f in raw.split(",") if f.strip()]
        for f in fields:
            if f not in allowed:
                raise HTTPError(400, "", f"opt_fields: Unknown field: {f}")
        return fields

    def _ref(self, kind: str, value: Any) -> dict[str, Any] | None:
        """A nested reference's full record."""
        if value is None:
            return None
        if isinstance(value, dict):
            return value
        table = {"team": self.teams, "workspace": self.workspaces, "time_period": self.periods,
                 "supporting_resource": self.goals, "supported_goal": self.goals, "parent": self.goals}[kind]  # fmt: skip
        return table.get(value)

    def _shape(self, record: dict[str, Any], fields: list[str] | None, compact: tuple[str, ...]) -> dict[str, Any]:
        """``gid`` plus the compact fields, or plus what ``opt_fields`` names."""
        wanted: dict[str, list[str]] = {}
        for f in fields if fields is not None else compact:
            head, _, rest = f.partition(".")
            if head in ("offset", "path", "uri"):
                continue
            wanted.setdefault(head, [])
            if rest:
                wanted[head].append(rest)
        out: dict[str, Any] = {"gid": record["gid"]}
        for head, subs in wanted.items():
            value = record.get(head)
            if head in _NESTED_COMPACT:
                nested = self._ref(head, value)
                if nested is None:
                    out[head] = None
                    continue
                inner = subs or list(_NESTED_COMPACT[head])
                out[head] = self._shape(nested, [s for s in inner if s in nested or s == "owner"], ())
            else:
                out[head] = value
        return out

    def _page(self, request: Request, items: list[dict[str, Any]], path: str, shape: Any = None) -> dict[str, Any]:
        """One page of ``items``, each passed through ``shape`` (only the page's: 5,000 goals stay fast)."""
        answer = self._slice(request, items, path)
        if shape is not None:
            answer["data"] = [shape(x) for x in answer["data"]]
        return answer

    def _slice(self, request: Request, items: list[dict[str, Any]], path: str) -> dict[str, Any]:
        limit_raw = request.arg("limit")
        offset_raw = request.arg("offset")
        start = 0
        if offset_raw:
            try:
                start = int(json.loads(base64.urlsafe_b64decode(offset_raw.encode()))["i"])
            except (ValueError, KeyError, TypeError):
                raise HTTPError(400, "", "offset: Your pagination token is invalid.") from None
        if limit_raw is None:
            if len(items) > _UNPAGED_CAP:
                raise HTTPError(
                    400, "", "The result is too large. You should use pagination (may require specifying a workspace)!"
                )
            return {"data": items[start:]}
        try:
            limit = int(limit_raw)
        except ValueError:
            raise HTTPError(400, "", "limit: Must be an integer between 1 and 100") from None
        if not 1 <= limit <= 100:
            raise HTTPError(400, "", "limit: Must be an integer between 1 and 100")
        page = items[start : start + limit]
        next_page = None
        if start + limit < len(items):
            token = base64.urlsafe_b64encode(json.dumps({"i": start + limit}).encode()).decode()
            query = f"limit={limit}&offset={token}"
            next_page = {"offset": token, "path": f"{path}?{query}", "uri": f"{self.url}{PREFIX}{path}?{query}"}
        return {"data": page, "next_page": next_page}

    # -- lookups -------------------------------------------------------------------------

    def _workspace(self, gid: str | None, name: str = "workspace") -> dict[str, Any]:
        if not gid:
            raise HTTPError(400, "", "workspace: Missing input")
        ws = self.workspaces.get(gid)
        if ws is None:
            raise HTTPError(404, "", f"{name}: Unknown object: {gid}")
        return ws

    def _visible(self, goal: dict[str, Any], request: Request) -> bool:
        allowed = self.private.get(goal["gid"])
        return allowed is None or self._token(request) in allowed

    def _goal(self, request: Request) -> dict[str, Any]:
        gid = request.params["goal"]
        goal = self.goals.get(gid)
        if goal is None:
            raise HTTPError(404, "", f"goal: Unknown object: {gid}")
        if not self._visible(goal, request):
            raise HTTPError(403, "", "You do not have access to this goal. It may be private to its owner.")
        self._paid(self.workspaces.get(goal["workspace"]))
        return goal

    def _paid(self, ws: dict[str, Any] | None) -> None:
        if ws is not None and not ws.get("paid"):
            raise HTTPError(402, "", "Goals are only available on paid plans. Upgrade your workspace to use goals.")

    @staticmethod
    def _data(request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise HTTPError(400, "", "Could not parse request data, invalid JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise HTTPError(400, "", "data: Missing input")
        return body["data"]

    # -- handlers ------------------------------------------------------------------------

    def _get_goals(self, r: Request) -> Any:
        fields = self._opt_fields(r, GOAL_OPT_FIELDS)
        team = r.arg("team")
        if not r.arg("workspace") and team:
            ws_gid = (self.teams.get(team) or {}).get("workspace")
            if ws_gid is None:
                raise HTTPError(404, "", f"team: Unknown object: {team}")
        else:
            ws_gid = r.arg("workspace")
        ws = self._workspace(ws_gid)
        self._paid(ws)
        if team and team not in self.teams:
            raise HTTPError(404, "", f"team: Unknown object: {team}")
        periods = [p for p in (r.arg("time_periods") or "").split(",") if p]
        for p in periods:
            if p not in self.periods:
                raise HTTPError(404, "", f"time_periods: Unknown object: {p}")
        goals = [g for g in self.goals.values() if g["workspace"] == ws["gid"] and self._visible(g, r)
                 and (not team or g["team"] == team) and (not periods or g["time_period"] in periods)]  # fmt: skip
        if r.arg("is_workspace_level") is not None:
            level = r.arg("is_workspace_level") == "true"
            goals = [g for g in goals if g["is_workspace_level"] == level]
        return self._page(r, goals, "/goals", lambda g: self._shape(g, fields, _GOAL_COMPACT))

    def _get_goal(self, r: Request) -> Any:
        return {"data": self._shape(self._goal(r), self._opt_fields(r, GOAL_OPT_FIELDS), tuple(GOAL_FULL))}

    def _put_goal(self, r: Request) -> Any:
        goal = self._goal(r)
        data = self._data(r)
        unknown = set(data) - {"name", "html_notes", "notes", "due_on", "start_on", "is_workspace_level", "liked",
                               "team", "workspace", "time_period", "owner", "status", "custom_fields"}  # fmt: skip
        if unknown:
            raise HTTPError(400, "", f"{sorted(unknown)[0]}: Unknown field")
        if "status" in data:
            if data["status"] not in _GOAL_STATUSES:
                raise HTTPError(400, "", f"status: Invalid value: {data['status']!r}")
            if not goal.get("metric"):
                raise HTTPError(400, "", "status: You can only set the status of a goal that has a metric")
        for key in ("name", "notes", "due_on", "start_on", "status"):
            if key in data:
                goal[key] = data[key]
        return {"data": self._shape(goal, self._opt_fields(r, GOAL_OPT_FIELDS), tuple(GOAL_FULL))}

    def _set_metric(self, r: Request) -> Any:
        goal = self._goal(r)
        data = self._data(r)
        value = data.get("current_number_value")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise HTTPError(400, "", "current_number_value: Must be a number")
        if not goal.get("metric"):
            raise HTTPError(400, "", "goal: This goal has no metric")
        goal["metric"]["current_number_value"] = value
        goal["metric"]["current_display_value"] = f"{value:.2f}"
        return {"data": self._shape(goal, self._opt_fields(r, GOAL_OPT_FIELDS), tuple(GOAL_FULL))}

    def _get_parents(self, r: Request) -> Any:
        goal = self._goal(r)
        fields = self._opt_fields(r, GOAL_OPT_FIELDS)
        parents = [self.goals[rel["supported_goal"]] for rel in self.relationships.values()
                   if rel["supporting_resource"] == goal["gid"] and rel["resource_subtype"] == "subgoal"]  # fmt: skip
        return {"data": [self._shape(p, fields, _GOAL_COMPACT) for p in parents if self._visible(p, r)]}

    def _get_relationships(self, r: Request) -> Any:
        fields = self._opt_fields(r, RELATIONSHIP_OPT_FIELDS)
        supported = r.arg("supported_goal")
        if not supported:
            raise HTTPError(400, "", "supported_goal: Missing input")
        r.params["goal"] = supported
        goal = self._goal(r)
        subtype = r.arg("resource_subtype")
        rels = [x for x in self.relationships.values() if x["supported_goal"] == goal["gid"]
                and (not subtype or x["resource_subtype"] == subtype)]  # fmt: skip
        return self._page(r, rels, "/goal_relationships", lambda x: self._shape(x, fields, _RELATIONSHIP_COMPACT))

    def _get_status_updates(self, r: Request) -> Any:
        fields = self._opt_fields(r, STATUS_UPDATE_OPT_FIELDS)
        parent = r.arg("parent")
        if not parent:
            raise HTTPError(400, "", "parent: Missing input")
        if parent in self.goals:
            r.params["goal"] = parent
            self._goal(r)
        since = r.arg("created_since") or ""
        ups = [u for u in self.status_updates if u["parent"] == parent and u["created_at"] >= since]
        return self._page(r, ups, "/status_updates", lambda u: self._shape(u, fields, _STATUS_COMPACT))

    def _post_status_update(self, r: Request) -> Any:
        if self.refuse_updates:
            raise HTTPError(403, "", "You do not have permission to post status updates on this goal.")
        answer = self._take_status_update(r)
        if self.lose_update_answers > 0:
            self.lose_update_answers -= 1
            raise HTTPError(503, "", "Service Unavailable")
        return answer

    def _take_status_update(self, r: Request) -> Any:
        data = self._data(r)
        for key in ("parent", "status_type", "text"):
            if not data.get(key):
                raise HTTPError(400, "", f"{key}: Missing input")
        r.params["goal"] = str(data["parent"])
        goal = self._goal(r)
        if data["status_type"] not in _STATUS_TYPE_COLOUR:
            raise HTTPError(400, "", f"status_type: Invalid value for a goal: {data['status_type']!r}")
        gid = self.new_gid()
        update = {"gid": gid, "resource_type": "status_update", "title": data.get("title") or "",
                  "resource_subtype": "goal_status_update", "text": data["text"],
                  "html_text": f"<body>{data['text']}</body>", "status_type": data["status_type"],
                  "author": {"gid": self.tokens[self._token(r)], "resource_type": "user", "name": "syncd"},
                  "created_at": f"2026-11-15T12:00:{len(self.status_updates) % 60:02d}.000Z",
                  "created_by": {"gid": self.tokens[self._token(r)], "resource_type": "user", "name": "syncd"},
                  "parent": goal["gid"]}  # fmt: skip
        self.status_updates.append(update)
        goal["status"] = _STATUS_TYPE_COLOUR[data["status_type"]]  # the latest update sets the goal's status
        goal["current_status_update"] = {"gid": gid, "resource_type": "status_update", "title": update["title"],
                                         "resource_subtype": "goal_status_update"}  # fmt: skip
        full = self._shape(update, self._opt_fields(r, STATUS_UPDATE_OPT_FIELDS), tuple(STATUS_FULL))
        return Response(201, {"data": full})

    def _get_time_period(self, r: Request) -> Any:
        period = self.periods.get(r.params["period"])
        if period is None:
            raise HTTPError(404, "", f"time_period: Unknown object: {r.params['period']}")
        return {"data": dict(period)}

    def _get_me(self, r: Request) -> Any:
        gid = self.tokens[self._token(r)]
        return {"data": {"gid": gid, "resource_type": "user", "name": "syncd",
                         "workspaces": [{"gid": w["gid"], "resource_type": "workspace", "name": w["name"]}
                                        for w in self.workspaces.values()]}}  # fmt: skip


#: What a single goal record sends without ``opt_fields`` (the spec's GoalResponse).
GOAL_FULL = ["resource_type", "name", "html_notes", "notes", "due_on", "start_on", "is_workspace_level", "liked",
             "likes", "num_likes", "team", "workspace", "followers", "time_period", "metric", "owner",
             "current_status_update", "status", "privacy_setting", "default_access_level"]  # fmt: skip
STATUS_FULL = ["resource_type", "title", "resource_subtype", "text", "html_text", "status_type", "author",
               "created_at", "created_by", "parent"]  # fmt: skip
