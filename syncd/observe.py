"""What ops watch: ``/healthz``, ``/livez``, ``/readyz``, ``/metrics`` (Prometheus text format) and the report at ``/``.

``/livez``: the process and its scheduler are alive (restart it when not). ``/readyz``: every
source has completed a pass and its last one did not fail. ``/healthz``: alive, and no source
failing ``[syncd].unhealthy_after`` passes in a row.

Served on ``[syncd].listen`` only (off when absent), from a thread of its own,
so a scrape never waits for a pass. The metrics live in a registry of their
own: nothing else in the process can add to or break them.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)

from .config import parse_listen

__all__ = ["Metrics", "HealthServer", "parse_listen", "CSP"]

#: ``GET /``: nothing may load; inline styles and data: images only (spec section 10).
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

log = logging.getLogger("syncd.observe")

_STATUSES = ("green", "amber", "red", "not_started", "on_track", "at_risk", "off_track", "done", "no_data", "invalid")
_OUTCOMES = ("ok", "partial", "failed")
#: The HTTP service behind each source type (CSV and XLSX make no calls).
_SERVICES = {"sheets": "sheets", "notion": "notion", "trello": "trello", "asana": "asana"}
_ALERT_KINDS = ("change", "digest")


class Metrics:
    """Every metric the daemon exports, in one registry."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.passes = Counter("syncd_passes", "Passes run, per source and outcome.", ["source", "outcome"], registry=r)
        self.failures = Counter("syncd_source_failures", "Failed passes, per source.", ["source"], registry=r)
        self.failures_in_a_row = Gauge(
            "syncd_source_failures_in_a_row",
            "Failed passes in a row, per source (0: the last pass went well).",
            ["source"],
            registry=r,
        )
        self.api_calls = Counter("syncd_api_calls", "HTTP calls made, per service.", ["service"], registry=r)
        self.retries = Counter("syncd_http_retries", "HTTP attempts retried, per service.", ["service"], registry=r)
        self.rate_limited = Counter("syncd_http_429", "429 answers received, per service.", ["service"], registry=r)
        self.items = Gauge(
            "syncd_items", "Items at the last pass, per source and status.", ["source", "status"], registry=r
        )
        self.writes = Counter("syncd_writes", "Values written back, per source.", ["source"], registry=r)
        self.duration = Histogram(
            "syncd_pass_duration_seconds",
            "Duration of a pass, per source.",
            ["source"],
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
        )
        self.last_success = Gauge(
            "syncd_last_success_timestamp_seconds",
            "When the last good pass of a source ended (Unix time).",
            ["source"],
            registry=r,
        )
        self.alerts_sent = Counter("syncd_alerts_sent", "Alerts delivered, per kind.", ["kind"], registry=r)
        self.alerts_failed = Counter(
            "syncd_alerts_failed", "Alert deliveries that failed, per kind.", ["kind"], registry=r
        )
        self.alerts_pending = Gauge("syncd_alerts_pending", "Alerts waiting to be sent.", registry=r)
        self.heartbeat = Gauge("syncd_scheduler_heartbeat_timestamp_seconds", "Last tick of the scheduler.", registry=r)
        self.webhook_events = Counter(
            "syncd_webhook_events",
            "Requests to /hooks/, per source (unknown: no such source) and outcome.",
            ["source", "outcome"],
            registry=r,
        )
        self.leases_held = Gauge(
            "syncd_leases_held", "Credential groups whose lease this replica holds (PostgreSQL state).", registry=r
        )
        from . import __version__

        Info("syncd_build", "The running syncd.", registry=r).info({"version": __version__})
        ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes, open fds...
        for kind in _ALERT_KINDS:
            self.alerts_sent.labels(kind)
            self.alerts_failed.labels(kind)

    def known(self, sources: Any) -> None:
        """Create every series of these sources (``(role, config)`` pairs) at zero, so a rate or an
        alert rule sees 0 rather than no data before the first failure, retry or write."""
        for _, cfg in sources:
            name = cfg.name
            for outcome in _OUTCOMES:
                self.passes.labels(name, outcome)
            self.failures.labels(name)
            self.failures_in_a_row.labels(name)
            self.writes.labels(name)
            self.duration.labels(name)
            service = _SERVICES.get(getattr(cfg, "type", ""))
            if service:
                self.api_calls.labels(service)
                self.retries.labels(service)
                self.rate_limited.labels(service)

    def on_retry(self, service: str, exc: BaseException) -> None:
        """A retry listener of the daemon's :class:`syncd.http.Runtime`."""
        service = service or "unknown"
        self.retries.labels(service).inc()
        if getattr(exc, "status", None) == 429:
            self.rate_limited.labels(service).inc()

    def record_pass(self, report: Any, name: str, ended: float) -> None:
        """Count one pass of source ``name`` from the engine's report."""
        outcome = report.sources[name]
        self.passes.labels(name, outcome.outcome).inc()
        self.duration.labels(name).observe(report.duration)
        for service, count in report.api_calls.items():
            self.api_calls.labels(service).inc(count)
        self.writes.labels(name).inc(outcome.writes)
        counts = dict.fromkeys(_STATUSES, 0)
        for k in report.evaluation.kpis:
            if k.source == name:
                counts[k.status] = counts.get(k.status, 0) + 1
        for o in report.evaluation.objectives:
            if o.source == name:
                counts[o.status] = counts.get(o.status, 0) + 1
                for kr in o.key_results:
                    counts[kr.status] = counts.get(kr.status, 0) + 1
        if outcome.outcome != "failed":  # a failed read tells nothing about the items
            for status, n in counts.items():
                self.items.labels(name, status).set(n)
        self.record_outcome(name, outcome.outcome, ended, count=False)

    def record_outcome(self, name: str, outcome: str, ended: float, *, count: bool = True) -> None:
        if count:
            self.passes.labels(name, outcome).inc()
        if outcome == "failed":
            self.failures.labels(name).inc()
            self.failures_in_a_row.labels(name).inc()
        else:
            self.failures_in_a_row.labels(name).set(0)
        if outcome == "ok":
            self.last_success.labels(name).set(ended)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class HealthServer:
    """``/healthz``, ``/livez``, ``/readyz`` and ``/metrics`` over HTTP, in a daemon thread.

    ``health`` answers ``/healthz``; ``probes`` maps other paths (``/livez``, ``/readyz``) to
    functions of the same shape: (ok, JSON body).
    """

    def __init__(
        self,
        listen: str,
        metrics: Metrics,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        page: Callable[[], bytes] | None = None,
        probes: dict[str, Callable[[], tuple[bool, dict[str, Any]]]] | None = None,
        hooks: Any = None,
    ):
        """``hooks``: a :class:`syncd.push.Hooks` answering every method on ``/hooks/...``."""
        host, port = parse_listen(listen)
        checks = {"/healthz": health, **(probes or {})}

        class Handler(BaseHTTPRequestHandler):
            server_version = "syncd"

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("http: " + fmt, *args)

            def _hook(self) -> None:
                path = urlsplit(self.path).path
                if hooks is None or not path.startswith("/hooks/"):
                    self._send(405 if path in ("/metrics", "/healthz") else 404, b"", "text/plain; charset=utf-8")
                    return
                reply = hooks.handle(
                    self.command, path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read
                )
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)
                if reply.headers.get("Connection") == "close":
                    self.close_connection = True

            do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = _hook

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = urlsplit(self.path).path
                if path.startswith("/hooks/"):
                    return self._hook()
                if path == "/metrics":
                    self._send(200, metrics.render(), CONTENT_TYPE_LATEST)
                elif path in checks:
                    ok, body = checks[path]()
                    self._send(200 if ok else 503, json.dumps(body, indent=1).encode(), "application/json")
                elif path == "/" and page is not None:  # the report (syncd.report), never a read of a source
                    self._send(200, page(), "text/html; charset=utf-8", {"Content-Security-Policy": CSP})
                else:
                    tried = ", ".join([*checks, "/metrics"])
                    self._send(404, f"not found: try {tried}\n".encode(), "text/plain; charset=utf-8")

            def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        self._httpd = Server((host, port), Handler)
        self.address = self._httpd.server_address[:2]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.1,), name="http", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"  # type: ignore[str-bytes-safe]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
