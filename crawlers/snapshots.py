"""Evidence snapshots (原文快照 / 网页取证) and what a later fetch finds (已删除 / 已修改).

Each stored article page keeps its raw body as fetched, zlib-compressed, with its sha256,
fetch time, HTTP status and response headers (cookies left out), for ``snapshot_days``
(settings); a body already kept for the item is not kept twice. When the snapshots reach
``snapshot_max_mb`` (raw bytes), crawling goes on without them and the run's warnings say so
(the source's health shows it). A later fetch of a stored page that answers 404/410 or shows
a "内容已删除" page marks the item 已删除; one whose text changed marks it 已修改; either
adds a :class:`~yuqing.models.CrawlSignal` on the item and its event (删帖 is news too).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, insert, select

from yuqing.models import CrawlSignal, PageSnapshot

from .normalise import clean_text

GONE_STATUSES = (404, 410)
# What Chinese sites show in place of a removed page; only a short page counts (an article
# that merely mentions 已删除 is not a deletion notice).
DELETED_PAGE = re.compile(r"内容已删除|内容已被删除|该内容已被删除|信息已删除|信息已被删除|文章已删除|文章已被删除"
                          r"|已被作者删除|此微博已被删除|该微博已被删除|页面不存在|该页面不存在|内容不存在|稿件已撤销")
# Every notice above has one of these whatever markup splits its words (or a character
# reference, which may spell one): a page with none is no notice, and is not cleaned to tell.
_DELETED_CHARS = ("删", "存", "撤", "&#")
DELETED_PAGE_MAX = 300  # characters of text a deletion notice page has at most
_SKIP_HEADERS = {b"set-cookie", b"cookie"}
SNAPSHOTS: Table = PageSnapshot.__table__  # type: ignore[assignment]  # a mapped class's table is a Table


def raw_of(response: Any) -> dict[str, Any]:
    """What a snapshot keeps of a response (the spider hands it to the pipeline)."""
    headers = {key.decode("latin-1"): b", ".join(values).decode("latin-1")
               for key, values in response.headers.items() if key.lower() not in _SKIP_HEADERS}
    return {"url": response.url, "status": response.status, "headers": headers, "body": bytes(response.body)}


def looks_deleted(title: str, body: str) -> bool:
    if len(body) > DELETED_PAGE_MAX * 20:  # markup included: far too long for a notice page
        return False
    raw = title + body
    if not any(ch in raw for ch in _DELETED_CHARS):  # nearly every page: no cleaning needed
        return False
    text = clean_text(f"{title}\n{body}")
    return len(text) <= DELETED_PAGE_MAX and bool(DELETED_PAGE.search(text))


class SnapshotStore:
    """Keeps snapshots within the configured days and size, for one crawl."""

    def __init__(self, rt: Any) -> None:
        self.days = rt.settings.snapshot_days
        self.max_bytes = rt.settings.snapshot_max_mb * 1024 * 1024
        self.used: int | None = None  # read from the store with the first snapshot of the crawl
        self.full = False

    def measure(self, session: Any, now: datetime) -> int:
        """Delete the expired snapshots (their room is free again); the bytes the rest take."""
        if self.used is None:
            session.execute(delete(PageSnapshot).where(PageSnapshot.expires_at <= now))
            self.used = int(session.scalar(select(func.coalesce(func.sum(PageSnapshot.size), 0))) or 0)
        return self.used

    def keep(self, session: Any, item_id: int, raw: dict[str, Any], now: datetime, first: bool = False) -> str:
        """``kept``, ``same`` (this body is kept already), ``full`` or ``off``. ``first``: a new
        item, which has no snapshot yet to compare with."""
        if self.days <= 0:
            return "off"
        used = self.measure(session, now)
        body = raw["body"]
        digest = hashlib.sha256(body).hexdigest()
        last = None if first else session.scalars(select(PageSnapshot.body_hash).where(PageSnapshot.item_id == item_id)
                               .order_by(PageSnapshot.fetched_at.desc(), PageSnapshot.id.desc()).limit(1)).first()
        if last == digest:
            return "same"
        if used + len(body) > self.max_bytes:
            self.full = True
            return "full"
        session.add(PageSnapshot(item_id=item_id, url=raw["url"], status=int(raw.get("status") or 200),
                                 fetched_at=now, expires_at=now + timedelta(days=self.days), body_hash=digest,
                                 size=len(body), headers=dict(raw.get("headers") or {}),
                                 body=zlib.compress(body, 6)))
        self.used = used + len(body)
        return "kept"

    def keep_new(self, session: Any, pages: list[tuple[int, dict[str, Any], datetime]]) -> int:
        """The first snapshots of new items ``(item id, raw, fetch time)``, in one statement
        (a crawl's common case: nothing to compare with); how many were kept."""
        if self.days <= 0 or not pages:
            return 0
        used = self.measure(session, pages[0][2])
        rows = []
        for item_id, raw, now in pages:
            body = raw["body"]
            if used + len(body) > self.max_bytes:
                self.full = True
                continue
            used += len(body)
            rows.append({"item_id": item_id, "url": raw["url"], "status": int(raw.get("status") or 200),
                         "fetched_at": now, "expires_at": now + timedelta(days=self.days),
                         "body_hash": hashlib.sha256(body).hexdigest(), "size": len(body),
                         "headers": dict(raw.get("headers") or {}), "body": zlib.compress(body, 6)})
        if rows:
            session.connection().execute(insert(SNAPSHOTS), rows)
        self.used = used
        return len(rows)


def snapshot_body(snapshot: Any) -> bytes:
    """The raw body of a :class:`~yuqing.models.PageSnapshot` as it was fetched."""
    return bytes(snapshot.raw())


def mark(session: Any, item: Any, state: str, now: datetime, detail: dict[str, Any] | None = None) -> None:
    """Item is ``deleted`` or ``modified`` as of ``now``: its state, and a signal on its event."""
    if state == "deleted" and item.page_state == "deleted":
        return  # said once
    item.page_state, item.page_state_at = state, now
    session.add(CrawlSignal(kind=state, at=now, source_id=item.source_id, item_id=item.id,
                            event_id=item.event_id, detail=detail or {}))
