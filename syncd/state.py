"""The state store: KPI value history, what syncd wrote, runs, caches, the alert outbox.

One interface (:class:`StateStore`), two implementations: :class:`SQLiteStore`,
the embedded default (one file, one process), and
:class:`syncd.pgstate.PostgresStore` (``[syncd].state = "postgresql://..."``,
shared by replicas). Both run the same SQL (:class:`SQLStore`): ``?``
placeholders and ``ON CONFLICT`` upserts, which SQLite and PostgreSQL both
speak, over the same tables with the same meaning. Every change is in a
transaction, so a process killed at any moment leaves either the old or the new
state. A dry run opens the store read-only and writes nothing. The store stays
bounded: history older than ``[syncd].retention`` is pruned at the end of each
pass (:meth:`SQLStore.prune`), and SQLite's write-ahead log is checkpointed and
cut back to :data:`WAL_LIMIT`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .model import KpiHistory, Patch, Points

if TYPE_CHECKING:
    from .config import Config

__all__ = ["StateStore", "SQLStore", "SQLiteStore", "StateError", "Db", "open_store", "SCHEMA", "WAL_LIMIT"]

#: Bytes SQLite's write-ahead log may keep after a checkpoint (``journal_size_limit``); a
#: checkpoint runs once it holds about this much (``wal_autocheckpoint``), not at SQLite's 4 MB.
WAL_LIMIT = 1 << 20

#: The tables, written once for both databases. ``{id}`` is the
#: auto-numbered key; ``{keyed}`` ends a table of many small rows found by their
#: key (SQLite: ``WITHOUT ROWID``, one B-tree instead of a table and its key's
#: index, so a first sync of 20,000 KPIs records in 40% less time); ``DOUBLE
#: PRECISION`` is a REAL in SQLite.
SCHEMA = """
CREATE TABLE IF NOT EXISTS kpi_values (
    kpi TEXT NOT NULL,
    value DOUBLE PRECISION,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (kpi, first_seen)
){keyed};
CREATE TABLE IF NOT EXISTS key_result_values (
    key_result TEXT NOT NULL,
    value DOUBLE PRECISION,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (key_result, first_seen)
){keyed};
CREATE TABLE IF NOT EXISTS outlines (
    source TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (source, at)
);
CREATE TABLE IF NOT EXISTS written (
    source TEXT NOT NULL,
    item TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (source, item, field)
){keyed};
CREATE TABLE IF NOT EXISTS runs (
    id {id},
    started TEXT NOT NULL,
    now TEXT NOT NULL,
    source TEXT NOT NULL,
    outcome TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_source ON runs (source, id);
CREATE TABLE IF NOT EXISTS cache (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (source, key)
);
CREATE TABLE IF NOT EXISTS alert_colours (
    source TEXT NOT NULL,
    item TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    colour TEXT NOT NULL,
    status TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (source, item)
);
CREATE TABLE IF NOT EXISTS alert_outbox (
    key TEXT PRIMARY KEY,
    alert TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error TEXT,
    sent TEXT
);
CREATE INDEX IF NOT EXISTS alert_outbox_by_state ON alert_outbox (state, created);
CREATE TABLE IF NOT EXISTS alert_warnings (
    code TEXT NOT NULL,
    item TEXT NOT NULL,
    message TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (code, item)
);
"""


class StateError(Exception):
    """The state store cannot be opened or reached; the message says where and what to do
    (and never holds a password)."""


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Db(Protocol):
    """What :meth:`StateStore.transaction` yields: SQL with ``?`` placeholders."""

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, seq: Any, /) -> Any: ...


class StateStore(Protocol):
    """What the engine, the daemon, the alerts and the sources' cache use."""

    readonly: bool

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[Db]:
        """Everything inside commits together or not at all (rolled back when read-only)."""
        ...

    def kpi_history(self, values: Mapping[str, float | None]) -> dict[str, KpiHistory]: ...

    def history(
        self, kpis: Mapping[str, float | None], key_results: Iterable[str], now: datetime
    ) -> tuple[dict[str, KpiHistory], dict[str, Points]]: ...

    def record_key_result_values(self, values: Mapping[str, float | None], now: datetime) -> None: ...

    def record_kpi_values(
        self, values: Mapping[str, float | None], now: datetime, known: Mapping[str, KpiHistory] | None = None
    ) -> None: ...

    def record_writes(self, patches: Iterable[Patch], now: datetime) -> None: ...

    def record_run(
        self, source: str, *, started: datetime, now: datetime, outcome: str, summary: dict[str, Any]
    ) -> None: ...

    def last_runs(self) -> list[dict[str, Any]]: ...

    def last_successes(self) -> dict[str, str]: ...

    def failures_in_a_row(self, source: str) -> int: ...

    def prune(self, before: datetime) -> int: ...

    def alert_counts(self) -> dict[str, int]: ...

    def record_outline(self, source: str, outline: list[Any], now: datetime) -> None: ...

    def outline(self, source: str, now: datetime) -> list[Any] | None: ...

    def get(self, source: str, key: str, default: object = None) -> object: ...

    def put(self, source: str, key: str, value: object) -> None: ...


def open_store(config: Config, *, readonly: bool = False) -> StateStore:
    """The store ``[syncd].state`` names: a PostgreSQL DSN, else a SQLite file."""
    if config.state_dsn:
        from .pgstate import PostgresStore

        return PostgresStore(config.state_dsn, readonly=readonly)
    return SQLiteStore(config.state_path, readonly=readonly)


def _iso(t: datetime) -> str:
    return t.isoformat()


#: The outline of a source as of a moment: the newest row at or before it.
_OUTLINE_AT = "SELECT value FROM outlines WHERE source = ? AND at <= ? ORDER BY at DESC LIMIT 1"


def _first(point: tuple[float, float | None]) -> float:
    return point[0]


def _unseen(seen: KpiHistory | None) -> bool:
    """Whether a KPI's current value is not its last recorded one (or nothing is recorded)."""
    return seen is None or seen.first_seen is None


class SQLStore:
    """The store's methods, once, in SQL both databases run.

    Subclasses provide :meth:`transaction` (and may override :meth:`_latest`).
    """

    readonly: bool = False
    #: Shared by replicas (PostgreSQL): a pass keeps what other replicas' passes read from it.
    shared: bool = False
    #: What ends a keyed table's definition (see :data:`SCHEMA`).
    _keyed: str = ""

    def close(self) -> None:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Db]:
        raise NotImplementedError  # pragma: no cover

    # -- KPI history ---------------------------------------------------------------

    def _latest(self, kpis: Iterable[str]) -> dict[str, list[tuple[float | None, str]]]:
        """The two newest (value, first_seen) of each KPI, newest first, in one query."""
        wanted = list(kpis)
        out: dict[str, list[tuple[float | None, str]]] = {k: [] for k in wanted}
        with self.transaction() as db:
            db.execute(f"CREATE TEMP TABLE IF NOT EXISTS wanted (kpi TEXT PRIMARY KEY){self._keyed}")
            db.execute("DELETE FROM wanted")
            db.executemany("INSERT INTO wanted VALUES (?) ON CONFLICT DO NOTHING", ((k,) for k in wanted))
            rows = db.execute(
                "SELECT kpi, value, first_seen FROM ("
                "  SELECT v.kpi, v.value, v.first_seen,"
                "         ROW_NUMBER() OVER (PARTITION BY v.kpi ORDER BY v.first_seen DESC) AS n"
                "  FROM kpi_values v JOIN wanted w ON w.kpi = v.kpi"
                ") latest WHERE n <= 2 ORDER BY kpi, n"
            ).fetchall()
            db.execute("DELETE FROM wanted")
        for kpi, value, first_seen in rows:
            out[kpi].append((value, first_seen))
        return out

    def kpi_history(self, values: Mapping[str, float | None]) -> dict[str, KpiHistory]:
        """For each KPI and its current value: when syncd first saw that value,
        and the previous different value (for the trend)."""
        out: dict[str, KpiHistory] = {}
        for kpi, rows in self._latest(values).items():
            value = values[kpi]
            if rows and rows[0][0] == value:
                previous = rows[1][0] if len(rows) > 1 else None
                out[kpi] = KpiHistory(first_seen=datetime.fromisoformat(rows[0][1]), previous=previous)
            else:
                out[kpi] = KpiHistory(first_seen=None, previous=rows[0][0] if rows else None)
        return out

    def record_kpi_values(
        self, values: Mapping[str, float | None], now: datetime, known: Mapping[str, KpiHistory] | None = None
    ) -> None:
        """Remember each value that differs from the last one recorded.

        ``known``: what :meth:`history` gave for these KPIs at this ``now`` earlier in the pass; the
        last values are then not read a second time (a third of recording a first sync).
        """
        if self.readonly:
            return
        if known is None:
            known = self.kpi_history(values)
        stamp = _iso(now)
        changed = [(kpi, value, stamp) for kpi, value in values.items() if _unseen(known.get(kpi))]
        if changed:
            with self.transaction() as db:
                db.executemany(
                    "INSERT INTO kpi_values (kpi, value, first_seen) VALUES (?, ?, ?) "
                    "ON CONFLICT (kpi, first_seen) DO UPDATE SET value = excluded.value",
                    changed,
                )

    # -- history for the history-based rules (one query per pass) -------------------

    def history(
        self, kpis: Mapping[str, float | None], key_results: Iterable[str], now: datetime
    ) -> tuple[dict[str, KpiHistory], dict[str, Points]]:
        """Every value recorded for these KPIs and key results at or before ``now``, in one query.

        KPIs get :class:`KpiHistory` (first seen of the current value, the previous
        different value, every value); key results their points, oldest first.
        Items with nothing recorded have no entry.
        Values recorded after ``now`` are left out, so a replay at an earlier
        ``--now`` sees what that pass saw.
        """
        with self.transaction() as db:
            db.execute(f"CREATE TEMP TABLE IF NOT EXISTS wanted (kpi TEXT PRIMARY KEY){self._keyed}")
            db.execute(f"CREATE TEMP TABLE IF NOT EXISTS wanted_kr (kr TEXT PRIMARY KEY){self._keyed}")
            db.execute("DELETE FROM wanted")
            db.execute("DELETE FROM wanted_kr")
            db.executemany("INSERT INTO wanted VALUES (?) ON CONFLICT DO NOTHING", ((k,) for k in kpis))
            db.executemany("INSERT INTO wanted_kr VALUES (?) ON CONFLICT DO NOTHING", ((k,) for k in key_results))
            rows = db.execute(
                "SELECT 0, v.kpi, v.value, v.first_seen FROM kpi_values v JOIN wanted w ON w.kpi = v.kpi "
                "UNION ALL SELECT 1, v.key_result, v.value, v.first_seen "
                "FROM key_result_values v JOIN wanted_kr w ON w.kr = v.key_result"
                if self._has_table(db, "key_result_values")
                else "SELECT 0, v.kpi, v.value, v.first_seen FROM kpi_values v JOIN wanted w ON w.kpi = v.kpi"
            )
            # Rows are taken as the cursor gives them, never all at once: at 100,000 items and
            # weeks of history, the fetched rows alone held more than the points made of them.
            limit = now.timestamp()
            stamps: dict[str, float] = {}  # one pass stamps all its values alike: parse each stamp once
            grouped: tuple[dict[str, list[tuple[float, float | None]]], ...] = ({}, {})
            for kind, item, value, first_seen in rows:
                ts = stamps.get(first_seen)
                if ts is None:
                    ts = stamps[first_seen] = datetime.fromisoformat(first_seen).timestamp()
                if ts <= limit:
                    grouped[kind].setdefault(item, []).append((ts, value))
            db.execute("DELETE FROM wanted")
            db.execute("DELETE FROM wanted_kr")
        for points in (*grouped[0].values(), *grouped[1].values()):
            points.sort(key=_first)
        kpi_out: dict[str, KpiHistory] = {}
        for kpi, value in kpis.items():
            pts = grouped[0].get(kpi)
            if not pts:
                continue  # never recorded: no entry, as evaluation reads it
            values = tuple(pts)
            if pts[-1][1] == value:
                previous = pts[-2][1] if len(pts) > 1 else None
                first = datetime.fromtimestamp(pts[-1][0], now.tzinfo)
                kpi_out[kpi] = KpiHistory(first_seen=first, previous=previous, values=values)
            else:
                kpi_out[kpi] = KpiHistory(first_seen=None, previous=pts[-1][1], values=values)
        return kpi_out, {kr: tuple(pts) for kr, pts in grouped[1].items()}

    def _has_table(self, db: Db, name: str) -> bool:
        """False only for a store made by an older syncd, opened read-only (a dry run)."""
        return True

    def record_key_result_values(self, values: Mapping[str, float | None], now: datetime) -> None:
        """Remember each key result's current value when it differs from the last one recorded."""
        if self.readonly or not values:
            return
        with self.transaction() as db:
            db.execute(f"CREATE TEMP TABLE IF NOT EXISTS wanted_kr (kr TEXT PRIMARY KEY){self._keyed}")
            db.execute("DELETE FROM wanted_kr")
            db.executemany("INSERT INTO wanted_kr VALUES (?) ON CONFLICT DO NOTHING", [(k,) for k in values])
            latest = dict(
                db.execute(
                    "SELECT key_result, value FROM ("
                    "  SELECT v.key_result, v.value,"
                    "         ROW_NUMBER() OVER (PARTITION BY v.key_result ORDER BY v.first_seen DESC) AS n"
                    "  FROM key_result_values v JOIN wanted_kr w ON w.kr = v.key_result"
                    ") latest WHERE n = 1"
                ).fetchall()
            )
            db.execute("DELETE FROM wanted_kr")
            stamp = _iso(now)
            db.executemany(
                "INSERT INTO key_result_values (key_result, value, first_seen) VALUES (?, ?, ?) "
                "ON CONFLICT (key_result, first_seen) DO UPDATE SET value = excluded.value",
                [(kr, v, stamp) for kr, v in values.items() if kr not in latest or latest[kr] != v],
            )

    # -- writes and runs -------------------------------------------------------------

    def record_writes(self, patches: Iterable[Patch], now: datetime) -> None:
        """Every write of the pass in one statement, one transaction."""
        if self.readonly:
            return
        stamp = _iso(now)
        encoded: dict[str, str] = {}  # a pass writes a handful of statuses: each encoded once
        rows = []
        for p in patches:
            new = p.new
            if type(new) is str:
                value = encoded.get(new)
                if value is None:
                    value = encoded[new] = json.dumps(new)
            else:
                value = json.dumps(new)
            rows.append((p.source, p.item, p.field, value, stamp))
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO written (source, item, field, value, at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (source, item, field) DO UPDATE SET value = excluded.value, at = excluded.at",
                rows,
            )

    def record_run(
        self, source: str, *, started: datetime, now: datetime, outcome: str, summary: dict[str, Any]
    ) -> None:
        if self.readonly:
            return
        with self.transaction() as db:
            db.execute(
                "INSERT INTO runs (started, now, source, outcome, summary) VALUES (?, ?, ?, ?, ?)",
                (_iso(started), _iso(now), source, outcome, json.dumps(summary)),
            )
            # Keep the log bounded: the last 1,000 passes of each source.
            db.execute(
                "DELETE FROM runs WHERE source = ? AND id <= "
                "(SELECT id FROM runs WHERE source = ? ORDER BY id DESC LIMIT 1 OFFSET 1000)",
                (source, source),
            )

    def last_runs(self) -> list[dict[str, Any]]:
        """The last pass of each source, newest first."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT source, started, now, outcome, summary FROM runs WHERE id IN "
                "(SELECT MAX(id) FROM runs GROUP BY source) ORDER BY id DESC"
            ).fetchall()
        return [
            {"source": s, "started": st, "now": n, "outcome": o, **json.loads(summary)} for s, st, n, o, summary in rows
        ]

    def last_successes(self) -> dict[str, str]:
        """When the last good pass of each source started."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT source, started FROM runs WHERE id IN "
                "(SELECT MAX(id) FROM runs WHERE outcome = 'ok' GROUP BY source)"
            ).fetchall()
        return {source: started for source, started in rows}

    def failures_in_a_row(self, source: str) -> int:
        with self.transaction() as db:
            rows = db.execute(
                "SELECT outcome FROM runs WHERE source = ? ORDER BY id DESC LIMIT 100", (source,)
            ).fetchall()
        count = 0
        for (outcome,) in rows:
            if outcome != "failed":
                break
            count += 1
        return count

    def alert_counts(self) -> dict[str, int]:
        """Alert messages per state (pending, sending, sent, failed, unknown)."""
        with self.transaction() as db:
            rows = db.execute("SELECT state, COUNT(*) FROM alert_outbox GROUP BY state").fetchall()
        return {state: n for state, n in rows}

    def prune(self, before: datetime) -> int:
        """Forget the history recorded before ``before`` (the pass's ``now`` minus the retention).

        Each KPI and key result keeps its newest value however old (its age, trend and check-in
        are read from it), and each source its last pass. Times are compared as times (the text
        is ISO 8601 with any offset): the text only narrows the rows read. Returns the rows removed.
        """
        if self.readonly:
            return 0
        margin = _iso(before + timedelta(days=1))  # later text is later than ``before`` whatever the offsets
        removed = 0
        with self.transaction() as db:
            for table, key in (("kpi_values", "kpi"), ("key_result_values", "key_result")):
                old = db.execute(f"SELECT {key}, first_seen FROM {table} WHERE first_seen < ?", (margin,)).fetchall()
                if not old:
                    continue
                counts = dict(db.execute(f"SELECT {key}, COUNT(*) FROM {table} GROUP BY {key}").fetchall())
                by_key: dict[str, list[tuple[datetime, str]]] = {}
                for k, seen in old:
                    by_key.setdefault(k, []).append((datetime.fromisoformat(seen), seen))
                gone = []  # type: ignore[var-annotated]
                for k, rows in by_key.items():
                    rows.sort()
                    if len(rows) == counts[k]:
                        rows.pop()  # every row is old: the newest stays, it is the current value
                    gone.extend((k, seen) for t, seen in rows if t < before)
                db.executemany(f"DELETE FROM {table} WHERE {key} = ? AND first_seen = ?", gone)
                removed += len(gone)
            # Outlines: each source keeps the one in force at ``before`` and every later one.
            cut = before.timestamp()
            removed += db.execute(
                "DELETE FROM outlines WHERE at < ? AND at < "
                "(SELECT MAX(o.at) FROM outlines o WHERE o.source = outlines.source AND o.at < ?)",
                (cut, cut),
            ).rowcount
            last = {i for (i,) in db.execute("SELECT MAX(id) FROM runs GROUP BY source").fetchall()}
            runs = db.execute("SELECT id, now FROM runs WHERE now < ?", (margin,)).fetchall()
            gone_runs = [(i,) for i, now in runs if i not in last and datetime.fromisoformat(now) < before]
            db.executemany("DELETE FROM runs WHERE id = ?", gone_runs)
        return removed + len(gone_runs)

    # -- outlines: each OKR source's objectives as of a pass, for the passes that do not read it --

    def record_outline(self, source: str, outline: list[Any], now: datetime) -> None:
        """Keep ``source``'s outline as of ``now``: a row only when it differs from the one before."""
        if self.readonly:
            return
        text, at = json.dumps(outline, sort_keys=True), now.timestamp()
        with self.transaction() as db:
            row = db.execute(_OUTLINE_AT, (source, at)).fetchone()
            if row is None or row[0] != text:
                db.execute(
                    "INSERT INTO outlines (source, at, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (source, at) DO UPDATE SET value = excluded.value",
                    (source, at, text),
                )

    def outline(self, source: str, now: datetime) -> list[Any] | None:
        """``source``'s outline as the last pass at or before ``now`` recorded it (a replay at an
        earlier ``--now`` sees what that pass saw), or None."""
        with self.transaction() as db:
            if not self._has_table(db, "outlines"):
                return None
            row = db.execute(_OUTLINE_AT, (source, now.timestamp())).fetchone()
        value = json.loads(row[0]) if row else None
        return value if isinstance(value, list) else None

    # -- the sources' cache ----------------------------------------------------------

    def get(self, source: str, key: str, default: object = None) -> object:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM cache WHERE source = ? AND key = ?", (source, key)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, source: str, key: str, value: object) -> None:
        if self.readonly:
            return
        with self.transaction() as db:
            db.execute(
                "INSERT INTO cache (source, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (source, key) DO UPDATE SET value = excluded.value",
                (source, key, json.dumps(value)),
            )


