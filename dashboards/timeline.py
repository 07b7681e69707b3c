"""The story of one event and its ticket as a list of dated entries (时间线).

Used by the ticket page, the event page and the post-event report: first publication,
first detection, alert, ticket, changes, pauses, referrals, acknowledgements, notes,
responses, follow-ups and close, in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.models import (
    Alert,
    AuditEntry,
    DeadlineKind,
    Event,
    Referral,
    ReferralNote,
    ReferralStatus,
    Ticket,
    TicketChange,
    TicketPause,
    TicketResponse,
    TicketState,
)


@dataclass
class Entry:
    at: datetime
    kind: str  # detect | alert | ticket | change | pause | referral | ack | note | response | close
    title: str
    detail: str = ""
    by: str = ""
    link: str = ""


def _state(value: str) -> str:
    try:
        return TicketState(value).label
    except ValueError:
        return value or "—"


def _kind(value: str) -> str:
    try:
        return DeadlineKind(value).label
    except ValueError:
        return value


_UNSET = object()


def event_timeline(s: Session, event: Event, ticket: Ticket | None, alert: object = _UNSET) -> list[Entry]:
    """The entries in time order; pass ``alert`` (or None) when the caller already loaded it."""
    out: list[Entry] = []
    if event.first_published_at:
        out.append(Entry(event.first_published_at, "detect", "首条相关帖文发布"))
    out.append(Entry(event.first_seen_at, "detect", "系统首次发现", f"事件：{event.title}"))
    if alert is _UNSET:
        alert = s.scalar(select(Alert).where(Alert.event_id == event.id))
    if isinstance(alert, Alert):
        out += _alert_entries(s, alert)
        if alert.acknowledged_at:
            out.append(Entry(alert.acknowledged_at, "alert", "预警已签收", by=alert.acknowledged_by))
    if ticket is not None:
        out.append(Entry(ticket.opened_at, "ticket", f"开立回应工单 #{ticket.id}",
                         f"回应主体：{ticket.section_name or '未分派'}"))
        out += _ticket_entries(s, ticket)
    for ref in s.scalars(select(Referral).where(Referral.event_id == event.id)):
        # 报送 is when the 专报 left, not when the referral was drawn up; one that never left says so.
        if ref.sent_at:
            out.append(Entry(ref.sent_at, "referral", f"报送 {ref.department_name}", ref.suggestion))
        elif ref.status == ReferralStatus.FAILED:
            out.append(Entry(ref.created_at, "referral", f"专报发送失败，未送达 {ref.department_name}", ref.suggestion))
        else:
            out.append(Entry(ref.created_at, "referral", f"专报待发送至 {ref.department_name}", ref.suggestion))
        if ref.acknowledged_at:
            out.append(Entry(ref.acknowledged_at, "ack", f"{ref.department_name} 已签收", by=ref.acknowledged_by))
        for note in s.scalars(select(ReferralNote).where(ReferralNote.referral_id == ref.id)):
            out.append(Entry(note.at, "note", f"{ref.department_name} 备注", note.text, by=note.by))
    out.sort(key=lambda e: e.at)
    return out


REVIEW_TITLES = {"alert.review.confirm": "研判：确认属实", "alert.review.dismiss": "研判：排除（无关/误报）"}


def _alert_entries(s: Session, alert: Alert) -> list[Entry]:
    """Each notification at the level it was sent at, and each judgement with who made it.

    The alert's own level moves on; the record of what was sent (``alert.notify``) and of the
    monitor's review (``alert.review.*``) does not, so the timeline says what happened then."""
    rows = list(s.scalars(select(AuditEntry).where(
        AuditEntry.target_type == "alert", AuditEntry.target_id == alert.id,
        AuditEntry.action.in_(["alert.notify", "alert.review.level", "alert.review.restore", "alert.merged",
                               *REVIEW_TITLES]))
        .order_by(AuditEntry.at, AuditEntry.id)))
    sent = [r for r in rows if r.action == "alert.notify"]
    out: list[Entry] = []
    if not sent:  # stored before notifications were recorded: all that is known
        out.append(Entry(alert.created_at, "alert", f"发出预警（{alert.level}）", alert.title))
    for n, row in enumerate(sent):
        detail = row.detail or {}
        title = "发出预警" if n == 0 else "再次通知"
        out.append(Entry(row.at, "alert", f"{title}（{detail.get('level', '')}）", str(detail.get("why", ""))))
    for row in rows:
        if row.action == "alert.review.level":
            level = (row.detail or {}).get("level", "")
            out.append(Entry(row.at, "alert", f"人工研判：等级定为{level}", by=row.actor))
        elif row.action == "alert.review.restore":
            detail = row.detail or {}
            out.append(Entry(row.at, "alert", f"恢复自动研判：等级定为{detail.get('level', '')}",
                             f"此前人工研判为{detail.get('manual', '')}；依据：{detail.get('evidence', '')}", by=row.actor))
        elif row.action in REVIEW_TITLES:
            out.append(Entry(row.at, "alert", REVIEW_TITLES[row.action], by=row.actor))
        elif row.action == "alert.merged":
            out.append(Entry(row.at, "alert", f"预警解除：{(row.detail or {}).get('reason', '')}", by=row.actor))
    return out


def _ticket_entries(s: Session, ticket: Ticket) -> list[Entry]:
    out: list[Entry] = []
    for ch in s.scalars(select(TicketChange).where(TicketChange.ticket_id == ticket.id)):
        kind = "close" if ch.to_state == TicketState.CLOSED else "change"
        if ch.from_state == ch.to_state:  # a level rise, a reassignment, a pause: the fact, not "X → X"
            out.append(Entry(ch.at, kind, ch.reason, by=ch.by))
        else:
            out.append(Entry(ch.at, kind, f"{_state(ch.from_state)} → {_state(ch.to_state)}", ch.reason, by=ch.by))
    for r in s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == ticket.id)):
        title = "持续发布" if r.kind == DeadlineKind.FOLLOW_UP else f"回应：{_kind(r.kind)}"
        out.append(Entry(r.responded_at, "response", f"{title}（{r.channel}）", r.text, by=r.recorded_by,
                         link=r.link))
    for p in s.scalars(select(TicketPause).where(TicketPause.ticket_id == ticket.id)):
        out.append(Entry(p.started_at, "pause", "暂停计时", p.reason, by=p.paused_by))
        if p.ended_at:
            out.append(Entry(p.ended_at, "pause", "恢复计时", by=p.resumed_by))
    return out
