"""部门联络员 (department liaison): my department's referrals, each on its own page with the
documents sent, the key posts and the progress; acknowledge, notes; and the public
acknowledgement link ``/ack/{token}`` sent in the 专报 e-mail (no account needed)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select

from yuqing.documents.pdf import PdfError, html_to_pdf
from yuqing.models import Event, IssuedDocument, Referral, ReferralNote
from yuqing.queue import referrals
from yuqing.queue.exceptions import AlreadyAcknowledged, InvalidAckLink
from yuqing.runtime import Runtime
from yuqing.sanitise import clean_note

from ..auth import CurrentUser, LiaisonUser, Role, audit, client_ip
from ..referral_view import KIND_LABELS, gather
from ..templating import flash, render
from ._util import NO_NUL, RecordId, back, rt_of

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

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


@router.get("/liaison/referrals/{referral_id}")
def referral_page(request: Request, referral_id: RecordId, user: CurrentUser = LiaisonUser) -> Response:
    """One referral: the event's account, the documents sent, the key posts, the progress."""
    rt = rt_of(request)
    _mine(rt, user, referral_id)
    with rt.session() as s:
        ref = s.get(Referral, referral_id)
        assert ref is not None  # checked by _mine just now; referrals are never deleted alone
        view = gather(s, ref, rt.now())
        s.expunge_all()  # the template reads the rows after the session closes
    return render(request, "liaison_referral.html", v=view, now=rt.now())


@router.get("/liaison/referrals/{referral_id}/documents/{document_id}/docx")
def download_docx(request: Request, referral_id: RecordId, document_id: RecordId,
                  user: CurrentUser = LiaisonUser) -> Response:
    """A 专报/续报/终报 as it was sent to this department: the DOCX attached to the mail."""
    return _download(request, referral_id, document_id, "docx", user)


@router.get("/liaison/referrals/{referral_id}/documents/{document_id}/pdf")
def download_pdf(request: Request, referral_id: RecordId, document_id: RecordId,
                 user: CurrentUser = LiaisonUser) -> Response:
    """The same document as PDF, printed from the page kept when it was issued."""
    return _download(request, referral_id, document_id, "pdf", user)


def _download(request: Request, referral_id: int, document_id: int, fmt: str, user: CurrentUser) -> Response:
    rt = rt_of(request)
    _mine(rt, user, referral_id)
    with rt.session() as s:
        doc = s.get(IssuedDocument, document_id)
        if doc is None or doc.referral_id != referral_id or doc.kind not in KIND_LABELS or not doc.path:
            raise HTTPException(404, f"报送 {referral_id} 没有第 {document_id} 号文件")
        kind = KIND_LABELS[doc.kind]
    docx = Path(doc.path)
    if not docx.resolve().is_relative_to(rt.settings.data_dir.resolve()):
        raise HTTPException(404, "文件不在数据目录中")
    path = docx if fmt == "docx" else _pdf_of(docx, kind)
    if not path.is_file():
        raise HTTPException(404, f"该期{kind}的文件已不在数据目录中")
    audit(rt, request, user.username, "referral.download", "referral", referral_id, document=document_id, format=fmt)
    return FileResponse(path, media_type=DOCX if fmt == "docx" else "application/pdf",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(path.name)}"})


def _pdf_of(docx: Path, kind: str) -> Path:
    """The PDF beside the DOCX, printed once from the page kept at issue."""
    pdf, page = docx.with_suffix(".pdf"), docx.with_suffix(".html")
    if pdf.is_file() or not page.is_file():
        return pdf
    try:
        data = html_to_pdf(page.read_text(encoding="utf-8"))
    except PdfError as exc:
        raise HTTPException(503, f"{kind} PDF 暂时无法生成：{exc}") from None
    partial = pdf.with_suffix(".pdf.part")
    partial.write_bytes(data)
    partial.replace(pdf)  # whole or not at all, if two downloads race
    return pdf


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
    rt = rt_of(request)
    _mine(rt, user, referral_id)
    referrals.acknowledge(rt, referral_id, user.username, note=note.strip())
    audit(rt, request, user.username, "referral.acknowledge", "referral", referral_id, note=note.strip())
    flash(request, f"已签收报送 #{referral_id}")
    return back(request, "/liaison")


@router.post("/referrals/{referral_id}/notes")
def add_note(request: Request, referral_id: RecordId, text: str = Form(..., min_length=1, max_length=5000),
             user: CurrentUser = LiaisonUser) -> Response:
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
    rt = rt_of(request)
    try:
        state = referrals.check_ack_token(rt, token)
    except InvalidAckLink as exc:
        return render(request, "ack.html", status_code=403, token="", state=None, error=str(exc))
    return render(request, "ack.html", token=token, state=state, done=state.acknowledged_at is not None)


@router.post("/ack/{token}")
def ack_by_token(request: Request, token: str, name: str = Form(..., min_length=1, max_length=100),
                 note: str = Form("", max_length=2000)) -> Response:
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
