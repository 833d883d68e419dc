"""Google Sheets: KPI and OKR tables through gspread, at the API's floor.

A read is one metadata call (sheet ids, titles, grid size, merges, the
locale) and one ``values:batchGet`` of FORMATTED values (what people see)
for every worksheet the configuration uses in that spreadsheet; a write is one
``values:batchUpdate`` of the changed cells only, plus one
``spreadsheets:batchUpdate`` when Status cells are coloured or a missing owned
column needs room, per spreadsheet per pass: in an engine pass ``write`` only
queues, and the first ``flush`` of a source of that spreadsheet sends what
every source of it queued. gspread's ``Worksheet`` objects are never used:
each of them re-fetches the metadata.

Every HTTP request goes through :class:`syncd.connectors.sheets.transport.Transport`,
gspread's HTTPClient with the origin swapped for ``base_url`` and the project's
one retry policy and pacing (gspread's BackOffHTTPClient retries forever and
misses non-JSON 429s).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import gspread
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from syncd.http import Pacer, RetryPolicy
from syncd.mappings.sheets import cell_label, colour_requests, fill_merged_header, sheet_range, shown, value_ranges
from syncd.mappings.table import CellWrite, TableMapping
from syncd.model import ItemError, Patch, ReadResult
from syncd.source import BaseSource, Deferred, Role, SourceContext, SourceError

# Re-exported: tests and bench reach the scopes and the proxied credentials through connectors.sheets.
from .transport import (  # noqa: F401
    SCOPES,
    Queued,
    SheetsErrors,
    Transport,
    WriteBatch,
    _ProxiedCredentials,
    load_credentials,
)

__all__ = ["SheetsTable", "SheetsPass", "open", "opener", "spreadsheet_key"]

_METADATA_FIELDS = (
    "spreadsheetId,properties(title,locale,timeZone),sheets(properties(sheetId,title,index,gridProperties),merges)"
)
_KEY = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")


def open(role: Role, config: Any, ctx: SourceContext) -> SheetsTable:  # noqa: A001 - the registry's name
    """One table outside a pass: it reads alone and sends in ``write``."""
    return SheetsTable(role, config, ctx)


def opener(ctx: SourceContext) -> Callable[[Role, Any], SheetsTable]:
    """The pass's opener: its tables share one :class:`SheetsPass`."""
    shared = SheetsPass()
    return lambda role, config: SheetsTable(role, config, ctx, shared=shared)


def spreadsheet_key(text: str) -> str:
    """The key from a key or any URL of the spreadsheet."""
    text = text.strip()
    m = _KEY.search(text)
    if m:
        return m.group(1)
    if re.fullmatch(r"[A-Za-z0-9_-]{10,}", text):
        return text
    raise SourceError(
        f"spreadsheet: {text!r} is neither a spreadsheet key nor a docs.google.com/spreadsheets/d/... URL"
    )


# --- what the sibling tables of one pass share ----------------------------------------


