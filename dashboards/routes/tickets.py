"""回应工单 (tickets): the board with countdowns and the ticket page with its actions.

Every action calls ``yuqing.queue.tickets``, which records who, when and why and refuses what
the workflow does not allow (a closed ticket, a pause without a reason, a response without a
link or text, a time before detection or in the future, an unknown section, state or kind) with
one ``Refused`` sentence; the app's handler shows this page again with it (422). This module
only reads the form, audits and redirects; it checks nothing the workflow checks.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import func, select

from yuqing.models import (
    Deadline,
    DeadlineKind,
    Event,
    Referral,
    Ticket,
    TicketResponse,
    TicketState,
)
from yuqing.queue import tickets
from yuqing.queue.exceptions import BadResponse
from yuqing.runtime import Runtime

from ..auth import CurrentUser, MonitorUser, StaffUser, audit
from ..queries import countdown_colour, ticket_board
from ..templating import flash, render
from ..timeline import event_timeline
from ._util import MAX_ID, NO_NUL, RecordId, back, parse_local_time, redisplay, rt_of

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)

CHANNELS = ["政府网站", "政务微博", "政务微信", "新闻发布会", "媒体采访", "情况通报", "其他"]


@router.get("/tickets")
def board(request: Request, user: CurrentUser = StaffUser) -> Response:
    return render(request, "tickets.html", board_html=Markup(_board_html(request)),
                  amber_hours=f"{rt_of(request).profile.clocks.amber_hours:g}")


def _board_html(request: Request) -> str:
    """The board's HTML (no forms, the same for everyone), reused for a few seconds while no
    open ticket changed within the same minute; countdowns move by minutes."""
    rt = rt_of(request)
    with rt.session() as s:
        stamp = s.execute(select(func.count(), func.max(Ticket.updated_at))
                          .where(Ticket.state != TicketState.CLOSED)).one()
        key = (stamp[0], stamp[1], rt.now().replace(second=0, microsecond=0))

        def build() -> str:
            columns = ticket_board(s, rt.now(), rt.profile.clocks.amber_hours)
            return request.app.state.templates.env.get_template("_board.html").render(
                columns=columns, states={st.value: st.label for st in TicketState})

        return request.app.state.fragments.get("board", key, build)


@router.get("/tickets/{ticket_id}")
def ticket_page(request: Request, ticket_id: RecordId, user: CurrentUser = StaffUser) -> Response:
    return _ticket_view(request, ticket_id)


def _ticket_view(request: Request, ticket_id: int, status_code: int = 200, **extra: object) -> Response:
    rt = rt_of(request)
    now = rt.now()
    with rt.session() as s:
        ticket = s.get(Ticket, ticket_id)
        if ticket is None:
            raise HTTPException(404, f"工单 {ticket_id} 不存在")
        event = s.get(Event, ticket.event_id)
        deadlines = list(s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id)
                                   .order_by(Deadline.due_at)))
        clocks = [(d, (d.due_at - now) if not d.met_at and not d.cancelled_at else None,
                   countdown_colour(d.due_at - now, rt.profile.clocks.amber_hours) if not d.met_at and not d.cancelled_at else
                   ("green" if d.met_at and d.met_at <= d.due_at else "done-late" if d.met_at else "cancelled"))
                  for d in deadlines]
        referrals = list(s.scalars(select(Referral).where(Referral.event_id == ticket.event_id)))
        responses = list(s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == ticket_id)
                                   .order_by(TicketResponse.responded_at)))
        assert event is not None  # a ticket's event goes only with the ticket (foreign key)
        timeline = event_timeline(s, event, ticket)
    return render(request, "ticket.html", status_code=status_code, ticket=ticket, event=event, clocks=clocks,
                  referrals=referrals, responses=responses, timeline=timeline, sections=rt.profile.sections,
                  channels=CHANNELS, kinds=[(k.value, k.label) for k in DeadlineKind],
                  default_time=_local_input(rt, now), local_input=lambda at: _local_input(rt, at), **extra)


def _local_input(rt: Runtime, at: datetime) -> str:
    """A time as a ``datetime-local`` form value in the bureau's zone."""
    return at.astimezone(_tz(rt)).strftime("%Y-%m-%dT%H:%M")


def _tz(rt: Runtime) -> ZoneInfo:
    return ZoneInfo(rt.settings.timezone)


def _on_refusal(request: Request, ticket_id: int, user: CurrentUser) -> Runtime:
    """The ticket page is shown again with the workflow's refusal (422), not a bare error page."""
    redisplay(request, lambda: ticket_page(request, ticket_id, user))
    return rt_of(request)


