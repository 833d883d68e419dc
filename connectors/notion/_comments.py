"""Dated comments on key results whose status changed colour, at most once per change.

``comments.create`` is not idempotent: a timeout after Notion took the comment,
or a crash between posting and remembering, must not post it twice. So the
intent is written to the state store *before* the page update, marked
``tried`` before the post and ``sent`` after it. An intent found ``tried`` but
not ``sent`` (this pass after an ambiguous failure, or the next pass after a
crash) is first looked up with ``comments.list`` and posted only if absent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from syncd.model import ItemError, Patch
from syncd.source import Cache

from .transport import Ambiguous, NotionError, Transport

__all__ = ["Comments", "wants_comment"]

_KEY = "comments"
#: Intents older than this are dropped unposted: their news is stale.
_KEEP_DAYS = 2


def wants_comment(patch: Patch, colour_of: Callable[[Any], str | None]) -> bool:
    """A key result's status moved from one colour to another (not on a first write)."""
    if patch.kind != "key_result" or patch.field != "status":
        return False
    old, new = colour_of(patch.old), patch.colour or colour_of(patch.new)
    return old is not None and new is not None and old != new


class Comments:
    def __init__(self, source: str, cache: Cache, transport: Callable[[], Transport], today: date):
        self.source, self.cache, self._transport, self.today = source, cache, transport, today
        self.intents: dict[str, dict[str, Any]] = dict(cache.get(source, _KEY) or {})  # type: ignore[call-overload]

    def _save(self) -> None:
        self.cache.put(self.source, _KEY, self.intents)

    def intend(self, page: str, old: Any, new: Any, url: str) -> str | None:
        """Record the intent before the page update; None if this change was already commented."""
        key = f"{page}|{new}|{self.today.isoformat()}"
        if key in self.intents:
            return None if self.intents[key].get("sent") else key
        text = f"{self.today.isoformat()}: status changed from {old} to {new} (syncd)"
        self.intents[key] = {"page": page, "text": text, "url": url, "at": self.today.isoformat(), "tried": False}
        self._save()
        return key

    def forget(self, key: str) -> None:
        """The page update failed: the change did not happen, so no comment."""
        if self.intents.pop(key, None) is not None:
            self._save()

    def post(self, key: str) -> ItemError | None:
        intent = self.intents.get(key)
        if not intent or intent.get("sent"):
            return None
        t = self._transport()
        page, text = intent["page"], intent["text"]
        what = f"a comment on {intent.get('url') or page}"
        try:
            if intent.get("tried") and self._present(t, page, text, what):
                return self._done(key)  # type: ignore[func-returns-value]
            for _ in range(2):
                intent["tried"] = True
                self._save()
                try:
                    t.call_once(
                        lambda: t.client.comments.create(
                            parent={"page_id": page}, rich_text=[{"text": {"content": text}}]
                        ),
                        what,
                    )
                    return self._done(key)  # type: ignore[func-returns-value]
                except Ambiguous:
                    if self._present(t, page, text, what):
                        return self._done(key)  # type: ignore[func-returns-value]
            return None  # still unknown: the next pass looks again
        except NotionError as e:
            self.intents.pop(key, None)
            self._save()
            hint = " (give the integration the 'Insert comments' capability)" if e.code == "restricted_resource" else ""
            return ItemError(self.source, page, f"status written, but the comment was not posted: {e}{hint}", fields=())

    def pending(self) -> list[str]:
        """Intents ``resume`` has work on: unsent ones, and sent ones old enough to drop."""
        out = []
        for key, intent in self.intents.items():
            at = date.fromisoformat(intent.get("at", "1970-01-01"))
            if not intent.get("sent") or self.today - at > timedelta(days=_KEEP_DAYS):
                out.append(key)
        return out

    def resume(self) -> list[ItemError]:
        """Finish intents a previous pass left (crash, ambiguous failure); drop stale ones."""
        errors: list[ItemError] = []
        changed = False
        for key in list(self.intents):
            intent = self.intents[key]
            at = date.fromisoformat(intent.get("at", "1970-01-01"))
            if intent.get("sent"):
                if self.today - at > timedelta(days=_KEEP_DAYS):
                    del self.intents[key]
                    changed = True
                continue
            if self.today - at > timedelta(days=_KEEP_DAYS):
                del self.intents[key]
                changed = True
                continue
            error = self.post(key)
            if error:
                errors.append(error)
        if changed:
            self._save()
        return errors

    def _present(self, t: Transport, page: str, text: str, what: str) -> bool:
        for response in t.pages(
            what,
            lambda cursor: t.client.comments.list(block_id=page, page_size=100, **_cursor(cursor)),  # type: ignore[arg-type, return-value]
        ):
            for comment in response["results"]:
                body = "".join(
                    r.get("plain_text") or (r.get("text") or {}).get("content", "")
                    for r in comment.get("rich_text") or ()
                )
                if body == text:
                    return True
        return False

    def _done(self, key: str) -> None:
        self.intents[key]["sent"] = True
        self._save()
        return None


def _cursor(cursor: str | None) -> dict[str, str]:
    return {"start_cursor": cursor} if cursor else {}
