"""Alerts (预警), silences, deliveries (推送记录) and digests (舆情日报/要情专报)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class AlertStatus(StrEnum):
    FIRING = "firing"              # 待处理
    ACKNOWLEDGED = "acknowledged"  # 已确认收到
    CONFIRMED = "confirmed"        # 研判属实
    DISMISSED = "dismissed"        # 误报/无关
    RESOLVED = "resolved"          # 已转工单或平息


class Alert(Base):
    """预警: one per event (grouping), or one per unhealthy source for the administrator."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="event")  # event | source
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=AlertStatus.FIRING, index=True)
    level: Mapped[str] = mapped_column(String(10), default="一般")
    title: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    last_notified_at: Mapped[datetime | None]
    notified_level: Mapped[str] = mapped_column(String(10), default="")
    notified_volume: Mapped[int] = mapped_column(Integer, default=0)
    notify_count: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str] = mapped_column(String(100), default="")
    rung: Mapped[int] = mapped_column(Integer, default=0)  # index into the escalation ladder
    rung_since: Mapped[datetime | None]
    inhibited: Mapped[bool] = mapped_column(Boolean, default=False)  # the event has a ticket
    # The silence muting this alert now (shown on the dashboard); cleared when it expires.
    silence_id: Mapped[int | None] = mapped_column(ForeignKey("silences.id", ondelete="SET NULL"))
    last_notify_reason: Mapped[str] = mapped_column(Text, default="")
    escalated_at: Mapped[datetime | None]  # when the ladder last climbed a rung


class Silence(Base):
    """静默: mute an event or a matcher for a time, with a reason; expires by itself."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    matchers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Delivery(Base):
    """推送记录: one message to one target through one channel, sent at most once."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str] = mapped_column(String(30))  # alert|referral|digest|deadline|breach|admin
    ref_type: Mapped[str] = mapped_column(String(30), default="")
    ref_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))  # email|wecom|dingtalk|webhook|sms|dashboard
    target: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[Any]] = mapped_column(default=list)  # file paths
    # A job path enqueued (with this delivery's id) once the delivery is finally sent or failed,
    # so the owner (e.g. a referral) can update itself without reaching into alerts/.
    callback: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # A message split to the channel's size limit is sent part by part; parts already sent
    # are never sent again when the job runs a second time.
    parts_total: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)  # back-off; None = now
    claimed_until: Mapped[datetime | None]  # a running job's lease, so two runs never send at once


class Digest(Base):
    """舆情日报 / 要情专报 kept in the archive."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # daily | major
    key: Mapped[str] = mapped_column(String(100), unique=True)  # idempotency: daily:2026-11-21 ...
    title: Mapped[str] = mapped_column(Text)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    created_at: Mapped[datetime]
    quiet: Mapped[bool] = mapped_column(Boolean, default=False)
    html: Mapped[str] = mapped_column(Text, default="")
    docx_path: Mapped[str] = mapped_column(Text, default="")
    event_ids: Mapped[list[Any]] = mapped_column(default=list)
