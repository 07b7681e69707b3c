"""回应工单 (response tickets): one per event, opened by a job, worked through the web app.

``consider_event`` (job, queue ``respond``) opens the one ticket of an event that reached the
profile's level or matched a watch word, re-opens it when the event flares again after
closing, applies tighter clocks when the level rises, and routes referrals. Opening is
idempotent under concurrent workers: the unique ``tickets.event_id`` decides, and the loser of
the race retries as an update. The functions the web app calls take ``rt`` first, record who,
when and why (TicketChange), and raise a :mod:`.exceptions` error on an illegal change.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yuqing.alerts.actions import merged_reason
from yuqing.clock import fmt
from yuqing.levels import Level
from yuqing.models import (
    AuditEntry,
    Deadline,
    DeadlineKind,
    Event,
    EventStatus,
    Ticket,
    TicketChange,
    TicketPause,
    TicketResponse,
    TicketState,
)
from yuqing.runtime import Runtime
from yuqing.store import after_commit
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

from . import clocks
from .exceptions import BadAssignment, BadResponse, IllegalTransition, PauseError, TicketNotFound
from .workflow import (
    DISMISSED,
    MERGED,
    SYSTEM,
    choose_section,
    close_blocker,
    closed_as_dismissed,
    lead_leader,
    qualifies,
    transition_blocker,
)

log = logging.getLogger(__name__)
S = TicketState
# A response time may run ahead of this server's clock by a little (the monitor's watch), no more.
CLOCK_TOLERANCE = timedelta(minutes=5)


def consider(rt: Runtime, event_id: int) -> int | None:
    """Open, re-open or update the event's ticket if its level calls for one; the ticket id.

    The ``consider_event`` job (queue/jobs.py) runs it for every event analysis changed.
    """
    return _upsert(rt, int(event_id), by=SYSTEM, force=False)


def open_ticket_for_event(rt: Runtime, event_id: int, by: str) -> int:
    """Open a ticket from the console whatever the event's level (idempotent); the ticket id."""
    ticket_id = _upsert(rt, int(event_id), by=by, force=True)
    assert ticket_id is not None
    _refer_in_a_worker(rt, int(event_id))
    return ticket_id


def follow_judgement(rt: Runtime, event_id: int, by: str, how: str = "人工研判") -> int | None:
    """After the monitor set the event's level (人工研判, or 恢复自动研判: ``how``, said in the
    ticket's history): the same path as an automatic rise.

    Opens the ticket if the level now qualifies, or raises the ticket's level with the tighter
    clocks counting from now, then has a worker route the referrals (and their 续报) exactly as
    :func:`consider` does; the change is recorded under the monitor's name. The ticket id.
    """
    ticket_id = _upsert(rt, int(event_id), by=by, force=False, how=how)
    if ticket_id is not None:
        _refer_in_a_worker(rt, int(event_id))
    return ticket_id


def _refer_in_a_worker(rt: Runtime, event_id: int) -> None:
    """Route the referrals and print their 专报/续报 in a worker (the ``consider_event`` job), not
    in the monitor's request: printing holds the store's write lock for seconds, and under a
    busy SQLite the request failed with "database is locked" after the level had changed."""
    enqueue("respond", registry.CONSIDER_EVENT, event_id,
            job_id=f"consider-{event_id}-by-hand-{int(rt.now().timestamp() * 1000)}")


def close_dismissed(s: Session, ticket_id: int, by: str, reason: str, now: datetime) -> None:
    """关闭 the ticket of an event the monitor dismissed (排除): a false alarm has nothing to
    answer, so the response and cool-down rules do not apply; the reason is required and kept.
    It runs in the review's own transaction ``s`` (:mod:`.dismissal`).

    Once that commits, the departments the event was referred to get their 终报, which says the
    event was dismissed (they would otherwise go on handling a false alarm, reminded to sign
    for it every few hours). No 事后回应报告 is queued: there was no response to report; the
    ticket page builds one on demand, its timeline ending in the dismissal."""
    if not reason.strip():
        raise IllegalTransition("排除事件并关闭工单须写明原因")
    ticket = _load(s, ticket_id)
    if ticket.state == S.CLOSED:
        return
    _close(s, ticket, by, now, f"{DISMISSED}{reason.strip()}")
    after_commit(s, lambda: _enqueue_final_reports(ticket_id, now))


