"""The machinery every loopback fake shares: a real HTTP server on 127.0.0.1
with routing, call counting, a rate limit that answers 429 like the service,
and switches for latency, 5xx bursts, dropped connections and malformed bodies.

A service fake (Sheets, Notion, Trello) subclasses :class:`FakeServer`, adds
routes with :meth:`FakeServer.route`, and says how its errors look by
overriding :meth:`FakeServer.error_body` and :meth:`FakeServer.rate_limit_key`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["FakeServer", "Request", "Response", "RateLimit", "HTTPError"]


@dataclass
class Request:
    method: str
    #: The path with percent-escapes decoded (``/v4/spreadsheets/k/values/'KPIs'!A1``).
    path: str
    raw_path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route's named groups

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A parameter from the query string, a form body or a JSON body."""
        if name in self.query:
            return self.query[name][0]
        form = self.form()
        if name in form:
            return form[name][0]
        data = self.json_or_none()
        if isinstance(data, dict) and name in data:
            value = data[name]
            return value if isinstance(value, str) else json.dumps(value)
        return default

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def json_or_none(self) -> Any:
        if "json" not in self.headers.get("content-type", ""):
            return None
        try:
            return self.json()
        except ValueError:
            return None

    def form(self) -> dict[str, list[str]]:
        if "application/x-www-form-urlencoded" not in self.headers.get("content-type", ""):
            return {}
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-able, or bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)


