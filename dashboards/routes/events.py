"""舆情事件 (event page): volume, sources and platforms, places, emotion, key posts, timeline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from yuqing.documents.account import figures_line, key_posts
from yuqing.models import Alert, Event, Ticket
from yuqing.runtime import Runtime

from ..auth import CurrentUser, StaffUser
from ..queries import event_stats
from ..templating import render
from ..timeline import event_timeline
from ._util import NO_NUL, RecordId, rt_of

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)


def event_context(rt: Runtime, event_id: int) -> dict[str, Any]:
    with rt.session() as s:
        event = s.get(Event, event_id)
        if event is None:
            raise HTTPException(404, f"事件 {event_id} 不存在")
        ticket = s.scalar(select(Ticket).where(Ticket.event_id == event_id))
        alert = s.scalar(select(Alert).where(Alert.event_id == event_id))
        stats = event_stats(s, event_id, rt.settings.timezone)
        posts = key_posts(s, event_id)
        timeline = event_timeline(s, event, ticket, alert)
        figures = figures_line(s, event, rt.settings.timezone)  # as the 专报 and the mails give them
    return {"event": event, "ticket": ticket, "alert": alert, "stats": stats, "posts": posts,
            "timeline": timeline, "figures": figures}


@router.get("/events/{event_id}")
def event_page(request: Request, event_id: RecordId, user: CurrentUser = StaffUser) -> Response:
    ctx = event_context(rt_of(request), event_id)
    stats = ctx["stats"]
    charts = {
        "volume": {"type": "line", "title": stats["bucket_title"], "x": stats["hours"], "y": stats["volume"]},
        "emotion": {"type": "line", "title": "负面情绪（0–1）", "x": stats["hours"], "y": stats["emotion"]},
        "sources": {"type": "bar", "title": "信源", "x": [n for n, _ in stats["sources"]],
                    "y": [c for _, c in stats["sources"]]},
        "platforms": {"type": "pie", "title": "平台", "x": [n for n, _ in stats["platforms"]],
                      "y": [c for _, c in stats["platforms"]]},
    }
    return render(request, "event.html", charts=charts, **ctx)


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: RecordId, user: CurrentUser = StaffUser) -> Response:
    """The page an alert's message links to: its event's page (signing in first returns here)."""
    with rt_of(request).session() as s:
        alert = s.get(Alert, alert_id)
        event_id = alert.event_id if alert is not None else None
    if event_id is None:
        raise HTTPException(404, f"预警 #{alert_id} 不存在")
    return event_page(request, event_id, user)