def close_merged(s: Session, rt: Runtime, event_id: int, kept: int) -> int | None:
    """关闭 the ticket of an event merged into event ``kept`` (one incident) as 已合并, after its
    work is carried onto the kept event's ticket (:func:`_carry_over`: its 回应记录 and clocks;
    the kept event's ticket is opened for it if it had none, re-opened if it was closed). By
    the closing path of every ticket (its pause ends, its clocks are cancelled), the reason
    pointing to the kept event and ticket, in the ticket's history and the 操作日志. No 终报 and
    no 事后回应报告: the incident is not over, its departments hear of it through the kept event.
    The merged ticket's id, or None when it had none open."""
    ticket = s.scalar(select(Ticket).where(Ticket.event_id == event_id))
    if ticket is None or ticket.state == S.CLOSED:
        return None
    now = rt.now()
    into = _carry_over(s, rt, ticket, kept)
    reason = merged_closing(kept, into.id)
    _close(s, ticket, SYSTEM, now, reason)
    s.add(AuditEntry(at=now, actor=SYSTEM, action="ticket.close", target_type="ticket", target_id=ticket.id,
                     detail={"reason": reason, "kept": kept, "ticket": into.id}))
    return ticket.id


def merged_closing(kept: int, ticket_id: int) -> str:
    """The closing reason of a merged event's ticket: 已合并, and where the work goes on."""
    return f"{MERGED}{merged_reason(kept)}，由工单 #{ticket_id} 继续处置"


def _kept_ticket(s: Session, rt: Runtime, kept: int, other: Ticket) -> Ticket:
    """The kept event's ticket, opened now if it had none (the merged event had one: the incident
    needs its response), re-opened if it was closed (the merged event's is still being worked)."""
    ticket = s.scalar(select(Ticket).where(Ticket.event_id == kept))
    if ticket is None:
        event = s.get(Event, kept)
        if event is None:
            raise TicketNotFound(f"事件 #{kept} 不存在")
        try:
            with s.begin_nested():
                ticket = _open(rt, s, event, SYSTEM)
        except IntegrityError:  # the kept event's own consideration opened it just now
            ticket = s.scalar(select(Ticket).where(Ticket.event_id == kept))
            assert ticket is not None
    elif ticket.state == S.CLOSED:
        _reopen(rt, s, ticket, SYSTEM, f"事件 #{other.event_id} 并入本事件，其工单 #{other.id} 尚在处置")
    return ticket


def _carry_over(s: Session, rt: Runtime, other: Ticket, kept: int) -> Ticket:
    """The merged ticket ``other``'s work onto the kept event's ticket: its 回应记录 move (each is
    the incident's response, and meets the kept ticket's clocks as it met its own), its clocks
    join (:func:`.clocks.carry_over`: the earlier start wins, met on either stays met), the first
    detection is the earlier; a ticket not yet answered is answered now. Recorded in both
    tickets' history and the 操作日志. The kept ticket."""
    now = rt.now()
    ticket = _kept_ticket(s, rt, kept, other)
    responses = list(s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == other.id)))
    for row in responses:
        row.ticket_id = ticket.id
    changed = clocks.carry_over(ticket, other)
    ticket.detected_at = min(ticket.detected_at, other.detected_at)
    s.flush()
    zone = rt.settings.timezone
    moved = "、".join(f"{DeadlineKind(d.kind).label}（{fmt(d.due_at, zone)} 前"
                     + (f"，已于 {fmt(d.met_at, zone)} 完成）" if d.met_at else "）") for d in changed)
    why = (f"合并工单 #{other.id}（事件 #{other.event_id} 已并入本事件）：回应记录 {len(responses)} 条"
           + (f"；时限：{moved}" if moved else ""))
    if responses and ticket.state in (S.NEW, S.ASSIGNED, S.RESPONDING):
        _set_state(s, ticket, S.RESPONDED, SYSTEM, why, now)
    else:
        _record(s, ticket, SYSTEM, ticket.state, ticket.state, why, now)
        ticket.updated_at = now
    s.add(AuditEntry(at=now, actor=SYSTEM, action="ticket.merged", target_type="ticket", target_id=ticket.id,
                     detail={"from_ticket": other.id, "event": other.event_id, "responses": [r.id for r in responses],
                             "clocks": [d.id for d in changed]}))
    if ticket.state != S.CLOSED:
        clocks.schedule(rt, s, changed)
    return ticket


