"""回应时限 (response clocks): deadlines in the database, warnings before them, a breach notice after.

The regulations behind the clocks, in wall-clock hours, 24/7, from the event's first detection:

- 国办发〔2016〕61号《关于在政务公开工作中进一步做好政务舆情回应的通知》: 政务舆情 must be
  answered at the latest within **48 hours**; for 特别重大/重大突发事件 a **press conference
  within 24 hours**; afterwards authoritative information keeps being published as work
  progresses (持续发布权威信息), so a ticket does not end at its first response.
- 国办发〔2016〕80号《〈关于全面推进政务公开工作的意见〉实施细则》: for 特别重大/重大突发事件,
  **authoritative information within 5 hours**.

A clock pauses only with a logged reason and who paused it (:mod:`.tickets`); a resume moves
every open due time on by the paused span. Reminders are RQ jobs scheduled at each warning
time and at the due time; the periodic sweep re-checks every open deadline, so a lost job
(Redis restarted, worker dead) costs at most one sweep interval. Firing is idempotent: the
Delivery's unique key (deadline, warning) and ``warnings_sent``/``breached_at`` on the row mean
a warning is recorded once however many jobs and sweeps look at it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.alerts.delivery import create_delivery
from yuqing.documents.dates import cn_datetime
from yuqing.levels import Level
from yuqing.models import Deadline, DeadlineKind, Ticket, TicketResponse, TicketState
from yuqing.profile import Clocks, Contact, Profile
from yuqing.runtime import Runtime, get_runtime
from yuqing.store import after_commit
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

log = logging.getLogger(__name__)

# 依据 of each clock; the hours come from the profile's ``clocks`` (defaults: the regulations' 48, 5, 24).
BASIS = {
    DeadlineKind.FIRST_RESPONSE: "国办发〔2016〕61号：政务舆情最迟在 {hours} 小时内回应",
    DeadlineKind.AUTHORITATIVE_INFO: "国办发〔2016〕80号：特别重大、重大突发事件 {hours} 小时内发布权威信息",
    DeadlineKind.PRESS_CONFERENCE: "国办发〔2016〕61号：特别重大、重大突发事件 {hours} 小时内举行新闻发布会",
    DeadlineKind.FOLLOW_UP: "国办发〔2016〕61号：根据工作进展持续发布权威信息（每 {hours} 小时）",
}


def basis(kind: DeadlineKind, clocks: Clocks) -> str:
    """依据 of clock ``kind``, with the hours this profile runs it for."""
    return BASIS[kind].format(hours=_h(clocks.hours_for(kind)))


def required_clocks(level: str | Level, clocks: Clocks) -> list[tuple[DeadlineKind, float]]:
    """The clocks an event of ``level`` runs: the first response (61号) for every ticket, the
    authoritative information (80号) and the press conference (61号) for 重大 and above."""
    kinds = [DeadlineKind.FIRST_RESPONSE]
    if Level.parse(level).is_major:
        kinds += [DeadlineKind.AUTHORITATIVE_INFO, DeadlineKind.PRESS_CONFERENCE]
    return [(kind, clocks.hours_for(kind)) for kind in kinds]


def is_open(d: Deadline) -> bool:
    return d.met_at is None and d.cancelled_at is None


def add_missing(session: Session, ticket: Ticket, level: str, start: datetime, clocks: Clocks) -> list[Deadline]:
    """Add the fixed clocks ``level`` needs and the ticket lacks, counting from ``start``."""
    have = {d.kind for d in ticket.deadlines}
    added = []
    for kind, hours in required_clocks(level, clocks):
        if kind in have:
            continue
        d = Deadline(kind=kind, seq=0, started_at=start, due_at=start + timedelta(hours=hours), warnings_sent=[])
        ticket.deadlines.append(d)
        added.append(d)
    session.flush()
    return added


def add_follow_up(session: Session, ticket: Ticket, start: datetime, clocks: Clocks) -> Deadline | None:
    """The next 持续发布 clock, unless one is already open."""
    follow = [d for d in ticket.deadlines if d.kind == DeadlineKind.FOLLOW_UP]
    if any(is_open(d) for d in follow):
        return None
    seq = max((d.seq for d in follow), default=0) + 1
    d = Deadline(kind=DeadlineKind.FOLLOW_UP, seq=seq, started_at=start,
                 due_at=start + timedelta(hours=clocks.follow_up_hours), warnings_sent=[])
    ticket.deadlines.append(d)
    session.flush()
    return d


def carry_over(ticket: Ticket, other: Ticket) -> list[Deadline]:
    """The clocks of ``other`` (the ticket of an event merged into ``ticket``'s) carried onto
    ``ticket``: one incident, one set of clocks. Each fixed clock counts from the earlier start
    (61号/80号 count from the incident's first detection, which either event may hold), with that
    start's due time, warnings and breach; a clock met on either ticket stays met, at the earlier
    time. A clock only ``other`` had is added as it stood; of the open 持续发布 clocks, the one due
    first. Returns the clocks of ``ticket`` added or moved (to schedule while open)."""
    changed: list[Deadline] = []
    mine = {d.kind: d for d in ticket.deadlines if d.kind != DeadlineKind.FOLLOW_UP}
    for theirs in sorted(other.deadlines, key=lambda d: (d.kind, d.seq)):
        if theirs.kind == DeadlineKind.FOLLOW_UP or (theirs.cancelled_at is not None and theirs.met_at is None):
            continue  # a clock cancelled unmet (at an earlier closing) is no clock of the incident
        d = mine.get(theirs.kind)
        if d is None:
            d = Deadline(kind=theirs.kind, seq=0, started_at=theirs.started_at, due_at=theirs.due_at,
                         met_at=theirs.met_at, warnings_sent=list(theirs.warnings_sent),
                         breached_at=theirs.breached_at)
            ticket.deadlines.append(d)
            changed.append(d)
            continue
        met = [t for t in (d.met_at, theirs.met_at) if t is not None]
        if (theirs.started_at or other.detected_at) < (d.started_at or ticket.detected_at):
            d.started_at, d.due_at = theirs.started_at, theirs.due_at
            d.warnings_sent, d.breached_at = list(theirs.warnings_sent), theirs.breached_at
            changed.append(d)
        if met and d.met_at != min(met):
            d.met_at, d.cancelled_at = min(met), None
            changed.append(d)
    follow = [d for d in ticket.deadlines if d.kind == DeadlineKind.FOLLOW_UP]
    open_mine = next((d for d in follow if is_open(d)), None)
    open_theirs = next((d for d in other.deadlines if d.kind == DeadlineKind.FOLLOW_UP and is_open(d)), None)
    if open_theirs is not None and (open_mine is None or open_theirs.due_at < open_mine.due_at):
        if open_mine is None:
            open_mine = Deadline(kind=DeadlineKind.FOLLOW_UP, seq=max((d.seq for d in follow), default=0) + 1,
                                 warnings_sent=[])
            ticket.deadlines.append(open_mine)
        open_mine.started_at, open_mine.due_at = open_theirs.started_at, open_theirs.due_at
        open_mine.warnings_sent = list(open_theirs.warnings_sent)
        changed.append(open_mine)
    return list(dict.fromkeys(changed))


def warning_marks(d: Deadline, clocks: Clocks) -> list[float]:
    """Hours-before marks that apply to ``d``: those after its clock started (none at the start itself)."""
    marks = sorted({float(h) for h in clocks.warn_before_hours}, reverse=True)
    if d.started_at is None:
        return marks
    return [h for h in marks if d.due_at - timedelta(hours=h) > d.started_at]


def due_warnings(d: Deadline, clocks: Clocks, now: datetime) -> list[float]:
    sent = {float(h) for h in d.warnings_sent}
    return [h for h in warning_marks(d, clocks) if h not in sent and d.due_at - timedelta(hours=h) <= now]


def _h(hours: float) -> str:
    return f"{hours:g}"


def _section_head(profile: Profile, ticket: Ticket) -> Contact:
    keys = {s.key for s in profile.sections}
    section = profile.section(ticket.section_key) if ticket.section_key in keys else profile.coordinator
    return section.head


def leaders(profile: Profile, level: str) -> list[Contact]:
    """Breach escalation: the supervising leader; for 特别重大 also the principal leader."""
    out = [profile.bureau.supervising_leader]
    if Level.parse(level) == Level.GRAVE:
        out.append(profile.bureau.principal_leader)
    return out


def _notify(rt: Runtime, session: Session, d: Deadline, ticket: Ticket, tag: str, people: list[Contact],
            subject: str, body: str, purpose: str) -> int:
    sent = 0
    for person in people:
        if not person.email:
            log.warning("deadline %s: %s has no e-mail in the profile; notice not sent", d.id, person.name)
            continue
        if create_delivery(session, key=f"deadline:{d.id}:{tag}:{person.email}", purpose=purpose, channel="email",
                           target=person.email, subject=subject, body=body,
                           ref_type="deadline", ref_id=d.id) is not None:
            sent += 1
    return sent


def _body(rt: Runtime, d: Deadline, ticket: Ticket, lead: str) -> str:
    zone = rt.settings.timezone
    kind = DeadlineKind(d.kind)
    return "\n".join([
        lead,
        f"事件：{ticket.title}（{ticket.level}）",
        f"时限：{kind.label}，截止 {cn_datetime(d.due_at, zone)}（北京时间）",
        f"依据：{basis(kind, rt.profile.clocks)}",
        f"首次发现：{cn_datetime(ticket.detected_at, zone)}；回应主体：{ticket.section_name or '未分派'}",
        f"工单：{rt.settings.base_url.rstrip('/')}/tickets/{ticket.id}",
    ])


def fire(rt: Runtime, session: Session, d: Deadline, now: datetime) -> str:
    """Send whatever ``d`` owes at ``now``: a breach notice, else the most urgent due warning."""
    ticket = d.ticket
    if not is_open(d) or d.breached_at is not None or ticket.state == TicketState.CLOSED or ticket.paused_since:
        return "none"
    clocks = rt.profile.clocks
    kind = DeadlineKind(d.kind)
    if now >= d.due_at:
        answered = answered_at(session, d, ticket)
        if answered is not None:
            # A response on record already meets this clock (say, a corrected time): no false
            # 【回应超时】 to the leaders; the record decides, not the job that happened to run.
            d.met_at = answered
            log.info("ticket %s: %s met at %s by a recorded response; no breach", ticket.id, kind.value, answered)
            return "met"
        d.breached_at = now
        d.warnings_sent = sorted({*map(float, d.warnings_sent), *warning_marks(d, clocks)}, reverse=True)
        people = leaders(rt.profile, ticket.level)
        subject = f"【回应超时】{ticket.title}：{kind.label}已逾期"
        lead = f"工单 #{ticket.id} 的「{kind.label}」时限已过，尚未记录回应，请督办。"
        _notify(rt, session, d, ticket, "breach", people, subject, _body(rt, d, ticket, lead), "breach")
        log.warning("ticket %s: %s breached at %s", ticket.id, kind.value, now)
        return "breach"
    due = due_warnings(d, clocks, now)
    if not due:
        return "none"
    urgent = min(due)  # after an outage only the most urgent warning is worth sending
    d.warnings_sent = sorted({*map(float, d.warnings_sent), *due}, reverse=True)
    subject = f"【回应时限预警】{ticket.title}：{kind.label}还剩不到 {_h(urgent)} 小时"
    lead = f"工单 #{ticket.id} 的「{kind.label}」将于 {_h(urgent)} 小时内到期，请及时回应。"
    _notify(rt, session, d, ticket, f"warn{_h(urgent)}", [_section_head(rt.profile, ticket)], subject,
            _body(rt, d, ticket, lead), "deadline")
    return f"warn{_h(urgent)}"


def meeting_kinds(kind: DeadlineKind) -> set[DeadlineKind]:
    """The response kinds that meet a clock of ``kind`` (a press conference publishes authoritative information)."""
    if kind in (DeadlineKind.FIRST_RESPONSE, DeadlineKind.FOLLOW_UP):
        return set(DeadlineKind)
    if kind == DeadlineKind.AUTHORITATIVE_INFO:
        return {DeadlineKind.AUTHORITATIVE_INFO, DeadlineKind.PRESS_CONFERENCE}
    return {kind}


def answered_at(session: Session, d: Deadline, ticket: Ticket) -> datetime | None:
    """The earliest recorded response that meets ``d`` in time (from its start to its due time), if any."""
    start = d.started_at or ticket.detected_at
    kinds = [k.value for k in meeting_kinds(DeadlineKind(d.kind))]
    # A follow-up clock starts at the response that made it: only a later one meets it.
    after = TicketResponse.responded_at > start if d.kind == DeadlineKind.FOLLOW_UP else TicketResponse.responded_at >= start
    return session.scalar(select(TicketResponse.responded_at).where(
        TicketResponse.ticket_id == ticket.id, TicketResponse.kind.in_(kinds), after,
        TicketResponse.responded_at <= d.due_at).order_by(TicketResponse.responded_at).limit(1))


def schedule(rt: Runtime, session: Session, deadlines: list[Deadline]) -> None:
    """After commit, schedule a check job at each warning time and at each due time."""
    plan: list[tuple[int, str, datetime]] = []
    for d in deadlines:
        if not is_open(d) or d.breached_at is not None:
            continue
        sent = {float(h) for h in d.warnings_sent}
        for h in warning_marks(d, rt.profile.clocks):
            if h not in sent:
                plan.append((d.id, f"w{_h(h)}", d.due_at - timedelta(hours=h)))
        plan.append((d.id, "due", d.due_at))
    if plan:
        after_commit(session, lambda: _enqueue_checks(plan))


def _enqueue_checks(plan: list[tuple[int, str, datetime]]) -> None:
    for deadline_id, tag, at in plan:
        # The due time is in the id: after a resume moves it, the new check is a new job.
        enqueue("respond", registry.CHECK_DEADLINE, deadline_id, job_id=f"deadline-{deadline_id}-{tag}-{int(at.timestamp())}",
                at=at, retry=None)


def check_deadline(deadline_id: int) -> str:
    """Job: fire what one deadline owes now (idempotent; the sweep does the same for all)."""
    rt = get_runtime()
    with rt.session() as s:
        d = s.get(Deadline, int(deadline_id))
        if d is None:
            return "none"
        return fire(rt, s, d, rt.now())
