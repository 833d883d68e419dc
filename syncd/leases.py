"""Leases: which replica syncs which credential group (PostgreSQL state only).

Sources that share a credential (a Notion token, a Trello key and token, a
Google service account, an Asana token) form one *credential group*; each
group is synced by one replica at a time, so that replica's pacer alone spends
that credential's rate limit. The protocol (see ARCHITECTURE.md, "Replicas"):

- A lease is a row of ``leases``: group, holder, fencing number, expiry. The
  expiry is computed by PostgreSQL's clock (``now() + ttl``), the one clock all
  replicas share. A replica takes a group whose lease has expired (or never
  existed) in one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expires < now()``;
  taking it draws a new fencing number from a sequence, so the numbers of a
  group only grow.
- The holder renews every ``period`` (a quarter of the TTL at most). It counts
  the lease as its own only until ``sent + ttl - margin`` by its *own*
  monotonic clock, ``sent`` being when it sent the renewal that succeeded:
  that instant is before PostgreSQL stamped the expiry, so the holder always
  gives up before anyone else may take over, even when it was paused (a
  stopped VM, SIGSTOP) or cut off, and ``margin`` leaves a call already in
  flight time to end.
- Every HTTP call of a pass checks the lease first (:class:`LeaseStop`, the pass's stop token),
  and every transaction that records the pass checks the fencing number in
  PostgreSQL (:meth:`syncd.pgstate.PostgresStore.fenced`): a replica that lost
  its lease never records over the new holder.
- A stopping replica releases what it holds (after its passes ended); a dead
  one's leases simply expire. A replica that cannot reach PostgreSQL releases
  nothing (it cannot prove anything) and stops acting when its leases run out
  by its clock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .http import StopToken
from .secrets import SecretError, read_secret

if TYPE_CHECKING:
    from .config import Config
    from .pgstate import PostgresStore

__all__ = ["Lease", "LeaseStop", "Leases", "credential_groups", "group_of", "ALERTS_GROUP", "lease_table"]

log = logging.getLogger("syncd.leases")

#: The alert sender's own lease: one replica posts the outbox at a time.
ALERTS_GROUP = "alerts"
#: Attributes of a source's config that name where its credential comes from.
_CREDENTIAL_KEYS = ("key_env", "token_env", "credentials_env")


@dataclass
class Lease:
    """One replica's hold on one credential group, as that replica knows it."""

    group: str
    #: The fencing number: it grows with every change of holder, never repeats.
    token: int
    #: This replica's unique id (``host:pid:random``) and how it is shown (``host:pid``).
    holder: str
    replica: str
    #: ``time.monotonic()`` after which this replica no longer counts the lease as its own.
    deadline: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def valid(self) -> bool:
        return self.clock() < self.deadline

    def why_not(self) -> str | None:
        """None while held; else the sentence that stops a call."""
        if self.valid():
            return None
        return (
            f"this replica cannot prove it still holds the lease on {self.group}; "
            "the rest of this source's work moves to whichever replica holds it"
        )


class LeaseStop(StopToken):
    """The stop token of a replica's pass: set when syncd stops (``parent``) or once this
    replica cannot prove it holds ``lease`` (by its own clock), so no call starts then."""

    def __init__(self, parent: StopToken, lease: Lease):
        self.parent, self.lease = parent, lease

    def set(self) -> None:
        self.parent.set()

    def clear(self) -> None:
        self.parent.clear()

    def is_set(self) -> bool:
        return self.parent.is_set() or not self.lease.valid()

    def wait(self, seconds: float) -> None:
        left = self.lease.deadline - self.lease.clock()
        self.parent.wait(max(0.0, min(seconds, left)))

    def reason(self) -> str:
        return self.parent.reason() if self.parent.is_set() else (self.lease.why_not() or self.parent.reason())


def group_of(cfg: Any, env: Mapping[str, str]) -> str:
    """The credential group of a source: its service and a digest of the credential's value.

    Two sources group together exactly when they would spend the same rate
    limit. The digest (never the value) is what the lease table and
    ``syncd status`` show. Local files have no credential: each is its own group.
    """
    service = getattr(cfg, "type", "source")
    parts: list[str] = []
    for key in _CREDENTIAL_KEYS:
        var = getattr(cfg, key, None)
        if not var:
            continue
        try:
            value = read_secret(env, var) or f"unset:{var}"
        except SecretError:
            value = f"unreadable:{var}"
        if key == "credentials_env" and not value.startswith(("unset:", "unreadable:")):
            value = _service_account(value)
        parts.append(value)
    if not parts:
        return f"{service}:{cfg.name}"
    digest = hashlib.sha256("\0".join(["syncd-lease", service, *parts]).encode()).hexdigest()[:12]
    return f"{service}:{digest}"


