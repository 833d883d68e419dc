"""The SQLite state store: KPI and key result value history, what syncd wrote, runs, caches.

One file (``[syncd].state``), WAL mode, every change in a transaction, so a
process killed at any moment leaves either the old or the new state, never a
broken file. A dry run opens the store read-only (or not at all when it does
not exist yet) and writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from .model import KpiHistory, Patch, Points

__all__ = ["StateStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kpi_values (
    kpi TEXT NOT NULL,
    value REAL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (kpi, first_seen)
);
CREATE TABLE IF NOT EXISTS key_result_values (
    key_result TEXT NOT NULL,
    value REAL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (key_result, first_seen)
);
CREATE TABLE IF NOT EXISTS written (
    source TEXT NOT NULL,
    item TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (source, item, field)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
"""


def _iso(t: datetime) -> str:
    return t.isoformat()


def _first(point: tuple[float, float | None]) -> float:
    return point[0]


class StateStore:
    """Thread-safe wrapper over one SQLite connection."""

    def __init__(self, path: Path | str, *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        if readonly:
            if self.path.exists():
                uri = f"file:{self.path.resolve()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                self._db = sqlite3.connect(":memory:", check_same_thread=False)
                self._db.executescript(_SCHEMA)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
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

    # -- KPI history ---------------------------------------------------------------

    def _latest(self, kpis: Iterable[str]) -> dict[str, list[tuple[float | None, str]]]:
        """The two newest (value, first_seen) of each KPI, newest first, in one query."""
        wanted = list(kpis)
        out: dict[str, list[tuple[float | None, str]]] = {k: [] for k in wanted}
        with self._lock:
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (kpi TEXT PRIMARY KEY)")
            self._db.execute("DELETE FROM wanted")
            self._db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((k,) for k in wanted))
            rows = self._db.execute(
                "SELECT kpi, value, first_seen FROM ("
                "  SELECT v.kpi, v.value, v.first_seen,"
                "         ROW_NUMBER() OVER (PARTITION BY v.kpi ORDER BY v.first_seen DESC) AS n"
                "  FROM kpi_values v JOIN wanted w ON w.kpi = v.kpi"
                ") WHERE n <= 2 ORDER BY kpi, n"
            ).fetchall()
            self._db.execute("DELETE FROM wanted")
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

    def record_kpi_values(self, values: Mapping[str, float | None], now: datetime) -> None:
        """Remember each value that differs from the last one recorded."""
        latest = self._latest(values)
        changed = [
            (kpi, value, _iso(now)) for kpi, value in values.items() if not latest[kpi] or latest[kpi][0][0] != value
        ]
        if changed:
            with self.transaction() as db:
                db.executemany("INSERT OR REPLACE INTO kpi_values (kpi, value, first_seen) VALUES (?, ?, ?)", changed)

    # -- history for the history-based rules (one query per pass) -------------------

    def history(
        self, kpis: Mapping[str, float | None], key_results: Iterable[str], now: datetime
    ) -> tuple[dict[str, KpiHistory], dict[str, Points]]:
        """Every value recorded for these KPIs and key results at or before ``now``, in one query.

        KPIs get :class:`KpiHistory` (first seen of the current value, the previous
        different value, every value); key results their points, oldest first.
        Values recorded after ``now`` are left out, so a replay at an earlier
        ``--now`` sees what that pass saw.
        """
        wanted_krs = list(key_results)
        with self._lock:
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (kpi TEXT PRIMARY KEY)")
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_kr (kr TEXT PRIMARY KEY)")
            self._db.execute("DELETE FROM wanted")
            self._db.execute("DELETE FROM wanted_kr")
            self._db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((k,) for k in kpis))
            self._db.executemany("INSERT OR IGNORE INTO wanted_kr VALUES (?)", ((k,) for k in wanted_krs))
            rows = self._db.execute(
                "SELECT 0, v.kpi, v.value, v.first_seen FROM kpi_values v JOIN wanted w ON w.kpi = v.kpi "
                "UNION ALL SELECT 1, v.key_result, v.value, v.first_seen "
                "FROM key_result_values v JOIN wanted_kr w ON w.kr = v.key_result"
                if self._has_key_result_values()
                else "SELECT 0, v.kpi, v.value, v.first_seen FROM kpi_values v JOIN wanted w ON w.kpi = v.kpi"
            ).fetchall()
            self._db.execute("DELETE FROM wanted")
            self._db.execute("DELETE FROM wanted_kr")
        limit = now.timestamp()
        stamps: dict[str, float] = {}  # one pass stamps all its values alike: parse each stamp once
        grouped: tuple[dict[str, list[tuple[float, float | None]]], ...] = ({}, {})
        for kind, item, value, first_seen in rows:
            ts = stamps.get(first_seen)
            if ts is None:
                ts = stamps[first_seen] = datetime.fromisoformat(first_seen).timestamp()
            if ts <= limit:
                grouped[kind].setdefault(item, []).append((ts, value))
        for points in (*grouped[0].values(), *grouped[1].values()):
            points.sort(key=_first)
        kpi_out: dict[str, KpiHistory] = {}
        for kpi, value in kpis.items():
            pts = grouped[0].get(kpi)
            if not pts:
                kpi_out[kpi] = KpiHistory()
                continue
            values = tuple(pts)
            if pts[-1][1] == value:
                previous = pts[-2][1] if len(pts) > 1 else None
                first = datetime.fromtimestamp(pts[-1][0], now.tzinfo)
                kpi_out[kpi] = KpiHistory(first_seen=first, previous=previous, values=values)
            else:
                kpi_out[kpi] = KpiHistory(first_seen=None, previous=pts[-1][1], values=values)
        return kpi_out, {kr: tuple(pts) for kr, pts in grouped[1].items()}

    def _has_key_result_values(self) -> bool:
        """False only for a store made by an older syncd, opened read-only (a dry run)."""
        return bool(
            self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'key_result_values'"
            ).fetchone()
        )

    def record_key_result_values(self, values: Mapping[str, float | None], now: datetime) -> None:
        """Remember each key result's current value when it differs from the last one recorded."""
        if self.readonly or not values:
            return
        with self.transaction() as db:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_kr (kr TEXT PRIMARY KEY)")
            db.execute("DELETE FROM wanted_kr")
            db.executemany("INSERT OR IGNORE INTO wanted_kr VALUES (?)", ((k,) for k in values))
            latest = dict(
                db.execute(
                    "SELECT key_result, value FROM ("
                    "  SELECT v.key_result, v.value,"
                    "         ROW_NUMBER() OVER (PARTITION BY v.key_result ORDER BY v.first_seen DESC) AS n"
                    "  FROM key_result_values v JOIN wanted_kr w ON w.kr = v.key_result"
                    ") WHERE n = 1"
                ).fetchall()
            )
            db.execute("DELETE FROM wanted_kr")
            stamp = _iso(now)
            db.executemany(
                "INSERT OR REPLACE INTO key_result_values (key_result, value, first_seen) VALUES (?, ?, ?)",
                [(kr, v, stamp) for kr, v in values.items() if kr not in latest or latest[kr] != v],
            )

    # -- writes and runs -------------------------------------------------------------

    def record_writes(self, patches: Iterable[Patch], now: datetime) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO written (source, item, field, value, at) VALUES (?, ?, ?, ?, ?)",
                [(p.source, p.item, p.field, json.dumps(p.new), _iso(now)) for p in patches],
            )

    def record_run(
        self, source: str, *, started: datetime, now: datetime, outcome: str, summary: dict[str, Any]
    ) -> None:
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
        with self._lock:
            rows = self._db.execute(
                "SELECT source, started, now, outcome, summary FROM runs WHERE id IN "
                "(SELECT MAX(id) FROM runs GROUP BY source) ORDER BY id DESC"
            ).fetchall()
        return [
            {"source": s, "started": st, "now": n, "outcome": o, **json.loads(summary)} for s, st, n, o, summary in rows
        ]

    def failures_in_a_row(self, source: str) -> int:
        with self._lock:
            rows = self._db.execute(
                "SELECT outcome FROM runs WHERE source = ? ORDER BY id DESC LIMIT 100", (source,)
            ).fetchall()
        count = 0
        for (outcome,) in rows:
            if outcome != "failed":
                break
            count += 1
        return count

    # -- the sources' cache ----------------------------------------------------------

    def get(self, source: str, key: str, default: object = None) -> object:
        with self._lock:
            row = self._db.execute("SELECT value FROM cache WHERE source = ? AND key = ?", (source, key)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, source: str, key: str, value: object) -> None:
        if self.readonly:
            return
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO cache (source, key, value) VALUES (?, ?, ?)", (source, key, json.dumps(value))
            )
