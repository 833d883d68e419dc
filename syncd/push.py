"""Push (spec §9): webhook events from Trello and Notion move a source's next pass forward.

An event carries no data into the evaluation: an accepted one only asks the
scheduler for a pass ``[syncd].push_delay`` after it (a burst shares the pass),
and that pass reads the source as any pass does. Events authored by syncd
itself (its Trello member, its Notion bot user) start nothing, so its own
writes never loop.

:class:`Hooks` answers ``/hooks/{trello,notion}/<source>`` on the daemon's
``listen`` server: signature checks over the raw body (constant time), the
Notion verification handshake (the token kept in a 0600 file beside the state
file, never logged), and a count of every request by source and outcome.
:class:`Registrar` keeps the services' side in step with the config (Trello's
webhook per board, who syncd is on each service) in a thread of its own; the
service calls themselves are the connectors' (the composition root hands them in).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .config import Config
from .secrets import SecretError, read_secret

if TYPE_CHECKING:
    from .source import Role

__all__ = [
    "MAX_BODY",
    "Hooks",
    "Reply",
    "Registrar",
    "callback_url",
    "hook_path",
    "notion_signature",
    "notion_token_path",
    "pushed_sources",
    "read_notion_token",
    "store_notion_token",
    "trello_signature",
]

log = logging.getLogger("syncd.push")

#: Larger bodies are refused with 413 before they are read.
MAX_BODY = 1 << 20
SERVICES = ("trello", "notion")
_PATH = re.compile(r"^/hooks/(?P<service>[a-z]+)/(?P<name>[^/]+)/?$")
#: Where the registrar keeps what it registered (per source), in the state store's cache.
REGISTRY = ("", "push.registrations")


# --- addresses -----------------------------------------------------------------------------------


def hook_path(service: str, name: str) -> str:
    return f"/hooks/{service}/{quote(name, safe='')}"


def callback_url(config: Config, source: Any) -> str:
    """``<public_url>/hooks/<type>/<name>``: what Trello is given and what it signs."""
    return f"{config.syncd.public_url}{hook_path(source.type, source.name)}"


def pushed_sources(config: Config) -> dict[str, tuple[Role, Any]]:
    """Sources synced on their events, by name: (role, config table)."""
    return {cfg.name: (role, cfg) for role, cfg in config.sources() if config.pushed(cfg)}


# --- signatures ----------------------------------------------------------------------------------


def trello_signature(secret: str, body: bytes, callback: str) -> str:
    """``X-Trello-Webhook``: base64 HMAC-SHA1 of the raw body followed by the callback URL."""
    digest = hmac.new(secret.encode(), body + callback.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _trello_signatures(secret: str, body: bytes, callback: str) -> list[str]:
    # Trello's own docs warn that it has signed the text as a Node "binary"
    # string (each character's low byte) rather than UTF-8; both are accepted.
    out = [trello_signature(secret, body, callback)]
    try:
        text = body.decode() + callback
    except UnicodeDecodeError:
        return out
    if not text.isascii():
        low = bytes(ord(c) & 0xFF for c in text)
        out.append(base64.b64encode(hmac.new(secret.encode(), low, hashlib.sha1).digest()).decode())
    return out


def notion_signature(token: str, body: bytes) -> str:
    """``X-Notion-Signature``: ``sha256=`` + hex HMAC-SHA256 of the raw body keyed with the token."""
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def _matches(given: str | None, expected: Iterable[str]) -> bool:
    if not given:
        return False
    # Every candidate is compared (no early exit), each in constant time.
    ok = False
    for e in expected:
        ok |= hmac.compare_digest(given.strip().encode(), e.encode())
    return ok


# --- the Notion verification token ---------------------------------------------------------------


def notion_token_path(config: Config, name: str) -> Path:
    """Beside the state file: ``<state>.notion-<source>.token``."""
    state = config.state_path
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return state.with_name(f"{state.name}.notion-{safe}.token")


def read_notion_token(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def store_notion_token(path: Path, token: str) -> None:
    """Write the token readable by syncd's user only (0600 from creation, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask, or a stale tmp's mode
        os.write(fd, token.encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


# --- the hook endpoint ---------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


_TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def _reply(status: int, text: str, **headers: str) -> Reply:
    return Reply(status, (text + "\n").encode(), {**_TEXT, **headers})


class Hooks:
    """``/hooks/<service>/<source>``: checks, counts, and tells ``on_event(source)`` of accepted events.

    Thread-safe: the server calls :meth:`handle` from its request threads.
    """

    def __init__(
        self,
        config: Config,
        env: Mapping[str, str],
        *,
        count: Callable[[str, str], None],
        on_event: Callable[[str], None],
        on_secret: Callable[[Iterable[str]], None] = lambda _: None,
    ):
        self._env = env
        self._count = count
        self._on_event = on_event
        self._on_secret = on_secret
        self._lock = threading.Lock()
        #: Source -> the ids syncd itself writes as on its service.
        self._own: dict[str, frozenset[str]] = {}
        self._refusal_logged: dict[str, float] = {}
        self.configure(config)

    def configure(self, config: Config) -> None:
        with self._lock:
            self._config = config
            self._pushed = pushed_sources(config)
            self._names = {cfg.name for _, cfg in config.sources()}

    def set_own(self, name: str, ids: Iterable[str]) -> None:
        with self._lock:
            self._own[name] = frozenset(i for i in ids if i)

    # -- one request ------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], read: Callable[[int], bytes]) -> Reply:
        """Answer one request; ``headers`` lower-cased; ``read(n)`` reads the body."""
        m = _PATH.match(path)
        service, name = (m.group("service"), unquote(m.group("name"))) if m else ("", "")
        with self._lock:
            config, entry = self._config, self._pushed.get(name)
            known = name in self._names
        if entry is None or entry[1].type != service:
            self._count("unknown" if not known else name, "not_found")
            return _reply(404, "no pushed source here: check the source's name and that it sets push = true")
        cfg = entry[1]
        allowed = ("HEAD", "GET", "POST") if service == "trello" else ("POST",)
        if method not in allowed:
            self._count(name, "method_not_allowed")
            return _reply(405, f"use {' or '.join(allowed)}", Allow=", ".join(allowed))
        if method in ("HEAD", "GET"):  # Trello's check before it creates the webhook
            self._count(name, "check")
            return _reply(200, "ok")
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if length > MAX_BODY:
            self._count(name, "too_large")
            return _reply(413, f"a webhook body is at most {MAX_BODY} bytes", Connection="close")
        if length < 0:
            self._count(name, "bad_request")
            return _reply(400, "bad Content-Length", Connection="close")
        body = read(length) if length else b""
        if service == "trello":
            return self._trello(config, cfg, headers, body)
        return self._notion(config, cfg, headers, body)

    def _trello(self, config: Config, cfg: Any, headers: Mapping[str, str], body: bytes) -> Reply:
        name = cfg.name
        try:
            secret = read_secret(self._env, cfg.secret_env)
        except SecretError:
            secret = None
        if not secret or not _matches(
            headers.get("x-trello-webhook"), _trello_signatures(secret, body, callback_url(config, cfg))
        ):
            return self._refused(name, "X-Trello-Webhook" if secret else f"{cfg.secret_env} is not set, so")
        try:
            payload = json.loads(body)
            action = payload["action"]
        except (ValueError, KeyError, TypeError):
            self._count(name, "bad_request")
            return _reply(400, "expected Trello's {action, model}")
        creator = action.get("memberCreator") if isinstance(action, dict) else None
        author = (creator or {}).get("id") if isinstance(creator, dict) else None
        author = author or (action.get("idMemberCreator") if isinstance(action, dict) else None)
        return self._accept(name, [author] if author else [], kind=str(action.get("type", "")))

    def _notion(self, config: Config, cfg: Any, headers: Mapping[str, str], body: bytes) -> Reply:
        name = cfg.name
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        path = notion_token_path(config, name)
        if isinstance(payload, dict) and set(payload) == {"verification_token"} and "x-notion-signature" not in headers:
            return self._verification(name, path, payload["verification_token"])
        try:
            env_token = read_secret(self._env, cfg.secret_env)
        except SecretError:
            env_token = None
        tokens = [t for t in (env_token, read_notion_token(path)) if t]
        expected = [notion_signature(t, body) for t in tokens]
        if not tokens or not _matches(headers.get("x-notion-signature"), expected):
            return self._refused(name, "X-Notion-Signature" if tokens else "no verification token yet, so")
        if not isinstance(payload, dict):
            self._count(name, "bad_request")
            return _reply(400, "expected a Notion event")
        authors = [a.get("id") for a in payload.get("authors") or [] if isinstance(a, dict)]
        return self._accept(name, [a for a in authors if a], kind=str(payload.get("type", "")))

    def _verification(self, name: str, path: Path, token: Any) -> Reply:
        if not isinstance(token, str) or not token.strip():
            self._count(name, "bad_request")
            return _reply(400, "verification_token must be a string")
        token = token.strip()
        self._on_secret([token])  # redacted from every log line from now on
        kept = read_notion_token(path)
        if kept and kept != token:
            self._count(name, "verification_kept")
            log.warning(
                "source %s: Notion sent another verification token; the first one is kept in %s. "
                "To verify a new subscription, delete that file and resend the token from Notion",
                name,
                path,
                extra={"event": "webhook", "source": name, "outcome": "verification_kept"},
            )
            return _reply(200, "ok")
        try:
            store_notion_token(path, token)
        except OSError as e:
            self._count(name, "error")
            log.error("source %s: cannot store Notion's verification token in %s: %s", name, path, e.strerror)
            return _reply(500, "cannot store the token")
        self._count(name, "verification")
        log.warning(
            "source %s: Notion's verification token is in %s (readable by syncd's user only); "
            "paste it into the subscription's Verify form in Notion's integration settings",
            name,
            path,
            extra={"event": "webhook", "source": name, "outcome": "verification", "token_file": str(path)},
        )
        return _reply(200, "ok")

    def _refused(self, name: str, what: str) -> Reply:
        self._count(name, "unauthorized")
        now = time.monotonic()
        with self._lock:  # one line a minute per source: refused requests must not flood the log
            quiet = now - self._refusal_logged.get(name, -60.0) < 60.0
            if not quiet:
                self._refusal_logged[name] = now
        (log.debug if quiet else log.warning)(
            "source %s: webhook request refused (401): %s signature does not match; "
            "if this goes on, check the secret (syncd check) and that the proxy passes the body as is",
            name,
            what,
            extra={"event": "webhook", "source": name, "outcome": "unauthorized"},
        )
        return _reply(401, "signature missing or wrong")

    def _accept(self, name: str, authors: list[str], *, kind: str) -> Reply:
        with self._lock:
            own = self._own.get(name, frozenset())
        if authors and own and all(a in own for a in authors):
            self._count(name, "own")  # syncd's own write coming back: no pass
            log.debug("source %s: event %s is syncd's own write; no pass", name, kind)
            return _reply(200, "ok")
        self._count(name, "accepted")
        log.debug("source %s: event %s accepted", name, kind, extra={"event": "webhook", "source": name})
        self._on_event(name)
        return _reply(200, "ok")


# --- keeping the services' side in step --------------------------------------------------------


#: ``setup(role, cfg, callback_url) -> record``: make sure the service sends the
#: source's events to ``callback_url``; the record (JSON, no secret) has ``own``
#: (syncd's ids on the service) and whatever ``teardown`` needs.
Setup = Callable[["Role", Any, str], dict[str, Any]]
#: ``teardown(name, record)``: stop the events of a source no longer pushed.
Teardown = Callable[[str, dict[str, Any]], None]


class Registrar:
    """Registers and removes webhooks in a thread of its own, retrying with backoff.

    What it registered is kept in the state store, so a source removed from the
    config (or with push turned off) while syncd was stopped has its webhook
    removed at the next start too.
    """

    def __init__(self, store: Any, hooks: Hooks, setup: Setup, teardown: Teardown, *, first_retry: float = 15.0):
        self._store = store
        self._hooks = hooks
        self._setup = setup
        self._teardown = teardown
        self._first_retry = first_retry
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._wanted: dict[str, tuple[Role, Any, str]] = {}
        #: Sources to (re)check at the next round: all of them after a start or reload.
        self._pending: set[str] = set()
        self._generation = 0
        self._thread: threading.Thread | None = None
        #: Source -> the last problem (None once registered); for /healthz and logs.
        self.problems: dict[str, str | None] = {}

    def configure(self, config: Config) -> None:
        """Start (or redo, after a reload) the work for this config."""
        wanted = {n: (role, cfg, callback_url(config, cfg)) for n, (role, cfg) in pushed_sources(config).items()}
        with self._lock:
            self._wanted = wanted
            self._pending = set(wanted)
            self._generation += 1
        for name, record in self._records().items():
            if name in wanted and record.get("own"):
                self._hooks.set_own(name, record["own"])  # known from earlier runs until confirmed
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="push-registrar", daemon=True)
            self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _records(self) -> dict[str, dict[str, Any]]:
        value = self._store.get(*REGISTRY, {})
        return dict(value) if isinstance(value, dict) else {}

    def _save(self, records: dict[str, dict[str, Any]]) -> None:
        self._store.put(*REGISTRY, records)

    def _run(self) -> None:
        delay = self._first_retry
        while not self._stop.is_set():
            self._wake.clear()
            try:
                ok = self.step()
            except Exception:  # noqa: BLE001 - a bug here must not end push for good
                log.exception("push: registering webhooks failed; trying again later")
                ok = False
            if ok:
                delay = self._first_retry
                self._wake.wait()
            else:
                self._wake.wait(delay)
                delay = min(delay * 2, 600.0)

    def step(self) -> bool:
        """One round over every source; True when all is in step."""
        with self._lock:
            wanted = dict(self._wanted)
            pending = set(self._pending)
            generation = self._generation
        records = self._records()
        done = True
        for name, record in list(records.items()):
            want = wanted.get(name)
            if want is not None and want[2] == record.get("callback") and want[1].type == record.get("service"):
                continue
            if self._stop.is_set():
                return False
            try:
                self._teardown(name, record)
            except Exception as e:  # noqa: BLE001 - retried later; one source never blocks the others
                done = False
                log.warning("source %s: could not remove its webhook: %s; trying again later", name, e)
                continue
            records.pop(name)
            self._save(records)
            why = "push is off or the source is gone" if want is None else "its address changed"
            log.info(
                "source %s: webhook for %s removed (%s)",
                name,
                record.get("callback"),
                why,
                extra={"event": "webhook_removed", "source": name},
            )
        for name, (role, cfg, url) in wanted.items():
            if self._stop.is_set():
                return False
            if name not in pending:
                continue  # in step since the last start or reload
            try:
                record = self._setup(role, cfg, url)
            except Exception as e:  # noqa: BLE001
                done = False
                self.problems[name] = str(e)
                log.warning(
                    "source %s: push is not set up yet: %s; trying again later (its polls go on meanwhile)",
                    name,
                    e,
                    extra={"event": "webhook_failed", "source": name},
                )
                continue
            record = {**record, "service": cfg.type, "callback": url}
            self._hooks.set_own(name, record.get("own") or [])
            records[name] = record
            self._save(records)
            self.problems[name] = None
            with self._lock:
                if self._generation == generation:  # else a reload asks for it again
                    self._pending.discard(name)
            log.info(
                "source %s: push ready: events go to %s%s",
                name,
                url,
                f" (webhook {record['webhook']}{', created' if record.get('created') else ', already there'})"
                if record.get("webhook")
                else "",
                extra={"event": "webhook_ready", "source": name, "new": bool(record.get("created"))},
            )
        return done


