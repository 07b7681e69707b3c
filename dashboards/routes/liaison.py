"""部门联络员 (department liaison): my department's referrals, acknowledge, notes; and the
public acknowledgement link ``/ack/{token}`` sent in the 专报 e-mail (no account needed)."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from yuqing.models import Event, Referral, ReferralNote
from yuqing.runtime import Runtime

from ..auth import CurrentUser, LiaisonUser, Role, audit, client_ip
from ..templating import flash, render
from ._util import NO_NUL, RecordId, back, rt_of

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)


@router.get("/liaison")
def liaison_page(request: Request, user: CurrentUser = LiaisonUser) -> Response:
    rt = rt_of(request)
    with rt.session() as s:
        stmt = select(Referral, Event).join(Event, Event.id == Referral.event_id).order_by(Referral.created_at.desc())
        if user.role is Role.LIAISON:
            stmt = stmt.where(Referral.department_key == user.department_key)
        rows = list(s.execute(stmt.limit(200)).all())
        notes: dict[int, list[ReferralNote]] = {}
        ids = [r.id for r, _ in rows]
        if ids:
            for note in s.scalars(select(ReferralNote).where(ReferralNote.referral_id.in_(ids))
                                  .order_by(ReferralNote.id)):
                notes.setdefault(note.referral_id, []).append(note)
    department = next((d.name for d in rt.profile.departments if d.key == user.department_key), "全部部门")
    return render(request, "liaison.html", rows=rows, notes=notes, department=department)


def _mine(rt: Runtime, user: CurrentUser, referral_id: int) -> Referral:
    with rt.session() as s:
        ref = s.get(Referral, referral_id)
    if ref is None or (user.role is Role.LIAISON and ref.department_key != user.department_key):
        # Another department's referral is reported as missing: no probing by id.
        raise HTTPException(404, f"报送 {referral_id} 不存在")
    return ref


@router.post("/referrals/{referral_id}/ack")
def acknowledge(request: Request, referral_id: RecordId, note: str = Form("", max_length=2000),
                user: CurrentUser = LiaisonUser) -> Response:
    from yuqing.queue import referrals

    rt = rt_of(request)
    _mine(rt, user, referral_id)
    referrals.acknowledge(rt, referral_id, user.username, note=note.strip())
    audit(rt, request, user.username, "referral.acknowledge", "referral", referral_id, note=note.strip())
    flash(request, f"已签收报送 #{referral_id}")
    return back(request, "/liaison")


@router.post("/referrals/{referral_id}/notes")
def add_note(request: Request, referral_id: RecordId, text: str = Form(..., min_length=1, max_length=5000),
             user: CurrentUser = LiaisonUser) -> Response:
    from yuqing.queue import referrals

    rt = rt_of(request)
    _mine(rt, user, referral_id)
    if not text.strip():
        raise HTTPException(422, "text: 备注不能为空")
    referrals.add_note(rt, referral_id, user.username, text.strip())
    audit(rt, request, user.username, "referral.note", "referral", referral_id)
    flash(request, "已添加备注")
    return back(request, "/liaison")


@router.get("/ack/{token}")
def ack_page(request: Request, token: str) -> Response:
    from yuqing.queue import referrals
    from yuqing.queue.exceptions import InvalidAckLink

    rt = rt_of(request)
    try:
        state = referrals.check_ack_token(rt, token)
    except InvalidAckLink as exc:
        return render(request, "ack.html", status_code=403, token="", state=None, error=str(exc))
    return render(request, "ack.html", token=token, state=state, done=state.acknowledged_at is not None)


@router.post("/ack/{token}")
def ack_by_token(request: Request, token: str, name: str = Form(..., min_length=1, max_length=100),
                 note: str = Form("", max_length=2000)) -> Response:
    from yuqing.queue import referrals
    from yuqing.queue.exceptions import AlreadyAcknowledged, InvalidAckLink
    from yuqing.sanitise import clean_note

    rt = rt_of(request)
    name = clean_note(name, 50).replace("\n", " ")
    if not name:
        raise HTTPException(422, "name: 请填写签收人姓名")
    by = f"{name}（签收链接，{client_ip(request)}）"[:100]
    try:
        referral_id = referrals.acknowledge_by_token(rt, token, by, note=note)
    except InvalidAckLink as exc:
        return render(request, "ack.html", status_code=403, token="", state=None, error=str(exc))
    except AlreadyAcknowledged:
        state = referrals.check_ack_token(rt, token)
        return render(request, "ack.html", status_code=409, token="", state=state, done=True, again=True)
    audit(rt, request, name, "referral.acknowledge_by_link", "referral", referral_id)
    return render(request, "ack.html", token="", state=referrals.check_ack_token(rt, token), done=True)
