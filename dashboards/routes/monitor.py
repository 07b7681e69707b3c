"""值班台 (monitor console): the live alert queue and the actions on an alert.

Confirm / dismiss / change level become training labels through
``yuqing.alerts.actions.review``; silences through ``yuqing.alerts.actions.silence``;
a ticket through ``yuqing.queue.tickets.open_ticket_for_event``. Nothing here edits a record.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.alerts.actions import acknowledge, review, silence
from yuqing.alerts.exceptions import AlertsError
from yuqing.alerts.grouping import evaluate
from yuqing.models import Alert, AlertStatus, Role, Ticket
from yuqing.queue.dismissal import review_and_settle
from yuqing.queue.tickets import follow_judgement, open_ticket_for_event
from yuqing.runtime import Runtime

from ..auth import AnyUser, CurrentUser, MonitorUser, audit, client_ip
from ..csrf import csrf_token
from ..queries import ACTIVE_ALERT, alert_queue, queue_version
from ..templating import flash, render
from ._util import NO_NUL, RecordId, back, rt_of
from .auth_pages import HOME

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)

QUEUE_LIMIT = 30  # a page a person can work; the rest follow as these are handled
VIEWS = {"active": ACTIVE_ALERT, "firing": (AlertStatus.FIRING,),
         "closed": (AlertStatus.DISMISSED, AlertStatus.RESOLVED)}


CSRF_SLOT = "__CSRF_SLOT__"  # never a valid token; replaced per request


@router.get("/")
def console(request: Request, view: str = "active", fragment: bool = False,
            user: CurrentUser = AnyUser) -> Response:
    if user.role in (Role.LEADER, Role.LIAISON):  # the site's address takes each role to its home, as log-in does
        return RedirectResponse(HOME[user.role], status_code=303)
    rt = rt_of(request)
    view = view if view in VIEWS else "active"
    can_act = user.role in (Role.MONITOR, Role.ADMIN)
    with rt.session() as s:
        version = queue_version(s)
        html = _cached_queue(request, s, view, version["version"], can_act)
    token = csrf_token(request)
    if fragment:  # the console's script swaps the cards in place instead of reloading the page
        return HTMLResponse(html.replace(CSRF_SLOT, token), headers={"X-Queue-Version": version["version"],
                                                                       "Cache-Control": "no-store"})
    fragment_html = html
    return render(request, "console.html", view=view, version=version, limit=QUEUE_LIMIT,
                  queue_html=Markup(fragment_html.replace(CSRF_SLOT, token)))


def _cached_queue(request: Request, s: Session, view: str, version: str, can_act: bool) -> str:
    """The queue's HTML, the same for every monitor: reused for a few seconds while the
    queue's fingerprint is unchanged (a review, a new alert or a level change moves it, so
    one's own action shows at once; new items of an event show within 5 seconds).

    It is rendered by the autoescaping templates like every page (crawled text is escaped
    there); only the session's CSRF token is put in afterwards."""
    def build() -> str:
        now = rt_of(request).now()
        cards = alert_queue(s, VIEWS[view], limit=QUEUE_LIMIT, now=now)
        env = request.app.state.templates.env
        return env.get_template("_queue.html").render(cards=cards, can_act=can_act, csrf=CSRF_SLOT,
                                                      LEVELS=env.globals["LEVELS"], now=now)

    return request.app.state.fragments.get(f"queue:{view}:{can_act}", version, build)


def _alert(rt: Runtime, alert_id: int) -> Alert:
    with rt.session() as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise HTTPException(404, f"预警 {alert_id} 不存在")
        return alert


@router.post("/alerts/{alert_id}/review")
def review_alert(request: Request, alert_id: RecordId, action: str = Form(...), level: str = Form(""),
                 ticket: str = Form(""), reason: str = Form("", max_length=500),
                 user: CurrentUser = MonitorUser) -> Response:
    rt = rt_of(request)
    alert = _alert(rt, alert_id)
    # The workflow refuses an unknown action or level, and a dismissal of an event with an open
    # ticket without the ticket's fate and a reason (Refused: the app's handler answers 422).
    # The ticket's fate is settled in the review's own transaction: all of it, or nothing.
    done = review_and_settle(rt, alert_id, action, user.username, level=level if action == "level" else None,
                             ticket=ticket or None, reason=reason, ip=client_ip(request))
    new_level = done.alert.level if action in ("level", "restore") else None
    words = {"confirm": "已确认预警", "dismiss": "已排除（误报/无关）", "level": f"已调整等级为 {new_level}",
             "restore": f"已恢复自动研判，等级为 {new_level}"}
    message = f"{words[action]}：预警 #{alert_id}"
    if action in ("level", "restore") and alert.event_id is not None:
        how = "恢复自动研判" if action == "restore" else "人工研判"
        message += _carry_judgement(rt, alert.event_id, user.username, how)
    if done.ticket_id is not None:
        message += f"；工单 #{done.ticket_id} " + ("已关闭" if done.choice == "close" else "保留办理")
    flash(request, message)
    return back(request, "/")


