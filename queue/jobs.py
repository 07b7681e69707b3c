"""RQ jobs of the response workflow (回应处置), on the ``respond`` queue: plain functions taking ids.

* :func:`consider_event`: the event's ticket and its referrals; :func:`consider_events` (enqueued
  by analysis, one per batch) runs it for every event the batch changed.
* :func:`final_reports` (enqueued when a ticket closes): the 终报 of every referral.
* :func:`merged_event` (enqueued by analysis): a merged event's alert and ticket settled.
* :func:`sweep`, the periodic deadline sweep (期限巡检, every minute, in yuqing/tasks/scheduler.py).

Two jobs keep their own modules because their import paths are stored and must keep resolving:
``clocks.check_deadline`` (deadline checks are scheduled in Redis hours or days ahead) and
``referrals.on_delivery`` (the path is the Delivery row's ``callback`` column in the database).

The sweep:

Scheduled RQ jobs fire reminders on time; this sweep reads the database, the source of truth,
and fires whatever is owed by ``rt.now()``, so a Redis restart or a dead worker delays a
warning, a breach notice or a referral reminder by at most one sweep interval and never loses
it. Firing is idempotent (see :mod:`.clocks`), so a reminder is never sent twice.

It also hands jobs abandoned by dead workers back to their queues (:func:`yuqing.tasks.worker.recover_abandoned`),
so a killed worker's job runs again within a minute rather than at RQ's next 10-minute maintenance.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from yuqing.alerts.actions import move_merged, resolve_merged
from yuqing.alerts.grouping import queue_owed_major_digest
from yuqing.models import Deadline, DeadlineKind, Event, EventStatus, Ticket, TicketState
from yuqing.runtime import Runtime, get_runtime
from yuqing.tasks import registry
from yuqing.tasks.dispatch import run_each
from yuqing.tasks.worker import recover_abandoned

from . import clocks, tickets
from .referrals import refer_event, remind_unacknowledged, send_final_reports

log = logging.getLogger(__name__)


def consider_event(event_id: int) -> int | None:
    """Job: open, re-open or update the event's ticket, then route its referrals; the ticket id."""
    rt = get_runtime()
    ticket_id = tickets.consider(rt, int(event_id))
    if ticket_id is not None:
        refer_event(rt, int(event_id))
        queue_owed_major_digest(rt, int(event_id))  # its 未关闭工单 now read the ticket as raised
    return ticket_id


def consider_events(event_ids: list[int]) -> dict[int, int | None]:
    """:func:`consider_event` for each event an analysis batch changed, in the batch's order;
    ``{event id: ticket id}``. An event that fails is handed on as its own ``consider_event`` job."""
    return run_each("respond", registry.CONSIDER_EVENT, [int(e) for e in event_ids], consider_event).done


def merged_event(event_id: int, kept: int) -> dict[str, int | None]:
    """Job (enqueued by analysis when it merged event ``event_id`` into ``kept``): the merged
    event's alert resolved and its ticket closed, both with the reason 「已并入事件 #N」."""
    rt = get_runtime()
    with rt.session() as s:
        moved = move_merged(s, rt, int(event_id), int(kept))
        return {"alert": resolve_merged(s, rt, int(event_id), int(kept)),
                "ticket": tickets.close_merged(s, rt, int(event_id), int(kept)),
                "silences": len(moved["silences"]), "digests": len(moved["digests"])}


def final_reports(ticket_id: int) -> int:
    """Job (enqueued when a ticket closes): the 终报 of every referral; how many were sent."""
    return send_final_reports(get_runtime(), int(ticket_id))


def sweep() -> dict[str, int]:
    """Job: fire owed warnings and breaches, end follow-ups of quiet events, remind referrals."""
    rt = get_runtime()
    now = rt.now()
    horizon = now + timedelta(hours=max(rt.profile.clocks.warn_before_hours, default=0))
    counts = {"warnings": 0, "breaches": 0, "follow_ups_ended": 0, "referral_reminders": 0}
    counts["follow_ups_ended"] = _end_quiet_follow_ups(rt, now)
    with rt.session() as s:
        ids = list(s.scalars(select(Deadline.id).join(Ticket).where(
            Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None), Deadline.breached_at.is_(None),
            Deadline.due_at <= horizon, Ticket.state != TicketState.CLOSED, Ticket.paused_since.is_(None),
        ).order_by(Deadline.due_at)))
    for deadline_id in ids:
        with rt.session() as s:  # one short transaction per deadline
            d = s.get(Deadline, deadline_id)
            outcome = clocks.fire(rt, s, d, now) if d is not None else "none"
        if outcome == "breach":
            counts["breaches"] += 1
        elif outcome.startswith("warn"):
            counts["warnings"] += 1
    counts["referral_reminders"] = remind_unacknowledged(rt, now)
    if any(counts.values()):
        log.info("sweep at %s: %s", now, counts)
    _recover_abandoned_jobs(rt)
    return counts


def _recover_abandoned_jobs(rt: Runtime) -> None:
    # After the deadlines: those come from the database and must fire even with Redis down.
    try:
        recovered = recover_abandoned(rt.get_redis())
    except Exception as exc:  # noqa: BLE001 - Redis away: the deadlines above are what matter now
        log.warning("sweep: could not check for abandoned jobs: %s", exc)
        return
    if any(recovered.values()):
        log.warning("sweep: recovered from dead workers: %s", recovered)


def _end_quiet_follow_ups(rt: Runtime, now: datetime) -> int:
    """持续发布 lasts while the event is active: a follow-up clock ends, instead of breaching,
    once analysis marks the event quiet or it has had no news for the profile's cool-down."""
    quiet_before = now - timedelta(hours=rt.profile.clocks.cool_down_hours)
    with rt.session() as s:
        rows = list(s.scalars(select(Deadline).join(Ticket).join(Event, Event.id == Ticket.event_id).where(
            Deadline.kind == DeadlineKind.FOLLOW_UP, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None),
            Deadline.breached_at.is_(None),
            or_(Event.status == EventStatus.QUIET, Event.last_seen_at <= quiet_before))))
        for d in rows:
            d.cancelled_at = now
        return len(rows)
