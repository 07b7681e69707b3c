"""原文快照 (evidence snapshots) as the item page and the post-event report show them.

A snapshot is the page's raw body as fetched (``PageSnapshot``, kept by the crawl pipeline
with its sha256, time and response headers). Here it is only read: listed with its time and
hash, and turned into text for reading. It is never served as HTML: what a crawled page says
must not run in the app's origin, so the body goes out as ``text/plain`` under a CSP sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from w3lib.encoding import html_to_unicode  # Scrapy's own decoding (it depends on w3lib)

from yuqing.models import PageSnapshot

HASH_SHOWN = 16  # hex characters of the sha256 a document cites; the page shows all 64
# Served with the body: no script, no style, no frame, nothing fetched; a sandboxed origin.
SNAPSHOT_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'; form-action 'none'"


@dataclass(frozen=True)
class Capture:
    """One 原文快照 of an item: when it was taken, what it hashes to, how the site answered."""

    id: int
    item_id: int
    fetched_at: datetime
    body_hash: str
    status: int
    size: int

    @property
    def hash_prefix(self) -> str:
        return self.body_hash[:HASH_SHOWN]


def _capture(row: PageSnapshot) -> Capture:
    return Capture(id=row.id, item_id=row.item_id, fetched_at=row.fetched_at, body_hash=row.body_hash,
                   status=row.status, size=row.size)


def captures(s: Session, item_id: int) -> list[Capture]:
    """Every snapshot of an item kept now, oldest first (a later one means the page changed)."""
    rows = s.scalars(select(PageSnapshot).where(PageSnapshot.item_id == item_id)
                     .order_by(PageSnapshot.fetched_at, PageSnapshot.id))
    return [_capture(r) for r in rows]


def first_captures(s: Session, item_ids: list[int]) -> dict[int, Capture]:
    """The earliest snapshot of each item that has one: the page as it was when first seen."""
    out: dict[int, Capture] = {}
    if not item_ids:
        return out
    rows = s.scalars(select(PageSnapshot).where(PageSnapshot.item_id.in_(item_ids))
                     .order_by(PageSnapshot.fetched_at.desc(), PageSnapshot.id.desc()))
    for row in rows:  # newest first, so the last one written for an item is its earliest
        out[row.item_id] = _capture(row)
    return out


def snapshot_text(row: PageSnapshot) -> str:
    """The body decoded as the browser would have (the response's charset, then the page's
    own declaration, then a guess), for reading as plain text."""
    content_type = next((v for k, v in (row.headers or {}).items() if k.lower() == "content-type"), None)
    _encoding, text = html_to_unicode(content_type, row.raw())
    return text
