"""One status update on a goal whose colour syncd changed, at most once per change.

``POST /status_updates`` is not idempotent: a timeout after Asana took the
update, or a crash between posting and remembering, must not post it twice.
The protocol is the Notion comments' (connectors/notion/_comments.py): the
intent is written to the state store *before* the status is set, marked
``tried`` before the post and ``sent`` after it. An intent found ``tried`` but
not ``sent`` (this pass after an ambiguous failure, or the next pass after a
crash) is first looked up with ``GET /status_updates?parent=`` and posted
only if absent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from syncd.http import Refused
from syncd.model import ItemError
from syncd.source import Cache

from .transport import Ambiguous, Transport

__all__ = ["StatusUpdates", "LABELS"]

_KEY = "status_updates"
#: Intents older than this are dropped unposted: their news is stale.
_KEEP_DAYS = 2
#: goal status colour -> how people read it.
LABELS = {"green": "On track", "yellow": "At risk", "red": "Off track"}
_TYPES = {"green": "on_track", "yellow": "at_risk", "red": "off_track"}


class StatusUpdates:
    def __init__(self, source: str, cache: Cache, transport: Callable[[], Transport], today: date):
        self.source, self.cache, self._transport, self.today = source, cache, transport, today
        saved = cache.get(source, _KEY)
        self.intents: dict[str, dict[str, Any]] = dict(saved) if isinstance(saved, dict) else {}
        #: Writes to several goals run at once; the intents are saved whole.
        self._lock = threading.RLock()

    def _save(self) -> None:
        with self._lock:
            self.cache.put(self.source, _KEY, json.loads(json.dumps(self.intents)))

    def intend(self, goal: str, where: str, old: str, new: str, progress: float | None) -> str | None:
        """Record the intent before the status is set; None if this change was already posted."""
        key = f"{goal}|{new}|{self.today.isoformat()}"
        with self._lock:
            if key in self.intents:
                return None if self.intents[key].get("sent") else key
            shown = f"; progress {progress:.0%}" if progress is not None else ""
            text = (
                f"{self.today.isoformat()}: status changed from {LABELS.get(old, old)} to {LABELS[new]}{shown} (syncd)"
            )
            self.intents[key] = {"goal": goal, "where": where, "status_type": _TYPES[new], "text": text,
                                 "title": f"{LABELS[new]} (syncd, {self.today.isoformat()})",
                                 "at": self.today.isoformat(), "tried": False}  # fmt: skip
            self._save()
        return key

    def forget(self, key: str) -> None:
        """The status was not set: the change did not happen, so no update."""
        with self._lock:
            if self.intents.pop(key, None) is not None:
                self._save()

    def post(self, key: str) -> ItemError | None:
        intent = self.intents.get(key)
        if not intent or intent.get("sent"):
            return None
        t = self._transport()
        goal, text = intent["goal"], intent["text"]
        what = f"posting a status update on {intent.get('where') or goal}"
        body = {"data": {"parent": goal, "status_type": intent["status_type"], "title": intent["title"], "text": text}}
        try:
            if intent.get("tried") and self._present(t, goal, text, intent["at"], what):
                self._done(key)
                return None
            for _ in range(2):
                with self._lock:
                    intent["tried"] = True
                    self._save()
                try:
                    t.request("POST", "/status_updates", body=body, what=what, goal=intent.get("where"), once=True)
                    self._done(key)
                    return None
                except Ambiguous:
                    if self._present(t, goal, text, intent["at"], what):
                        self._done(key)
                        return None
            return None  # still unknown: the next pass looks again
        except Refused as e:
            self.forget(key)
            return ItemError(self.source, goal, f"status written, but the status update on {intent.get('where') or goal} "
                                                f"was not posted ({e.status} {e.text})", fields=())  # fmt: skip

    def pending(self) -> list[str]:
        """Intents ``resume`` has work on: unsent ones, and any old enough to drop."""
        with self._lock:
            return [k for k, i in self.intents.items()
                    if not i.get("sent") or self.today - date.fromisoformat(i.get("at", "1970-01-01")) > timedelta(days=_KEEP_DAYS)]  # fmt: skip

    def resume(self) -> list[ItemError]:
        """Finish intents a previous pass left (crash, ambiguous failure); drop stale ones."""
        errors: list[ItemError] = []
        changed = False
        for key in list(self.intents):
            intent = self.intents[key]
            at = date.fromisoformat(intent.get("at", "1970-01-01"))
            if self.today - at > timedelta(days=_KEEP_DAYS):
                del self.intents[key]
                changed = True
                continue
            if not intent.get("sent"):
                error = self.post(key)
                if error:
                    errors.append(error)
        if changed:
            self._save()
        return errors

    def _present(self, t: Transport, goal: str, text: str, at: str, what: str) -> bool:
        # Every update of the goal (a handful): created_since would compare the pass's
        # clock (--now) with Asana's, and miss the update when they disagree.
        params = {"parent": goal, "opt_fields": "text"}
        return any(u.get("text") == text for u in t.pages("/status_updates", params, what=what + " (looking it up)"))

    def _done(self, key: str) -> None:
        with self._lock:
            self.intents[key]["sent"] = True
            self._save()
