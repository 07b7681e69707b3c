"""The JSON API under /api, described by OpenAPI at /api/openapi.json (signed-in users).

Same session cookie as the pages; changes need the ``X-CSRF-Token`` header. Role checks
are the same dependencies as the pages'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, text

from yuqing.levels import Level
from yuqing.models import Alert, Deadline, Event, Ticket

from ..auth import AnyUser, MonitorUser, StaffUser, audit
from ..queries import alert_queue, event_stats, queue_version, ticket_board
from ..search import search_items
from ._util import rt_of

router = APIRouter(prefix="/api", tags=["api"])
health = APIRouter(tags=["health"])


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    department_key: str


class ItemOut(BaseModel):
    id: int
    title: str
    url: str
    author: str
    platform: str
    published_at: datetime | None
    duplicate_count: int


class AlertOut(BaseModel):
    id: int
    status: str
    level: str
    title: str
    reasons: list[Any]
    created_at: datetime
    event_id: int | None
    ticket_id: int | None
    first_publisher: str = Field(description="首发：最早发布的帖文的作者或信源")
    items: list[ItemOut]


class QueueVersion(BaseModel):
    active: int
    firing: int
    version: str


class ReviewIn(BaseModel):
    action: Literal["confirm", "dismiss", "level"]
    level: str | None = Field(None, description="action=level 时的新等级：一般/较大/重大/特别重大")


class TicketCard(BaseModel):
    id: int
    title: str
    state: str
    level: str
    next_deadline: str
    due_at: datetime | None
    seconds_left: float | None
    colour: Literal["green", "amber", "red"]


class DeadlineOut(BaseModel):
    kind: str
    due_at: datetime
    met_at: datetime | None
    cancelled_at: datetime | None


class TicketOut(BaseModel):
    id: int
    event_id: int
    title: str
    state: str
    level: str
    section_name: str
    assignee: str
    opened_at: datetime
    detected_at: datetime
    closed_at: datetime | None
    deadlines: list[DeadlineOut]


class EventOut(BaseModel):
    id: int
    title: str
    level: str
    item_count: int
    first_seen_at: datetime
    last_seen_at: datetime
    stats: dict[str, Any]


class SearchHit(BaseModel):
    id: int
    title: str
    url: str
    published_at: datetime | None
    event_id: int | None
    snippet: str


def _item(i) -> ItemOut:  # type: ignore[no-untyped-def]
    return ItemOut(id=i.id, title=i.title or i.text[:60], url=i.url, author=i.author, platform=i.platform,
                   published_at=i.published_at, duplicate_count=i.duplicate_count)


@router.get("/me", response_model=Me, summary="当前登录账号")
def me(user=AnyUser) -> Me:
    return Me(username=user.username, display_name=user.display_name, role=user.role.value,
              department_key=user.department_key)


@router.get("/alerts", response_model=list[AlertOut], summary="预警队列（新预警在前，按等级）")
def alerts(request: Request, user=StaffUser) -> list[AlertOut]:
    with rt_of(request).session() as s:
        cards = alert_queue(s)
        return [AlertOut(id=c.alert.id, status=c.alert.status, level=c.alert.level, title=c.alert.title,
                         reasons=c.alert.reasons or [], created_at=c.alert.created_at, event_id=c.alert.event_id,
                         ticket_id=c.ticket_id, items=[_item(i) for i in c.items],
                         first_publisher=(c.first.author or c.first_source) if c.first else "")
                for c in cards]


@router.get("/alerts/version", response_model=QueueVersion, summary="预警队列指纹（值班台轮询用）")
def alerts_version(request: Request, user=StaffUser) -> QueueVersion:
    with rt_of(request).session() as s:
        return QueueVersion(**queue_version(s))


@router.post("/alerts/{alert_id}/review", summary="研判：确认、排除或调整等级（写入训练标注）")
def review_alert(request: Request, alert_id: int, body: ReviewIn, user=MonitorUser) -> dict[str, Any]:
    from yuqing.alerts.actions import review

    rt = rt_of(request)
    with rt.session() as s:
        if s.get(Alert, alert_id) is None:
            raise HTTPException(404, f"预警 {alert_id} 不存在")
    level = None
    if body.action == "level":
        try:
            level = Level.parse(body.level or "").value
        except ValueError as exc:
            raise HTTPException(422, f"level: {exc}") from None
    review(rt, alert_id, body.action, user.username, level=level)
    audit(rt, request, user.username, f"alert.{body.action}", "alert", alert_id, level=level or "", via="api")
    with rt.session() as s:
        alert = s.get(Alert, alert_id)
        return {"id": alert_id, "status": alert.status if alert else "", "level": alert.level if alert else ""}


@router.get("/tickets", response_model=list[TicketCard], summary="工单看板（未关闭工单及最近期限）")
def tickets(request: Request, user=StaffUser) -> list[TicketCard]:
    rt = rt_of(request)
    with rt.session() as s:
        board = ticket_board(s, rt.now())
    return [TicketCard(id=c.ticket.id, title=c.ticket.title, state=c.ticket.state, level=c.ticket.level,
                       next_deadline=c.next_kind, due_at=c.next_due,
                       seconds_left=c.left.total_seconds() if c.left is not None else None, colour=c.colour)
            for cards in board.values() for c in cards]


@router.get("/tickets/{ticket_id}", response_model=TicketOut, summary="工单详情与期限")
def ticket(request: Request, ticket_id: int, user=StaffUser) -> TicketOut:
    with rt_of(request).session() as s:
        t = s.get(Ticket, ticket_id)
        if t is None:
            raise HTTPException(404, f"工单 {ticket_id} 不存在")
        deadlines = s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id).order_by(Deadline.due_at))
        return TicketOut(id=t.id, event_id=t.event_id, title=t.title, state=t.state, level=t.level,
                         section_name=t.section_name, assignee=t.assignee, opened_at=t.opened_at,
                         detected_at=t.detected_at, closed_at=t.closed_at,
                         deadlines=[DeadlineOut(kind=d.kind, due_at=d.due_at, met_at=d.met_at,
                                                cancelled_at=d.cancelled_at) for d in deadlines])


@router.get("/events/{event_id}", response_model=EventOut, summary="事件与统计（声量、信源、地点、情绪）")
def event(request: Request, event_id: int, user=StaffUser) -> EventOut:
    rt = rt_of(request)
    with rt.session() as s:
        e = s.get(Event, event_id)
        if e is None:
            raise HTTPException(404, f"事件 {event_id} 不存在")
        return EventOut(id=e.id, title=e.title, level=e.level, item_count=e.item_count,
                        first_seen_at=e.first_seen_at, last_seen_at=e.last_seen_at,
                        stats=event_stats(s, event_id, rt.settings.timezone))


@router.get("/search", response_model=list[SearchHit], summary="全文检索（结巴分词）")
def search(request: Request, q: str, limit: int = 50, user=StaffUser) -> list[SearchHit]:
    hits = search_items(rt_of(request), q.strip()[:200], limit=max(1, min(limit, 200)))
    return [SearchHit(id=h.item.id, title=h.item.title or h.item.text[:60], url=h.item.url,
                      published_at=h.item.published_at, event_id=h.item.event_id, snippet=h.snippet)
            for h in hits]


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, user=AnyUser) -> dict[str, Any]:
    return request.app.openapi()


@health.get("/healthz", summary="健康检查：数据库与 Redis 是否可达（不可达时 503）")
def healthz(request: Request) -> JSONResponse:
    rt = rt_of(request)
    out: dict[str, Any] = {"database": False, "redis": False}
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        out["database"] = True
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        out["database_error"] = type(exc).__name__
    try:
        out["redis"] = bool(rt.get_redis().ping())
    except Exception as exc:  # noqa: BLE001
        out["redis_error"] = type(exc).__name__
    out["ok"] = out["database"] and out["redis"]
    return JSONResponse(out, status_code=200 if out["ok"] else 503)
