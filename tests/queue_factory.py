"""Events and items for the response-workflow tests (queue/), written straight to the store."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from yuqing.models import Event, Item


def make_event(rt, level: str = "较大", topics: list[str] | None = None, ago_hours: float = 0,  # type: ignore[no-untyped-def]
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


def touch_event(rt, event_id: int, **fields: Any) -> None:  # type: ignore[no-untyped-def]
    """New activity on an event (analysis would do this when items arrive)."""
    with rt.session() as s:
        event = s.get(Event, event_id)
        event.last_seen_at = rt.now()
        for key, value in fields.items():
            setattr(event, key, value)