BULK_ACTIONS = {"confirm": "确认属实", "dismiss": "排除"}


@router.post("/alerts/bulk")
def bulk_review(request: Request, action: str = Form(...), ids: list[int] = Form(default_factory=list),
                user: CurrentUser = MonitorUser) -> Response:
    """批量确认 / 批量排除 the ticked alerts. An alert whose event has an open ticket is left
    for one-by-one dismissal, where the monitor says what becomes of the ticket."""
    rt = rt_of(request)
    if action not in BULK_ACTIONS:
        raise HTTPException(422, f"action: 应为 confirm 或 dismiss，而不是 {action!r}")
    if not ids:
        raise HTTPException(422, "ids: 未勾选任何预警")
    done, skipped = [], []
    for alert_id in ids[:200]:
        _alert(rt, alert_id)
        try:  # the workflow refuses to dismiss an event with an open ticket without its fate and a reason
            review(rt, alert_id, action, user.username, ip=client_ip(request))
        except AlertsError as exc:
            skipped.append(f"#{alert_id}（{exc}）")
            continue
        done.append(alert_id)
    message = f"已批量{BULK_ACTIONS[action]} {len(done)} 条预警"
    if skipped:
        message += "；未处理：" + "、".join(skipped)
    flash(request, message, "ok" if not skipped else "warn")
    return back(request, "/")


def _carry_judgement(rt: Runtime, event_id: int, by: str, how: str) -> str:
    """The monitor's level (set by hand, or the computed one restored: ``how``) goes the whole
    way, as an automatic rise does: notifications (a rise is never inhibited), the 要情专报 a
    重大 calls for, the ticket and its clocks, the referrals and their 续报."""
    evaluate(rt, event_id)
    ticket_id = follow_judgement(rt, event_id, by, how)
    return f"；工单 #{ticket_id} 已按新等级计时" if ticket_id else ""


@router.post("/alerts/{alert_id}/ack")
def ack_alert(request: Request, alert_id: RecordId, user: CurrentUser = MonitorUser) -> Response:
    rt = rt_of(request)
    _alert(rt, alert_id)
    acknowledge(rt, alert_id, user.username, ip=client_ip(request))  # the workflow writes the one audit entry
    flash(request, f"已签收预警 #{alert_id}，升级提醒停止")
    return back(request, "/")


@router.post("/alerts/{alert_id}/silence")
def silence_alert(request: Request, alert_id: RecordId, hours: float = Form(..., gt=0, le=24 * 30),
                  comment: str = Form(..., min_length=1, max_length=500), user: CurrentUser = MonitorUser) -> Response:
    rt = rt_of(request)
    alert = _alert(rt, alert_id)  # a blank reason is refused by alerts.actions.silence (422)
    ends_at = rt.now() + timedelta(hours=hours)
    silence(rt, user.username, comment.strip(), ends_at, event_id=alert.event_id, ip=client_ip(request),
            alert_id=alert_id)  # the workflow writes the one audit entry
    flash(request, f"已静默该事件 {hours:g} 小时")
    return back(request, "/")


@router.post("/events/{event_id}/ticket")
def open_ticket(request: Request, event_id: RecordId, user: CurrentUser = MonitorUser) -> Response:
    rt = rt_of(request)
    result = open_ticket_for_event(rt, event_id, user.username)
    ticket_id = result if isinstance(result, int) else getattr(result, "id", None)
    if ticket_id is None:
        with rt.session() as s:
            ticket_id = s.scalar(select(Ticket.id).where(Ticket.event_id == event_id))
    audit(rt, request, user.username, "ticket.open", "ticket", ticket_id, event_id=event_id)
    flash(request, f"已为事件 #{event_id} 开立回应工单 #{ticket_id}")
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)
