"""Notion databases as a source of OKRs (or KPIs), through notion-client.

Reads at the floor: one ``data_sources.query`` per 100 pages, asking only for
the mapped properties (``filter_properties``). The data source id and schema of
each database are kept in the state store, so only a first-ever run pays the
two retrieve calls per database. Warm runs ask only for pages edited since the
last pass (``last_edited_time``, with an overlap because Notion rounds it to
the minute) and take the rest from the state store; a full read on the
``full_refresh`` schedule (daily) drops pages that were trashed or moved.
Writes: one ``pages.update`` per changed page, with every changed property.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import unquote

from syncd.http import RetryPolicy
from syncd.mappings import notion as mapping
from syncd.model import ItemError, Patch, ReadResult
from syncd.source import Action, BaseSource, Deferred, Performed, Role, SourceContext, SourceError, credential

from . import _schema as schema
from ._comments import Comments, wants_comment
from .transport import NotionError, Transport

__all__ = ["NotionSource", "PageRef", "open", "OVERLAP"]

#: Notion rounds ``last_edited_time`` down to the minute: ask again for that much before.
OVERLAP = timedelta(minutes=2)
_RECORD_FORMAT = 1


def open(role: Role, config: Any, ctx: SourceContext) -> NotionSource:  # noqa: A001 - the registry's name
    return NotionSource(role, config, ctx)


class PageRef(NamedTuple):
    """An item's write handle: its database and page, and the URL that messages about it name."""

    db: str
    page: str
    url: str

    def __str__(self) -> str:
        return f"{self.db}/{self.page}"


@dataclass
class _Db:
    key: str  # "objectives", "key_results", "okrs" (both in one) or "kpis"
    id: str
    base: str  # for messages: "the key results database"
    fields: tuple[str, ...]
    ds: str | None = None
    schema: dict[str, Any] | None = None
    props: dict[str, mapping.Prop] = field(default_factory=dict)
    #: The pages read in this pass, until they become items (the state store keeps them).
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Pages as ``pages.update`` answered, for the state store's copy.
    written: dict[str, dict[str, Any]] = field(default_factory=dict)
    refreshed: bool = False  # schema fetched in this pass

    @property
    def label(self) -> str:
        title = (self.schema or {}).get("title")
        return f"{self.base} {title!r} ({self.id})" if title else f"{self.base} {self.id}"


