"""Builders shared by the alerts tests (no tests here): events with their items, deliveries."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import select

from yuqing.models import Delivery, Event, Item


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
