"""Read-side queries shared by the pages, the JSON API and the report.

Only reads live here: every change goes through the owning subsystem's functions
(``yuqing.alerts.actions``, ``yuqing.queue.tickets``, ``yuqing.queue.referrals``).
Queries are shaped for the alert queue and the board to stay fast with 100,000 items:
a bounded number of statements per page, window functions instead of per-row lookups.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any, Literal, cast

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yuqing.clock import SHANGHAI, local
from yuqing.gazetteer import load_gazetteer
from yuqing.models import (
    Alert,
    AlertStatus,
    Deadline,
    DeadlineKind,
    Event,
    Item,
    Referral,
    Silence,
    Source,
    Ticket,
    TicketState,
)

LEVEL_RANK = case({"一般": 0, "较大": 1, "重大": 2, "特别重大": 3}, value=Alert.level, else_=0)
ACTIVE_ALERT = (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED, AlertStatus.CONFIRMED)
Colour = Literal["green", "amber", "red"]  # a countdown's colour on the board
ITEMS_PER_ALERT = 6


@dataclass
class AlertCard:
    alert: Alert
    event: Event | None
    items: list[Item] = field(default_factory=list)
    first: Item | None = None
    first_source: str = ""
    ticket_id: int | None = None
    ticket_state: str = ""
    deadlines: list[Deadline] = field(default_factory=list)  # the ticket's running clocks, nearest first
    silence: Silence | None = None
    judged: dict[str, Any] | None = None  # 人工研判 of the level: level, from, by, at

    @property
    def nearest_due(self) -> datetime | None:
        return self.deadlines[0].due_at if self.deadlines else None


_LEVEL_ORDER = {"一般": 0, "较大": 1, "重大": 2, "特别重大": 3}


def urgency(card: AlertCard) -> tuple[Any, ...]:
    """紧急程度: the graver level first, then the nearest running deadline, then new before seen,
    then the newest."""
    due = card.nearest_due
    return (-_LEVEL_ORDER.get(card.alert.level, 0), due is None, due.timestamp() if due else 0,
            card.alert.status != AlertStatus.FIRING, -card.alert.created_at.timestamp())


def alert_queue(s: Session, statuses: tuple[str, ...] = ACTIVE_ALERT, limit: int = 50,
                now: datetime | None = None) -> list[AlertCard]:
    """预警队列 by urgency (:func:`urgency`); each card with its clocks, silence and judgement."""
    new_first = case((Alert.status == AlertStatus.FIRING, 0), else_=1)
    rows = s.execute(
        select(Alert, Event).outerjoin(Event, Alert.event_id == Event.id)
        .where(Alert.status.in_(statuses), Alert.kind == "event")
        .order_by(LEVEL_RANK.desc(), new_first, Alert.created_at.desc()).limit(limit)).all()
    cards = [AlertCard(alert=a, event=e) for a, e in rows]
    _add_silences(s, cards, now)
    for c in cards:
        judged = (c.event.flags or {}).get("manual_level") if c.event is not None else None
        c.judged = judged if isinstance(judged, dict) else None
    event_ids = [c.event.id for c in cards if c.event]
    if not event_ids:
        return cards
    by_event: dict[int | None, AlertCard] = {c.event.id: c for c in cards if c.event}
    top, firsts = _event_items(s, event_ids, ITEMS_PER_ALERT)
    items = {i.id: i for i in s.scalars(select(Item).where(Item.id.in_(top + list(firsts.values()))))}
    for item_id in top:
        by_event[items[item_id].event_id].items.append(items[item_id])
    names = _source_names(s, {sid for i in firsts.values() if (sid := items[i].source_id)})
    for event_id, item_id in firsts.items():
        by_event[event_id].first = items[item_id]
        by_event[event_id].first_source = names.get(items[item_id].source_id or 0, "")
    tickets = {e: (t, st) for e, t, st in s.execute(select(Ticket.event_id, Ticket.id, Ticket.state)
                                                    .where(Ticket.event_id.in_(event_ids))).all()}
    running = _running_deadlines(s, [t for t, _st in tickets.values()])
    for c in cards:
        if c.event and c.event.id in tickets:
            c.ticket_id, c.ticket_state = tickets[c.event.id]
            c.deadlines = running.get(c.ticket_id, [])
    cards.sort(key=urgency)
    return cards


def _running_deadlines(s: Session, ticket_ids: list[int]) -> dict[int, list[Deadline]]:
    out: dict[int, list[Deadline]] = defaultdict(list)
    if ticket_ids:
        for d in s.scalars(select(Deadline).where(Deadline.ticket_id.in_(ticket_ids), Deadline.met_at.is_(None),
                                                  Deadline.cancelled_at.is_(None)).order_by(Deadline.due_at)):
            out[d.ticket_id].append(d)
    return out


def _add_silences(s: Session, cards: list[AlertCard], now: datetime | None) -> None:
    ids = {c.alert.silence_id for c in cards if c.alert.silence_id}
    if not ids:
        return
    rows = {r.id: r for r in s.scalars(select(Silence).where(Silence.id.in_(ids)))}
    for c in cards:
        row = rows.get(c.alert.silence_id or 0)
        if row is not None and (now is None or row.ends_at > now):
            c.silence = row


def _event_items(s: Session, event_ids: list[int], n: int) -> tuple[list[int], dict[int, int]]:
    """Each event's leading originals (copies are folded into duplicate_count) and its 首发
    (earliest published item, copies included), from one scan of light rows on the event index.

    Filtering copies in SQL made SQLite walk the duplicate_of_id index over the whole table;
    a narrow scan by event and a pick in Python stays fast at 100,000 items."""
    rows = s.execute(select(Item.id, Item.event_id, Item.duplicate_of_id, Item.duplicate_count,
                            func.coalesce(Item.published_at, Item.fetched_at))
                     .where(Item.event_id.in_(event_ids))).all()
    by_event: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_event[cast(int, row[1])].append(row)  # in_() lets no NULL event through
    top: list[int] = []
    firsts: dict[int, int] = {}
    for event_id, group in by_event.items():
        firsts[event_id] = min(group, key=lambda r: (r[4], r[0]))[0]
        originals = sorted((r for r in group if r[2] is None), key=lambda r: (-r[3], r[4], r[0]))
        top.extend(r[0] for r in originals[:n])
    return top, firsts


def _source_names(s: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(s.execute(select(Source.id, Source.name).where(Source.id.in_(ids))).all())


def queue_version(s: Session) -> dict[str, Any]:
    """A cheap fingerprint of the queue (one aggregate statement), polled by the console to
    know when to refresh and used to key the shared queue fragment."""
    row = s.execute(select(func.count(), func.sum(case((Alert.status == AlertStatus.FIRING, 1), else_=0)),
                           func.max(Alert.updated_at), func.max(Alert.id))
                    .where(Alert.status.in_(ACTIVE_ALERT), Alert.kind == "event")).one()
    stamp = row[2].isoformat() if row[2] else ""
    return {"active": int(row[0] or 0), "firing": int(row[1] or 0), "version": f"{row[0]}:{row[3]}:{stamp}"}


@dataclass
class BoardCard:
    ticket: Ticket
    next_kind: str = ""
    next_due: datetime | None = None
    left: timedelta | None = None
    colour: Colour = "green"


def countdown_colour(left: timedelta | None, amber_hours: float) -> Colour:
    """Green with time to spare, amber under ``amber_hours`` (the profile's ``clocks.amber_hours``),
    red once breached."""
    if left is None:
        return "green"
    if left.total_seconds() < 0:
        return "red"
    return "amber" if left < timedelta(hours=amber_hours) else "green"


def ticket_board(s: Session, now: datetime, amber_hours: float) -> dict[str, list[BoardCard]]:
    """Open tickets by state, each with its nearest open clock."""
    tickets = list(s.scalars(select(Ticket).where(Ticket.state != TicketState.CLOSED)
                             .order_by(Ticket.opened_at.desc()).limit(500)))
    ids = [t.id for t in tickets]
    nearest: dict[int, Deadline] = {}
    if ids:
        for d in s.scalars(select(Deadline).where(Deadline.ticket_id.in_(ids), Deadline.met_at.is_(None),
                                                  Deadline.cancelled_at.is_(None)).order_by(Deadline.due_at)):
            nearest.setdefault(d.ticket_id, d)
    board: dict[str, list[BoardCard]] = {st.value: [] for st in TicketState if st is not TicketState.CLOSED}
    for t in tickets:
        card = BoardCard(ticket=t)
        near = nearest.get(t.id)
        if near is not None:
            card.next_kind, card.next_due, card.left = near.kind, near.due_at, near.due_at - now
            card.colour = countdown_colour(card.left, amber_hours)
        board.setdefault(t.state, []).append(card)
    for cards in board.values():
        cards.sort(key=lambda c: c.next_due or datetime.max.replace(tzinfo=now.tzinfo))
    return board


PLATFORM_BY_TIER = {"central": "新闻网站", "provincial": "新闻网站", "local": "新闻网站",
                    "government": "政府网站", "social": "社交媒体", "forum": "论坛"}
PLATFORM_WORDS = ("微博", "微信", "抖音", "快手", "今日头条", "小红书", "百度贴吧", "知乎", "B站")


def platform_of(platform: str | None, tier: str | None, source_name: str = "", source_kind: str = "") -> str:
    """平台: the item's own, else what its source is (微博 …, 新闻网站, 政府网站, 论坛), never
    未知 for a known source; 未知 only for an item with no source and no tier."""
    if platform:
        return platform
    for word in PLATFORM_WORDS:
        if word in source_name:
            return word
    if tier in PLATFORM_BY_TIER:
        return PLATFORM_BY_TIER[tier]
    if source_kind == "json_api":
        return "社交媒体"
    return "新闻网站" if source_kind in ("feed", "listing", "sitemap") else "未知"


def bucket_format(span: timedelta) -> tuple[str, int, str]:
    """Buckets that fit the event's age: (strftime, minutes per bucket, chart title).
    A young event gets 10-minute buckets, a day or two hourly ones, older ones daily."""
    if span <= timedelta(hours=6):
        return "%m-%d %H:%M", 10, "每 10 分钟条数"
    if span <= timedelta(days=3):
        return "%m-%d %H:00", 60, "每小时条数"
    return "%m-%d", 24 * 60, "每日条数"


def _bucket(when: datetime, fmt_: str, minutes: int) -> str:
    if minutes < 60:
        when = when.replace(minute=when.minute - when.minute % minutes, second=0, microsecond=0)
    return when.strftime(fmt_)


def event_stats(s: Session, event_id: int, tz: Any = SHANGHAI) -> dict[str, Any]:
    """Volume over time (buckets fitting the event's age), sources and platforms, places (a
    township table with gazetteer codes), emotion over time, key posts."""
    rows = s.execute(select(Item.id, Item.published_at, Item.fetched_at, Item.source_id, Item.platform,
                            Item.places, Item.emotion, Item.duplicate_of_id, Item.tier)
                     .where(Item.event_id == event_id)).all()
    times = [local(published or fetched, tz) for _i, published, fetched, *_rest in rows]
    span = (max(times) - min(times)) if times else timedelta(0)
    fmt_, minutes, title = bucket_format(span)
    volume: Counter[str] = Counter()
    emotion: dict[str, list[float]] = defaultdict(list)
    sources: Counter[int] = Counter()
    places: Counter[str] = Counter()
    names_of_place: dict[str, str] = {}
    source_ids = {r[3] for r in rows if r[3]}
    source_rows = {r[0]: (r[1], r[2]) for r in s.execute(
        select(Source.id, Source.name, Source.kind).where(Source.id.in_(source_ids)))} if source_ids else {}
    platforms: Counter[str] = Counter()
    for (_id, _published, _fetched, source_id, platform, item_places, emo, _dup, tier), when in zip(rows, times, strict=True):
        bucket = _bucket(when, fmt_, minutes)
        volume[bucket] += 1
        if emo is not None:
            emotion[bucket].append(emo)
        if source_id:
            sources[source_id] += 1
        name, kind = source_rows.get(source_id or 0, ("", ""))
        platforms[platform_of(platform, tier, name, kind)] += 1
        for place in item_places or []:
            key = str(place.get("code") or place.get("name")) if isinstance(place, dict) else str(place)
            places[key] += 1
            names_of_place[key] = _place_name(place)
    buckets = sorted(volume)
    return {
        "hours": buckets,
        "bucket_title": title,
        "volume": [volume[h] for h in buckets],
        "emotion": [round(sum(emotion[h]) / len(emotion[h]), 3) if emotion[h] else None for h in buckets],
        "sources": [(source_rows.get(k, (f"信源 {k}", ""))[0], n) for k, n in sources.most_common(10)],
        "platforms": platforms.most_common(10),
        "places": [(names_of_place[k], n) for k, n in places.most_common(10)],
        "place_rows": _place_rows(places, names_of_place),
        "total": len(rows),
    }


def _place_name(place: Any) -> str:
    if isinstance(place, dict):
        return str(place.get("name") or place.get("code") or place)
    return str(place)


def _place_rows(counts: Counter[str], names: dict[str, str]) -> list[dict[str, Any]]:
    """地点表: each place with its gazetteer code, the county it lies in, and its count."""
    gaz = load_gazetteer()
    out = []
    for key, n in counts.most_common(50):
        div = gaz.get(key)
        county = next((a.name for a in gaz.ancestors(key) if a.level == "county"), "") if div else ""
        out.append({"code": div.code if div else "", "name": div.name if div else names[key],
                    "level": div.level if div else "", "county": county, "count": n})
    return out


def leader_stats(s: Session, now: datetime) -> dict[str, Any]:
    """领导看板: open major events, breaches, on-time rate, median time to first response."""
    majors = list(s.execute(
        select(Event, Ticket).outerjoin(Ticket, Ticket.event_id == Event.id)
        .where(Event.level.in_(("重大", "特别重大")), Event.merged_into.is_(None),  # a merged one is its kept event
               (Ticket.id.is_(None)) | (Ticket.state != TicketState.CLOSED))
        .order_by(Event.last_seen_at.desc()).limit(50)).all())
    breached = list(s.execute(
        select(Deadline, Ticket).join(Ticket, Ticket.id == Deadline.ticket_id)
        .where(Deadline.cancelled_at.is_(None),
               ((Deadline.met_at.is_(None)) & (Deadline.due_at < now)) | (Deadline.met_at > Deadline.due_at))
        .order_by(Deadline.due_at.desc()).limit(50)).all())
    firsts = list(s.execute(select(Deadline.due_at, Deadline.met_at, Ticket.detected_at)
                            .join(Ticket, Ticket.id == Deadline.ticket_id)
                            .where(Deadline.kind == DeadlineKind.FIRST_RESPONSE,
                                   Deadline.cancelled_at.is_(None))).all())
    decided = [(due, met) for due, met, _ in firsts if met is not None or due < now]
    on_time = sum(1 for due, met in decided if met is not None and met <= due)
    lags = [(met - detected).total_seconds() for _due, met, detected in firsts if met is not None]
    ticket_ids = [t.id for _e, t in majors if t is not None]
    event_ids = [e.id for e, _t in majors]
    open_refs: dict[int, int] = dict(s.execute(
        select(Referral.event_id, func.count()).where(Referral.event_id.in_(event_ids),
                                                      Referral.acknowledged_at.is_(None))
        .group_by(Referral.event_id)).all()) if event_ids else {}
    return {
        "majors": majors,
        # 主要运行中的时限 per open major ticket, nearest first; 发现滞后 per event; 未签收报送 per event
        "clocks": _running_deadlines(s, ticket_ids),
        "lags": {e.id: e.first_seen_at - e.first_published_at for e, _t in majors if e.first_published_at},
        "open_refs": open_refs,
        "breached": breached,
        "on_time_rate": on_time / len(decided) if decided else None,
        "on_time": on_time,
        "decided": len(decided),
        "median_first_response": timedelta(seconds=median(lags)) if lags else None,
        "open_referrals": s.scalar(select(func.count()).select_from(Referral)
                                   .where(Referral.acknowledged_at.is_(None))) or 0,
    }
