"""At most once: side effects a service cannot make idempotent (a Notion comment, an Asana status update).

A create call is not idempotent: a timeout after the service took it, or a crash between
posting and remembering, must not post it twice. So the intent is written to the state store
*before* the change it reports is written, marked ``tried`` before the post and ``sent`` after
it. An intent found ``tried`` but not ``sent`` (this pass, after an ambiguous failure; or the
next pass, after a crash) is first looked for at the service and posted only if absent.
Intents are kept a couple of days and then dropped, sent or not: their news is stale.

The protocol lives here once; a connector says how to send one and how to find one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from .source import Cache

__all__ = ["Intents", "KEEP_DAYS"]

#: Intents older than this are dropped, posted or not.
KEEP_DAYS = 2

Intent = dict[str, Any]


class Intents:
    """The intents of one source, under ``key`` in its cache; safe for concurrent writers."""

    def __init__(self, source: str, key: str, cache: Cache, today: date):
        self.source, self.key, self.cache, self.today = source, key, cache, today
        saved = cache.get(source, key)
        self.intents: dict[str, Intent] = dict(saved) if isinstance(saved, dict) else {}
        self._lock = threading.RLock()

    def _save(self) -> None:
        with self._lock:  # a copy: other threads go on changing the intents
            self.cache.put(self.source, self.key, json.loads(json.dumps(self.intents)))

    def intend(self, item: str, new: str, make: Callable[[], Intent]) -> str | None:
        """Record the intent to report ``item``'s change to ``new`` (today); None if already posted."""
        key = f"{item}|{new}|{self.today.isoformat()}"
        with self._lock:
            if key in self.intents:
                return None if self.intents[key].get("sent") else key
            self.intents[key] = {**make(), "at": self.today.isoformat(), "tried": False}
            self._save()
        return key

    def forget(self, key: str) -> None:
        """The change was not written: nothing to report."""
        with self._lock:
            if self.intents.pop(key, None) is not None:
                self._save()

    def post(
        self, key: str, send: Callable[[Intent], object], present: Callable[[Intent], bool], ambiguous: type[Exception]
    ) -> None:
        """Post the intent once: look first if an earlier try may have landed, and after an
        ``ambiguous`` failure; still unknown after two tries, the next pass looks again.
        Any other error of ``send`` or ``present`` reaches the caller (who forgets the intent)."""
        intent = self.intents.get(key)
        if not intent or intent.get("sent"):
            return
        if intent.get("tried") and present(intent):
            return self._done(key)
        for _ in range(2):
            with self._lock:
                intent["tried"] = True
                self._save()
            try:
                send(intent)
                return self._done(key)
            except ambiguous:
                if present(intent):
                    return self._done(key)

    def _stale(self, intent: Intent) -> bool:
        return self.today - date.fromisoformat(intent.get("at", "1970-01-01")) > timedelta(days=KEEP_DAYS)

    def pending(self) -> list[str]:
        """Intents :meth:`resume` has work on: unsent ones, and any old enough to drop."""
        with self._lock:
            return [k for k, i in self.intents.items() if not i.get("sent") or self._stale(i)]

    def resume(self, post: Callable[[str], Any]) -> list[Any]:
        """Finish what earlier passes left (a crash, an ambiguous failure) with ``post``, which
        returns an error or None; drop stale intents. The errors, in order."""
        errors = []
        with self._lock:
            stale = [k for k, i in self.intents.items() if self._stale(i)]
            for k in stale:
                del self.intents[k]
            if stale:
                self._save()
        for key in [k for k, i in self.intents.items() if not i.get("sent")]:
            error = post(key)
            if error:
                errors.append(error)
        return errors

    def _done(self, key: str) -> None:
        with self._lock:
            self.intents[key]["sent"] = True
            self._save()
