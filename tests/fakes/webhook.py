"""A loopback Slack-compatible incoming webhook: records what syncd posts.

Answers ``POST /services/<team>/<channel>/<secret>`` with Slack's ``200 ok``
(a body without ``text`` gets Slack's ``400 no_text``). The FakeServer
switches (``fail_next``, ``drop_next``, ``storm``) make it misbehave.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from .server import FakeServer, Request, Response

__all__ = ["WebhookReceiver", "Message"]


@dataclass
class Message:
    path: str
    body: dict[str, Any]
    idempotency_key: str | None

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))


class WebhookReceiver(FakeServer):
    service = "webhook"

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []
        self._arrived = threading.Condition()
        self.route("POST", r"/services/(?P<hook>.+)", "post", self._post)

    def error_body(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return Response(status, code.lower(), {"content-type": "text/plain"})

    def rate_limited(self, request: Request, wait: float) -> Response:
        return Response(429, "rate_limited", {"content-type": "text/plain", "retry-after": f"{wait:g}"})

    def hook_url(self, secret: str = "T0001/B0001/s3cr3tW3bh00kT0k3n") -> str:
        return f"{self.url}/services/{secret}"

    def _post(self, request: Request) -> Response:
        body = request.json_or_none()
        if not isinstance(body, dict) or not body.get("text"):
            return Response(400, "no_text", {"content-type": "text/plain"})
        with self._arrived:
            self.messages.append(Message(request.path, body, request.headers.get("idempotency-key")))
            self._arrived.notify_all()
        return Response(200, "ok", {"content-type": "text/plain"})

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[Message]:
        """Wait until ``predicate(messages)`` is true; return the messages (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not predicate(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"webhook: condition not met in {timeout}s; got {[m.text for m in self.messages]}"
                    )
                self._arrived.wait(left)
            return list(self.messages)