# --- syncd status --------------------------------------------------------------------------------


def push_status(config: Config, store: Any, env: Mapping[str, str]) -> list[dict[str, Any]]:
    """What ``syncd status`` shows per pushed source (no secret: where the token is, not what)."""
    records = store.get(*REGISTRY, {}) if store is not None else {}
    records = records if isinstance(records, dict) else {}
    out: list[dict[str, Any]] = []
    for name, (_, cfg) in pushed_sources(config).items():
        entry: dict[str, Any] = {"source": name, "service": cfg.type, "url": callback_url(config, cfg)}
        record = records.get(name) or {}
        if cfg.type == "trello":
            entry["webhook"] = record.get("webhook") if record.get("callback") == entry["url"] else None
            entry["next"] = (
                None if entry["webhook"] else "not registered yet: `syncd run` registers it at start (see its log)"
            )
        else:
            path = notion_token_path(config, name)
            try:
                from_env = bool(read_secret(env, cfg.secret_env))
            except SecretError:
                from_env = False
            entry["token_file"] = str(path)
            entry["token_stored"] = read_notion_token(path) is not None
            if entry["token_stored"]:
                entry["next"] = (
                    f"Notion's verification token is in {path}: if the subscription is not verified yet, paste it "
                    "into the Verify form of the integration's Webhooks settings in Notion"
                )
            elif from_env:
                entry["next"] = None
            else:
                entry["next"] = (
                    f"create the subscription in Notion (integration settings, Webhooks) with the URL {entry['url']}; "
                    f"syncd keeps the token Notion sends in {path}, to paste into Notion's Verify form"
                )
        out.append(entry)
    return out