def _upsert(rt: Runtime, event_id: int, by: str, force: bool, how: str = "人工研判") -> int | None:
    for _attempt in range(3):
        try:
            with rt.session() as s:
                event = s.get(Event, event_id)
                if event is None:
                    if force:
                        raise TicketNotFound(f"事件 #{event_id} 不存在")
                    log.warning("consider_event: event %s is gone", event_id)
                    return None
                if event.merged_into is not None:
                    if force:
                        raise IllegalTransition(f"事件 #{event_id} {merged_reason(event.merged_into)}，请在该事件下处置")
                    return None  # its items and its response are the kept event's
                ticket = s.scalar(select(Ticket).where(Ticket.event_id == event_id))
                if ticket is None:
                    if not force and not qualifies(rt.profile, event):
                        return None
                    ticket = _open(rt, s, event, by, "人工开立" if force else how)
                else:
                    _follow_event(rt, s, ticket, event, by, how)
                return ticket.id
        except IntegrityError:
            # Another worker opened this event's ticket between our look and our insert:
            # go round again and take the update path.
            log.info("event %s: ticket opened concurrently; updating instead", event_id)
    raise RuntimeError(f"event {event_id}: could not open or update its ticket")


def _record(s: Session, ticket: Ticket, by: str, from_state: str, to_state: str, reason: str,
            at: datetime) -> None:
    s.add(TicketChange(ticket_id=ticket.id, at=at, by=by, from_state=from_state, to_state=to_state,
                       reason=reason))


def _set_state(s: Session, ticket: Ticket, to: TicketState, by: str, reason: str, now: datetime) -> None:
    _record(s, ticket, by, ticket.state, to, reason, now)
    ticket.state = to
    ticket.updated_at = now


def _open(rt: Runtime, s: Session, event: Event, by: str, how: str = "人工开立") -> Ticket:
    """The event's ticket, opened now; ``how``: what the person did, where one opened it (开立工单
    on the console, or a level judged or restored there)."""
    now = rt.now()
    level = Level.parse(event.level)
    ticket = Ticket(event_id=event.id, state=S.NEW, level=level.value, title=event.title, opened_at=now,
                    detected_at=event.first_seen_at, updated_at=now, reopen_count=0)
    s.add(ticket)
    s.flush()  # the unique event_id decides a race here
    why = (f"事件达到{level.value}" if level >= rt.profile.clocks.ticket_min_level
           else f"命中关注词：{'、'.join(event.watch_words)}" if event.watch_words else "人工开立")
    if by != SYSTEM:
        why = f"{how}（{why}）"
    _record(s, ticket, by, "", S.NEW, why, now)
    section, reason, lead = choose_section(rt.profile, event)
    ticket.section_key, ticket.section_name, ticket.lead_leader = section.key, section.name, lead
    ticket.assignment_reason = reason
    _set_state(s, ticket, S.ASSIGNED, SYSTEM, reason, now)
    # The clocks count from the event's first detection (61号/80号), not from the ticket.
    added = clocks.add_missing(s, ticket, level, event.first_seen_at, rt.profile.clocks)
    clocks.schedule(rt, s, added)
    log.info("ticket %s opened for event %s (%s)", ticket.id, event.id, level.value)
    return ticket


