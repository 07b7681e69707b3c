"""Stored and audited like tickets: each draft assessed is a revision (who, when, the draft, the
result, what changed from the draft before), the final plan is marked, and every action is in
the audit log (操作日志)."""

from __future__ import annotations

import dataclasses
import difflib
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.exceptions import NotFound, YuqingError
from yuqing.models import Assessment, AssessmentRevision, AssessmentState, AuditEntry

from .assess import Foresight

FIELD_NAMES = {"title": "标题", "affected": "受影响群体", "date": "出台日期", "channel": "发布渠道",
               "watch_words": "关注词", "watch_days": "关注天数", "section": "主管科室"}


def result_dict(f: Foresight) -> dict[str, Any]:
    """The assessment as stored (JSON): everything but the draft, which is kept on its own."""
    out = {k: v for k, v in dataclasses.asdict(f).items() if k != "draft"}
    return out


def draft_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two drafts, in words for the record."""
    out = []
    for key, name in FIELD_NAMES.items():
        if before.get(key) != after.get(key):
            out.append(f"{name}由「{_shown(before.get(key))}」改为「{_shown(after.get(key))}」")
    old, new = before.get("text", "").split("\n"), after.get("text", "").split("\n")
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "replace":
            out += [f"正文第{j1 + k + 1}段改为「{new[j1 + k]}」" for k in range(j2 - j1)]
            out += [f"删去原第{i1 + k + 1}段「{old[i1 + k]}」" for k in range(j2 - j1, i2 - i1)]
        elif op == "insert":
            out += [f"新增正文第{j + 1}段「{new[j]}」" for j in range(j1, j2)]
        elif op == "delete":
            out += [f"删去原第{i + 1}段「{old[i]}」" for i in range(i1, i2)]
    return out


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(map(str, value))
    return "" if value is None else str(value)


def watch_window(planned: date | None, days: int, tz: str) -> tuple[datetime | None, datetime | None]:
    """From the planned date's midnight in the bureau's zone, for ``days`` days (stored UTC)."""
    if planned is None:
        return None, None
    start = datetime.combine(planned, time(0), ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))
    return start, start + timedelta(days=days)


def record(s: Session, f: Foresight, by: str, now: datetime, tz: str,
           assessment_id: int | None = None, plan_path: str = "") -> AssessmentRevision:
    """Store the assessment of a draft as a new revision (of ``assessment_id``, or a new assessment)."""
    if assessment_id is None:
        assessment = Assessment(title=f.draft.title, created_at=now, created_by=by, updated_at=now,
                                watch_words=[], watch_places=[], review={})
        s.add(assessment)
        s.flush()
    else:
        assessment = get(s, assessment_id)
        if assessment.state != AssessmentState.DRAFT:
            raise YuqingError(f"评估 #{assessment.id} 已{AssessmentState(assessment.state).label}，不能再提交新稿")
    previous = assessment.revisions[-1] if assessment.revisions else None
    draft = f.draft.to_dict()
    changes = draft_changes(previous.draft, draft) if previous else []
    if previous and previous.result.get("grade") != f.grade:
        changes.append(f"风险等级由{previous.result.get('grade')}变为{f.grade}")
    revision = AssessmentRevision(assessment_id=assessment.id, number=(previous.number + 1) if previous else 1,
                                  at=now, by=by, draft=draft, result=_jsonable(result_dict(f)), changes=changes,
                                  plan_path=plan_path)
    s.add(revision)
    assessment.title = f.draft.title
    assessment.updated_at = now
    assessment.watch_words = list(f.watch_words)
    assessment.watch_places = list(f.places)
    assessment.watch_starts_at, assessment.watch_ends_at = watch_window(f.draft.planned, f.draft.watch_days, tz)
    s.flush()
    s.add(AuditEntry(at=now, actor=by, action="foresee.assess", target_type="assessment", target_id=assessment.id,
                     detail={"revision": revision.number, "grade": f.grade, "changes": len(changes)}))
    return revision


def finalise(s: Session, assessment_id: int, by: str, now: datetime, number: int | None = None) -> Assessment:
    """Mark a revision (the latest by default) as the final plan (定稿)."""
    assessment = get(s, assessment_id)
    if assessment.state != AssessmentState.DRAFT:
        raise YuqingError(f"评估 #{assessment.id} 已{AssessmentState(assessment.state).label}")
    numbers = [r.number for r in assessment.revisions]
    chosen = number or max(numbers)
    if chosen not in numbers:
        raise NotFound(f"评估 #{assessment.id} 没有第 {chosen} 稿（现有：{'、'.join(map(str, numbers))}）")
    assessment.state = AssessmentState.FINAL
    assessment.final_revision = chosen
    assessment.finalised_at, assessment.finalised_by = now, by
    assessment.updated_at = now
    s.add(AuditEntry(at=now, actor=by, action="foresee.finalise", target_type="assessment",
                     target_id=assessment.id, detail={"revision": chosen}))
    return assessment


def get(s: Session, assessment_id: int) -> Assessment:
    assessment = s.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"没有编号为 {assessment_id} 的风险评估")
    return assessment


def revision_of(assessment: Assessment, number: int | None = None) -> AssessmentRevision:
    """The final revision if there is one, else the latest (or the one numbered)."""
    wanted = number or assessment.final_revision or assessment.revisions[-1].number
    return next(r for r in assessment.revisions if r.number == wanted)


def listing(s: Session) -> list[Assessment]:
    return list(s.scalars(select(Assessment).order_by(Assessment.id.desc())))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
