"""``syncd run``: the long-running service; ``syncd status``: what it last did.

The service holds the state file's lock for its whole life, syncs each source
on its own schedule (:mod:`syncd.scheduler`), sends alerts
(:mod:`syncd.alerts`), serves ``/healthz`` and ``/metrics``
(:mod:`syncd.observe`), and logs to stderr with secrets redacted
(:mod:`syncd.logs`). SIGTERM/SIGINT stop it cleanly, SIGHUP reloads the config.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .alerts import Alerts
from .config import Config, ConfigError, load_config
from .http import Runtime, StopToken
from .lock import LockError, hold
from .logs import Redactor, redact_data, secret_values, setup_logging
from .observe import HealthServer, Metrics
from .pgstate import LeaseLost
from .registry import Registry
from .report import LivePage
from .scheduler import PassResult, Scheduler, Slot
from .state import StateStore, open_store

if TYPE_CHECKING:
    from .source import Role

__all__ = ["run", "status", "Daemon", "STOP_GRACE"]

log = logging.getLogger("syncd.daemon")

#: How long SIGTERM waits for passes in flight before exiting anyway. Every
#: write is atomic (a file rename, one HTTP call, a SQLite transaction), so a
#: pass cut short is simply run again at the next start. A pass over HTTP ends
#: sooner: from SIGTERM on, the runtime's stop token lets no new call
#: start, so it ends at its next call boundary, as partial.
STOP_GRACE = 5.0
#: A scheduler that has not ticked for this long is reported dead by /healthz.
_TICK_DEADLINE = 15.0
_MIN_INTERVAL = 0.1
#: How soon the loop notices a signal. The handlers only set a flag: one that
#: took a lock (``Event.set``) could deadlock against the main thread it
#: interrupted while that thread held the same lock, entering ``wake.wait``.
_SIGNAL_POLL = 0.05


def run(config: Config, *, log_format: str | None = None) -> int:
    """Run the service until SIGTERM or SIGINT. Exit 0 after a clean stop, 1 when
    it cannot start (another instance holds the state file), 2 for a bad config."""
    redactor = Redactor(secret_values(config, os.environ))
    setup_logging(log_format, redactor)
    # The daemon's own line for each pass says what the engine's warning would.
    logging.getLogger("syncd.engine").setLevel(logging.ERROR)
    from contextlib import ExitStack

    from .preflight import wrap_os_error

    with ExitStack() as stack:
        try:
            # SQLite: one process per state file. PostgreSQL: replicas share it, under leases.
            stack.enter_context(hold(config.state_path, shared=bool(config.state_dsn)))
        except LockError as e:
            log.error("refusing to start: %s", e, extra={"event": "refused"})
            return 1
        except OSError as e:  # the lock file beside the state file: a configuration problem (exit 2)
            raise wrap_os_error(config, e) from None
        return Daemon(config, redactor).serve()
    return 1  # not reached


class Daemon:
    def __init__(self, config: Config, redactor: Redactor, env: Any = None, registry: Registry | None = None):
        from syncd.connectors import REGISTRY  # the composition root wires the connectors in

        self.config = config
        self.redactor = redactor
        self.env = os.environ if env is None else env
        self.registry = registry or REGISTRY
        self.metrics = Metrics()
        self.page = LivePage(config)
        #: One stop token for the service's life; the runtime is replaced on reload.
        self.stop_calls = StopToken()
        self.runtime = Runtime.from_config(config, stop=self.stop_calls, listeners=[self.metrics.on_retry])
        self.scheduler = Scheduler(self._pass)
        self.heartbeat = time.monotonic()
        self.last_success: dict[str, str] = {}
        self._stopping: str | None = None
        self._reload = False
        self._next_digest_check = 0.0
        #: Replicas (PostgreSQL state): this one's leases; None with SQLite.
        self.leases: Any = None
        self.group_of: dict[str, str] = {}
        self._taken: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
        self.hooks: Any = None
        self.registrar: Any = None

    # -- life cycle --------------------------------------------------------------------

    def serve(self) -> int:
        config = self.config
        from .preflight import open_state

        self.store = open_state(config)  # a ConfigError naming [syncd].state when it cannot be opened
        if config.state_dsn:
            from .leases import Leases, credential_groups

            groups = credential_groups(config, self.env)
            self._set_groups(groups)
            ttl = config.syncd.lease_ttl.total_seconds()
            shortest = min((i for _, _, i in self._sources(config)), default=ttl)
            self.leases = Leases(
                self.store,  # type: ignore[arg-type]
                ttl,
                groups,
                period=max(0.1, min(ttl / 4, 5.0, shortest)),
                on_change=self._on_leases,
            )
        self.alerts = Alerts(
            config, self.store, self.env, runtime=self.runtime, on_sent=self._on_alert, leases=self.leases
        )
        self.page.seed(self.store.last_runs())
        server: HealthServer | None = None
        if config.syncd.listen:
            self.hooks = self._hooks(config)
            try:
                server = HealthServer(
                    config.syncd.listen,
                    self.metrics,
                    self.health,
                    page=self.page.html,
                    probes={"/livez": self.live, "/readyz": self.ready},
                    hooks=self.hooks,
                )
            except OSError as e:
                log.error(
                    "cannot listen on %s: %s; free the port or change [syncd].listen",
                    config.syncd.listen,
                    e.strerror or e,
                )
                self.store.close()
                return 1
            log.info("serving /healthz and /metrics on %s", server.url, extra={"event": "listening", "url": server.url})
        self.stop_calls.clear()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        self._load_history()
        self.alerts.start()
        self.metrics.alerts_pending.set(self.alerts.pending())
        failures = {cfg.name: self.store.failures_in_a_row(cfg.name) for _, cfg in config.sources()}
        self.metrics.known(config.sources())
        self.scheduler.configure(self._sources(config), failures)
        self._configure_push(config)
        log.info(
            "syncd started (pid %d): %d source(s), state %s",
            os.getpid(),
            len(self.scheduler.slots),
            getattr(self.store, "shown", config.state_path),
            extra={"event": "started", "pid": os.getpid()},
        )
        if self.leases is not None:
            self.leases.start()
            log.info(
                "replica %s: leases of %d credential group(s), %.0fs each; holding %s",
                self.leases.replica,
                len(self.leases.groups),
                self.leases.ttl,
                ", ".join(self.leases.held()) or "none yet",
                extra={"event": "replica", "replica": self.leases.replica},
            )
        try:
            self._loop()
        finally:
            self._shutdown(server)
        return 0

    def _loop(self) -> None:
        wake = self.scheduler.wake
        while not self._stopping:
            wake.clear()
            self.heartbeat = time.monotonic()
            self.metrics.heartbeat.set(time.time())
            if self._reload:
                self._reload = False
                self.reload()
            self._run_taken()
            delay = self.scheduler.tick()
            self._check_digest()
            wake.wait(min(delay, _SIGNAL_POLL))

    def _shutdown(self, server: HealthServer | None) -> None:
        self.scheduler.paused = True
        self._stop_calls()
        busy = self.scheduler.running()
        log.info(
            "stopping (%s)%s",
            self._stopping or "error",
            f"; waiting for the pass of {', '.join(busy)} to finish" if busy else "",
            extra={"event": "stopping"},
        )
        busy = self.scheduler.wait_idle(STOP_GRACE)
        if busy:
            log.warning(
                "stopping with the pass of %s still running: every write is atomic, and the next start syncs it again",
                ", ".join(busy),
                extra={"event": "interrupted"},
            )
        self.page.close()  # before the store it reads history from is closed
        self.alerts.stop(timeout=2.0)
        if self.leases is not None:
            self.leases.stop()
            # Released now, another replica takes over at once; a group whose pass is still running keeps
            # its lease until it expires (a call of that pass may still be in flight).
            keep = {self.group_of.get(name) for name in busy}
            self.leases.release([g for g in self.leases.held() if g not in keep])
        if self.registrar is not None:
            self.registrar.stop()
        if server is not None:
            server.close()
        if not busy:
            self.store.close()
            self.stop_calls.clear()  # kept set while an abandoned pass still runs
        log.info("syncd stopped", extra={"event": "stopped"})

    def _on_stop(self, signum: int, frame: Any) -> None:
        self._stopping = signal.Signals(signum).name  # the loop ends within _SIGNAL_POLL

    def _stop_calls(self) -> None:
        # The alert sender first: a message between two attempts goes back to
        # its queue (sent at the next start) rather than meet the stop hook.
        self.alerts.stop(timeout=0)
        self.stop_calls.set()  # a pass over HTTP ends at its next call, as partial

    def _on_hup(self, signum: int, frame: Any) -> None:
        self._reload = True

    def reload(self) -> bool:
        """SIGHUP: read the config again; a bad one is refused and the running one kept."""
        old = self.config
        try:
            new = load_config(old.path or "syncd.toml")
        except ConfigError as e:
            log.error("config reload refused, the running config is kept: %s", e, extra={"event": "reload_refused"})
            return False
        if new.state_path != old.state_path:
            log.error(
                "config reload refused, the running config is kept: [syncd].state changed from %s to %s; "
                "restart syncd to move to another state file",
                old.state_path,
                new.state_path,
                extra={"event": "reload_refused"},
            )
            return False
        if new.syncd.listen != old.syncd.listen:
            log.warning("[syncd].listen changed: it takes effect at the next restart")
        self.runtime = self.runtime.reloaded(new)  # new limits and policy; the pacers stay if the limits did
        self.redactor.add(secret_values(new, self.env))
        if self.leases is not None:
            from .leases import credential_groups

            groups = credential_groups(new, self.env)
            self._set_groups(groups)
            self.leases.set_groups(groups)
        self.config = new
        self.alerts.runtime = self.runtime
        self.alerts.reconfigure(new)
        self.page.configure(new)
        self.metrics.known(new.sources())
        self.scheduler.configure(self._sources(new))
        self._configure_push(new)
        log.info(
            "config reloaded from %s: %d source(s)", new.path, len(self.scheduler.slots), extra={"event": "reloaded"}
        )
        return True

    # -- push (spec §9; the logic is in syncd.push) ------------------------------------------

    def _hooks(self, config: Config) -> Any:
        from .push import Hooks

        return Hooks(
            config,
            self.env,
            count=lambda source, outcome: self.metrics.webhook_events.labels(source, outcome).inc(),
            on_event=lambda name: self.scheduler.push(name, self.config.syncd.push_delay.total_seconds()),
            on_secret=self.redactor.add,
        )

    def _configure_push(self, config: Config) -> None:
        from syncd.connectors import push_setup, push_teardown

        from .push import REGISTRY, Registrar, notion_token_path, pushed_sources, read_notion_token
        from .source import SourceContext

        if self.hooks is None:
            return
        self.hooks.configure(config)
        for _, cfg in pushed_sources(config).values():
            if cfg.type == "notion":
                self.redactor.add([read_notion_token(notion_token_path(config, cfg.name)) or ""])
        if self.registrar is None:
            if not pushed_sources(config) and not self.store.get(*REGISTRY):
                return  # nothing to register, nothing to remove

            def ctx() -> SourceContext:
                return SourceContext(config=self.config, cache=self.store, env=self.env, runtime=self.runtime)

            self.registrar = Registrar(
                self.store,
                self.hooks,
                setup=lambda role, cfg, url: push_setup(role, cfg, ctx(), url),
                teardown=lambda name, record: push_teardown(name, record, ctx()),
            )
        self.registrar.configure(config)

    @staticmethod
    def _sources(config: Config) -> list[tuple[Role, Any, float]]:
        return [
            (role, cfg, max(config.interval_of(cfg).total_seconds(), _MIN_INTERVAL)) for role, cfg in config.sources()
        ]

    # -- replicas ----------------------------------------------------------------------

    def _set_groups(self, groups: dict[str, list[str]]) -> None:
        self.group_of = {name: group for group, names in groups.items() for name in names}

    def _on_leases(self, taken: list[str], lost: list[str]) -> None:
        """From the lease thread: the sources of groups just taken run at the next tick."""
        self.metrics.leases_held.set(len(self.leases.held()))
        if taken:
            self._taken.put(taken)
            self.scheduler.wake.set()

    def _run_taken(self) -> None:
        while True:
            try:
                groups = self._taken.get_nowait()
            except queue.Empty:
                return
            for name in [n for n, g in self.group_of.items() if g in groups]:
                slot = self.scheduler.slots.get(name)
                if slot is not None:
                    slot.failures = self.store.failures_in_a_row(name)  # the new holder's view of its failures
                    self.scheduler.run_soon(name)

    def _pass_store(self, name: str) -> tuple[StateStore | None, Runtime, str | None]:
        """The store a pass of ``name`` records in (fenced by its lease) and the runtime its calls go
        through (stopped once the lease is not provably held), or why it must not run here."""
        if self.leases is None:
            return self.store, self.runtime, None
        from .leases import LeaseStop

        group = self.group_of.get(name, "")
        lease = self.leases.lease(group)
        if lease is None:
            return None, self.runtime, f"another replica holds the lease on {group}"
        runtime = self.runtime.with_stop(LeaseStop(self.stop_calls, lease))
        return self.store.fenced(lease), runtime, None  # type: ignore[attr-defined]

    # -- one pass ----------------------------------------------------------------------

    def _pass(self, slot: Slot) -> PassResult:
        from .engine import sync

        config, name = self.config, slot.name
        now = datetime.now(UTC)
        store, runtime, standby = self._pass_store(name)
        if store is None:
            return PassResult("standby", reason=standby or "")
        remote: list[str] = []
        if self.leases is not None:  # KPI sources another replica holds: their last pass, from the state
            held = set(self.leases.held())
            remote = [c.name for r, c in config.sources() if r == "kpis" and self.group_of.get(c.name) not in held]
        log.debug("pass of %s started", name, extra={"event": "pass_started", "source": name})
        try:
            report = sync(
                config,
                now=now,
                registry=self.registry,
                runtime=runtime,
                sources=[(slot.role, slot.cfg)],
                state=store,
                feeders_from_state=remote,
            )
        except LeaseLost as e:
            log.warning("source %s: %s", name, e, extra={"event": "pass", "source": name, "outcome": "lease_lost"})
            return PassResult("standby", reason=str(e))
        except Exception as e:  # noqa: BLE001 - a bug in one source's pass fails that source only
            reason = self.redactor(f"internal error: {type(e).__name__}: {e}")
            log.error(
                "source %s: the pass crashed: %s",
                name,
                reason,
                exc_info=True,
                extra={"event": "pass", "source": name, "outcome": "failed"},
            )
            self._record_crash(store, name, slot.cfg.type, now, reason)
            self.page.crashed(name, now, reason)
            self.metrics.record_outcome(name, "failed", time.time())
            return PassResult("failed", reason=reason)
        out = report.sources[name]
        ended = time.time()
        self.metrics.record_pass(report, name, ended)
        try:
            self.page.observe(name, report, self.store)
        except Exception:  # noqa: BLE001 - the page must not fail a pass
            log.exception("report page: could not take the pass of %s", name)
        if out.outcome == "ok":
            self.last_success[name] = datetime.fromtimestamp(ended, UTC).isoformat(timespec="seconds")
        try:
            self.alerts.observe(report, store)
            self.metrics.alerts_pending.set(self.alerts.pending())
        except LeaseLost as e:
            log.warning("alerts: the colours of %s are not recorded: %s", name, e)
        except Exception:  # noqa: BLE001
            log.exception("alerts: could not record the colours of %s", name)
        fields = {
            "event": "pass",
            "source": name,
            "outcome": out.outcome,
            "items": out.items,
            "writes": out.writes,
            "duration": round(report.duration, 3),
            "api_calls": report.api_calls,
            "trigger": slot.trigger,
        }
        reason = "; ".join(out.errors[:3])
        if out.outcome == "ok":
            log.info(
                "source %s: ok, %d item(s), %d written, %.2fs",
                name,
                out.items,
                out.writes,
                report.duration,
                extra=fields,
            )
        elif out.outcome == "partial":
            log.warning("source %s: partial (work left for the next pass): %s", name, reason, extra=fields)
        return PassResult(out.outcome, out.retry_after, reason=reason)

    def _record_crash(self, store: StateStore, name: str, service: str, now: datetime, reason: str) -> None:
        try:
            store.record_run(
                name,
                started=now,
                now=now,
                outcome="failed",
                summary={"service": service, "items": 0, "writes": 0, "statuses": {}, "errors": [reason]},
            )
        except Exception:  # noqa: BLE001
            log.exception("could not record the failed pass of %s", name)

    def _on_alert(self, kind: str, sent: bool) -> None:
        (self.metrics.alerts_sent if sent else self.metrics.alerts_failed).labels(kind).inc()
        self.metrics.alerts_pending.set(self.alerts.pending())

    def _check_digest(self) -> None:
        if time.monotonic() < self._next_digest_check or not any(a.digest_day for a in self.config.alerts):
            return
        self._next_digest_check = time.monotonic() + 10.0
        try:
            self.alerts.check_digest(datetime.now(UTC))
        except Exception:  # noqa: BLE001
            log.exception("alerts: could not prepare the weekly digest")

    # -- health ------------------------------------------------------------------------

    def _load_history(self) -> None:
        for source, started in self.store.last_successes().items():
            self.last_success[source] = started
            try:
                self.metrics.last_success.labels(source).set(datetime.fromisoformat(started).timestamp())
            except ValueError:
                pass

    def live(self) -> tuple[bool, dict[str, Any]]:
        """/livez: the process answers and its scheduler ticked lately (sources do not matter)."""
        age = time.monotonic() - self.heartbeat
        alive = age < _TICK_DEADLINE and not self._stopping
        reasons = (
            [] if alive else ["syncd is stopping" if self._stopping else f"the scheduler has not run for {age:.0f}s"]
        )
        body = {"status": "ok" if alive else "dead", "reasons": reasons, "seconds_since_tick": round(age, 1)}
        return alive, body

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """/readyz: alive, every source has completed a pass since the start, and none failed its last."""
        alive, body = self.live()
        reasons = list(body["reasons"])
        held = set(self.leases.held()) if self.leases is not None else None
        for slot in list(self.scheduler.slots.values()):
            if held is not None and self.group_of.get(slot.name) not in held:
                continue  # another replica syncs it: this one stands by, ready to take over
            if slot.last_outcome in (None, "standby"):
                reasons.append(f"source {slot.name} has not completed a pass yet")
            elif slot.last_outcome == "failed":
                reasons.append(f"source {slot.name} failed its last pass")
        ok = not reasons
        out: dict[str, Any] = {"status": "ready" if ok else "not_ready", "reasons": reasons}
        if self.leases is not None:
            if not self.leases.reachable:
                ok = False
                out["status"] = "not_ready"
                reasons.append("the PostgreSQL state store cannot be reached; retrying")
            sources: dict[str, Any] = {name: {} for name in self.scheduler.slots}
            out["replica"] = self._replicas(sources)
            out["sources"] = sources
        return ok, out

    def health(self) -> tuple[bool, dict[str, Any]]:
        """/healthz: alive and no source failing ``[syncd].unhealthy_after`` passes in a row."""
        age = time.monotonic() - self.heartbeat
        alive = age < _TICK_DEADLINE and not self._stopping
        limit = self.config.syncd.unhealthy_after
        sources: dict[str, Any] = {}
        reasons: list[str] = []
        if not alive:
            reasons.append("syncd is stopping" if self._stopping else f"the scheduler has not run for {age:.0f}s")
        for slot in list(self.scheduler.slots.values()):
            sources[slot.name] = {
                "failures_in_a_row": slot.failures,
                "last_outcome": slot.last_outcome,
                "last_success": self.last_success.get(slot.name),
                "running": slot.running,
            }
            if slot.failures >= limit:
                reasons.append(f"source {slot.name} failed {slot.failures} passes in a row (unhealthy after {limit})")
        replicas = self._replicas(sources)
        if replicas and not replicas["state_reachable"]:
            reasons.append("the PostgreSQL state store cannot be reached; retrying")
        ok = not reasons
        failing = [n for n, s in sources.items() if s["failures_in_a_row"] >= limit]
        out = {
            "status": "ok" if ok else "unhealthy",
            "reasons": reasons,
            "failing": failing,
            "scheduler": {"alive": alive, "seconds_since_tick": round(age, 1)},
            "unhealthy_after": limit,
            "sources": sources,
        }
        if replicas:
            out["replica"] = replicas
        return ok, out

    def _replicas(self, sources: dict[str, Any]) -> dict[str, Any] | None:
        """Which replica holds which sources (PostgreSQL state), as this replica last saw the lease table."""
        if self.leases is None:
            return None
        held = set(self.leases.held())
        table = {row["group"]: row for row in self.leases.snapshot}
        for name, entry in sources.items():
            group = self.group_of.get(name, "")
            row = table.get(group)
            entry["group"] = group
            entry["held_here"] = group in held
            entry["held_by"] = self.leases.replica if group in held else row["replica"] if row and row["live"] else None
        return {
            "id": self.leases.replica,
            "host": self.leases.host,
            "pid": self.leases.pid,
            "state_reachable": self.leases.reachable,
            "leases_held": sorted(held),
            "lease_ttl": self.leases.ttl,
            "leases": [
                {k: row[k] for k in ("group", "replica", "fence", "sources", "expires_in", "live")}
                for row in self.leases.snapshot
            ],
        }


# --- syncd status ------------------------------------------------------------------------


def status(config: Config, *, fmt: str = "text") -> int:
    """Print the last pass of each source from the state store; touches no service."""
    path = config.state_path
    pid = None if config.state_dsn else _holder(path)
    data: dict[str, Any] = {
        "state": str(path),
        "service": {"running": pid is not None, "pid": pid},
        "sources": [],
        "alerts": {},
    }
    if config.state_dsn or path.exists():
        store = open_store(config, readonly=True)
        try:
            holders: dict[str, str] = {}
            if config.state_dsn:
                from .leases import lease_table

                data["state"] = getattr(store, "shown", config.state_dsn)
                leases = [row for row in lease_table(store) if row["live"]]  # type: ignore[arg-type]
                replicas = sorted({row["replica"] for row in leases})
                data["service"] = {"running": bool(replicas), "pid": None, "replicas": replicas}
                data["leases"] = leases
                holders = {name: row["replica"] for row in leases for name in row["sources"]}
            runs = {r["source"]: r for r in store.last_runs()}
            names = [cfg.name for _, cfg in config.sources()]
            for name in names + sorted(set(runs) - set(names)):
                entry = {"source": name, "outcome": "never run", **runs.get(name, {})}
                entry["failures_in_a_row"] = store.failures_in_a_row(name)
                entry["configured"] = name in names
                if config.state_dsn:
                    entry["held_by"] = holders.get(name) or None
                data["sources"].append(entry)
            data["alerts"] = store.alert_counts()
            data["push"] = _push_status(config, store)
        finally:
            store.close()
    else:
        data["sources"] = [
            {"source": cfg.name, "outcome": "never run", "configured": True, "failures_in_a_row": 0}
            for _, cfg in config.sources()
        ]
    if "push" not in data:
        data["push"] = _push_status(config, None)
    data = redact_data(Redactor(secret_values(config, os.environ)), data)  # as every path out
    if fmt == "json":
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_status(data, sys.stdout)
    return 0


def _push_status(config: Config, store: Any) -> list[dict[str, Any]]:
    from .push import push_status

    return push_status(config, store, os.environ)


def _holder(state_path: Path) -> int | None:
    """The pid of a live syncd holding the state file's lock (read, never taken)."""
    try:
        pid = int(Path(f"{state_path}.lock").read_text().strip() or 0)
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid
    return pid if b"syncd" in cmdline else None