def _service_account(value: str) -> str:
    """A Google credential names a file (or holds the JSON): the account is its ``client_email``."""
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError:
            return value
    try:
        return str(json.loads(text).get("client_email") or value)
    except (ValueError, AttributeError):
        return value


def credential_groups(config: Config, env: Mapping[str, str]) -> dict[str, list[str]]:
    """Every credential group of the config and its sources' names (plus the alert sender's)."""
    groups: dict[str, list[str]] = {}
    for _, cfg in config.sources():
        groups.setdefault(group_of(cfg, env), []).append(cfg.name)
    if config.alerts:
        groups[ALERTS_GROUP] = []
    return groups


def lease_table(store: PostgresStore) -> list[dict[str, Any]]:
    """Every lease as PostgreSQL has it now: group, holder host and pid, sources, seconds left."""
    with store.transaction() as db:
        rows = db.execute(
            "SELECT grp, holder, host, pid, token, sources, EXTRACT(EPOCH FROM expires - now()) FROM leases ORDER BY grp"
        ).fetchall()
    return [
        {
            "group": grp,
            "holder": holder,
            "replica": f"{host}:{pid}",
            "host": host,
            "pid": pid,
            "fence": token,
            "sources": json.loads(sources),
            "expires_in": round(float(left), 1),
            "live": float(left) > 0,
        }
        for grp, holder, host, pid, token, sources, left in rows
    ]