def _follow_event(rt: Runtime, s: Session, ticket: Ticket, event: Event, by: str = SYSTEM,  # noqa: PLR0913
                  how: str = "人工研判") -> None:
    now = rt.now()
    new, old = Level.parse(event.level), Level.parse(ticket.level)
    if ticket.state == S.CLOSED and ticket.closed_at and event.last_seen_at > ticket.closed_at:
        if not closed_as_dismissed(ticket):
            _reopen(rt, s, ticket, SYSTEM, f"事件再次发酵：{fmt(event.last_seen_at, rt.settings.timezone)} 出现新信息")
        elif new > old:  # more posts of a false alarm are not news; a rise above its judged level is
            _reopen(rt, s, ticket, SYSTEM, f"经排除的事件等级升至{new.value}")
    if new > old:
        ticket.level = new.value
        ticket.updated_at = now
        # A rise is not retroactive: the tighter clocks count from now, never born breached.
        added = clocks.add_missing(s, ticket, new, now, rt.profile.clocks)
        lead = lead_leader(rt.profile, new)
        if lead and not ticket.lead_leader:
            ticket.lead_leader = lead
            ticket.assignment_reason += f"；升为特别重大，由主要负责同志（{lead}）牵头"
        extra = "、".join(f"{DeadlineKind(d.kind).label}（{fmt(d.due_at, rt.settings.timezone)} 前）" for d in added)
        said = f"（{how}）" if by != SYSTEM else ""
        _record(s, ticket, by, ticket.state, ticket.state,
                f"等级由{old.value}升为{new.value}{said}" + (f"，新增时限：{extra}" if extra else ""), now)
        if ticket.state != S.CLOSED:
            clocks.schedule(rt, s, added)
    if event.title and event.title != ticket.title:
        ticket.title = event.title


# ---- actions from the console ------------------------------------------------------------

def _load(s: Session, ticket_id: int) -> Ticket:
    ticket = s.get(Ticket, int(ticket_id))
    if ticket is None:
        raise TicketNotFound(f"工单 #{ticket_id} 不存在")
    return ticket


def _has_response(s: Session, ticket: Ticket) -> bool:
    return bool(s.scalar(select(func.count(TicketResponse.id)).where(TicketResponse.ticket_id == ticket.id)))


def transition(rt: Runtime, ticket_id: int, to_state: str, by: str, reason: str = "") -> None:
    """Change the state by hand; closing goes through :func:`close`'s rules."""
    try:
        to = TicketState(to_state)
    except ValueError:
        raise IllegalTransition(f"未知状态 {to_state!r}，应为 {', '.join(s.value for s in TicketState)}") from None
    if to == S.CLOSED:
        close(rt, ticket_id, by, reason)
        return
    with rt.session() as s:
        ticket = _load(s, ticket_id)
        blocker = transition_blocker(ticket, to, _has_response(s, ticket))
        if blocker:
            raise IllegalTransition(blocker)
        _set_state(s, ticket, to, by, reason, rt.now())


def assign(rt: Runtime, ticket_id: int, section_key: str, by: str, assignee: str = "") -> None:
    """指派回应主体: a section of the profile, optionally a person in it."""
    keys = [sec.key for sec in rt.profile.sections]
    if section_key not in keys:
        raise BadAssignment(f"未知科室 {section_key!r}，应为 {', '.join(keys)}")
    with rt.session() as s:
        ticket = _load(s, ticket_id)
        if ticket.state == S.CLOSED:
            raise IllegalTransition(f"工单 #{ticket.id} 已关闭，须先重新打开才能分派")
        section = rt.profile.section(section_key)
        ticket.section_key, ticket.section_name, ticket.assignee = section.key, section.name, assignee
        reason = f"{by} 指派给 {section.name}" + (f" {assignee}" if assignee else "")
        ticket.assignment_reason = reason
        now = rt.now()
        if ticket.state == S.NEW:
            _set_state(s, ticket, S.ASSIGNED, by, reason, now)
        else:
            _record(s, ticket, by, ticket.state, ticket.state, "改派：" + reason, now)
            ticket.updated_at = now


