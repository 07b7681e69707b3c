"""What the crawlers keep beside items: evidence snapshots (网页取证), signals on items and
events (删帖、改稿、上榜), and hot-list entries with their ranks over time (热榜)."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class PageSnapshot(Base):
    """原文快照: a stored page's raw body as fetched (zlib-compressed), kept for the source's
    ``snapshot_days``; one row per distinct body (``body_hash``) of an item."""

    __tablename__ = "page_snapshots"
    __table_args__ = (Index("ix_page_snapshots_item_fetched", "item_id", "fetched_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer, default=200)
    fetched_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    body_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the raw (uncompressed) body
    size: Mapped[int] = mapped_column(Integer, default=0)  # raw bytes
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # zlib

    def raw(self) -> bytes:
        """The body as it was fetched (its sha256 is ``body_hash``)."""
        return zlib.decompress(self.body)


class CrawlSignal(Base):
    """A signal the crawlers saw about an item or an event: ``deleted`` (已删除), ``modified``
    (已修改), ``hot_new`` / ``hot_rising`` / ``hot_falling`` / ``hot_gone`` (热榜)."""

    __tablename__ = "crawl_signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)
    rank: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class HotlistEntry(Base):
    """One title on one hot list (热榜条目), from its first sighting until it leaves the list."""

    __tablename__ = "hotlist_entries"
    __table_args__ = (Index("ix_hotlist_entries_source_key", "source_id", "entry_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(64))  # sha256 of the normalised title
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text, default="")
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    rank: Mapped[int | None] = mapped_column(Integer)  # None: not on the list now
    best_rank: Mapped[int] = mapped_column(Integer)
    heat: Mapped[int | None] = mapped_column(Integer)
    gone_at: Mapped[datetime | None]
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)


class HotlistRank(Base):
    """An entry's rank at one poll (名次变化)."""

    __tablename__ = "hotlist_ranks"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("hotlist_entries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    rank: Mapped[int] = mapped_column(Integer)
    heat: Mapped[int | None] = mapped_column(Integer)