class SQLiteStore(SQLStore):
    """The embedded store: one SQLite file in WAL mode, one connection, thread-safe."""

    _keyed = " WITHOUT ROWID"

    def __init__(self, path: Path | str, *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        schema = SCHEMA.format(id="INTEGER PRIMARY KEY AUTOINCREMENT", keyed=self._keyed)
        try:
            if readonly:
                if self.path.exists():
                    uri = f"file:{self.path.resolve()}?mode=ro"
                    self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
                else:
                    self._db = sqlite3.connect(":memory:", check_same_thread=False)
                    self._db.executescript(schema)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
                page = self._db.execute("PRAGMA page_size").fetchone()[0]
                self._db.execute(f"PRAGMA wal_autocheckpoint={max(WAL_LIMIT // page, 16)}")
                self._db.executescript(schema)
        except (sqlite3.Error, OSError) as e:
            raise StateError(
                f"cannot open the state file {self.path}: {e}; check [syncd].state and its folder's permissions"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _has_table(self, db: Db, name: str) -> bool:
        return bool(db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone())

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        """Everything inside commits together or not at all (a no-op when read-only)."""
        with self._lock:
            if self.readonly:
                yield self._db
                self._db.rollback()
                return
            try:
                yield self._db
                self._db.commit()
            except BaseException:
                self._db.rollback()
                raise
