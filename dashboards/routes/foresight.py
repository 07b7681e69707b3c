"""事前研判 pages: the office enters a draft policy, sees its 舆情风险评估, downloads the 解读回应预案,
submits the next draft and marks the final plan. Every action calls ``yuqing.foresight`` (which
stores the revision and writes the audit log); this module only validates the form."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, Response

from yuqing.exceptions import YuqingError
from yuqing.foresight import records
from yuqing.foresight.draft import MAX_DRAFT_CHARS, WATCH_DAYS, parse_mapping
from yuqing.foresight.exceptions import DraftError
from yuqing.foresight.service import assess_and_record, plan_folder
from yuqing.models import AssessmentState

from ..auth import CurrentUser, MonitorUser, StaffUser
from ..templating import flash, render
from ._util import NO_NUL, RecordId, back, rt_of

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/foresight")
def foresight_list(request: Request, user: CurrentUser = StaffUser) -> Response:
    rt = rt_of(request)
    with rt.session() as s:
        rows = [(a, a.revisions[-1].result if a.revisions else {}, len(a.revisions)) for a in records.listing(s)]
    return render(request, "foresight_list.html", rows=rows, states={st.value: st.label for st in AssessmentState},
                  sections=rt.profile.sections, watch_days=WATCH_DAYS, max_chars=MAX_DRAFT_CHARS)


@router.post("/foresight")
def foresight_submit(request: Request, title: str = Form("", max_length=500), text: str = Form("", max_length=MAX_DRAFT_CHARS),
                     affected: str = Form("", max_length=2000), date: str = Form("", max_length=20),
                     channel: str = Form("", max_length=100), section: str = Form("", max_length=100),
                     watch_days: str = Form("", max_length=3), assessment_id: str = Form("", max_length=10),
                     user: CurrentUser = MonitorUser) -> Response:
    rt = rt_of(request)
    fields = {"title": title, "text": text, "affected": affected, "date": date, "channel": channel,
              "section": section, "watch_days": watch_days}
    try:
        draft = parse_mapping(fields, "草案")
    except DraftError as exc:
        raise HTTPException(422, str(exc)) from None
    if section and section not in {s.key for s in rt.profile.sections}:
        raise HTTPException(422, f"section: 未知科室 {section!r}")
    target = None
    if assessment_id.strip():
        if not assessment_id.strip().isdigit():
            raise HTTPException(422, f"assessment_id: 评估编号应为正整数，而不是 {assessment_id!r}")
        target = int(assessment_id)
    done = assess_and_record(rt, draft, user.username, target)
    flash(request, f"已完成风险评估 #{done.assessment_id} 第 {done.number} 稿：风险{done.foresight.grade}")
    return back(request, f"/foresight/{done.assessment_id}")


@router.get("/foresight/{assessment_id}")
def foresight_page(request: Request, assessment_id: RecordId, user: CurrentUser = StaffUser) -> Response:
    rt = rt_of(request)
    with rt.session() as s:
        try:
            a = records.get(s, assessment_id)
        except YuqingError as exc:
            raise HTTPException(404, str(exc)) from None
        current = records.revision_of(a)
        revisions = list(a.revisions)
    return render(request, "foresight.html", a=a, current=current, revisions=revisions,
                  state_label=AssessmentState(a.state).label)


@router.post("/foresight/{assessment_id}/final")
def foresight_final(request: Request, assessment_id: RecordId, revision: str = Form("", max_length=10),
                    user: CurrentUser = MonitorUser) -> Response:
    rt = rt_of(request)
    number = int(revision) if revision.strip().isdigit() else None
    with rt.session() as s:
        a = records.finalise(s, assessment_id, user.username, rt.now(), number)
        flash(request, f"风险评估 #{a.id} 已定稿：第 {a.final_revision} 稿")
    return back(request, f"/foresight/{assessment_id}")


@router.get("/foresight/{assessment_id}/plan/{number}")
def foresight_plan(request: Request, assessment_id: RecordId, number: RecordId, user: CurrentUser = StaffUser) -> Response:
    rt = rt_of(request)
    with rt.session() as s:
        a = records.get(s, assessment_id)
        revision = next((r for r in a.revisions if r.number == number), None)
        if revision is None or not revision.plan_path:
            raise HTTPException(404, f"风险评估 #{assessment_id} 没有第 {number} 稿的预案")
        path = Path(revision.plan_path).resolve()
    if not path.is_relative_to(plan_folder(rt).resolve()) or not path.is_file():
        raise HTTPException(404, f"风险评估 #{assessment_id} 第 {number} 稿的预案文件不在归档目录中")
    return FileResponse(path, media_type=DOCX, filename=f"解读回应预案-评估{assessment_id}-第{number}稿.docx")
