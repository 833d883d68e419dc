"""The state store in PostgreSQL, shared by ``syncd run`` replicas.

The same tables and SQL as the SQLite store (:class:`syncd.state.SQLStore`),
through psycopg 3 and its connection pool, plus the ``leases`` table
(:mod:`syncd.leases`). The password never comes from the config: libpq takes
it from ``PGPASSWORD`` or a passfile, and every message shows the DSN without
one (:func:`display_dsn`).

A store bound to a lease (:meth:`PostgresStore.fenced`) checks, inside each of
its transactions and before anything else, that the lease's fencing number is
still the current one, holding the lease row ``FOR SHARE`` until the commit: a
takeover (which bumps the number) waits for that transaction, and every
transaction after the takeover is refused (:class:`LeaseLost`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .state import SCHEMA, SQLStore, StateError

if TYPE_CHECKING:
    from .leases import Lease

__all__ = ["PostgresStore", "LeaseLost", "display_dsn", "is_dsn", "dsn_problem", "LEASE_SCHEMA"]

log = logging.getLogger("syncd.state")

LEASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    grp TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    token BIGINT NOT NULL,
    expires TIMESTAMPTZ NOT NULL,
    sources TEXT NOT NULL DEFAULT '[]'
);
CREATE SEQUENCE IF NOT EXISTS lease_fence;
CREATE TABLE IF NOT EXISTS replicas (
    holder TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    seen TIMESTAMPTZ NOT NULL
);
"""
#: Serialises schema creation between replicas starting at once.
_SCHEMA_LOCK = 0x73796E6364


class LeaseLost(Exception):
    """This replica no longer holds the lease it acts under: it records nothing more."""


