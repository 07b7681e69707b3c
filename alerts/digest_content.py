"""What a digest says: gathered from the store for one period, every claim with its items.

Sections: escalated events (升级预警事件), the period's 重大 and graver events (重大及以上舆情事件),
open tickets with their clocks (未关闭工单及时限), breaches (超时事项), and the volume trend.
Nothing in any of the first four makes the period quiet (本期无重要舆情): the digest then says
so briefly. :func:`overview` is the one sentence of counts every rendering shows, each count the
number of entries its section lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from yuqing.clock import local
from yuqing.documents.account import event_account
from yuqing.documents.dates import ClockState, clock_state, clock_words
from yuqing.levels import Level
from yuqing.models import (
    Alert,
    AlertStatus,
    Deadline,
    DeadlineKind,
    Event,
    Item,
    Ticket,
    TicketState,
)

from .notify import evidence

MAJOR = [Level.MAJOR.value, Level.GRAVE.value]


@dataclass
class Link:
    title: str
    url: str


@dataclass
class EventLine:
    event_id: int
    title: str
    level: str
    text: str  # one sentence: volume, sources, why it escalated
    links: list[Link]


@dataclass
class MajorEvent:
    """A 重大 or graver event with items in the period (its level is the event's, not an item's)."""

    event_id: int
    title: str
    level: str
    new_items: int  # fetched in the period
    links: list[Link]


@dataclass
class Clock:
    label: str
    due_at: datetime
    state: str  # "剩余 3.5 小时" / "已超时 2.0 小时" / "已完成"
    overdue: bool


@dataclass
class TicketLine:
    ticket_id: int
    title: str
    level: str
    state: str
    section: str
    clocks: list[Clock]
    links: list[Link]


@dataclass
class Content:
    kind: str
    title: str
    period_start: datetime
    period_end: datetime
    bureau: str
    note: str = ""  # said after the period, e.g. when monitoring began inside it
    subject: str = ""  # the one event a 要情专报 is about: its account's title
    total_items: int = 0
    escalated: list[EventLine] = field(default_factory=list)
    tickets: list[TicketLine] = field(default_factory=list)
    breaches: list[TicketLine] = field(default_factory=list)
    major_events: list[MajorEvent] = field(default_factory=list)
    volume: list[tuple[datetime, int]] = field(default_factory=list)  # local hour → items
    chart_path: str = ""
    event_ids: list[int] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return not (self.escalated or self.tickets or self.breaches or self.major_events)


def _links(session: Session, event_id: int, limit: int = 3) -> list[Link]:
    return [Link(i.title or i.url, i.url) for i in evidence(session, event_id, limit)]


def ticket_line(session: Session, ticket: Ticket, now: datetime, tz: str) -> TicketLine:
    clocks = []
    for d in session.scalars(select(Deadline).where(Deadline.ticket_id == ticket.id,
                                                   Deadline.cancelled_at.is_(None)).order_by(Deadline.due_at)):
        label = DeadlineKind(d.kind).label if d.kind in DeadlineKind._value2member_map_ else d.kind
        overdue = clock_state(d.due_at, d.met_at, now) is ClockState.OVERDUE
        clocks.append(Clock(label, d.due_at, clock_words(d.due_at, d.met_at, now, tz, overdue_for=True), overdue))
    state = TicketState(ticket.state).label if ticket.state in TicketState._value2member_map_ else ticket.state
    return TicketLine(ticket.id, ticket.title, ticket.level, state, ticket.section_name or "未分派",
                      clocks, _links(session, ticket.event_id, 1))


def _fetched_in(start: datetime, end: datetime, event_ids: list[int] | None) -> list[ColumnElement[bool]]:
    """The period's items: [start, end) for the 日报, whose periods meet end to end; up to and
    including ``end`` for one event's 要情专报, made at the moment of its latest item, so its count
    agrees with the event's own 共 N 条."""
    if event_ids is None:
        return [Item.fetched_at >= start, Item.fetched_at < end]
    return [Item.fetched_at >= start, Item.fetched_at <= end, Item.event_id.in_(event_ids)]


def peak_hour(session: Session, event_id: int, tz: str) -> int:
    """The most of the event's items fetched in one local clock hour. The event's own
    ``peak_velocity`` is a smoothed rate (0 where analysis has not measured it, 0.4 for a slow
    hour), which read as "每小时最多 0 条" beside a count of 16."""
    hours: dict[datetime, int] = {}
    for (fetched,) in session.execute(select(Item.fetched_at).where(Item.event_id == event_id)):
        key = local(fetched, tz).replace(minute=0, second=0, microsecond=0)
        hours[key] = hours.get(key, 0) + 1
    return max(hours.values(), default=0)


def volume(session: Session, start: datetime, end: datetime, tz: str,
           event_ids: list[int] | None = None) -> list[tuple[datetime, int]]:
    """Items fetched per local hour in [start, end)."""
    query = select(Item.fetched_at).where(*_fetched_in(start, end, event_ids))
    buckets: dict[datetime, int] = {}
    first = local(start, tz).replace(minute=0, second=0, microsecond=0)
    hour = first
    while hour < local(end, tz):
        buckets[hour] = 0
        hour += timedelta(hours=1)
    for (fetched,) in session.execute(query):
        key = local(fetched, tz).replace(minute=0, second=0, microsecond=0)
        buckets[key] = buckets.get(key, 0) + 1
    return sorted(buckets.items())