@router.post("/tickets/{ticket_id}/assign")
def assign(request: Request, ticket_id: RecordId, section_key: str = Form(...), assignee: str = Form("", max_length=100),
           user: CurrentUser = MonitorUser) -> Response:
    rt = _on_refusal(request, ticket_id, user)
    tickets.assign(rt, ticket_id, section_key, user.username, assignee=assignee.strip())
    audit(rt, request, user.username, "ticket.assign", "ticket", ticket_id, section_key=section_key,
          assignee=assignee.strip())
    flash(request, f"已分派给 {rt.profile.section(section_key).name} {assignee.strip()}")
    return back(request, f"/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/respond")
def respond(request: Request, ticket_id: RecordId, kind: str = Form(...), channel: str = Form(..., min_length=1, max_length=100),
            link: str = Form("", max_length=2000), text: str = Form("", max_length=20000),
            responded_at: str = Form(...), user: CurrentUser = MonitorUser) -> Response:
    rt = _on_refusal(request, ticket_id, user)
    when = parse_local_time(responded_at, rt.settings.timezone, "responded_at")
    tickets.record_response(rt, ticket_id, user.username, kind, channel.strip(), link.strip(), text.strip(), when)
    audit(rt, request, user.username, "ticket.respond", "ticket", ticket_id, kind=kind, channel=channel,
          link=link, responded_at=when.isoformat())
    flash(request, "已记录回应")
    return back(request, f"/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/correct-time")
def correct_time(request: Request, ticket_id: RecordId, response_id: int = Form(..., ge=1, le=MAX_ID),
                 responded_at: str = Form(..., max_length=40),
                 reason: str = Form("", max_length=2000), user: CurrentUser = MonitorUser) -> Response:
    """更正回应时间: the workflow refuses a time before detection or in the future; the refusal is
    shown on the ticket page beside the form, with what was typed."""
    rt = rt_of(request)
    with rt.session() as s:
        row = s.get(TicketResponse, response_id)
        if row is None or row.ticket_id != ticket_id:
            raise HTTPException(404, f"工单 {ticket_id} 没有回应记录 {response_id}")
        old = row.responded_at
    try:
        when = parse_local_time(responded_at, rt.settings.timezone, "responded_at")
        tickets.correct_response_time(rt, response_id, user.username, when, reason)
    except (BadResponse, HTTPException) as exc:
        message = exc.detail if isinstance(exc, HTTPException) else str(exc)
        return _ticket_view(request, ticket_id, 422, correction_error=f"未能更正：{message}",
                            correction={"id": response_id, "time": responded_at, "reason": reason})
    audit(rt, request, user.username, "ticket.correct_response_time", "ticket", ticket_id, response_id=response_id,
          old=old.isoformat(), new=when.isoformat(), reason=reason.strip())
    flash(request, "已更正回应时间")
    return back(request, f"/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/pause")
def pause(request: Request, ticket_id: RecordId, reason: str = Form(..., min_length=1, max_length=2000),
          user: CurrentUser = MonitorUser) -> Response:
    rt = _on_refusal(request, ticket_id, user)
    tickets.pause(rt, ticket_id, user.username, reason.strip())
    audit(rt, request, user.username, "ticket.pause", "ticket", ticket_id, reason=reason.strip())
    flash(request, "已暂停计时")
    return back(request, f"/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/resume")
def resume(request: Request, ticket_id: RecordId, user: CurrentUser = MonitorUser) -> Response:
    rt = _on_refusal(request, ticket_id, user)
    tickets.resume(rt, ticket_id, user.username)
    audit(rt, request, user.username, "ticket.resume", "ticket", ticket_id)
    flash(request, "已恢复计时")
    return back(request, f"/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/transition")
def transition(request: Request, ticket_id: RecordId, to_state: str = Form(...), reason: str = Form("", max_length=2000),
               user: CurrentUser = MonitorUser) -> Response:
    rt = _on_refusal(request, ticket_id, user)
    tickets.transition(rt, ticket_id, to_state, user.username, reason=reason.strip())
    audit(rt, request, user.username, "ticket.transition", "ticket", ticket_id, to_state=to_state,
          reason=reason.strip())
    flash(request, f"工单状态已改为 {TicketState(to_state).label}")
    return back(request, f"/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/close")
def close(request: Request, ticket_id: RecordId, reason: str = Form("", max_length=2000), user: CurrentUser = MonitorUser) -> Response:
    rt = _on_refusal(request, ticket_id, user)
    tickets.close(rt, ticket_id, user.username, reason=reason.strip())
    audit(rt, request, user.username, "ticket.close", "ticket", ticket_id, reason=reason.strip())
    flash(request, "工单已关闭，事后回应报告正在生成")
    return back(request, f"/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/reopen")
def reopen(request: Request, ticket_id: RecordId, reason: str = Form(..., min_length=1, max_length=2000),
           user: CurrentUser = MonitorUser) -> Response:
    rt = _on_refusal(request, ticket_id, user)
    tickets.reopen(rt, ticket_id, user.username, reason.strip())
    audit(rt, request, user.username, "ticket.reopen", "ticket", ticket_id, reason=reason.strip())
    flash(request, "工单已重新打开")
    return back(request, f"/tickets/{ticket_id}")
