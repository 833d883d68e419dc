"""Dated comments on key results whose status changed colour, at most once per change.

``comments.create`` is not idempotent: the intent protocol of :mod:`syncd.intents` (written
before the page update, ``tried`` before the post, ``sent`` after it; a ``tried`` one is
looked up with ``comments.list`` and posted only if absent).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from syncd.intents import Intents
from syncd.model import ItemError, Patch
from syncd.source import Cache

from .transport import Ambiguous, NotionError, Transport

__all__ = ["Comments", "wants_comment"]

_KEY = "comments"


def wants_comment(patch: Patch, colour_of: Callable[[Any], str | None]) -> bool:
    """A key result's status moved from one colour to another (not on a first write)."""
    if patch.kind != "key_result" or patch.field != "status":
        return False
    old, new = colour_of(patch.old), patch.colour or colour_of(patch.new)
    return old is not None and new is not None and old != new


class Comments:
    def __init__(self, source: str, cache: Cache, transport: Callable[[], Transport], today: date):
        self.source, self._transport, self.today = source, transport, today
        self._intents = Intents(source, _KEY, cache, today)
        self.intents = self._intents.intents

    def intend(self, page: str, old: Any, new: Any, url: str) -> str | None:
        """Record the intent before the page update; None if this change was already commented."""
        text = f"{self.today.isoformat()}: status changed from {old} to {new} (syncd)"
        return self._intents.intend(page, new, lambda: {"page": page, "text": text, "url": url})

    def forget(self, key: str) -> None:
        """The page update failed: the change did not happen, so no comment."""
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
        page, text = intent["page"], intent["text"]
        what = f"a comment on {intent.get('url') or page}"

        def send(_: Any) -> None:
            t.call_once(
                lambda: t.client.comments.create(parent={"page_id": page}, rich_text=[{"text": {"content": text}}]),
                what,
            )

        try:
            self._intents.post(key, send, lambda _: self._present(t, page, text, what), Ambiguous)
            return None
        except NotionError as e:
            self.forget(key)
            hint = " (give the integration the 'Insert comments' capability)" if e.code == "restricted_resource" else ""
            return ItemError(self.source, page, f"status written, but the comment was not posted: {e}{hint}", fields=())

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


def _cursor(cursor: str | None) -> dict[str, str]:
    return {"start_cursor": cursor} if cursor else {}