def _print_status(data: dict[str, Any], out: Any) -> None:
    service = f"running (pid {data['service']['pid']})" if data["service"]["running"] else "not running"
    if "replicas" in data["service"]:
        n = len(data["service"]["replicas"])
        service = f"{n} replica(s) running ({', '.join(data['service']['replicas'])})" if n else "no replica running"
    print(f"syncd status: state {data['state']}; service {service}", file=out)
    if "leases" not in data and not Path(data["state"]).exists():
        print("no pass recorded yet (start `syncd run`, or run `syncd sync`)", file=out)
    width = max((len(s["source"]) for s in data["sources"]), default=0)
    for s in data["sources"]:
        line = f"  {s['source']:<{width}}  {s['outcome']:<9}"
        if "started" in s:
            line += f" {_when(s['started'])}"
            statuses = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(s.get("statuses", {}).items()))
            line += f"  {s.get('items', 0)} item(s)" + (f" ({statuses})" if statuses else "")
            line += f", {s.get('writes', 0)} written"
        if s.get("failures_in_a_row", 0) > 1:
            line += f"; failed {s['failures_in_a_row']} passes in a row"
        if not s.get("configured", True):
            line += "  (no longer in the config)"
        if "held_by" in s:
            line += f"  [synced by {s['held_by']}]" if s["held_by"] else "  [no replica holds it]"
        print(line, file=out)
        for err in s.get("errors", [])[:5]:
            print(f"      error: {err}", file=out)
    for p in data.get("push", []):
        what = (
            f"webhook {p['webhook']}"
            if p.get("webhook")
            else "token file " + p["token_file"]
            if p.get("token_file")
            else ""
        )
        print(f"push: {p['source']} ({p['service']}) at {p['url']}" + (f"; {what}" if what else ""), file=out)
        if p.get("next"):
            print(f"      {p['next']}", file=out)
    if data["alerts"]:
        print("alerts: " + ", ".join(f"{v} {k}" for k, v in sorted(data["alerts"].items())), file=out)


def _when(iso: str) -> str:
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    ago = (datetime.now(UTC) - t).total_seconds()
    span = f"{ago:.0f}s" if ago < 120 else f"{ago / 60:.0f}m" if ago < 7200 else f"{ago / 3600:.1f}h"
    return f"{t.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({span} ago)"
