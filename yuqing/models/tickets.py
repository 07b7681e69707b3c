"""Response tickets (回应工单), their clocks, audit trail, responses, and referrals (报送)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class TicketState(StrEnum):
    """new → assigned → responding → responded → following_up → closed, with reopen."""

    NEW = "new"                    # 新建
    ASSIGNED = "assigned"          # 已分派
    RESPONDING = "responding"      # 回应中
    RESPONDED = "responded"        # 已回应
    FOLLOWING_UP = "following_up"  # 持续发布
    CLOSED = "closed"              # 已关闭

    @property
    def label(self) -> str:
        return {"new": "新建", "assigned": "已分派", "responding": "回应中", "responded": "已回应",
                "following_up": "持续发布", "closed": "已关闭"}[self.value]


class DeadlineKind(StrEnum):
    FIRST_RESPONSE = "first_response"          # 61号: 48 小时内回应
    AUTHORITATIVE_INFO = "authoritative_info"  # 80号: 5 小时内发布权威信息
    PRESS_CONFERENCE = "press_conference"      # 61号: 24 小时内举行新闻发布会
    FOLLOW_UP = "follow_up"                    # 持续发布权威信息

    @property
    def label(self) -> str:
        return {"first_response": "首次回应", "authoritative_info": "发布权威信息",
                "press_conference": "新闻发布会", "follow_up": "持续发布"}[self.value]


class Ticket(Base):
    """回应工单: one per event; its deadlines count from the event's first detection."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(20), default=TicketState.NEW, index=True)
    level: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    detected_at: Mapped[datetime]  # the event's first detection: the clocks start here
    section_key: Mapped[str] = mapped_column(String(50), default="")  # 回应主体
    section_name: Mapped[str] = mapped_column(String(100), default="")
    assignee: Mapped[str] = mapped_column(String(100), default="")
    lead_leader: Mapped[str] = mapped_column(String(100), default="")  # 特别重大: 主要负责同志
    assignment_reason: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    paused_since: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    deadlines: Mapped[list[Deadline]] = relationship(back_populates="ticket", order_by="Deadline.due_at")
    changes: Mapped[list[TicketChange]] = relationship(order_by="TicketChange.id")
    responses: Mapped[list[TicketResponse]] = relationship(order_by="TicketResponse.responded_at")
    pauses: Mapped[list[TicketPause]] = relationship(order_by="TicketPause.id")


class Deadline(Base):
    """A clock of a ticket. Lives in the database; scheduled jobs and the sweep fire it."""

    __tablename__ = "deadlines"
    __table_args__ = (UniqueConstraint("ticket_id", "kind", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    seq: Mapped[int] = mapped_column(Integer, default=0)  # follow-ups count up
    due_at: Mapped[datetime] = mapped_column(index=True)
    # When this clock started counting (first detection, a level rise, or the last response):
    # warnings that would fall before it are skipped rather than sent late.
    started_at: Mapped[datetime | None]
    met_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    warnings_sent: Mapped[list[Any]] = mapped_column(default=list)  # hours-before already warned
    breached_at: Mapped[datetime | None]  # when the breach notice went out

    ticket: Mapped[Ticket] = relationship(back_populates="deadlines")


class TicketChange(Base):
    """工单变更记录: who, when, from, to, why."""

    __tablename__ = "ticket_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(100))
    from_state: Mapped[str] = mapped_column(String(20), default="")
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")


class TicketResponse(Base):
    """回应记录: a response published by the bureau (channel, link or text, time)."""

    __tablename__ = "ticket_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # a DeadlineKind this response meets
    channel: Mapped[str] = mapped_column(String(100))
    link: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime]


class TicketPause(Base):
    """计时暂停: only with a logged reason and who paused it; shown in the report."""

    __tablename__ = "ticket_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text)
    paused_by: Mapped[str] = mapped_column(String(100))
    resumed_by: Mapped[str] = mapped_column(String(100), default="")


class ReferralStatus(StrEnum):
    PENDING = "pending"            # 待发送
    SENT = "sent"                  # 已发送
    DELIVERED = "delivered"        # 已送达
    FAILED = "failed"              # 发送失败
    ACKNOWLEDGED = "acknowledged"  # 已签收


class Referral(Base):
    """报送/转办: an event routed to an outside department with a special report (专报)."""

    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("event_id", "department_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    department_key: Mapped[str] = mapped_column(String(50), index=True)
    department_name: Mapped[str] = mapped_column(String(200))
    route: Mapped[str] = mapped_column(Text, default="")  # which rule matched, for the record
    level: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default=ReferralStatus.PENDING, index=True)
    suggestion: Mapped[str] = mapped_column(Text, default="")  # 处置建议
    report_path: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str] = mapped_column(String(100), default="")
    reminded_at: Mapped[datetime | None]
    remind_count: Mapped[int] = mapped_column(Integer, default=0)

    notes: Mapped[list[ReferralNote]] = relationship(order_by="ReferralNote.id")


class ReferralNote(Base):
    __tablename__ = "referral_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