class SheetsPass:
    """Shared by the tables one pass opens: worksheets fetched for a sibling, and
    each spreadsheet's write batch (sent once, by the first table to flush)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: (base_url, credentials variable, key, worksheet) -> (metadata, grid) read for a sibling.
        self._prefetched: dict[tuple[Any, ...], tuple[dict[str, Any], list[list[Any]]]] = {}
        #: (base_url, credentials variable, key) -> the batch being filled.
        self._batches: dict[tuple[Any, ...], WriteBatch] = {}

    def keep(self, key: tuple[Any, ...], meta: dict[str, Any], grid: list[list[Any]]) -> None:
        with self._lock:
            self._prefetched[key] = (meta, grid)

    def take(self, key: tuple[Any, ...]) -> tuple[dict[str, Any], list[list[Any]]] | None:
        with self._lock:
            return self._prefetched.pop(key, None)

    def batch(self, key: tuple[Any, ...]) -> WriteBatch:
        """The batch still being filled under ``key`` (a new one once the last was sent)."""
        with self._lock:
            batch = self._batches.get(key)
            if batch is None or batch.sent:
                batch = self._batches[key] = WriteBatch()
            return batch

    def forget(self, batch: WriteBatch) -> None:
        """Stop handing ``batch`` out (it is being sent, or every table of it closed)."""
        with self._lock:
            for k in [k for k, b in self._batches.items() if b is batch]:
                del self._batches[k]


# --- writes shared between sources of one spreadsheet -----------------------------------

#: What a gspread call may raise that is turned into a clear SourceError.
_FAILURES = (APIError, SourceError, ValueError, KeyError, TypeError)


# --- the source ----------------------------------------------------------------------


class SheetsTable(BaseSource):
    """One ``[[kpis]]`` or ``[[okrs]]`` table in a Google Sheets worksheet."""

    service = "sheets"

    def __init__(
        self,
        role: Role,
        config: Any,
        ctx: SourceContext,
        *,
        policy: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        shared: SheetsPass | None = None,
    ):
        self.name = config.name
        self.role = role
        self.config = config
        self.ctx = ctx
        self.calls: Counter[str] = Counter()
        self.key = spreadsheet_key(config.spreadsheet)
        self.policy = policy or ctx.runtime.policy
        self._pacer = pacer
        #: None outside a pass: nothing to share, and ``write`` sends at once.
        self.shared = shared
        self.errors = SheetsErrors(
            where=self._where,
            source=self.name,
            credentials_env=config.credentials_env,
            email=lambda: getattr(self, "email", "the service account"),
        )
        self._http: HTTPClient | None = None
        self.mapping: TableMapping | None = None
        self.title = ""
        self.sheet: dict[str, Any] = {}
        self.locale: str | None = None
        self._grid: list[list[Any]] = []
        self._batch: WriteBatch | None = None

    # -- plumbing ------------------------------------------------------------------

    def _where(self) -> str:
        return f"spreadsheet {self.key}" + (f" ({self.title})" if self.title else "")

    def _client(self) -> HTTPClient:
        if self._http is None:
            runtime = self.ctx.runtime
            creds, email = load_credentials(
                self.config.credentials_env, self.ctx.env, runtime, bool(self.config.base_url)
            )
            pacer = self._pacer or runtime.pacer("sheets", email, self.ctx.config.limits.sheets_per_minute, 60)
            timeout = self.ctx.config.syncd.timeout.total_seconds()

            def factory(auth: Any, session: Any) -> Transport:
                return Transport(
                    auth,
                    session,
                    base_url=self.config.base_url,
                    policy=self.policy,
                    pacer=pacer,
                    calls=self.calls,
                    timeout=timeout,
                    runtime=runtime,
                    errors=self.errors,
                )

            self.email = email
            self._http = gspread.Client(auth=creds, http_client=factory).http_client  # type: ignore[arg-type]
        return self._http

    def _api(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one gspread call; turn its failures into a clear SourceError."""
        try:
            return fn(*args, **kwargs)
        except Deferred:
            raise
        except _FAILURES as e:
            raise self._failure(what, e) from None

    def _failure(self, what: str, e: Exception) -> SourceError:
        """What to raise for a failed call, worded for this source."""
        if isinstance(e, Deferred):
            return Deferred(str(e), e.retry_after)
        if isinstance(e, APIError):
            return SourceError(self._explain(what, e))
        if isinstance(e, SourceError):
            return SourceError(f"{self._where()}: {what}: {e}")
        return SourceError(
            f"{self._where()}: {what}: the answer was not what the Sheets API sends ({type(e).__name__})"
        )

    def _explain(self, what: str, e: APIError) -> str:
        message = str(e.error.get("message", ""))[:300] if isinstance(e.error, dict) else ""
        return str(self.errors.refused(e.response.status_code, message, what))

    # -- reading -------------------------------------------------------------------

    def _siblings(self) -> list[str | None]:
        """Worksheets that other sheets sources of this run read from this spreadsheet."""
        out: list[str | None] = []
        for _, cfg in self.ctx.config.sources():
            if cfg is self.config or getattr(cfg, "type", None) != "sheets":
                continue
            try:
                same = spreadsheet_key(cfg.spreadsheet) == self.key
            except SourceError:
                continue
            if same and cfg.base_url == self.config.base_url and cfg.credentials_env == self.config.credentials_env:
                out.append(cfg.worksheet)
        return out

    def _prefetch_key(self, worksheet: str | None) -> tuple[Any, ...]:
        return (self.config.base_url, self.config.credentials_env, self.key, worksheet)

    def _fetch(self) -> tuple[dict[str, Any], list[list[Any]]]:
        hit = self.shared.take(self._prefetch_key(self.config.worksheet)) if self.shared else None
        if hit is not None:
            return hit
        http = self._client()
        meta = self._api(
            "reading its metadata",
            http.fetch_sheet_metadata,
            self.key,
            params={"includeGridData": "false", "fields": _METADATA_FIELDS},
        )
        sheets = sorted(_worksheets(meta, self._where()), key=lambda s: s["properties"].get("index", 0))
        if not sheets:
            raise SourceError(f"{self._where()} has no worksheets")
        by_title = {s["properties"]["title"]: s for s in sheets}

        def pick(title: str | None) -> dict[str, Any] | None:
            return sheets[0] if title is None else by_title.get(title)

        mine = pick(self.config.worksheet)
        if mine is None:
            raise SourceError(
                f"{self._where()} has no worksheet {self.config.worksheet!r}; its worksheets are "
                + ", ".join(repr(t) for t in by_title)
                + f"; fix `worksheet` in source {self.name!r}"
            )
        wanted: dict[str, tuple[str | None, dict[str, Any]]] = {
            mine["properties"]["title"]: (self.config.worksheet, mine)
        }
        for other in self._siblings() if self.shared else ():
            sheet = pick(other)
            if sheet is not None and sheet["properties"]["title"] not in wanted:
                wanted[sheet["properties"]["title"]] = (other, sheet)
        titles = list(wanted)
        answer = self._api(
            "reading its values",
            http.values_batch_get,
            self.key,
            [sheet_range(t) for t in titles],
            params={"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "ROWS"},
        )
        ranges = answer.get("valueRanges") if isinstance(answer, dict) else None
        if not isinstance(ranges, list) or len(ranges) != len(titles) or not all(_is_range(r) for r in ranges):
            raise SourceError(f"{self._where()}: values:batchGet answered without the {len(titles)} ranges asked for")
        result = None
        for title, vr in zip(titles, ranges):
            name, sheet = wanted[title]
            grid = [list(r) for r in (vr.get("values") or [])]
            entry = {**meta, "sheet": sheet}
            if title == titles[0]:
                result = (entry, grid)
            elif self.shared is not None:
                self.shared.keep(self._prefetch_key(name), entry, grid)
        assert result is not None
        return result

    def read(self) -> ReadResult:
        meta, grid = self._fetch()
        self.sheet = meta["sheet"]
        self.title = self.sheet["properties"]["title"]
        self.locale = (meta.get("properties") or {}).get("locale")
        self._grid = fill_merged_header(grid, self.sheet.get("merges") or [], self.config.header_row)
        title = self.title
        self.mapping = TableMapping(
            self.role,
            self.config.columns,
            source=self.name,
            header_row=self.config.header_row,
            locale=self.locale,
            label=lambda row, col: cell_label(title, row, col),
        )
        try:
            return self.mapping.read(self._grid)
        except SourceError as e:
            raise SourceError(f"{self._where()}: {e}") from None

    # -- writing -------------------------------------------------------------------

    def write(self, patches: Sequence[Patch]) -> list[ItemError]:
        """Queue the changed cells; in an engine pass ``flush`` sends them."""
        if not patches or self.ctx.dry_run:
            return []
        if self.mapping is None:
            self.read()
        assert self.mapping is not None
        cells = self._changed(self.mapping.cell_writes(patches))
        if not cells:
            return []
        changed = {(c.row, c.col) for c in cells}
        colours = self._colours(patches, changed) if self.config.colour else []
        while True:  # a batch a sibling is sending takes no more
            batch = self._join()
            with batch.lock:
                if not batch.sent:
                    batch.queued.append(Queued(self, list(patches), cells, colours))
                    break
        return [] if self.shared is not None else self.flush()

    def _join(self) -> WriteBatch:
        """This spreadsheet's batch for this pass (a batch of its own outside a pass)."""
        if self._batch is not None and not self._batch.sent:
            return self._batch
        if self.shared is None:
            self._batch = WriteBatch()
            return self._batch
        self._batch = self.shared.batch((self.config.base_url, self.config.credentials_env, self.key))
        return self._batch

    def flush(self) -> list[ItemError]:
        """Send the spreadsheet's batch unless a sibling source already did; report this source's part."""
        batch, self._batch = self._batch, None
        if batch is None:
            return []
        with batch.lock:
            if not batch.sent:
                batch.sent = True
                if self.shared is not None:
                    self.shared.forget(batch)
                self._send(batch)
            mine = [q for q in batch.queued if q.source is self]
        if batch.failure is not None:
            raise self._failure(*batch.failure) from None
        for q in mine:
            for c in q.cells:
                self._remember(c)
        if batch.colour_failure is None or not any(q.colours for q in mine):
            return []
        problem = self._failure(*batch.colour_failure)
        if isinstance(problem, Deferred):
            raise problem from None  # stopping, or a long Retry-After: the pass is partial
        return [
            ItemError(self.name, p.item, f"status written, but not coloured: {problem}", fields=())
            for q in mine
            for p in q.patches
            if p.field == "status" and p.colour is not None
        ]

    def _send(self, batch: WriteBatch) -> None:
        """Room for new columns first (colours ride along), then one values:batchUpdate
        for every queued range, then the colours: as few calls as the order allows."""
        room: dict[int, tuple[int, int]] = {}  # sheetId -> (columns there, columns needed)
        colours: list[dict[str, Any]] = []
        data: list[dict[str, Any]] = []
        for q in batch.queued:
            props = q.source.sheet["properties"]
            have = props.get("gridProperties", {}).get("columnCount", 26)
            there, need = room.get(props["sheetId"], (have, 0))
            room[props["sheetId"]] = (min(there, have), max(need, max(c.col for c in q.cells) + 1))
            colours += colour_requests(props["sheetId"], q.colours)
            data += value_ranges(q.source.title, q.cells)
        layout = [
            {"appendDimension": {"sheetId": sheet_id, "dimension": "COLUMNS", "length": need - there}}
            for sheet_id, (there, need) in room.items()
            if need > there
        ]
        what = "making room for new columns"
        try:
            http = self._client()
            if layout:
                http.batch_update(self.key, {"requests": layout + colours})
                for q in batch.queued:
                    props = q.source.sheet["properties"]
                    grid = props.setdefault("gridProperties", {})
                    grid["columnCount"] = max(grid.get("columnCount", 26), room[props["sheetId"]][1])
            what = f"writing {sum(len(q.cells) for q in batch.queued)} cells"
            http.values_batch_update(self.key, {"valueInputOption": "RAW", "data": data})
        except _FAILURES as e:
            batch.failure = (what, e)
            return
        if colours and not layout:
            try:
                http.batch_update(self.key, {"requests": colours})
            except _FAILURES as e:
                batch.colour_failure = ("colouring Status cells", e)

    def _changed(self, cells: list[CellWrite]) -> list[CellWrite]:
        """Only cells that do not already show the value (a re-run writes nothing)."""
        return [c for c in cells if shown(self._grid, c.row, c.col) != _text(c.value)]

    def _colours(self, patches: Sequence[Patch], changed: set[tuple[int, int]]) -> list[tuple[int, int, str | None]]:
        assert self.mapping is not None
        out = []
        for p in patches:
            if p.field != "status":
                continue
            for c in self.mapping.cell_writes([p]):
                if c.row != self.config.header_row and (c.row, c.col) in changed:
                    out.append((c.row, c.col, p.colour))
        return out  # type: ignore[return-value]

    def _remember(self, c: CellWrite) -> None:
        while len(self._grid) < c.row:
            self._grid.append([])
        row = self._grid[c.row - 1]
        while len(row) <= c.col:
            row.append("")
        row[c.col] = _text(c.value)

    # -- the rest of the protocol ------------------------------------------------------

    def check(self) -> list[str]:
        try:
            self.read()
        except SourceError as e:
            return [str(e)]
        return []

    def close(self) -> None:
        batch, self._batch = self._batch, None
        if batch is not None and not batch.sent:  # never flushed: nothing of it goes out
            with batch.lock:
                batch.queued = [q for q in batch.queued if q.source is not self]
            if not batch.queued and self.shared is not None:
                self.shared.forget(batch)
        http, self._http = self._http, None
        if http is not None:
            http.session.close()


def _worksheets(meta: Any, where: str) -> list[dict[str, Any]]:
    """The metadata's worksheets, or a SourceError when the answer is not shaped like Sheets' own."""
    sheets = meta.get("sheets") if isinstance(meta, dict) else None
    if sheets is None and isinstance(meta, dict):
        return []
    ok = isinstance(sheets, list) and all(
        isinstance(s, dict)
        and isinstance(s.get("properties"), dict)
        and isinstance(s["properties"].get("title"), str)
        and isinstance(s["properties"].get("index", 0), int)
        and isinstance(s.get("merges") or [], list)
        for s in sheets
    )
    if not ok:
        shape = f"its sheets are {type(sheets).__name__}" if isinstance(meta, dict) else f"it is {type(meta).__name__}"
        raise SourceError(
            f"{where}: the metadata answer is not shaped like Google Sheets' ({shape}, "
            "not a list of worksheets); check base_url and any proxy in front of Sheets"
        )
    return sheets  # type: ignore[return-value]


def _is_range(vr: Any) -> bool:
    values = vr.get("values") if isinstance(vr, dict) else None
    return isinstance(vr, dict) and (
        values is None or (isinstance(values, list) and all(isinstance(r, list) for r in values))
    )


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