def record_response(rt: Runtime, ticket_id: int, by: str, kind: str, channel: str, link: str, text: str,
                    responded_at: datetime) -> int:
    """回应记录 (channel, link or text, time); meets the clocks it answers; the response id."""
    try:
        what = DeadlineKind(kind)
    except ValueError:
        raise BadResponse(f"未知回应类型 {kind!r}，应为 {', '.join(k.value for k in DeadlineKind)}") from None
    if not channel.strip():
        raise BadResponse("回应须注明发布渠道")
    if not link.strip() and not text.strip():
        raise BadResponse("回应须有链接或正文")
    if link.strip() and not link.strip().startswith(("http://", "https://")):
        raise BadResponse("回应链接应以 http:// 或 https:// 开头")
    now = rt.now()
    with rt.session() as s:
        ticket = _load(s, ticket_id)
        if ticket.state == S.CLOSED:
            raise IllegalTransition(f"工单 #{ticket.id} 已关闭，须先重新打开才能记录回应")
        responded_at = _checked_time(rt, ticket, responded_at, now)
        row = TicketResponse(ticket_id=ticket.id, kind=what, channel=channel.strip(), link=link.strip(),
                             text=text.strip(), responded_at=responded_at, recorded_by=by, recorded_at=now)
        s.add(row)
        first_met = any(d.kind == DeadlineKind.FIRST_RESPONSE and d.met_at for d in ticket.deadlines)
        meets = {what, DeadlineKind.FIRST_RESPONSE}
        if what == DeadlineKind.PRESS_CONFERENCE:
            meets.add(DeadlineKind.AUTHORITATIVE_INFO)  # a press conference publishes authoritative information
        if first_met:
            meets.add(DeadlineKind.FOLLOW_UP)  # any later publication keeps the cadence (持续发布)
        met = [d for d in ticket.deadlines if clocks.is_open(d) and d.kind in meets
               and (d.kind != DeadlineKind.FOLLOW_UP or (d.started_at or responded_at) <= responded_at)]
        for d in met:
            d.met_at = responded_at
        event = s.get(Event, ticket.event_id)
        if met and (event is None or event.status == EventStatus.ACTIVE):
            follow = clocks.add_follow_up(s, ticket, responded_at, rt.profile.clocks)
            if follow:
                clocks.schedule(rt, s, [follow])
        why = f"记录回应：{what.label}（{channel.strip()}）"
        if ticket.state in (S.NEW, S.ASSIGNED, S.RESPONDING):
            _set_state(s, ticket, S.RESPONDED, by, why, now)
        elif ticket.state == S.RESPONDED:
            _set_state(s, ticket, S.FOLLOWING_UP, by, why, now)
        s.flush()
        return row.id


def _checked_time(rt: Runtime, ticket: Ticket, when: datetime, now: datetime) -> datetime:
    """A response time the regulation's record can hold: not before the event was detected (the
    clocks start there), not in the future beyond :data:`CLOCK_TOLERANCE` (then taken as now).
    A typo like 2000-01-01 used to mark the 5 h and 48 h clocks met in 1999."""
    zone = rt.settings.timezone
    if when.tzinfo is None:
        raise BadResponse("回应时间须带时区")
    if when < ticket.detected_at:
        raise BadResponse(f"回应时间 {fmt(when, zone)} 早于事件首次发现时间 {fmt(ticket.detected_at, zone)}，请核对")
    if when > now + CLOCK_TOLERANCE:
        raise BadResponse(f"回应时间 {fmt(when, zone)} 晚于现在（{fmt(now, zone)}），请核对")
    return min(when, now)