class HTTPError(Exception):
    """Raise from a handler to answer with the service's error body."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class RateLimit:
    """At most ``limit`` requests per ``period`` seconds per key (sliding window)."""

    def __init__(self, limit: int, period: float, retry_after: float | None = None):
        self.limit, self.period = limit, period
        self.retry_after = retry_after
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        #: The most requests seen in any window, per key: tests assert it.
        self.peak: Counter[str] = Counter()

    def admit(self, key: str, now: float) -> float | None:
        """None if admitted, else the seconds until a slot frees up."""
        with self._lock:
            q = self._seen.setdefault(key, deque())
            while q and q[0] <= now - self.period:
                q.popleft()
            if len(q) >= self.limit:
                return q[0] + self.period - now
            q.append(now)
            self.peak[key] = max(self.peak[key], len(q))
            return None


_Handler = Callable[[Request], Any]


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 and an ephemeral port."""

    #: Name of the service, for messages.
    service = "fake"

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, _Handler]] = []
        self.calls: Counter[str] = Counter()
        self.log: list[Request] = []
        self.responses_429 = 0
        # switches
        self.latency = 0.0
        self.rate_limit: RateLimit | None = None
        #: An outage: every request gets this status (500, 503) until set back to None.
        self.down: int | None = None
        #: A request this returns a status for is refused with it (one item refused: the contract suite).
        self.refuse: Callable[[Request], int | None] | None = None
        self._faults: deque[tuple[str, int]] = deque()  # (kind, status)
        #: route name -> canned answers, used before the route's handler (``answer``).
        self._canned: dict[str, deque[Response]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- to override ---------------------------------------------------------------

    def error_body(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return Response(status, {"error": {"code": status, "status": code, "message": message}})

    def rate_limited(self, request: Request, wait: float) -> Response:
        return self.error_body(429, "RATE_LIMITED", "Rate limit exceeded")

    def rate_limit_key(self, request: Request) -> str:
        return request.headers.get("authorization", "")

    def authorize(self, request: Request) -> None:
        """Raise :class:`HTTPError` to refuse the request's credentials."""

    def exempt(self, request: Request) -> bool:
        """True for requests the switches and the rate limit do not apply to
        (another service on the same fake, such as Google's token endpoint)."""
        return False

    # -- routing -------------------------------------------------------------------

    def route(self, method: str, pattern: str, name: str, handler: _Handler) -> None:
        """Add a route; ``pattern`` is a regex on the decoded path, anchored."""
        self._routes.append((method, re.compile(f"^{pattern}$"), name, handler))

    # -- switches ------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503) -> None:
        """The next ``count`` requests get ``status`` with the service's error body."""
        with self._lock:
            self._faults.extend(("status", status) for _ in range(count))

    def drop_next(self, count: int) -> None:
        """The next ``count`` requests are cut: the connection closes, no answer."""
        with self._lock:
            self._faults.extend(("drop", 0) for _ in range(count))

    def malformed_next(self, count: int) -> None:
        """The next ``count`` requests get 200 with a body that is not JSON."""
        with self._lock:
            self._faults.extend(("malformed", 200) for _ in range(count))

    def storm(self, count: int, retry_after: float | None = 0) -> None:
        """The next ``count`` requests get the service's 429."""
        with self._lock:
            self._faults.extend(("429", int((retry_after or 0) * 1000)) for _ in range(count))

    def answer(self, route: str, body: Any, status: int = 200, times: int = 1) -> None:
        """The next ``times`` requests to ``route`` (its name, as counted in ``calls``)
        get ``body`` as they are (a wrong shape, a gateway's echo), whatever the data."""
        with self._lock:
            self._canned.setdefault(route, deque()).extend(Response(status, body) for _ in range(times))

    def reset_counts(self) -> None:
        self.calls.clear()
        self.log.clear()
        self.responses_429 = 0

    # -- lifecycle -----------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes: without this, Nagle and the
            # client's delayed ACK stall every keep-alive answer by ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # A short poll interval lets stop() return at once (the suite starts many fakes).
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- request handling ----------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        request = Request(
            method=h.command,
            path=unquote(parts.path),
            raw_path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        if self.latency:
            time.sleep(self.latency)
        exempt = self.exempt(request)
        with self._lock:
            fault = self._faults.popleft() if self._faults and not exempt else None
        name, handler = self._match(request)
        with self._lock:
            self.calls[name] += 1
            self.log.append(request)
        if fault and fault[0] == "drop":
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        response = self._respond(request, handler, fault, exempt)
        if response.status == 429:
            with self._lock:
                self.responses_429 += 1
        self._send(h, response)

    def _match(self, request: Request) -> tuple[str, _Handler | None]:
        for method, pattern, name, handler in self._routes:
            m = pattern.match(request.path)
            if m and method == request.method:
                request.params = {k: v for k, v in m.groupdict().items() if v is not None}
                return name, handler
        return f"unknown {request.method} {request.path}", None

    def _respond(
        self, request: Request, handler: _Handler | None, fault: tuple[str, int] | None, exempt: bool = False
    ) -> Response:
        try:
            if self.down and not exempt:
                return self.error_body(self.down, "FAULT", "the service is down (fake server switch)")
            refused = self.refuse(request) if self.refuse is not None and not exempt else None
            if refused:
                return self.error_body(refused, "FAULT", "this item is refused (fake server switch)")
            if fault and fault[0] == "status":
                return self.error_body(fault[1], "FAULT", "injected failure (fake server switch)")
            if fault and fault[0] == "malformed":
                return Response(200, b"<html>this is not json", {"content-type": "text/html"})
            if fault and fault[0] == "429":
                return self.rate_limited(request, fault[1] / 1000)
            if self.rate_limit is not None and not exempt:
                wait = self.rate_limit.admit(self.rate_limit_key(request), time.monotonic())
                if wait is not None:
                    if self.rate_limit.retry_after is not None:
                        wait = self.rate_limit.retry_after
                    return self.rate_limited(request, wait)
            self.authorize(request)
            name = self._match(request)[0]
            with self._lock:
                canned = self._canned.get(name)
                if canned:
                    return canned.popleft()
            if handler is None:
                return self.error_body(404, "NOT_FOUND", f"no route for {request.method} {request.path}")
            result = handler(request)
            return result if isinstance(result, Response) else Response(200, result)
        except HTTPError as e:
            return self.error_body(e.status, e.code, e.message, **e.extra)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, response: Response) -> None:
        body = response.body
        headers = {k.lower(): v for k, v in response.headers.items()}
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
            headers.setdefault("content-type", "text/plain; charset=utf-8")
        else:
            data = json.dumps(body).encode()
            headers.setdefault("content-type", "application/json; charset=utf-8")
        h.send_response(response.status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("content-length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