def major_events(session: Session, start: datetime, end: datetime, event_ids: list[int] | None) -> list[MajorEvent]:
    """The events at 重大 or graver with items fetched in the period, busiest first. An item's
    own level is not the event's (a 重大 event's reports are often scored 较大 one by one), so
    counting 重大 items read 「0 条」 beside a 重大 event. An event the monitor dismissed (误报)
    is not one."""
    dismissed = select(Alert.event_id).where(Alert.kind == "event", Alert.status == AlertStatus.DISMISSED,
                                             Alert.event_id.is_not(None))
    query = (select(Event, func.count(Item.id)).join(Item, Item.event_id == Event.id)
             .where(Event.level.in_(MAJOR), Event.id.not_in(dismissed), *_fetched_in(start, end, event_ids))
             .group_by(Event.id).order_by(func.count(Item.id).desc(), Event.id))
    return [MajorEvent(event.id, event_account(session, event.id).title, event.level, count, _links(session, event.id, 1))
            for event, count in session.execute(query)]


def overview(c: Content) -> str:
    """总体情况: the period's counts, each the number of entries its section lists."""
    return (f"本期共监测相关信息 {c.total_items} 条；升级预警事件 {len(c.escalated)} 起；"
            f"重大及以上舆情事件 {len(c.major_events)} 起；未关闭工单 {len(c.tickets)} 件，其中超时 {len(c.breaches)} 件。")


def item_heading(level: str, title: str) -> str:
    """【重大】泽州县某煤矿透水: an entry's heading in every section, numbered 1. before it (the
    documents' third-level heading, 仿宋 bold; the plain part's 1.【重大】)."""
    return f"【{level}】{title}"


def major_count(e: MajorEvent) -> str:
    """本期新增相关信息 4 条。"""
    return f"本期新增相关信息 {e.new_items} 条。"


def major_line(e: MajorEvent) -> str:
    """【重大】泽州县某煤矿透水：本期新增相关信息 4 条。 (on one line, where there are no headings)"""
    return f"{item_heading(e.level, e.title)}：{major_count(e)}"


def overdue_words(t: TicketLine) -> str:
    """发布权威信息已超时 1 天 15 小时，尚未完成: what of a ticket is past due."""
    return "；".join(f"{k.label}{k.state}" for k in t.clocks if k.overdue)


def gather(session: Session, *, kind: str, title: str, bureau: str, start: datetime, end: datetime,
           tz: str, event_ids: list[int] | None = None) -> Content:
    """Collect a digest's content; ``event_ids`` narrows it to some events (要情专报)."""
    c = Content(kind=kind, title=title, period_start=start, period_end=end, bureau=bureau)
    count = select(func.count()).select_from(Item).where(*_fetched_in(start, end, event_ids))
    c.total_items = session.scalar(count) or 0
    if event_ids is not None and len(event_ids) == 1:
        c.subject = event_account(session, event_ids[0]).title
    alerts = select(Alert).where(Alert.kind == "event", Alert.status != AlertStatus.DISMISSED)
    if event_ids is not None:
        alerts = alerts.where(Alert.event_id.in_(event_ids))
    else:
        alerts = alerts.where(Alert.updated_at >= start, Alert.updated_at < end)
    for alert in session.scalars(alerts.order_by(Alert.id)):
        if alert.rung == 0 and Level.parse(alert.level) < Level.LARGER and event_ids is None:
            continue  # 一般 and never escalated: the dashboard has it, the leaders need not
        event = session.get(Event, alert.event_id)
        if event is None:
            continue
        account = event_account(session, event.id)
        why = f"，预警已逐级上报 {alert.rung} 次" if alert.rung else ""
        peak = peak_hour(session, event.id, tz)
        most = f"，最多时每小时 {peak} 条" if peak > 1 else ""
        text = (f"累计监测到相关信息 {event.item_count} 条，来自 {event.source_count} 个信息来源{most}{why}。"
                + (account.casualty_sentence(tz) + "。" if account.figures else "")
                + f"按国家突发公共事件分类属{account.national_category}。")
        c.escalated.append(EventLine(event.id, account.title, alert.level, text, _links(session, event.id)))
    tickets = select(Ticket).where(Ticket.state != TicketState.CLOSED)
    if event_ids is not None:
        tickets = tickets.where(Ticket.event_id.in_(event_ids))
    for ticket in session.scalars(tickets.order_by(Ticket.detected_at)):
        line = ticket_line(session, ticket, end, tz)
        c.tickets.append(line)
        if any(clock.overdue for clock in line.clocks):
            c.breaches.append(line)
    c.major_events = major_events(session, start, end, event_ids)
    c.volume = volume(session, start, end, tz, event_ids)
    c.event_ids = sorted({e.event_id for e in c.escalated} | set(event_ids or []))
    return c
