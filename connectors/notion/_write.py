"""Writing back to Notion: one ``pages.update`` per changed page, with every changed property.

A mixin of :class:`syncd.connectors.notion.NotionSource`, kept apart for size. A
status property lacking the option, a property that cannot hold the field, or
a value Notion refuses fails that item only, with a message naming the
property and the value; the rest of the page is still written. A validation
error first refreshes the cached schema once (someone may have changed a
property since it was cached) and retries if that changes the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from syncd.mappings import notion as mapping
from syncd.model import ItemError, Patch
from syncd.source import Deferred

from ._comments import Comments, wants_comment
from .transport import NotionError

if TYPE_CHECKING:
    from .notion import _Db

__all__ = ["Writer"]


class Writer:
    """The write side of the Notion source (uses its ``_dbs``, ``_call``, ``_prepare``...)."""

    name: str
    ctx: Any
    cfg: Any
    _dbs: dict[str, _Db]

    def _comments(self) -> Comments:
        if not hasattr(self, "_comments_obj"):
            today = (self.ctx.now or datetime.now(UTC)).date()
            self._comments_obj = Comments(self.name, self.ctx.cache, lambda: self.transport, today)  # type: ignore[attr-defined]
        return self._comments_obj

    def write(self, patches: Sequence[Patch]) -> list[ItemError]:
        by_page: dict[str, list[Patch]] = {}
        for p in patches:
            by_page.setdefault(str(p.ref), []).append(p)
        errors: list[ItemError] = []
        written = 0
        pending = list(by_page.items())
        for index, (ref, page_patches) in enumerate(pending):
            key, _, page_id = ref.partition("/")
            db = self._dbs.get(key)
            if db is None or not page_id:
                errors.extend(
                    ItemError(self.name, p.item, f"not a page of this source ({ref!r})") for p in page_patches
                )
                continue
            if db.schema is None:
                self._prepare(db)  # type: ignore[attr-defined]
                if not db.records:
                    db.records = dict((self.ctx.cache.get(self.name, f"pages:{db.id}") or {}).get("pages") or {})
            try:
                if self._write_page(db, page_id, page_patches, errors):
                    written += 1
            except NotionError as e:
                if e.code in ("unauthorized", "restricted_resource") or e.status == 401:
                    if written == 0:
                        self._save_records()
                        raise self._named(e) from None  # type: ignore[attr-defined]
                    errors.extend(
                        ItemError(self.name, p.item, str(self._named(e)))  # type: ignore[attr-defined]
                        for _, ps in pending[index:]
                        for p in ps
                    )
                    break
                raise
            except Deferred:
                self._save_records()
                raise
        self._save_records()
        return errors

    def _write_page(self, db: _Db, page_id: str, patches: list[Patch], errors: list[ItemError]) -> bool:
        url = (db.records.get(page_id) or {}).get("url") or page_id
        payload, shown, failed = self._payload(db, patches)
        for p, message in failed:
            errors.append(ItemError(self.name, p.item, f"{url}: {message}"))
        if not payload:
            return False
        sendable = [p for p in patches if all(p is not f for f, _ in failed)]
        item = patches[0].item  # every patch of a page is for the same item
        comments = self._comments() if self.cfg.comment_on_change else None
        intents = [
            comments.intend(page_id, p.old, p.new, url)
            for p in sendable
            if comments and wants_comment(p, mapping.colour_of_label)
        ]
        c = self.transport.client  # type: ignore[attr-defined]
        for attempt in range(2):
            try:
                page = self._call(lambda: c.pages.update(page_id, properties=payload), f"page {url}")  # type: ignore[attr-defined]
                break
            except NotionError as e:
                if e.code == "validation_error" and attempt == 0 and not db.refreshed:
                    self._prepare(db, refresh=True)  # type: ignore[attr-defined]
                    new_payload, shown, _ = self._payload(db, sendable)
                    if new_payload != payload:
                        payload = new_payload
                        continue
                for k in intents:
                    if k:
                        comments.forget(k)  # type: ignore[union-attr]
                if e.code == "validation_error":
                    errors.append(ItemError(self.name, item, f"Notion refused {', '.join(shown)} on {url}: {e.detail}"))
                    return False
                if e.code == "object_not_found":
                    errors.append(
                        ItemError(self.name, item, f"{url}: the page is gone or no longer shared with the integration")
                    )
                    return False
                raise
        if isinstance(page, dict) and page.get("properties"):
            rec = mapping.extract(page, db.props.values())
            old = db.records.get(page_id)
            if rec.pop("more", None) and old:
                rec["v"].update({k: v for k, v in old["v"].items() if isinstance(v, list)})
            db.records[page_id] = rec
        for k in intents:
            if k:
                error = comments.post(k)  # type: ignore[union-attr]
                if error:
                    errors.append(error)
        return True

    def _payload(self, db: _Db, patches: list[Patch]) -> tuple[dict[str, Any], list[str], list[tuple[Patch, str]]]:
        payload: dict[str, Any] = {}
        shown: list[str] = []
        failed: list[tuple[Patch, str]] = []
        for p in patches:
            prop = db.props.get(p.field)
            if prop is None or not prop.writable:
                failed.append((p, f"{db.label} has no property syncd can write {p.field} to"))
                continue
            try:
                payload[prop.name] = mapping.render(prop, p.new)
            except mapping.RenderError as e:
                failed.append((p, str(e)))
                continue
            shown.append(f"{prop.name} = {p.new!r}")
        return payload, shown, failed

    def _save_records(self) -> None:
        for db in self._dbs.values():
            snap = self.ctx.cache.get(self.name, f"pages:{db.id}")
            if isinstance(snap, dict) and db.records:
                snap["pages"] = db.records
                self.ctx.cache.put(self.name, f"pages:{db.id}", snap)