def correct_response_time(rt: Runtime, response_id: int, by: str, responded_at: datetime, reason: str) -> None:
    """更正回应时间: its own action, with a reason, kept in the ticket's history.

    The clocks this response met move with it; a clock it no longer meets in time is reopened
    and checked again (so a real breach is still reported).
    """
    if not reason.strip():
        raise BadResponse("更正回应时间须写明原因")
    with rt.session() as s:
        row = s.get(TicketResponse, int(response_id))
        if row is None:
            raise BadResponse(f"回应记录 #{response_id} 不存在")
        ticket = _load(s, row.ticket_id)
        now = rt.now()
        new = _checked_time(rt, ticket, responded_at, now)
        old = row.responded_at
        row.responded_at = new
        moved = []
        for d in ticket.deadlines:
            if d.met_at == old:
                in_time = new <= d.due_at
                d.met_at = new if in_time else None
                if not in_time:
                    moved.append(d)
        zone = rt.settings.timezone
        _record(s, ticket, by, ticket.state, ticket.state,
                f"更正回应时间：{fmt(old, zone)} → {fmt(new, zone)}；原因：{reason.strip()}", now)
        ticket.updated_at = now
        clocks.schedule(rt, s, moved)


def pause(rt: Runtime, ticket_id: int, by: str, reason: str) -> None:
    """暂停计时, only with a reason; logged and shown in the history and the report."""
    if not reason.strip():
        raise PauseError("暂停计时须写明原因")
    with rt.session() as s:
        ticket = _load(s, ticket_id)
        if ticket.state == S.CLOSED:
            raise PauseError(f"工单 #{ticket.id} 已关闭，不能暂停计时")
        if ticket.paused_since:
            open_pause = s.scalar(select(TicketPause).where(TicketPause.ticket_id == ticket.id,
                                                            TicketPause.ended_at.is_(None)))
            who = f"由 {open_pause.paused_by} " if open_pause else ""
            raise PauseError(f"工单 #{ticket.id} 的计时已于 {fmt(ticket.paused_since, rt.settings.timezone)} "
                             f"{who}暂停，不能重复暂停")
        now = rt.now()
        s.add(TicketPause(ticket_id=ticket.id, started_at=now, reason=reason.strip(), paused_by=by))
        ticket.paused_since = now
        _record(s, ticket, by, ticket.state, ticket.state, f"暂停计时：{reason.strip()}", now)


def resume(rt: Runtime, ticket_id: int, by: str) -> float:
    """恢复计时: every open due time moves on by the paused span; the hours paused."""
    with rt.session() as s:
        ticket = _load(s, ticket_id)
        if not ticket.paused_since:
            raise PauseError(f"工单 #{ticket.id} 的计时未暂停，无需恢复")
        now = rt.now()
        _end_pause(s, ticket, by, now)
        span = now - ticket.paused_since
        ticket.paused_since = None
        moved = []
        for d in ticket.deadlines:
            if clocks.is_open(d) and d.breached_at is None:
                # A clock added during the pause (a level rise) only lost the time since it started.
                start = max(d.started_at or ticket.opened_at, now - span)
                shift = now - start if start < now else timedelta(0)
                d.due_at = d.due_at + shift
                moved.append(d)
        hours = span.total_seconds() / 3600
        _record(s, ticket, by, ticket.state, ticket.state, f"恢复计时：暂停 {hours:.1f} 小时，各时限顺延", now)
        clocks.schedule(rt, s, moved)
        return hours


def _end_pause(s: Session, ticket: Ticket, by: str, now: datetime) -> None:
    for p in s.scalars(select(TicketPause).where(TicketPause.ticket_id == ticket.id, TicketPause.ended_at.is_(None))):
        p.ended_at, p.resumed_by = now, by


