"""值班台 (monitor console): the live alert queue and the actions on an alert.

Confirm / dismiss / change level become training labels through
``yuqing.alerts.actions.review``; silences through ``yuqing.alerts.actions.silence``;
a ticket through ``yuqing.queue.tickets.open_ticket_for_event``. Nothing here edits a record.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from yuqing.levels import Level
from yuqing.models import Alert, AlertStatus, Ticket

from ..auth import MonitorUser, StaffUser, audit
from ..queries import ACTIVE_ALERT, alert_queue, queue_version
from ..templating import flash, render
from ._util import back, rt_of

router = APIRouter(include_in_schema=False)

VIEWS = {"active": ACTIVE_ALERT, "firing": (AlertStatus.FIRING,),
         "closed": (AlertStatus.DISMISSED, AlertStatus.RESOLVED)}


@router.get("/")
def console(request: Request, view: str = "active", user=StaffUser) -> Response:
    rt = rt_of(request)
    statuses = VIEWS.get(view, ACTIVE_ALERT)
    with rt.session() as s:
        cards = alert_queue(s, statuses)
        version = queue_version(s)
    return render(request, "console.html", cards=cards, view=view, version=version)


def _alert(rt, alert_id: int) -> Alert:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise HTTPException(404, f"预警 {alert_id} 不存在")
        return alert


@router.post("/alerts/{alert_id}/review")
def review_alert(request: Request, alert_id: int, action: str = Form(...), level: str = Form(""),
                 user=MonitorUser) -> Response:
    from yuqing.alerts.actions import review

    rt = rt_of(request)
    _alert(rt, alert_id)
    if action not in ("confirm", "dismiss", "level"):
        raise HTTPException(422, f"action: 应为 confirm、dismiss 或 level，而不是 {action!r}")
    new_level = None
    if action == "level":
        try:
            new_level = Level.parse(level).value
        except ValueError as exc:
            raise HTTPException(422, f"level: {exc}") from None
    review(rt, alert_id, action, user.username, level=new_level)
    audit(rt, request, user.username, f"alert.{action}", "alert", alert_id, level=new_level or "")
    words = {"confirm": "已确认预警", "dismiss": "已排除（误报/无关）", "level": f"已调整等级为 {new_level}"}
    flash(request, f"{words[action]}：预警 #{alert_id}")
    return back(request, "/")


@router.post("/alerts/{alert_id}/ack")
def ack_alert(request: Request, alert_id: int, user=MonitorUser) -> Response:
    from yuqing.alerts.actions import acknowledge

    rt = rt_of(request)
    _alert(rt, alert_id)
    acknowledge(rt, alert_id, user.username)
    audit(rt, request, user.username, "alert.acknowledge", "alert", alert_id)
    flash(request, f"已签收预警 #{alert_id}，升级提醒停止")
    return back(request, "/")


@router.post("/alerts/{alert_id}/silence")
def silence_alert(request: Request, alert_id: int, hours: float = Form(..., gt=0, le=24 * 30),
                  comment: str = Form(..., min_length=1, max_length=500), user=MonitorUser) -> Response:
    from yuqing.alerts.actions import silence

    rt = rt_of(request)
    alert = _alert(rt, alert_id)
    if not comment.strip():
        raise HTTPException(422, "comment: 静默须写明原因")
    ends_at = rt.now() + timedelta(hours=hours)
    made = silence(rt, user.username, comment.strip(), ends_at, event_id=alert.event_id)
    audit(rt, request, user.username, "alert.silence", "alert", alert_id, hours=hours,
          comment=comment.strip(), silence_id=getattr(made, "id", None))
    flash(request, f"已静默该事件 {hours:g} 小时")
    return back(request, "/")


@router.post("/events/{event_id}/ticket")
def open_ticket(request: Request, event_id: int, user=MonitorUser) -> Response:
    from yuqing.queue.tickets import open_ticket_for_event

    rt = rt_of(request)
    result = open_ticket_for_event(rt, event_id, user.username)
    ticket_id = result if isinstance(result, int) else getattr(result, "id", None)
    if ticket_id is None:
        with rt.session() as s:
            ticket_id = s.scalar(select(Ticket.id).where(Ticket.event_id == event_id))
    audit(rt, request, user.username, "ticket.open", "ticket", ticket_id, event_id=event_id)
    flash(request, f"已为事件 #{event_id} 开立回应工单 #{ticket_id}")
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)
