"""Webhook deliveries from a fake service: signed POSTs sent from a thread of their own, in order.

Like the real services, a fake answers the API call that changed something
first and delivers the event afterwards; a delivery can merge events that
arrive within ``window`` seconds of each other (Notion aggregates them).
Every attempt is recorded (when it was sent, what the receiver answered), so
tests and the benchmark can see what reached syncd and when.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["Deliverer", "Delivery"]


@dataclass
class Delivery:
    url: str
    payload: dict[str, Any]
    #: ``sign(body) -> headers``: the signature, computed over the exact bytes sent.
    sign: Callable[[bytes], dict[str, str]]
    #: Events with the same key, queued within ``window`` of the first, merge into one.
    key: Any = None
    sent: float | None = None  # time.monotonic() when the POST went out
    status: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Deliverer:
    def __init__(self, merge: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
                 window: float = 0.0, timeout: float = 5.0):  # fmt: skip
        self._merge = merge
        self.window = window
        self._queue: queue.SimpleQueue[Delivery | None] = queue.SimpleQueue()
        self._pending: dict[Any, tuple[float, Delivery]] = {}
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.done: list[Delivery] = []
        self._client = httpx.Client(timeout=timeout)
        self._thread = threading.Thread(target=self._run, name="webhook-deliveries", daemon=True)
        self._thread.start()
        self._closed = False
        self.queued = 0

    def send(self, delivery: Delivery) -> None:
        with self._lock:
            self.queued += 1
        if self._merge is not None and delivery.key is not None and self.window > 0:
            with self._lock:
                held = self._pending.get(delivery.key)
                if held is not None:
                    held[1].payload = self._merge(held[1].payload, delivery.payload)
                    self.queued -= 1  # one delivery for both
                    return
                self._pending[delivery.key] = (time.monotonic() + self.window, delivery)
            threading.Timer(self.window, self._release, args=(delivery.key,)).start()
            return
        self._queue.put(delivery)

    def _release(self, key: Any) -> None:
        with self._lock:
            held = self._pending.pop(key, None)
        if held is not None:
            self._queue.put(held[1])

    def _run(self) -> None:
        while True:
            d = self._queue.get()
            if d is None:
                return
            body = json.dumps(d.payload).encode()
            headers = {"Content-Type": "application/json", **d.sign(body)}
            d.sent = time.monotonic()
            try:
                d.status = self._client.post(d.url, content=body, headers=headers).status_code
            except httpx.HTTPError:
                d.status = 0  # not delivered (the real services retry later; the tests see it here)
            with self._cond:
                self.done.append(d)
                self._cond.notify_all()

    def wait(self, predicate: Callable[[list[Delivery]], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate(deliveries done)`` is true; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (found := predicate(self.done)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"deliveries: condition not met in {timeout}s; done: "
                                         f"{[(d.url, d.status) for d in self.done]}")  # fmt: skip
                self._cond.wait(left)
            return found

    def settled(self, timeout: float = 10.0) -> list[Delivery]:
        """Wait until every event so far has been delivered (and answered); return the deliveries."""
        self.wait(lambda done: len(done) >= self.queued, timeout)
        return list(self.done)

    def clear(self) -> None:
        with self._lock:
            self.done.clear()
            self.queued = len(self._pending)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(5)
            self._client.close()