def _close(s: Session, ticket: Ticket, by: str, now: datetime, why: str) -> None:
    """The closing itself, for both ways a ticket closes: the pause ends, open clocks are cancelled."""
    if ticket.paused_since:
        _end_pause(s, ticket, by, now)
        ticket.paused_since = None
    for d in ticket.deadlines:
        if clocks.is_open(d):
            d.cancelled_at = now
    ticket.closed_at = now
    _set_state(s, ticket, S.CLOSED, by, why, now)


def close(rt: Runtime, ticket_id: int, by: str, reason: str = "") -> None:
    """关闭: needs ≥1 recorded response and the event quiet for the profile's cool-down."""
    with rt.session() as s:
        ticket = _load(s, ticket_id)
        event = s.get(Event, ticket.event_id)
        now = rt.now()
        blocker = close_blocker(ticket, event, _has_response(s, ticket), now, rt.profile.clocks.cool_down_hours,
                                rt.settings.timezone)
        if blocker:
            raise IllegalTransition(blocker)
        if ticket.state not in (S.RESPONDED, S.FOLLOWING_UP):
            here = TicketState(ticket.state)
            raise IllegalTransition(f"工单 #{ticket.id} 不能从「{here.label}」改为「已关闭」：须先完成回应")
        _close(s, ticket, by, now, reason or "事件平息，回应完成")
    _enqueue_report(rt, ticket_id)


def _enqueue_report(rt: Runtime, ticket_id: int) -> None:
    """事后回应报告 is generated, and the 终报 sent to the departments, whenever a ticket closes."""
    try:
        stamp = rt.now().strftime("%Y%m%d%H%M%S")
        enqueue("respond", registry.GENERATE_REPORT, ticket_id, job_id=f"report-ticket-{ticket_id}-{stamp}")
    except Exception as exc:  # noqa: BLE001 - the close stands; the report can be built on demand
        log.warning("could not queue the report of ticket %s: %s", ticket_id, exc)
    _enqueue_final_reports(ticket_id, rt.now())


def _enqueue_final_reports(ticket_id: int, now: datetime) -> None:
    """The 终报 of every department the closed ticket's event was referred to."""
    try:
        enqueue("respond", registry.FINAL_REPORTS, ticket_id,
                job_id=f"final-ticket-{ticket_id}-{now.strftime('%Y%m%d%H%M%S')}")
    except Exception as exc:  # noqa: BLE001 - the close stands; the sweep does not resend, so say so
        log.error("could not queue the 终报 of ticket %s: %s", ticket_id, exc)


def reopen(rt: Runtime, ticket_id: int, by: str, reason: str) -> None:
    """重新打开 a closed ticket (by hand, or when the event flares again)."""
    if not reason.strip():
        raise IllegalTransition("重新打开工单须写明原因")
    with rt.session() as s:
        _reopen(rt, s, _load(s, ticket_id), by, reason.strip())


def _reopen(rt: Runtime, s: Session, ticket: Ticket, by: str, reason: str) -> None:
    if ticket.state != S.CLOSED:
        raise IllegalTransition(f"工单 #{ticket.id} 未关闭（当前「{TicketState(ticket.state).label}」），无需重新打开")
    now = rt.now()
    ticket.reopen_count += 1
    ticket.closed_at = None
    _set_state(s, ticket, S.ASSIGNED if ticket.section_key else S.NEW, by, f"重新打开：{reason}", now)
    # Back to publishing authoritative information as the event develops (61号 持续发布).
    follow = clocks.add_follow_up(s, ticket, now, rt.profile.clocks)
    if follow:
        clocks.schedule(rt, s, [follow])


def open_deadlines(s: Session, ticket_id: int) -> list[Deadline]:
    return list(s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id, Deadline.met_at.is_(None),
                                                 Deadline.cancelled_at.is_(None)).order_by(Deadline.due_at)))