class NotionSource(BaseSource):
    service = "notion"

    def __init__(self, role: Role, config: Any, ctx: SourceContext, *, policy: RetryPolicy | None = None):
        self.name: str = config.name
        self.role: Role = role
        self.cfg = config
        self.ctx = ctx
        self.calls: Counter[str] = Counter()
        self.policy = policy or ctx.runtime.policy
        #: Wall clock for the full-refresh schedule (never ``ctx.now``: that is the evaluation's clock).
        self.clock = time.time
        self._transport: Transport | None = None
        defaults = mapping.KPI_DEFAULTS if role == "kpis" else mapping.OKR_DEFAULTS
        unknown = sorted(set(config.properties) - set(defaults))
        if unknown:
            raise SourceError(
                f"{self.name}: properties.{unknown[0]} is not a field syncd maps; the fields are "
                f"{', '.join(sorted(defaults))}"
            )
        if config.notion_version < "2025-09-03":
            raise SourceError(
                f"{self.name}: notion_version {config.notion_version!r} predates data sources, which syncd reads; "
                "use 2025-09-03 or later"
            )
        self._defaults = defaults
        self._dbs = self._databases()

    # -- setup -----------------------------------------------------------------------------

    def _databases(self) -> dict[str, _Db]:
        def db(key: str, ref: str, config_key: str, fields: Sequence[str]) -> _Db:
            try:
                ident = schema.parse_id(ref)
            except ValueError as e:
                raise SourceError(f"{self.name}: {config_key}: {e}") from None
            label = {"okrs": "the OKR database", "kpis": "the KPI database"}.get(
                key, f"the {key.replace('_', ' ')} database"
            )
            return _Db(key, ident, label, tuple(fields))

        if self.role == "kpis":
            if not self.cfg.database:
                raise SourceError(f"{self.name}: database: missing; give the id or URL of the KPI database")
            return {"kpis": db("kpis", self.cfg.database, "database", mapping.KPI_READS)}
        objectives, key_results = self.cfg.objectives, self.cfg.key_results
        if not (objectives and key_results) or schema.parse_id(objectives) == schema.parse_id(key_results):
            both = tuple(dict.fromkeys((*mapping.OBJECTIVE_READS, *mapping.KEY_RESULT_READS, "row_type")))
            return {"okrs": db("okrs", objectives or key_results, "objectives" if objectives else "key_results", both)}
        return {
            "objectives": db("objectives", objectives, "objectives", mapping.OBJECTIVE_READS),
            "key_results": db("key_results", key_results, "key_results", mapping.KEY_RESULT_READS),
        }

    def _token(self) -> str:
        return credential(self.ctx.env, self.cfg.token_env, where=self.name, what=(
            "the Notion integration's secret, or name another variable with token_env"))  # fmt: skip

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            token = self._token()
            config = self.ctx.config
            self._transport = Transport(
                token=token,
                token_env=self.cfg.token_env,
                base_url=self.cfg.base_url,
                version=self.cfg.notion_version,
                timeout=config.syncd.timeout.total_seconds(),
                pacer=self.ctx.runtime.pacer("notion", token, config.limits.notion_per_second, 1.0),
                policy=self.policy,
                runtime=self.ctx.runtime,
                calls=self.calls,
            )
        return self._transport

    def _call(self, fn: Any, what: str) -> Any:
        try:
            return self.transport.call(fn, what)
        except Deferred:
            raise
        except SourceError as e:
            if str(e).startswith(f"{self.name}:"):
                raise
            raise type(e)(f"{self.name}: {e}", **_extra(e)) from None

    # -- schema ----------------------------------------------------------------------------

    def _prepare(self, db: _Db, *, refresh: bool = False) -> None:
        """Data source id and schema: from the state store, else (or when due) from Notion."""
        cached = self.ctx.cache.get(self.name, f"db:{db.id}") or {}
        db.ds = cached.get("ds")  # type: ignore[attr-defined]
        db.schema = cached.get("schema")  # type: ignore[attr-defined]
        age = self.clock() - float(cached.get("at", 0))  # type: ignore[attr-defined]
        due = age >= self.cfg.full_refresh.total_seconds()
        c = self.transport.client
        if not db.ds:
            db.ds = self._data_source(db)
        if refresh or due or not db.schema:
            ds = self._call(lambda: c.data_sources.retrieve(db.ds), db.label)
            db.schema = schema.compact(ds)
            db.refreshed = True
            self.ctx.cache.put(self.name, f"db:{db.id}", {"ds": db.ds, "schema": db.schema, "at": self.clock()})
        self._resolve(db)

    def _data_source(self, db: _Db) -> str:
        c = self.transport.client
        try:
            found = self._call(lambda: c.databases.retrieve(db.id), db.label)
        except NotionError as e:
            if e.code != "object_not_found":
                raise
            try:  # the config may name the data source itself
                self._call(lambda: c.data_sources.retrieve(db.id), db.label)
                return db.id
            except NotionError:
                raise e from None
        sources = found.get("data_sources") or []
        if not sources:
            raise SourceError(f"{self.name}: {db.label} has no data source; is it a linked database? "
                              "Give the id of the original database")  # fmt: skip
        return sources[0]["id"]

    def _resolve(self, db: _Db) -> None:
        assert db.schema is not None
        explicit = dict(self.cfg.properties)
        db.props, missing, _ = schema.resolve(db.schema, db.fields, self._defaults, explicit, db.label)
        if missing and (len(self._dbs) == 1 or all(self._explicit_missing_everywhere(m) for m in missing)):
            raise SourceError(f"{self.name}: " + "; ".join(missing))

    def _explicit_missing_everywhere(self, message: str) -> bool:
        name = message.split(" ", 1)[0].removeprefix("properties.")
        return not any(name in d.props for d in self._dbs.values() if d.schema)

    def _notes(self) -> list[str]:
        notes: list[str] = []
        for db in self._dbs.values():
            if db.schema:
                notes.extend(
                    schema.resolve(db.schema, db.fields, self._defaults, dict(self.cfg.properties), db.label)[2]
                )
        return notes

    # -- reading -----------------------------------------------------------------------------

    def read(self) -> ReadResult:
        for db in self._dbs.values():
            self._prepare(db)
        for db in self._dbs.values():
            self._read_pages(db)
        result = ReadResult(notes=self._notes())
        if self.role == "kpis":
            db = self._dbs["kpis"]
            result.kpis = mapping.build_kpis(self._drain(db), db.props, self.name)
        else:
            if "okrs" in self._dbs:
                db = self._dbs["okrs"]
                # build_okrs takes every objective before the first key result: the rest are those.
                objs = self._drain(db, lambda r: mapping.row_kind(r) == "objective")
                krs = self._drain(db)
                props_o = props_k = db.props
            else:
                o, k = self._dbs["objectives"], self._dbs["key_results"]
                objs, krs = self._drain(o), self._drain(k)
                props_o, props_k = o.props, k.props
            result.objectives, result.errors = mapping.build_okrs(objs, krs, props_o, props_k, self.name)
        for db in self._dbs.values():
            db.records = {}  # an emptied dict keeps its table
        return result

    def prepare(self) -> list[Action]:
        """Comments an earlier pass intended and did not finish (a crash, an ambiguous failure)."""
        if not self.cfg.comment_on_change:
            return []
        comments = self._comments()
        if not comments.pending():
            return []

        def resume() -> Performed:
            return Performed(errors=comments.resume())

        n = len(comments.pending())
        return [Action(self.name, f"finish {n} comment(s) an earlier pass left unposted (or drop stale ones)", resume)]

    @staticmethod
    def _drain(db: _Db, take: Callable[[dict[str, Any]], bool] = lambda rec: True) -> Iterator[dict[str, Any]]:
        """The records ``take`` accepts, in order, each with its ``ref``; each leaves
        ``db.records`` as it goes, so records and items are not all held at once."""
        for page_id in [i for i, rec in db.records.items() if take(rec)]:
            rec = db.records.pop(page_id)
            yield {**rec, "ref": PageRef(db.key, rec["id"], rec.get("url") or rec["id"])}

    def _fingerprint(self, db: _Db) -> str:
        data = json.dumps([_RECORD_FORMAT, schema.props_to_json(db.props)], sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def _read_pages(self, db: _Db, *, retried: bool = False) -> None:
        snap = self.ctx.cache.get(self.name, f"pages:{db.id}") or {}
        fp = self._fingerprint(db)
        wall = self.clock()
        full = (
            not snap
            or snap.get("fp") != fp  # type: ignore[attr-defined]
            or wall - float(snap.get("full_at", 0)) >= self.cfg.full_refresh.total_seconds()  # type: ignore[attr-defined]
            or not snap.get("cutoff")  # type: ignore[attr-defined]
        )
        records: dict[str, dict[str, Any]] = {} if full else dict(snap["pages"])  # type: ignore[index]
        query: dict[str, Any] = {"page_size": 100}
        if not full:
            query["filter"] = {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": snap["cutoff"]}}  # type: ignore[index]
        ids = sorted({_unquote(p.id) for p in db.props.values()})
        c, t = self.transport.client, self.transport
        t.server_date = None
        first_date: datetime | None = None
        newest: str | None = None
        drift = False
        # The pages of the databases read before (objectives, for the key results' relation).
        known = {i: i for other in self._dbs.values() if other is not db for i in other.records}

        def fetch(cursor: str | None) -> dict[str, Any]:
            extra = {"start_cursor": cursor} if cursor else {}
            return c.data_sources.query(db.ds, filter_properties=ids, **query, **extra)  # type: ignore[arg-type, return-value]

        try:
            for response in t.pages(db.label, fetch):
                if first_date is None:
                    first_date = t.server_date
                for page in response["results"]:
                    if not (isinstance(page, dict) and page.get("object") in ("page", "data_source")
                            and isinstance(page.get("id"), str) and isinstance(page.get("properties", {}), dict)):  # fmt: skip
                        # Skipping it would pass a partial read off as the whole database.
                        raise SourceError(
                            f"{self.name}: Notion's answer for {db.label} holds a result that is not a page "
                            f"({str(page)[:80]!r}); nothing was synced; is base_url pointing at Notion?"
                        )
                    if page.get("object") != "page":
                        continue
                    if page.get("in_trash") or page.get("archived") or page.get("is_archived"):
                        records.pop(page["id"], None)
                        continue
                    rec = mapping.extract(page, db.props.values(), known)
                    if len(rec["v"]) < len(db.props):
                        drift = True
                    if rec.pop("more", None):
                        self._full_relations(db, rec, page)
                    records[page["id"]] = rec
                    edited = page.get("last_edited_time")
                    if edited and (newest is None or edited > newest):
                        newest = edited
                del response  # before the next answer arrives (see Transport.pages)
        except NotionError as e:
            if e.code != "validation_error" or retried:
                raise self._named(e)
            self._prepare(db, refresh=True)  # a mapped property id the query no longer knows
            self.ctx.cache.put(self.name, f"pages:{db.id}", {})
            return self._read_pages(db, retried=True)
        if drift and not retried:
            self._prepare(db, refresh=True)
            if self._fingerprint(db) != fp or not records:
                return self._read_pages(db, retried=True)
        db.records = records
        cutoff = self._cutoff(first_date, newest, None if full else snap.get("cutoff"))  # type: ignore[attr-defined]
        self.ctx.cache.put(self.name, f"pages:{db.id}", {
            "fp": self._fingerprint(db), "full_at": wall if full else snap.get("full_at"),  # type: ignore[attr-defined]
            "cutoff": cutoff, "pages": records,
        })  # fmt: skip

    @staticmethod
    def _cutoff(server: datetime | None, newest: str | None, previous: str | None) -> str | None:
        """Where the next incremental read starts: the server's clock at this read, floored to
        the minute, less the overlap; without a Date header, the newest edit seen."""
        if server is not None:
            at = server.astimezone(UTC).replace(second=0, microsecond=0) - OVERLAP
        elif newest:
            at = datetime.fromisoformat(newest.replace("Z", "+00:00")) - OVERLAP
        else:
            return previous
        return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def _full_relations(self, db: _Db, rec: dict[str, Any], page: Mapping[str, Any]) -> None:
        """A relation cut at 25 references in query results, fetched in full."""
        c, t = self.transport.client, self.transport
        for name in [k for k, v in (page.get("properties") or {}).items() if v.get("has_more")]:
            prop_id = page["properties"][name]["id"]
            p = next((p for p in db.props.values() if p.id == prop_id or p.name == name), None)
            if p is None:
                continue
            ids: list[str] = []
            for response in t.pages(f"{p.name!r} of {page.get('url') or page['id']}", lambda cursor: c.pages.properties.retrieve(  # type: ignore[arg-type, return-value]
                page["id"], _unquote(prop_id), page_size=100, **({"start_cursor": cursor} if cursor else {})
            )):  # fmt: skip
                ids.extend((r.get("relation") or {}).get("id") for r in response["results"] if r.get("relation"))  # type: ignore[misc]
            rec["v"][p.field] = ids

    def _named(self, e: SourceError) -> SourceError:
        return e if str(e).startswith(f"{self.name}:") else type(e)(f"{self.name}: {e}", **_extra(e))

    # -- writing: one pages.update per changed page, with every changed property --------
    # A status property lacking the option, a property that cannot hold the field, or a value
    # Notion refuses fails that item only, with a message naming the property and the value.
    # A validation error first refreshes the cached schema once and retries if that changes
    # the request.

    def _comments(self) -> Comments:
        if not hasattr(self, "_comments_obj"):
            today = (self.ctx.now or datetime.now(UTC)).date()
            self._comments_obj = Comments(self.name, self.ctx.cache, lambda: self.transport, today)
        return self._comments_obj

    def write(self, patches: Sequence[Patch]) -> list[ItemError]:
        by_page: dict[Any, list[Patch]] = {}
        for p in patches:
            by_page.setdefault(p.ref, []).append(p)
        errors: list[ItemError] = []
        written = 0
        pending = list(by_page.items())
        for index, (ref, page_patches) in enumerate(pending):
            db = self._dbs.get(ref.db) if isinstance(ref, PageRef) else None
            if db is None:
                errors.extend(
                    ItemError(self.name, p.item, f"not a page of this source ({str(ref)!r})") for p in page_patches
                )
                continue
            if db.schema is None:
                self._prepare(db)
            try:
                if self._write_page(db, ref, page_patches, errors):
                    written += 1
            except NotionError as e:
                if e.code in ("unauthorized", "restricted_resource") or e.status == 401:
                    if written == 0:
                        self._save_records()
                        raise self._named(e) from None
                    errors.extend(
                        ItemError(self.name, p.item, str(self._named(e))) for _, ps in pending[index:] for p in ps
                    )
                    break
                raise
            except Deferred:
                self._save_records()
                raise
        self._save_records()
        return errors

    def _write_page(self, db: _Db, ref: PageRef, patches: list[Patch], errors: list[ItemError]) -> bool:
        page_id, url = ref.page, ref.url
        payload, shown, failed = self._payload(db, patches)
        for p, message in failed:
            errors.append(ItemError(self.name, p.item, f"{url}: {message}"))
        if not payload:
            return False
        sendable = [p for p in patches if all(p is not f for f, _ in failed)]
        item = patches[0].item  # every patch of a page is for the same item
        comments = self._comments() if self.cfg.comment_on_change else None
        intents = [
            comments.intend(page_id, p.old, p.new, url)
            for p in sendable
            if comments and wants_comment(p, mapping.colour_of_label)
        ]
        c = self.transport.client
        for attempt in range(2):
            try:
                page = self._call(lambda: c.pages.update(page_id, properties=payload), f"page {url}")
                break
            except NotionError as e:
                if e.code == "validation_error" and attempt == 0 and not db.refreshed:
                    self._prepare(db, refresh=True)
                    new_payload, shown, _ = self._payload(db, sendable)
                    if new_payload != payload:
                        payload = new_payload
                        continue
                for k in intents:
                    if k:
                        comments.forget(k)  # type: ignore[union-attr]
                if e.code == "validation_error":
                    errors.append(ItemError(self.name, item, f"Notion refused {', '.join(shown)} on {url}: {e.detail}"))
                    return False
                if e.code == "object_not_found":
                    errors.append(
                        ItemError(self.name, item, f"{url}: the page is gone or no longer shared with the integration")
                    )
                    return False
                raise
        if isinstance(page, dict) and page.get("properties"):
            db.written[page_id] = mapping.extract(page, db.props.values())
        for k in intents:
            if k:
                error = comments.post(k)  # type: ignore[union-attr]
                if error:
                    errors.append(error)
        return True

    def _payload(self, db: _Db, patches: list[Patch]) -> tuple[dict[str, Any], list[str], list[tuple[Patch, str]]]:
        payload: dict[str, Any] = {}
        shown: list[str] = []
        failed: list[tuple[Patch, str]] = []
        for p in patches:
            prop = db.props.get(p.field)
            if prop is None or not prop.writable:
                failed.append((p, f"{db.label} has no property syncd can write {p.field} to"))
                continue
            try:
                payload[prop.name] = mapping.render(prop, p.new)
            except mapping.RenderError as e:
                failed.append((p, str(e)))
                continue
            shown.append(f"{prop.name} = {p.new!r}")
        return payload, shown, failed

    def _save_records(self) -> None:
        """The written pages into the state store's copy of the database (relations the
        answer cut at 25 references keep the full lists read before)."""
        for db in self._dbs.values():
            if not db.written:
                continue
            snap = self.ctx.cache.get(self.name, f"pages:{db.id}")
            if not (isinstance(snap, dict) and isinstance(snap.get("pages"), dict)):
                continue
            pages = snap["pages"]
            for page_id, rec in db.written.items():
                old = pages.get(page_id)
                if rec.pop("more", None) and old:
                    rec["v"].update({k: v for k, v in old["v"].items() if isinstance(v, list)})
                pages[page_id] = rec
            self.ctx.cache.put(self.name, f"pages:{db.id}", snap)
            db.written.clear()

    # -- check / close --------------------------------------------------------------------

    def check(self) -> list[str]:
        problems: list[str] = []
        try:
            for db in self._dbs.values():
                db.ds = self._data_source(db)
                ds = self._call(lambda: self.transport.client.data_sources.retrieve(db.ds), db.label)
                db.schema = schema.compact(ds)
                _, missing, notes = schema.resolve(
                    db.schema, db.fields, self._defaults, dict(self.cfg.properties), db.label
                )
                problems.extend(missing)
        except SourceError as e:
            problems.append(str(e))
        return problems

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _unquote(prop_id: str) -> str:
    """Property ids come URL-encoded; httpx would encode them again in a query string."""
    return unquote(prop_id)


def _extra(e: SourceError) -> dict[str, Any]:
    if isinstance(e, NotionError):
        return {"code": e.code, "status": e.status, "detail": e.detail}
    if isinstance(e, Deferred):
        return {"retry_after": e.retry_after}
    return {}
