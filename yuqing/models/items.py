"""Sources (信源), their runs, items (帖文/稿件) and events (舆情事件)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class Source(Base):
    """信源: a configured place to crawl, with its health."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # feed | listing | sitemap | json_api
    urls: Mapped[list[Any]] = mapped_column(default=list)
    tier: Mapped[str] = mapped_column(String(20))
    interval_minutes: Mapped[int] = mapped_column(Integer, default=30)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    http_cache: Mapped[dict[str, Any]] = mapped_column(default=dict)  # url -> {etag, last_modified}
    created_at: Mapped[datetime]
    next_run_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    empty_runs: Mapped[int] = mapped_column(Integer, default=0)  # runs finding nothing although it used to
    last_item_count: Mapped[int] = mapped_column(Integer, default=0)
    total_items: Mapped[int] = mapped_column(Integer, default=0)
    healthy: Mapped[bool] = mapped_column(Boolean, default=True)
    last_status: Mapped[str] = mapped_column(String(20), default="")  # status of the last SourceRun


class SourceRun(Base):
    """One crawl of one source, judged by its stats (scrapy exits 0 even when callbacks fail)."""

    __tablename__ = "source_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # ok|partial|empty|failed|timeout
    pages: Mapped[int] = mapped_column(Integer, default=0)
    items_found: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    items_updated: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[Any]] = mapped_column(default=list)  # [{url, reason}]
    warnings: Mapped[list[Any]] = mapped_column(default=list)  # [{url, reason}]: survivable oddities
    reason: Mapped[str] = mapped_column(Text, default="")  # one line: why this status
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)


class EventStatus(StrEnum):
    ACTIVE = "active"
    QUIET = "quiet"


class Event(Base):
    """舆情事件: items about one incident, grouped incrementally within a time window."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=EventStatus.ACTIVE)
    first_seen_at: Mapped[datetime] = mapped_column(index=True)  # first detection: the clocks start here
    first_published_at: Mapped[datetime | None]  # earliest publication, for detection lag
    last_seen_at: Mapped[datetime] = mapped_column(index=True)
    item_count: Mapped[int] = mapped_column(Integer, default=0)  # every item, duplicates included
    unique_count: Mapped[int] = mapped_column(Integer, default=0)
    source_count: Mapped[int] = mapped_column(Integer, default=0)
    velocity: Mapped[float] = mapped_column(Float, default=0.0)  # items in the last hour
    peak_velocity: Mapped[float] = mapped_column(Float, default=0.0)
    baseline_velocity: Mapped[float] = mapped_column(Float, default=0.0)
    level: Mapped[str] = mapped_column(String(10), default="一般", index=True)  # highest so far
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    relevance: Mapped[float] = mapped_column(Float, default=0.0)
    rumor: Mapped[float] = mapped_column(Float, default=0.0)
    in_remit: Mapped[bool] = mapped_column(Boolean, default=False)
    in_jurisdiction: Mapped[bool] = mapped_column(Boolean, default=False)
    categories: Mapped[list[Any]] = mapped_column(default=list)
    topics: Mapped[list[Any]] = mapped_column(default=list)  # remit topic keys
    places: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    watch_words: Mapped[list[Any]] = mapped_column(default=list)
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)  # accusation, complaint, ...
    # 当前情况: title, latest figures with source and time (yuqing.documents.current)
    account: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    quiet_since: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # 并入: the older event of the same incident this one was merged into (its items moved there);
    # a merged event is no live event, its page points to the one it went into.
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)

    items: Mapped[list[Item]] = relationship(back_populates="event", foreign_keys="Item.event_id")


class Item(Base):
    """帖文/稿件: one crawled post or article, normalised once at the pipeline."""

    __tablename__ = "items"
    # An event's earliest report, its last hour and its sources, without reading all its items.
    __table_args__ = (Index("ix_items_event_published", "event_id", "published_at"),
                      Index("ix_items_event_fetched", "event_id", "fetched_at"),
                      Index("ix_items_event_source", "event_id", "source_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the canonical URL
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    source_unit: Mapped[str] = mapped_column(String(200), default="")  # 来源 (ContentSource), not the author
    column_name: Mapped[str] = mapped_column(String(200), default="")  # 栏目 (ColumnName)
    tier: Mapped[str] = mapped_column(String(20), default="local")
    platform: Mapped[str] = mapped_column(String(50), default="")
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    fetched_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    engagement: Mapped[dict[str, Any]] = mapped_column(default=dict)  # reposts, comments, likes, views
    raw_ref: Mapped[str] = mapped_column(Text, default="")  # where the raw fetch is kept, for audit
    page_state: Mapped[str] = mapped_column(String(10), default="")  # "" | deleted (已删除) | modified (已修改)
    page_state_at: Mapped[datetime | None]

    # analysis (研判)
    analysed_at: Mapped[datetime | None] = mapped_column(index=True)  # NULL: the sweep's to enqueue
    model_version: Mapped[str] = mapped_column(String(50), default="")
    remit: Mapped[float | None] = mapped_column(Float)
    in_remit: Mapped[bool | None] = mapped_column(Boolean)
    relevance: Mapped[float | None] = mapped_column(Float, index=True)
    risk: Mapped[float | None] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(10))
    rumor: Mapped[float | None] = mapped_column(Float)
    emotion: Mapped[float | None] = mapped_column(Float)  # negative emotion 0..1
    in_jurisdiction: Mapped[bool | None] = mapped_column(Boolean)
    places: Mapped[list[Any]] = mapped_column(default=list)
    categories: Mapped[list[Any]] = mapped_column(default=list)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    watch_words: Mapped[list[Any]] = mapped_column(default=list)
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    keywords: Mapped[list[Any]] = mapped_column(default=list)  # remit words found, for the event
    casualties: Mapped[dict[str, Any]] = mapped_column(default=dict)  # deaths, injured, missing, trapped

    # folding (去重) and grouping (聚类)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)  # MinHash of salient words (events)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"), index=True)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)  # copies folded into this one
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)

    event: Mapped[Event | None] = relationship(back_populates="items", foreign_keys=[event_id])
