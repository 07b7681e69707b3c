"""The JSON API under /api, described by OpenAPI at /api/openapi.json (signed-in users).

Same session cookie as the pages; changes need the ``X-CSRF-Token`` header. Role checks
are the same dependencies as the pages'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from yuqing.levels import Level
from yuqing.models import Alert, Deadline, Event, Item, Ticket
from yuqing.queue.dismissal import review_and_settle
from yuqing.status import health as status_health

from ..auth import AnyUser, CurrentUser, MonitorUser, StaffUser, client_ip
from ..queries import alert_queue, event_stats, queue_version, ticket_board
from ..search import search_items
from ._util import NO_NUL, NO_NUL_PATTERN, RecordId, rt_of


class Problem(BaseModel):
    """Every refusal from /api: a sentence in Chinese naming what was wrong (and which field)."""

    detail: str = Field(description="出错原因，如「输入有误：alert_id: …」「工单 7 不存在」")


_PROBLEM_TEXT = {
    400: "请求体无法解析（不是 UTF-8 编码的 JSON）",
    401: "未登录或会话已过期（先在 /login 登录）",
    403: "当前账号的角色无权调用；修改类请求缺少或带错 X-CSRF-Token 头时也是 403（纯文本）",
    404: "记录不存在",
    409: "当前状态下不能这样操作",
    422: "输入有误：说明哪个参数、错在哪里（任何参数含空字符 NUL 也是 422）",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The refusals a route can answer, for its OpenAPI description. 422 replaces FastAPI's
    default list-shaped HTTPValidationError: the app's handler answers ``{"detail": "..."}``."""
    out: dict[int | str, dict[str, Any]] = {c: {"model": Problem, "description": _PROBLEM_TEXT[c]}
                                            for c in (401, 403, 422, *codes)}
    # The CSRF middleware refuses before any route runs, as text/plain.
    out[403]["content"] = {"text/plain": {"schema": {"type": "string"}}}
    return out


router = APIRouter(prefix="/api", tags=["api"], dependencies=NO_NUL)
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


class ReviewConfirm(BaseModel):
    action: Literal["confirm"] = Field(description="confirm 确认属实")


class ReviewDismiss(BaseModel):
    action: Literal["dismiss"] = Field(description="dismiss 排除（误报/无关）")
    ticket: Literal["close", "keep"] | None = Field(
        None, description="事件已有未关闭的回应工单时必填：close 同时关闭工单，keep 保留工单继续办理")
    reason: str = Field("", max_length=500, pattern=NO_NUL_PATTERN,
                        description="排除原因；事件已有未关闭的回应工单时必填")


class ReviewLevel(BaseModel):
    action: Literal["level"]
    level: Level = Field(description="新等级")


# One of the two shapes, told apart by ``action``: a level change without a level used to be
# valid by the schema and refused by the route.
ReviewIn = Annotated[ReviewConfirm | ReviewDismiss | ReviewLevel, Field(discriminator="action")]


class ReviewOut(BaseModel):
    id: int
    status: str
    level: str


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
    merged_into: int | None = None  # 已并入: the event of the same incident this one went into


class SearchHit(BaseModel):
    id: int
    title: str
    url: str
    published_at: datetime | None
    event_id: int | None
    snippet: str


def _item(i: Item) -> ItemOut:
    return ItemOut(id=i.id, title=i.title or i.text[:60], url=i.url, author=i.author, platform=i.platform,
                   published_at=i.published_at, duplicate_count=i.duplicate_count)


@router.get("/me", response_model=Me, summary="当前登录账号", responses=problems())
def me(user: CurrentUser = AnyUser) -> Me:
    return Me(username=user.username, display_name=user.display_name, role=user.role.value,
              department_key=user.department_key)


@router.get("/alerts", response_model=list[AlertOut], summary="预警队列（新预警在前，按等级）",
            responses=problems())
def alerts(request: Request, user: CurrentUser = StaffUser) -> list[AlertOut]:
    with rt_of(request).session() as s:
        cards = alert_queue(s)
        return [AlertOut(id=c.alert.id, status=c.alert.status, level=c.alert.level, title=c.alert.title,
                         reasons=c.alert.reasons or [], created_at=c.alert.created_at, event_id=c.alert.event_id,
                         ticket_id=c.ticket_id, items=[_item(i) for i in c.items],
                         first_publisher=(c.first.author or c.first_source) if c.first else "")
                for c in cards]


@router.get("/alerts/version", response_model=QueueVersion, summary="预警队列指纹（值班台轮询用）",
            responses=problems())
def alerts_version(request: Request, user: CurrentUser = StaffUser) -> QueueVersion:
    with rt_of(request).session() as s:
        return QueueVersion(**queue_version(s))


@router.post("/alerts/{alert_id}/review", response_model=ReviewOut, responses=problems(400, 404),
             summary="研判：确认、排除或调整等级（写入训练标注）",
             description="预警不存在时 404；研判规则不允许时 422，说明原因：如系统告警不能研判；"
                         "排除一个已有未关闭回应工单的事件时，须给出 ticket（close 关闭工单或 keep 保留工单）"
                         "和 reason（排除原因），缺一即 422。")