def is_dsn(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


def display_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ``***`` (for every message)."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = "&".join("password=***" if q.lower().startswith("password=") else q for q in parts.query.split("&") if q)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def dsn_problem(dsn: str) -> str | None:
    """Why a DSN may not stand in the config (it holds a password), or None."""
    parts = urlsplit(dsn)
    userinfo = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    if ":" in userinfo or any(q.lower().startswith("password=") for q in parts.query.split("&")):
        return (
            f"the DSN holds a password ({display_dsn(dsn)}); passwords never live in the config: remove it and "
            "set PGPASSWORD, or use a passfile (~/.pgpass, or ?passfile=/path in the DSN)"
        )
    if not parts.path.strip("/"):
        return f"the DSN names no database ({display_dsn(dsn)}); end it with /<database>"
    return None


class _PgDb:
    """The store's ``?`` SQL on a psycopg cursor."""

    def __init__(self, cur: Any):
        self._cur = cur

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._cur.execute(self._sql(sql), params or None)
        return self._cur

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Any:
        rows = list(seq)
        if rows:
            self._cur.executemany(self._sql(sql), rows)
        return self._cur


class PostgresStore(SQLStore):
    """The store in PostgreSQL, over a small connection pool (thread-safe)."""

    shared = True

    def __init__(self, dsn: str, *, readonly: bool = False, connect_timeout: float = 10.0, pool_size: int = 4):
        import psycopg
        from psycopg_pool import ConnectionPool

        self.dsn = dsn
        self.shown = display_dsn(dsn)
        self.readonly = readonly
        self._fence: Lease | None = None
        self._holder: str | None = None

        def configure(conn: psycopg.Connection[Any]) -> None:
            if readonly:  # a dry run on a fresh database: empty tables of its own, gone with the session
                if conn.execute("SELECT to_regclass('runs')").fetchone()[0] is None:  # type: ignore[index]
                    conn.execute(
                        SCHEMA.format(id="BIGSERIAL PRIMARY KEY", keyed="").replace("CREATE TABLE", "CREATE TEMP TABLE")
                    )
                    conn.execute(
                        LEASE_SCHEMA.replace("CREATE TABLE", "CREATE TEMP TABLE").replace(
                            "CREATE SEQUENCE", "CREATE TEMP SEQUENCE"
                        )
                    )
            conn.commit()

        try:
            self._pool = ConnectionPool(
                dsn,
                min_size=1,
                max_size=pool_size,
                kwargs={"connect_timeout": max(1, int(connect_timeout)), "application_name": "syncd"},
                configure=configure,
                check=ConnectionPool.check_connection,
                reconnect_timeout=3600.0,  # a server that went away: keep trying (with backoff) for an hour
                timeout=5.0,  # waiting for a connection: a lost server fails the call soon, and it is retried
                open=False,
                name="syncd-state",
            )
            self._pool.open(wait=True, timeout=connect_timeout)
        except Exception as e:  # noqa: BLE001 - PoolTimeout, OperationalError...
            self._close_quietly()
            raise StateError(self._unreachable(e)) from None
        if not readonly:
            try:
                with self.transaction() as db:
                    db.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
                    db.execute(SCHEMA.format(id="BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", keyed=""))
                    db.execute(LEASE_SCHEMA)
            except psycopg.Error as e:
                self._close_quietly()
                raise StateError(f"cannot create syncd's tables in {self.shown}: {_first_line(e)}") from None

    def _unreachable(self, e: BaseException) -> str:
        detail = _first_line(e) if str(e) else type(e).__name__
        return (
            f"cannot reach the PostgreSQL state store {self.shown}: {detail}; check that the server runs "
            "and accepts connections there, and the role's password (PGPASSWORD or a passfile)"
        )

    def _close_quietly(self) -> None:
        try:
            self._pool.close(timeout=1.0)
        except Exception:  # noqa: BLE001
            pass

    def close(self) -> None:
        if self._fence is None:  # a fenced view shares the pool of the store it came from
            self._pool.close(timeout=5.0)

    def fenced(self, lease: Lease) -> PostgresStore:
        """This store, with every transaction refused once ``lease`` is no longer held."""
        view = copy.copy(self)
        view._fence = lease
        return view

    @contextmanager
    def transaction(self) -> Iterator[_PgDb]:
        with self._pool.connection() as conn:
            with conn.cursor() as cur:
                db = _PgDb(cur)
                if self._fence is not None:
                    self._check_fence(db, self._fence)
                yield db
            if self.readonly:
                conn.rollback()

    @staticmethod
    def _check_fence(db: _PgDb, lease: Lease) -> None:
        if not lease.valid():
            raise LeaseLost(f"the lease on {lease.group} ran out by this replica's clock; nothing more is recorded")
        row = db.execute("SELECT token, holder FROM leases WHERE grp = ? FOR SHARE", (lease.group,)).fetchone()
        if row is None or row[0] != lease.token or row[1] != lease.holder:
            raise LeaseLost(
                f"the lease on {lease.group} (fencing number {lease.token}) is held by another replica now; "
                "nothing more is recorded"
            )

    def record_run(self, source: str, *, started: Any, now: Any, outcome: str, summary: dict[str, Any]) -> None:
        if self._fence is not None:  # every pass carries the replica and the fencing number it ran under
            summary = {**summary, "replica": self._fence.replica, "fence": self._fence.token}
        super().record_run(source, started=started, now=now, outcome=outcome, summary=summary)

    def _latest(self, kpis: Iterable[str]) -> dict[str, list[tuple[float | None, str]]]:
        wanted = list(kpis)
        out: dict[str, list[tuple[float | None, str]]] = {k: [] for k in wanted}
        if not wanted:
            return out
        with self.transaction() as db:
            rows = db.execute(
                "SELECT kpi, value, first_seen FROM ("
                "  SELECT kpi, value, first_seen,"
                "         ROW_NUMBER() OVER (PARTITION BY kpi ORDER BY first_seen DESC) AS n"
                "  FROM kpi_values WHERE kpi = ANY(?)"
                ") latest WHERE n <= 2 ORDER BY kpi, n",
                (wanted,),
            ).fetchall()
        for kpi, value, first_seen in rows:
            out[kpi].append((value, first_seen))
        return out


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
