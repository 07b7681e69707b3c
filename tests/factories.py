"""Builders shared by the tests: events with their items written straight to the store, the
deliveries they caused, the seeded story of the dashboards, and a runtime on a fresh PostgreSQL
database. Fixtures that use them live in conftest.py."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from dashboard_seed import seed_story, seed_users
from sqlalchemy import select

from yuqing.models import Delivery, Event, Item
from yuqing.runtime import Runtime, set_runtime

# -- alerts: an event seen now, with ``items`` reports of one tier ---------------------------------

def make_event(rt, *, title: str = "泽州县某煤矿发生透水事故 多人被困", level: str = "较大",  # type: ignore[no-untyped-def]
               relevance: float = 0.8, items: int = 3, tier: str = "local", velocity: float = 1.0,
               baseline: float = 1.0, watch_words: Sequence[str] = (), in_remit: bool = True,
               topics: Sequence[str] = ("production_safety",)) -> int:
    now = rt.now()
    with rt.session() as s:
        event = Event(title=title, summary=title, first_seen_at=now, last_seen_at=now, item_count=items,
                      unique_count=items, source_count=min(items, 2), velocity=velocity, peak_velocity=velocity,
                      baseline_velocity=baseline, level=level, risk=0.7, relevance=relevance,
                      in_remit=in_remit, in_jurisdiction=True, topics=list(topics),
                      watch_words=list(watch_words), updated_at=now)
        s.add(event)
        s.flush()
        add_items(s, event, items, tier=tier, now=now)
        return event.id


def alerted(rt, event_id: int) -> int | None:  # type: ignore[no-untyped-def]
    """The event is evaluated and its first notification goes out: the group_wait (the longest
    any route sets) passes on the clock and the sweep sends what was held."""
    from yuqing.alerts.jobs import evaluate_event, sweep_alerts

    alert_id = evaluate_event(event_id)
    rt.clock.advance(seconds=rt.profile.alerts.group_wait_seconds)
    sweep_alerts()
    return alert_id


def add_items(s, event: Event, count: int, *, tier: str = "local", now=None, start: int = 0) -> None:  # type: ignore[no-untyped-def]
    for i in range(start, start + count):
        url = f"https://news.example.cn/{event.id}/{i}.html"
        s.add(Item(url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), title=f"{event.title}（报道{i}）",
                   text=f"{event.title}。现场救援正在进行。", tier=tier, fetched_at=now or event.last_seen_at,
                   published_at=now or event.last_seen_at, content_hash=str(i), event_id=event.id,
                   level=event.level, in_remit=event.in_remit, in_jurisdiction=True, relevance=event.relevance))


def grow(rt, event_id: int, *, items: int = 0, level: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """More items arrive (and maybe a higher level), as analysis would record them."""
    with rt.session() as s:
        event = s.get(Event, event_id)
        if items:
            add_items(s, event, items, start=event.item_count, now=rt.now())
            event.item_count += items
        if level:
            event.level = level
        event.last_seen_at = event.updated_at = rt.now()


def deliveries(rt, **where) -> list[Delivery]:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        query = select(Delivery).order_by(Delivery.id)
        for key, value in where.items():
            query = query.where(getattr(Delivery, key) == value)
        return list(s.scalars(query))


# -- the response workflow (queue/): an event with a provincial report and local ones --------------

def make_reported_event(rt, level: str = "较大", topics: list[str] | None = None, ago_hours: float = 0,  # type: ignore[no-untyped-def]
               items: int = 2, **fields: Any) -> int:
    """An event first seen ``ago_hours`` before the clock, with ``items`` original posts."""
    now = rt.now()
    first = now - timedelta(hours=ago_hours)
    values: dict[str, Any] = {
        "title": "泽州县某煤矿发生透水事故", "summary": "巴公镇某煤矿井下透水，多名矿工被困，救援正在进行。",
        "first_seen_at": first, "last_seen_at": now, "item_count": items, "unique_count": items,
        "source_count": 1, "level": level, "risk": 0.8, "relevance": 0.9, "in_remit": True,
        "in_jurisdiction": True, "categories": ["emergency"], "topics": topics or ["production_safety"],
        "places": [{"name": "巴公镇", "code": "140525101"}], "watch_words": [], "flags": {}, "updated_at": now,
    }
    values.update(fields)
    with rt.session() as s:
        event = Event(**values)
        s.add(event)
        s.flush()
        for n in range(items):
            url = f"https://news.example/{event.id}/{n}"
            s.add(Item(url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), title=f"煤矿透水 报道{n}",
                       text="泽州县巴公镇一煤矿发生透水事故，多名矿工被困。", tier="local" if n else "provincial",
                       published_at=first, fetched_at=first, content_hash=str(n), event_id=event.id,
                       reasons=["事故类：透水", "地名：巴公镇"], engagement={"reposts": 10 * n}))
        return event.id


def make_referred_event(rt, drain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A 重大 event referred to 宣传部 and 网信办, then a rise to 特别重大 (a 续报 to each), a
    response published, every mail sent: the referrals by department key."""
    from yuqing.models import Referral, Ticket
    from yuqing.queue import jobs, tickets

    event = make_reported_event(rt, level="重大", items=3)
    jobs.consider_event(event)
    rt.clock.advance(minutes=20)
    touch_event(rt, event, level="特别重大")
    jobs.consider_event(event)
    with rt.session() as s:
        ticket_id = s.scalar(select(Ticket.id).where(Ticket.event_id == event))
    tickets.record_response(rt, ticket_id, "monitor", "authoritative_info", "政府网站",
                            "https://yjj.zezhou.example/1.html", "县应急管理局发布救援进展通报", rt.now())
    drain()
    with rt.session() as s:
        return {r.department_key: r for r in s.scalars(select(Referral).where(Referral.event_id == event))}


def docx_attachments(smtp, to: str) -> list[bytes]:  # type: ignore[no-untyped-def]
    """The DOCX files mailed to ``to``, in the order sent."""
    return [p.get_payload(decode=True) for m in smtp.messages if m["To"] == to for p in m.walk()
            if (p.get_filename() or "").endswith(".docx")]


def touch_event(rt, event_id: int, **fields: Any) -> None:  # type: ignore[no-untyped-def]
    """New activity on an event (analysis would do this when items arrive)."""
    with rt.session() as s:
        event = s.get(Event, event_id)
        event.last_seen_at = rt.now()
        for key, value in fields.items():
            setattr(event, key, value)


# -- the dashboards' story and a PostgreSQL runtime -------------------------------------------------

def story(rt: Runtime, *, users: bool = True) -> dict[str, Any]:
    """The seeded day (tests/dashboard_seed.py), with its sign-in accounts unless ``users`` is off."""
    if users:
        seed_users(rt)
    return seed_story(rt)


@contextmanager
def postgres_runtime(pg_server: Any, like: Runtime, name: str) -> Iterator[Runtime]:
    """``like`` on a freshly migrated PostgreSQL database ``name``, installed as the process runtime
    while in use; ``like`` is installed again afterwards."""
    url = pg_server.migrated_database(name)
    rt = Runtime(settings=like.settings.model_copy(update={"database_url": url}), profile=like.profile,
                 clock=like.clock, redis=like.redis)
    set_runtime(rt)
    try:
        yield rt
    finally:
        set_runtime(like)
        rt.engine.dispose()