def review_alert(request: Request, alert_id: RecordId, body: Annotated[ReviewIn, Body()],
                 user: CurrentUser = MonitorUser) -> ReviewOut:
    rt = rt_of(request)
    level = body.level.value if isinstance(body, ReviewLevel) else None
    ticket, reason = (body.ticket, body.reason) if isinstance(body, ReviewDismiss) else (None, "")
    # The workflow says 404 for a missing alert (NotFound) and 422 for what its rules refuse.
    # A dismissal's ticket (closed or kept) is settled in the review's own transaction.
    review_and_settle(rt, alert_id, body.action, user.username, level=level, ticket=ticket, reason=reason,
                      ip=client_ip(request))
    with rt.session() as s:
        alert = s.get(Alert, alert_id)
        return ReviewOut(id=alert_id, status=alert.status if alert else "", level=alert.level if alert else "")


@router.get("/tickets", response_model=list[TicketCard], summary="工单看板（未关闭工单及最近期限）",
            responses=problems())
def tickets(request: Request, user: CurrentUser = StaffUser) -> list[TicketCard]:
    rt = rt_of(request)
    with rt.session() as s:
        board = ticket_board(s, rt.now(), rt.profile.clocks.amber_hours)
    return [TicketCard(id=c.ticket.id, title=c.ticket.title, state=c.ticket.state, level=c.ticket.level,
                       next_deadline=c.next_kind, due_at=c.next_due,
                       seconds_left=c.left.total_seconds() if c.left is not None else None, colour=c.colour)
            for cards in board.values() for c in cards]


@router.get("/tickets/{ticket_id}", response_model=TicketOut, summary="工单详情与期限",
            responses=problems(404))
def ticket(request: Request, ticket_id: RecordId, user: CurrentUser = StaffUser) -> TicketOut:
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


@router.get("/events/{event_id}", response_model=EventOut, summary="事件与统计（声量、信源、地点、情绪）",
            responses=problems(404))
def event(request: Request, event_id: RecordId, user: CurrentUser = StaffUser) -> EventOut:
    rt = rt_of(request)
    with rt.session() as s:
        e = s.get(Event, event_id)
        if e is None:
            raise HTTPException(404, f"事件 {event_id} 不存在")
        return EventOut(id=e.id, title=e.title, level=e.level, item_count=e.item_count,
                        first_seen_at=e.first_seen_at, last_seen_at=e.last_seen_at,
                        stats=event_stats(s, event_id, rt.settings.timezone), merged_into=e.merged_into)


@router.get("/search", response_model=list[SearchHit], summary="全文检索（结巴分词）",
            responses=problems())
def search(request: Request,
           q: Annotated[str, Query(pattern=NO_NUL_PATTERN,
                                   description="检索词，空格分隔的词须全部出现；只取前 200 字")],
           limit: Annotated[int, Query(ge=1, le=200, description="最多返回条数")] = 50,
           user: CurrentUser = StaffUser) -> list[SearchHit]:
    hits = search_items(rt_of(request), q.strip()[:200], limit=limit)
    return [SearchHit(id=h.item.id, title=h.item.title or h.item.text[:60], url=h.item.url,
                      published_at=h.item.published_at, event_id=h.item.event_id, snippet=h.snippet)
            for h in hits]


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, user: CurrentUser = AnyUser) -> dict[str, Any]:
    spec = request.app.openapi()  # built once and cached by FastAPI; the additions are idempotent
    # Say how callers authenticate: the session cookie from /login, and the CSRF header on changes.
    spec.setdefault("components", {}).setdefault("securitySchemes", {}).update({
        "session": {"type": "apiKey", "in": "cookie", "name": "yuqing_session",
                    "description": "在 /login 登录后得到的会话 Cookie"},
        "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                 "description": "修改类请求（POST 等）须带；值见页面 meta csrf-token"},
    })
    for path, ops in spec.get("paths", {}).items():
        if path.startswith("/api/"):
            for method, op in ops.items():
                op.setdefault("security", [{"session": [], "csrf": []}] if method == "post"
                              else [{"session": []}])
    return spec


class Health(BaseModel):
    ok: bool
    database: bool
    redis: bool
    workers: int | None = Field(None, description="运行中的 worker 数（Redis 不可达时为空）")
    schedulers: int | None = Field(None, description="运行中的调度器数（Redis 不可达时为空）")
    stale_sources: int | None = Field(None, description="长时间未成功采集的信源数（数据库不可达时为空）")
    backlogged_queues: list[str] = Field(description="积压超过上限的队列")
    problems: list[str] = Field(description="哪里出了问题（中文）；正常时为空")
    warnings: list[str] = Field(default_factory=list, description="提醒（中文，不影响 ok）：如原文快照存储已满")
    database_error: str | None = Field(None, description="数据库不可达时的异常类型")
    redis_error: str | None = Field(None, description="Redis 不可达时的异常类型")


@health.get("/healthz", summary="健康检查：数据库、Redis、worker、调度器、信源、队列（有问题时 503）",
            responses={200: {"model": Health}, 503: {"model": Health, "description": "有组件停止或异常"}})
def healthz(request: Request) -> JSONResponse:
    out = status_health(rt_of(request))
    return JSONResponse(out, status_code=200 if out["ok"] else 503)