class Leases:
    """This replica's side of the lease table: acquire, renew, give up, release."""

    def __init__(
        self,
        store: PostgresStore,
        ttl: float,
        groups: Mapping[str, list[str]],
        *,
        period: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[list[str], list[str]], None] | None = None,
    ):
        self.store = store
        self.ttl = ttl
        self.period = period if period is not None else max(0.1, min(ttl / 4, 5.0))
        #: How long before the lease's end by its own clock this replica stops calling.
        self.margin = ttl / 4
        self.groups = dict(groups)
        self.clock = clock
        self.on_change = on_change
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.replica = f"{self.host}:{self.pid}"
        self.holder = f"{self.replica}:{uuid.uuid4().hex[:8]}"
        self._held: dict[str, Lease] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reachable = True
        #: The lease table as last read (what /healthz shows).
        self.snapshot: list[dict[str, Any]] = []

    # -- what the service asks --------------------------------------------------------

    def lease(self, group: str) -> Lease | None:
        """The lease on ``group`` if this replica may act under it now."""
        with self._lock:
            lease = self._held.get(group)
        return lease if lease is not None and lease.valid() else None

    def held(self) -> list[str]:
        with self._lock:
            return sorted(g for g, lease in self._held.items() if lease.valid())

    def set_groups(self, groups: Mapping[str, list[str]]) -> None:
        """A reload: new groups are tried at the next step; groups gone are released."""
        with self._lock:
            gone = [g for g in self._held if g not in groups]
            self.groups = dict(groups)
        if gone:
            self.release(gone)

    # -- the protocol -----------------------------------------------------------------

    def step(self) -> tuple[list[str], list[str]]:
        """Renew what is held, try to take what is free; return (taken, lost)."""
        taken: list[str] = []
        lost: list[str] = []
        share = self._share()
        with self._lock:  # renew what is held first: the share counts it
            order = sorted(self.groups.items(), key=lambda item: item[0] not in self._held)
        for group, sources in order:
            with self._lock:
                mine = self._held.get(group)
                holding = sum(1 for lease in self._held.values() if lease.valid())
            sent = self.clock()
            try:
                token = self._renew(group, mine, sources) if mine is not None else None
                if token is None and (mine is not None or holding < share):
                    token = self._take(group, sources)
                self.reachable = True
            except Exception as e:  # noqa: BLE001 - PostgreSQL unreachable: keep what the clock allows
                if self.reachable:
                    log.warning(
                        "leases: cannot reach the state store (%s); this replica keeps acting only while its "
                        "leases last by its own clock, and retries",
                        _first_line(e),
                        extra={"event": "lease_store_unreachable"},
                    )
                self.reachable = False
                if mine is not None and not mine.valid():
                    lost.append(group)
                    with self._lock:
                        self._held.pop(group, None)
                continue
            with self._lock:
                if token is None:
                    if self._held.pop(group, None) is not None:
                        lost.append(group)
                    continue
                if mine is None or mine.token != token:
                    taken.append(group)
                self._held[group] = Lease(
                    group, token, self.holder, self.replica, sent + self.ttl - self.margin, self.clock
                )
        for group in taken:
            log.info(
                "lease on %s taken (fencing number %d): this replica syncs %s",
                group,
                self._held[group].token,
                ", ".join(self.groups.get(group) or ["the alert outbox"]),
                extra={"event": "lease_taken", "group": group, "fence": self._held[group].token},
            )
        for group in lost:
            log.warning(
                "lease on %s lost: another replica syncs %s now",
                group,
                ", ".join(self.groups.get(group) or ["the alert outbox"]),
                extra={"event": "lease_lost", "group": group},
            )
        if self.reachable:
            try:
                self.snapshot = lease_table(self.store)
            except Exception:  # noqa: BLE001 - the last one seen is kept
                pass
        if (taken or lost) and self.on_change:
            self.on_change(taken, lost)
        return taken, lost

    def _share(self) -> int:
        """How many groups this replica takes when they are free: its fair part among the live
        replicas (each says it is alive at every step), so replicas share the work. What it holds
        already it keeps (no lease moves while its holder lives)."""
        try:
            with self.store.transaction() as db:
                db.execute(
                    "INSERT INTO replicas (holder, host, pid, seen) VALUES (?, ?, ?, now()) "
                    "ON CONFLICT (holder) DO UPDATE SET seen = now()",
                    (self.holder, self.host, self.pid),
                )
                db.execute("DELETE FROM replicas WHERE seen < now() - make_interval(secs => ?)", (self.ttl * 10,))
                (live,) = db.execute(
                    "SELECT COUNT(*) FROM replicas WHERE seen > now() - make_interval(secs => ?)", (self.ttl,)
                ).fetchone()
        except Exception:  # noqa: BLE001 - unreachable: the loop below finds out and says so
            return len(self.groups)
        return max(1, -(-len(self.groups) // max(1, int(live))))

    def _take(self, group: str, sources: list[str]) -> int | None:
        with self.store.transaction() as db:
            row = db.execute(
                "INSERT INTO leases (grp, holder, host, pid, token, expires, sources) "
                "VALUES (?, ?, ?, ?, nextval('lease_fence'), now() + make_interval(secs => ?), ?) "
                "ON CONFLICT (grp) DO UPDATE SET holder = excluded.holder, host = excluded.host, "
                "pid = excluded.pid, token = excluded.token, expires = excluded.expires, sources = excluded.sources "
                "WHERE leases.expires < now() RETURNING token",
                (group, self.holder, self.host, self.pid, self.ttl, json.dumps(sources)),
            ).fetchone()
        return None if row is None else int(row[0])

    def _renew(self, group: str, lease: Lease, sources: list[str]) -> int | None:
        with self.store.transaction() as db:
            row = db.execute(
                "UPDATE leases SET expires = now() + make_interval(secs => ?), sources = ? "
                "WHERE grp = ? AND holder = ? AND token = ? AND expires > now() RETURNING token",
                (self.ttl, json.dumps(sources), group, self.holder, lease.token),
            ).fetchone()
        return None if row is None else int(row[0])

    def release(self, groups: list[str] | None = None) -> None:
        """Give up leases (all by default: this replica stops) so another replica takes them at once."""
        if groups is None:
            try:
                with self.store.transaction() as db:
                    db.execute("DELETE FROM replicas WHERE holder = ?", (self.holder,))
            except Exception:  # noqa: BLE001 - it ages out by itself
                pass
        with self._lock:
            chosen = list(self._held) if groups is None else [g for g in groups if g in self._held]
            leases = [self._held.pop(g) for g in chosen]
        for lease in leases:
            try:
                with self.store.transaction() as db:
                    db.execute(
                        "UPDATE leases SET expires = now() - interval '1 second' "
                        "WHERE grp = ? AND holder = ? AND token = ?",
                        (lease.group, lease.holder, lease.token),
                    )
            except Exception as e:  # noqa: BLE001 - it expires by itself
                log.warning("lease on %s not released (%s); it expires by itself", lease.group, _first_line(e))

    # -- the thread -------------------------------------------------------------------

    def start(self) -> None:
        self.step()
        self._thread = threading.Thread(target=self._loop, name="leases", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.step()
            except Exception:  # noqa: BLE001 - the lease thread must outlive one bad step
                log.exception("leases: step failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
