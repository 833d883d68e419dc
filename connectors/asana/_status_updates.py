"""One status update on a goal whose colour syncd changed, at most once per change.

``POST /status_updates`` is not idempotent: the intent protocol of :mod:`syncd.intents`
(written before the status is set, ``tried`` before the post, ``sent`` after it; a ``tried``
one is looked up with ``GET /status_updates?parent=`` and posted only if absent).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from syncd.http import Refused
from syncd.intents import Intents
from syncd.model import ItemError
from syncd.source import Cache

from .transport import Ambiguous, Transport

__all__ = ["StatusUpdates", "LABELS"]

_KEY = "status_updates"
#: goal status colour -> how people read it.
LABELS = {"green": "On track", "yellow": "At risk", "red": "Off track"}
_TYPES = {"green": "on_track", "yellow": "at_risk", "red": "off_track"}


class StatusUpdates:
    def __init__(self, source: str, cache: Cache, transport: Callable[[], Transport], today: date):
        self.source, self._transport, self.today = source, transport, today
        #: Writes to several goals run at once: the intents are thread-safe.
        self._intents = Intents(source, _KEY, cache, today)
        self.intents = self._intents.intents

    def intend(self, goal: str, where: str, old: str, new: str, progress: float | None) -> str | None:
        """Record the intent before the status is set; None if this change was already posted."""
        day = self.today.isoformat()
        shown = f"; progress {progress:.0%}" if progress is not None else ""
        text = f"{day}: status changed from {LABELS.get(old, old)} to {LABELS[new]}{shown} (syncd)"
        return self._intents.intend(goal, new, lambda: {
            "goal": goal, "where": where, "status_type": _TYPES[new], "text": text,
            "title": f"{LABELS[new]} (syncd, {day})"})  # fmt: skip

    def forget(self, key: str) -> None:
        """The status was not set: the change did not happen, so no update."""
        self._intents.forget(key)

    def pending(self) -> list[str]:
        return self._intents.pending()

    def resume(self) -> list[ItemError]:
        """Finish intents a previous pass left (crash, ambiguous failure); drop stale ones."""
        return self._intents.resume(self.post)

    def post(self, key: str) -> ItemError | None:
        intent = self.intents.get(key)
        if not intent or intent.get("sent"):
            return None
        t = self._transport()
        goal, text, where = intent["goal"], intent["text"], intent.get("where")
        what = f"posting a status update on {where or goal}"
        body = {"data": {"parent": goal, "status_type": intent["status_type"], "title": intent["title"], "text": text}}
        try:
            self._intents.post(
                key,
                lambda _: t.request("POST", "/status_updates", body=body, what=what, goal=where, once=True),
                lambda _: self._present(t, goal, text, what),
                Ambiguous,
            )
            return None
        except Refused as e:
            self.forget(key)
            return ItemError(self.source, goal, f"status written, but the status update on {where or goal} "
                                                f"was not posted ({e.status} {e.text})", fields=())  # fmt: skip

    def _present(self, t: Transport, goal: str, text: str, what: str) -> bool:
        # Every update of the goal (a handful): created_since would compare the pass's
        # clock (--now) with Asana's, and miss the update when they disagree.
        params = {"parent": goal, "opt_fields": "text"}
        return any(u.get("text") == text for u in t.pages("/status_updates", params, what=what + " (looking it up)"))
