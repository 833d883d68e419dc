"""Alerts to Slack-compatible webhooks: colour changes and a weekly digest.

Each alert is sent once, across crashes and restarts, with an outbox in the
state store:

1. a pass records each KPI's and key result's colour; a change inserts one
   outbox row per ``[[alerts]]`` table, in the same transaction, under a key
   (alert, item, new colour, pass time), so the change is queued exactly once;
2. the sender connects, marks the row ``sending`` just before the request's
   first byte leaves (an httpcore trace hook), and marks it ``sent`` on a 2xx.
   A definite non-delivery (connection refused or cut before the body was
   sent, a timeout before that, 5xx, 429) puts the row back to ``pending``
   before the wait for the next attempt, so a kill during that wait loses
   nothing; a request sent in full with no answer may have arrived: ``unknown``;
3. a row found ``sending`` at start was cut off by a kill during the send
   itself: it may or may not have arrived, and it is *not* posted again (the
   spec forbids a duplicated side effect); it is logged and marked ``unknown``.

Every post also carries an ``Idempotency-Key`` header (the row's key, hashed),
for receivers that suppress duplicates themselves.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from .evaluate import colour_of
from .http import Kind, RetryPolicy, Runtime, ServiceErrors, Transient
from .leases import LeaseStop
from .logs import Redactor, secret_values
from .secrets import SecretError, read_secret
from .source import Deferred, SourceError
from .state import StateStore

__all__ = ["Alerts", "digest_slot", "coloured_items", "Item"]

log = logging.getLogger("syncd.alerts")


_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DOT = {"green": "\U0001f7e2", "amber": "\U0001f7e1", "red": "\U0001f534"}
#: Delivery attempts (each one the project's retry policy) before a message is given up.
MAX_ATTEMPTS = 12
#: Sent messages are kept this long (the digest counts the week's changes from them).
_KEEP = timedelta(days=30)


class _Stopping(Exception):
    """syncd is stopping during a wait between two attempts."""


class _InDoubt(Exception):
    """The request went out in full and no answer came: it may have arrived."""


class AlertError(Exception):
    """The webhook refused the message for good (4xx other than 429)."""


class WebhookErrors(ServiceErrors):
    """The one classification, worded for a webhook."""

    service = "webhook"

    def __init__(self, name: str):
        self.name = name

    def hint(self, kind: Kind, *, status: int, text: str, what: str) -> str:
        return (
            f"webhook {self.name} refused the message ({status}: {text[:200]!r}); "
            "check the webhook URL and that it is still active"
        )


@dataclass(frozen=True)
class Item:
    kind: str  # "kpi" | "key_result"
    source: str
    id: str
    title: str
    status: str
    colour: str | None
    detail: str
    parent: str | None = None


def coloured_items(evaluation: Any) -> Iterator[Item]:
    """Every KPI and key result of an evaluation, with its colour (None when it has none)."""
    for k in evaluation.kpis:
        value = "no value" if k.value is None else f"value {_num(k.value)}{' ' + k.unit if k.unit else ''}"
        yield Item("kpi", k.source, k.id, k.name, k.status, colour_of(k.status), value)
    for o in evaluation.objectives:
        for kr in o.key_results:
            progress = "no progress" if kr.progress is None else f"progress {kr.progress * 100:.0f}%"
            yield Item(
                "key_result", kr.source or o.source, kr.id, kr.title, kr.status, colour_of(kr.status), progress, o.title
            )


def digest_slot(local_now: datetime, day: str, hour: int) -> datetime:
    """The digest's time in ``local_now``'s ISO week (same timezone)."""
    monday = local_now.date() - timedelta(days=local_now.weekday())
    when = monday + timedelta(days=_DAYS.index(day))
    return datetime(when.year, when.month, when.day, hour, tzinfo=local_now.tzinfo)


class Alerts:
    """The outbox, its sender thread, and the messages."""

    def __init__(
        self,
        config: Any,
        store: StateStore,
        env: Mapping[str, str],
        *,
        policy: RetryPolicy | None = None,
        runtime: Runtime | None = None,
        clock: Callable[[], float] = time.time,
        on_sent: Callable[[str, bool], None] | None = None,
        leases: Any = None,
    ):
        self.store = store
        #: Replicas (:class:`syncd.leases.Leases`): only the holder of the alert
        #: sender's lease posts, and claims each message under that lease.
        self.leases = leases
        self._recovered_fence: int | None = None
        self._claim_store: StateStore = store
        self._sender_runtime: Runtime | None = None
        self.env = env
        self._clock = clock
        self._on_sent = on_sent
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned: set[str] = set()
        #: The stop token and the retry listeners (``/metrics``) come from the daemon's runtime.
        self.runtime = runtime or Runtime.from_config(config)
        self.reconfigure(config, policy)

    def reconfigure(self, config: Any, policy: RetryPolicy | None = None) -> None:
        self.config = config
        # The project's policy, with waits that end early when syncd stops.
        self.policy = policy or dataclasses.replace(RetryPolicy.from_config(config), sleep=self._sleep)
        self.timeout = config.syncd.timeout.total_seconds()
        self.by_name = {a.name: a for a in config.alerts}
        #: Messages and stored errors leave through the one redactor (a reload adds secrets).
        self.redact = Redactor(secret_values(config, self.env))

    # -- recording ---------------------------------------------------------------------

    def observe(self, report: Any, store: StateStore | None = None) -> int:
        """Record the colours of a pass; queue one message per alert for each change. Returns how many.

        ``store``: the pass's own (a replica's is fenced by the lease the pass ran under)."""
        on_change = [a for a in self.config.alerts if a.on_change]
        queued = 0
        when = report.now.isoformat()
        with (store or self.store).transaction() as db:
            for it in coloured_items(report.evaluation):
                if it.colour is None:
                    continue  # no data is not a colour: keep the last one seen
                row = db.execute(
                    "SELECT colour, status FROM alert_colours WHERE source = ? AND item = ?", (it.source, it.id)
                ).fetchone()
                db.execute(
                    "INSERT INTO alert_colours (source, item, kind, title, colour, status, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, item) DO UPDATE SET kind = excluded.kind, "
                    "title = excluded.title, colour = excluded.colour, status = excluded.status, at = excluded.at",
                    (it.source, it.id, it.kind, self.redact(it.title), it.colour, it.status, when),
                )
                if row is None or row[0] == it.colour:
                    continue
                body = json.dumps({"text": _change_text(it, row[0], row[1])}, ensure_ascii=False)
                for alert in on_change:
                    key = f"{alert.name}|change|{it.source}|{it.id}|{it.colour}|{when}"
                    queued += self._enqueue(db, key, alert.name, "change", body)
            self._observe_warnings(db, report.evaluation, when)
        if queued:
            self.wake.set()
        return queued

    def _observe_warnings(self, db: Any, evaluation: Any, when: str) -> None:
        """Keep the digest's warnings current: a new one is stamped with the pass's ``now``; one the
        pass no longer gives (for an item it evaluated) is dropped, so if it comes back it is new again."""
        covered = {
            "red_kpi_without_okr": {k.id for k in evaluation.kpis},
            "forecast_short": {o.id for o in evaluation.objectives},
            "no_check_in": {kr.id for o in evaluation.objectives for kr in o.key_results},
        }
        now = {(w.code, w.item): w.message for w in evaluation.warnings if w.code in covered}
        known = {(c, i) for c, i in db.execute("SELECT code, item FROM alert_warnings").fetchall()}
        gone = [(c, i) for c, i in known if c in covered and i in covered[c] and (c, i) not in now]
        db.executemany("DELETE FROM alert_warnings WHERE code = ? AND item = ?", gone)
        db.executemany(
            "INSERT INTO alert_warnings (code, item, message, first_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (code, item) DO UPDATE SET message = excluded.message",
            [(c, i, self.redact(m), when) for (c, i), m in now.items()],
        )

    def check_digest(self, now: datetime) -> int:
        """Queue this week's digest for each alert whose day and hour have come (once per ISO week)."""
        tz = ZoneInfo(self.config.syncd.timezone)
        local = now.astimezone(tz)
        queued = 0
        for alert in self.config.alerts:
            if not alert.digest_day:
                continue
            slot = digest_slot(local, alert.digest_day, alert.digest_hour)
            if not slot <= local < slot + timedelta(days=1):
                continue  # not yet, or more than a day late: wait for next week's
            year, week, _ = slot.isocalendar()
            key = f"{alert.name}|digest|{year}-W{week:02d}"
            store = self._sender_store()
            if store is None:
                return queued  # another replica sends the alerts
            with store.transaction() as db:
                if db.execute("SELECT 1 FROM alert_outbox WHERE key = ?", (key,)).fetchone():
                    continue
                text = self._digest_text(db, alert.name, f"{year}-W{week:02d}", now)
                queued += self._enqueue(db, key, alert.name, "digest", json.dumps({"text": text}, ensure_ascii=False))
        if queued:
            self.wake.set()
        return queued

    def _enqueue(self, db: Any, key: str, alert: str, kind: str, body: str) -> int:
        cur = db.execute(
            "INSERT INTO alert_outbox (key, alert, kind, body, created) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (key, alert, kind, self.redact(body), datetime.now(UTC).isoformat()),
        )
        return cur.rowcount

    def pending(self) -> int:
        with self.store.transaction() as db:
            return db.execute("SELECT COUNT(*) FROM alert_outbox WHERE state = 'pending'").fetchone()[0]

    # -- sending -----------------------------------------------------------------------

    def _sender_store(self) -> StateStore | None:
        """The store the sender claims messages in; None when another replica is the sender."""
        if self.leases is None:
            return self.store
        from .leases import ALERTS_GROUP

        lease = self.leases.lease(ALERTS_GROUP)
        if lease is None:
            return None
        store = self.store.fenced(lease)  # type: ignore[attr-defined]
        self._sender_runtime = self.runtime.with_stop(LeaseStop(self.runtime.stop, lease))
        if self._recovered_fence != lease.token:  # this replica just became the sender
            self.recover(store)
            self._recovered_fence = lease.token
        return store

    def _guard(self) -> str | None:
        """Why no post may start now (syncd stopping, or the sender's lease gone), or None."""
        if self._stop.is_set():
            return "syncd is stopping"
        runtime = self._sender_runtime or self.runtime
        return runtime.stop.reason() if runtime.stop.is_set() else None

    def recover(self, store: StateStore | None = None) -> int:
        """At start (or on becoming the replica that sends): rows cut off mid-post are not
        posted again (see the module's doc)."""
        with (store or self.store).transaction() as db:
            rows = db.execute("SELECT key, alert FROM alert_outbox WHERE state = 'sending'").fetchall()
            db.execute(
                "UPDATE alert_outbox SET state = 'unknown', last_error = ? WHERE state = 'sending'",
                ("syncd stopped while posting it; not posted again, to never send it twice",),
            )
            db.execute(
                "DELETE FROM alert_outbox WHERE state != 'pending' AND created < ?",
                ((datetime.now(UTC) - _KEEP).isoformat(),),
            )
        for key, alert in rows:
            log.warning(
                "webhook %s: a message may not have arrived (syncd was stopped while posting it); "
                "it is not posted again, so it is never sent twice",
                alert,
                extra={"alert": alert, "key": key},
            )
        return len(rows)

    def start(self) -> None:
        if self.leases is None:
            self.recover()
        self._thread = threading.Thread(target=self._loop, name="alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self.flush()
            except Exception:  # noqa: BLE001 - the sender must outlive one bad message
                log.exception("alerts: sending failed")
                delay = 30.0
            self.wake.wait(delay)
            self.wake.clear()

    def flush(self) -> float:
        """Post every pending message that is due; return seconds until the next one is."""
        now = self._clock()
        store = self._sender_store()
        if store is None:
            return 1.0  # another replica sends; look again soon (it may die)
        with store.transaction() as db:
            rows = db.execute(
                "SELECT key, alert, kind, body, attempts, next_try FROM alert_outbox "
                "WHERE state = 'pending' ORDER BY created, key"
            ).fetchall()
        wait = 60.0
        for key, name, kind, body, attempts, next_try in rows:
            if self._stop.is_set():
                break
            if next_try > now:
                wait = min(wait, next_try - now)
                continue
            alert = self.by_name.get(name)
            url = self._url(alert) if alert else None
            if url is None:
                self._warn_once(name, alert)
                continue
            retry_in = self._send_one(key, name, kind, body, attempts, url, store)
            if retry_in is not None:
                wait = min(wait, retry_in)
        return max(wait, 0.05)

    def _send_one(
        self, key: str, name: str, kind: str, body: str, attempts: int, url: str, store: StateStore | None = None
    ) -> float | None:
        """Post one row; return seconds until its next try when it must be tried again."""
        store = store or self.store
        self._claim_store = store  # where this message is marked, under the sender's lease with replicas
        try:
            with httpx.Client(timeout=self.timeout) as client:  # built before anything is marked
                self._post(client, url, body, key, name)
        except _Stopping:  # during a wait: the row is pending again already
            return None
        except _InDoubt as e:
            self._set(key, "unknown", last_error=str(e))
            if self._on_sent:
                self._on_sent(kind, False)
            log.warning(
                "webhook %s: the %s message may not have arrived (%s); it is not posted again, "
                "so it is never sent twice",
                name,
                kind,
                e,
                extra={"alert": name, "kind": kind, "key": key},
            )
            return None
        except (Deferred, SourceError, AlertError) as e:
            if isinstance(e, Deferred) and self._guard():
                # Stopped before an attempt (syncd stopping, or the sender's lease gone): not posted, and
                # pending already, for whichever replica sends now.
                return None
            attempts += 1
            retry_in = e.retry_after if isinstance(e, Deferred) else min(2.0**attempts, 300.0)
            final = attempts >= MAX_ATTEMPTS or isinstance(e, AlertError)
            with store.transaction() as db:
                db.execute(
                    "UPDATE alert_outbox SET state = ?, next_try = ?, last_error = ? WHERE key = ?",
                    ("failed" if final else "pending", self._clock() + retry_in, self.redact(str(e)), key),
                )
            if self._on_sent:
                self._on_sent(kind, False)
            more = "given up" if final else f"next try in {retry_in:.0f}s"
            log.warning(
                "webhook %s: the %s message could not be sent: %s; %s",
                name,
                kind,
                e,
                more,
                extra={"alert": name, "kind": kind},
            )
            return None if final else retry_in
        with store.transaction() as db:
            db.execute(
                "UPDATE alert_outbox SET state = 'sent', sent = ?, last_error = NULL WHERE key = ?",
                (datetime.now(UTC).isoformat(), key),
            )
        if self._on_sent:
            self._on_sent(kind, True)
        log.info("webhook %s: %s message sent", name, kind, extra={"alert": name, "kind": kind})
        return None

    def _set(self, key: str, state: str, *, last_error: str | None = None, attempt: bool = False) -> None:
        with self._claim_store.transaction() as db:
            db.execute(
                "UPDATE alert_outbox SET state = ?, attempts = attempts + ?, last_error = COALESCE(?, last_error) "
                "WHERE key = ?",
                (state, 1 if attempt else 0, self.redact(last_error) if last_error else None, key),
            )

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopping()

    def _url(self, alert: Any) -> str | None:
        if alert.url_env:
            try:
                return read_secret(self.env, alert.url_env)
            except SecretError:
                return None  # reported like an unset variable
        return alert.url

    def _warn_once(self, name: str, alert: Any) -> None:
        if name in self._warned:
            return
        self._warned.add(name)
        if alert is None:
            log.warning("webhook %s is no longer in the config; its queued messages wait until it is back", name)
        else:
            log.error(
                "webhook %s: the environment variable %s is not set; messages wait until it is "
                "(set it and restart syncd)",
                name,
                alert.url_env,
                extra={"alert": name},
            )

    def _post(self, client: httpx.Client, url: str, body: str, key: str, name: str) -> None:
        """Post with retries; the row is ``sending`` only while a request is on the wire."""
        headers = {
            "content-type": "application/json",
            "idempotency-key": hashlib.sha256(key.encode()).hexdigest()[:32],
            "user-agent": "syncd",
        }

        errors = WebhookErrors(name)

        def once() -> None:
            wire = {"sending": False, "sent": False}

            def trace(event: str, info: dict[str, Any]) -> None:
                if event.endswith("send_request_headers.started"):  # connected: the send itself begins
                    self._set(key, "sending", attempt=True)
                    wire["sending"] = True
                elif event.endswith("send_request_body.complete"):
                    wire["sent"] = True

            def not_delivered(why: str, **kw: Any) -> Transient:
                if wire["sending"]:
                    self._set(key, "pending", last_error=why)  # before the wait for the next attempt
                return Transient(why, **kw)

            try:
                r = client.post(url, content=body.encode(), headers=headers, extensions={"trace": trace})
            except httpx.TransportError as e:
                if wire["sent"]:  # the whole request went out and no answer came: it may have arrived
                    raise _InDoubt(f"the request was sent, then {type(e).__name__} before any answer") from None
                if isinstance(e, httpx.TimeoutException):
                    raise not_delivered(f"webhook {name}: no answer in {self.timeout:.0f}s") from None
                raise not_delivered(f"webhook {name}: connection failed ({type(e).__name__})") from None
            if r.status_code < 400:
                return
            if errors.kind(r.status_code) == "transient":
                raise not_delivered(
                    f"webhook {name} answered {r.status_code}",
                    retry_after=errors.retry_after(r.status_code, r.headers),
                    status=r.status_code,
                )
            raise AlertError(str(errors.refused(r.status_code, r.text, f"alert {name}")))

        # With replicas, under the sender's lease: no post once this replica cannot prove it holds it.
        (self._sender_runtime or self.runtime).call(once, policy=self.policy, service="webhook", what=f"alert {name}")

    # -- messages ----------------------------------------------------------------------

    def _digest_text(self, db: Any, alert: str, week: str, now: datetime) -> str:
        rows = db.execute(
            "SELECT kind, source, title, colour, status FROM alert_colours ORDER BY source, title"
        ).fetchall()
        counts = {c: sum(1 for r in rows if r[3] == c) for c in ("green", "amber", "red")}
        since = (now - timedelta(days=7)).astimezone(UTC).isoformat()
        changes = db.execute(
            "SELECT COUNT(*) FROM alert_outbox WHERE alert = ? AND kind = 'change' AND created >= ?", (alert, since)
        ).fetchone()[0]
        failing = db.execute(
            "SELECT source FROM runs WHERE outcome = 'failed' AND id IN (SELECT MAX(id) FROM runs GROUP BY source)"
        ).fetchall()
        lines = [
            f"*syncd weekly digest, {week}*",
            f"{_DOT['green']} {counts['green']} green   {_DOT['amber']} {counts['amber']} amber   "
            f"{_DOT['red']} {counts['red']} red   ({changes} colour change(s) this week)",
        ]
        for colour in ("red", "amber"):
            listed = [r for r in rows if r[3] == colour]
            if listed:
                lines.append(f"*{colour.capitalize()}*:")
                lines += [f"• {_kind(r[0])} {r[2]} ({r[1]})" for r in listed[:20]]
                if len(listed) > 20:
                    lines.append(f"• and {len(listed) - 20} more")
        week_ago = now - timedelta(days=7)
        new = [
            (code, message)
            for code, message, first_seen in db.execute(
                "SELECT code, message, first_seen FROM alert_warnings ORDER BY first_seen, code, item"
            ).fetchall()
            if datetime.fromisoformat(first_seen) >= week_ago
        ]
        for code, heading in _DIGEST_WARNINGS:
            listed = [m for c, m in new if c == code]
            if listed:
                lines.append(f"*New this week: {heading}* ({len(listed)}):")
                lines += [f"• {m}" for m in listed[:20]]
                if len(listed) > 20:
                    lines.append(f"• and {len(listed) - 20} more")
        if failing:
            lines.append("*Sources failing at their last pass*: " + ", ".join(s for (s,) in failing))
        return "\n".join(lines)


#: The history-based warnings the digest lists when they are new in the week.
_DIGEST_WARNINGS = (
    ("forecast_short", "objectives on track today but short at their pace"),
    ("no_check_in", "key results nobody has updated"),
    ("red_kpi_without_okr", "red KPIs no key result sets out to fix"),
)


def _change_text(it: Item, old_colour: str, old_status: str | None) -> str:
    of = f" (objective {it.parent})" if it.parent else ""
    was = old_colour if it.kind == "kpi" else f"{old_colour}, {_words(old_status)}"
    now = it.colour if it.kind == "kpi" else f"{it.colour}, {_words(it.status)}"
    return f"{_DOT.get(it.colour or '', '')} {_kind(it.kind)} *{it.title}*{of} is now {now} (was {was}): {it.detail}. Source: {it.source}."


def _kind(kind: str) -> str:
    return "KPI" if kind == "kpi" else "Key result"


def _words(status: str | None) -> str:
    return (status or "unknown").replace("_", " ")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.6g}"
