"""临时关注 after release, and the 评估 that checks the forecast.

From the planned date, for the draft's ``watch_days`` (14 by default), the draft's key words and
places are a temporary watch rule with an end date: analysis scores every item with the active
rules (:func:`yuqing.analysis.watches.apply_watches`), so an item about the policy carries the watch words, a reason
and ``flags["foresight"]``. When the window has passed, :func:`review_due` (periodic) writes a
short 评估: the volume seen, the level reached, which forecast concerns appeared, and whether the
responses were on time.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any, cast

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yuqing.analysis.watches import Watch, matched_words
from yuqing.clock import utc
from yuqing.levels import max_level
from yuqing.models import Assessment, AssessmentState, AuditEntry, Deadline, Item, Ticket
from yuqing.runtime import get_runtime

from .concerns import evidence_in
from .lexicon import CONCERNS
from .records import revision_of

log = logging.getLogger(__name__)
MAX_REVIEW_ITEMS = 20_000


def _items(s: Session, a: Assessment) -> list[Item]:
    watch = Watch(a.id, a.title, tuple(a.watch_words or ()), tuple(p["name"] for p in a.watch_places or ()),
                  utc(cast(datetime, a.watch_ends_at)))  # only watched assessments are evaluated
    if not watch.words:
        return []
    like = [Item.title.contains(w) for w in watch.words] + [Item.text.contains(w) for w in watch.words]
    rows = s.scalars(select(Item).where(Item.fetched_at >= a.watch_starts_at, Item.fetched_at < a.watch_ends_at,
                                        or_(*like)).order_by(Item.id).limit(MAX_REVIEW_ITEMS))
    return [it for it in rows if matched_words(watch, f"{it.title}\n{it.text}")]


def _responses(s: Session, event_ids: list[int]) -> dict[str, int]:
    if not event_ids:
        return {"tickets": 0, "met": 0, "late": 0, "open": 0}
    deadlines = s.scalars(select(Deadline).join(Ticket).where(Ticket.event_id.in_(event_ids),
                                                              Deadline.cancelled_at.is_(None))).all()
    met = sum(1 for d in deadlines if d.met_at is not None and d.met_at <= d.due_at)
    late = sum(1 for d in deadlines if d.breached_at is not None or (d.met_at is not None and d.met_at > d.due_at))
    tickets = len({d.ticket_id for d in deadlines})
    return {"tickets": tickets, "met": met, "late": late, "open": len(deadlines) - met - late}


def review(s: Session, assessment: Assessment, now: datetime, by: str = "系统") -> dict[str, Any]:
    """评估: what happened in the watch window against the forecast of the final (or latest) draft."""
    forecast = revision_of(assessment).result
    items = _items(s, assessment)
    events = sorted({it.event_id for it in items if it.event_id})
    levels = [it.level for it in items if it.level]
    reached = max_level(*levels).value if levels else ""
    forecast_concerns = [c["question"] for c in forecast.get("concerns", [])]
    seen = Counter(kind.question for kind in CONCERNS for it in items if evidence_in(it, kind))
    out = {
        "items": len(items), "events": events, "level_reached": reached,
        "forecast_grade": forecast.get("grade", ""), "forecast_level": forecast.get("expected_level", ""),
        "concerns_appeared": [q for q in forecast_concerns if seen.get(q)],
        "concerns_not_appeared": [q for q in forecast_concerns if not seen.get(q)],
        "concerns_unforeseen": [q for q, _ in seen.most_common() if q not in forecast_concerns],
        "concern_counts": dict(seen), "responses": _responses(s, events), "item_ids": [it.id for it in items[:50]],
    }
    out["summary"] = summary(out)
    assessment.review = out
    assessment.reviewed_at = now
    assessment.state = AssessmentState.REVIEWED
    assessment.updated_at = now
    s.add(AuditEntry(at=now, actor=by, action="foresee.review", target_type="assessment", target_id=assessment.id,
                     detail={"items": len(items), "level": reached}))
    return out


def summary(r: dict[str, Any]) -> str:
    """The 评估 in a few sentences."""
    if not r["items"]:
        head = "关注期内未监测到与该政策相关的帖文"
    else:
        head = f"关注期内监测到相关帖文 {r['items']} 条，涉及舆情事件 {len(r['events'])} 起，最高达到{r['level_reached'] or '一般'}级"
    forecast = f"；事前研判风险等级为{r['forecast_grade']}" + (
        f"，预计可能达到{r['forecast_level']}级" if r["forecast_level"] else "，无历史参照")
    parts = [head + forecast + "。"]
    if r["concerns_appeared"]:
        parts.append(f"预计关切中出现了：{'、'.join(r['concerns_appeared'])}。")
    if r["concerns_not_appeared"]:
        parts.append(f"未出现：{'、'.join(r['concerns_not_appeared'])}。")
    if r["concerns_unforeseen"]:
        parts.append(f"未预计而出现的关切：{'、'.join(r['concerns_unforeseen'])}。")
    resp = r["responses"]
    if resp["tickets"]:
        parts.append(f"相关回应工单 {resp['tickets']} 件，按时完成时限 {resp['met']} 项，超时 {resp['late']} 项，"
                     f"未到期或未完成 {resp['open']} 项。")
    else:
        parts.append("未形成回应工单。")
    return "".join(parts)


def review_due() -> int:
    """Periodic: review every assessment whose watch has ended and has no 评估 yet."""
    rt = get_runtime()
    now = rt.now()
    done = 0
    with rt.session() as s:
        due = s.scalars(select(Assessment).where(Assessment.watch_ends_at <= now,
                                                 Assessment.state != AssessmentState.REVIEWED)).all()
        for assessment in due:
            review(s, assessment, now)
            done += 1
    if done:
        log.info("foresight: %d assessment(s) reviewed", done)
    return done
