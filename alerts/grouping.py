"""分组 (grouping): one alert per event, re-notified only when something worth a message changed.

Modelled on Alertmanager's grouping: the event is the group, new items update the alert in
place. A notification goes out the first time the rules hold, and again only when the level
rises or the volume (Event.item_count) doubles since the last one; the repeat interval for
unacknowledged alerts is the sweep's job (escalation.py). Silences mute; inhibition: once
the event has a ticket (回应工单), its per-item notifications stop: the ticket's clocks and
notices take over (the first notification still goes out, so the monitor learns of it). An
event reaching 重大 triggers a 要情专报 at once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yuqing.levels import Level, max_level
from yuqing.models import Alert, AlertStatus, AuditEntry, Event, Item, Ticket
from yuqing.runtime import Runtime

from . import rules, silences
from .actions import manual_level
from .notify import notify

log = logging.getLogger(__name__)
MAJOR_DIGEST_JOB = "yuqing.alerts.jobs.send_major_digest"


def renotify_reason(alert: Alert, event: Event) -> str:
    """Why the alert should be sent again now, or "" (level rise, volume doubled)."""
    if alert.notify_count == 0:
        return "首次预警"
    if level_rose(alert):
        judged = manual_level(event)
        who = f"（{judged['by']} 人工研判）" if judged and judged.get("level") == alert.level else ""
        return f"等级由{alert.notified_level}升至{alert.level}{who}"
    if alert.status in (AlertStatus.DISMISSED, AlertStatus.RESOLVED):
        return ""  # the monitor judged it; only a level rise speaks again
    if alert.notified_volume and event.item_count >= 2 * alert.notified_volume:
        return f"传播量翻倍：{alert.notified_volume} → {event.item_count} 条"
    return ""


def level_rose(alert: Alert) -> bool:
    """The level is above the one last sent: a rise always speaks (inhibition never stops it)."""
    return bool(alert.notified_level) and Level.parse(alert.level) > Level.parse(alert.notified_level)


def rise_roles(rt: Runtime, alert: Alert) -> list[str]:
    """Who hears a notification: the rungs reached so far and, for a rise to 重大 or above,
    every rung whose ``min_level`` the level meets (the leaders learn of it at once; a first
    alert climbs the ladder by its timeouts)."""
    ladder = rt.profile.alerts.escalation
    roles = [r.role for r in ladder[: alert.rung + 1]]
    level = Level.parse(alert.level)
    if level.is_major and level_rose(alert):
        roles += [r.role for r in ladder if r.min_level <= level and r.role not in roles]
    return roles


def evaluate(rt: Runtime, event_id: int) -> Alert | None:
    """Apply the rules to one event; create or update its alert; notify if warranted."""
    now = rt.now()
    major_level = ""
    with rt.session() as s:
        event = s.get(Event, event_id)
        if event is None:
            log.info("event %s is gone; nothing to evaluate", event_id)
            return None
        items = s.scalars(select(Item).where(Item.event_id == event_id).limit(500)).all()
        reasons = rules.evaluate(event, items, rt.profile)
        alert = s.scalar(select(Alert).where(Alert.event_id == event_id))
        if alert is None and not reasons:
            return None
        if alert is None:
            alert = _create(s, event, reasons, now)
        else:
            alert.level = max_level(alert.level, event.level).value
            alert.title = event.title
            alert.reasons = reasons or alert.reasons
            alert.updated_at = now
        alert.inhibited = s.scalar(select(Ticket.id).where(Ticket.event_id == event_id)) is not None
        silence = silences.silencing(s, event, now)
        alert.silence_id = silence.id if silence else None
        why = renotify_reason(alert, event)
        # Inhibition (a ticket exists) stops repeats, never a level rise.
        inhibited = alert.inhibited and alert.notify_count and not level_rose(alert)
        if why and not silence and not inhibited:
            if alert.status in (AlertStatus.DISMISSED, AlertStatus.RESOLVED):
                alert.status = AlertStatus.FIRING  # a level rise reopens a dismissed alert
            send(s, rt, alert, event, rise_roles(rt, alert), why)
        elif why:
            log.info("alert %s not sent (%s): %s", alert.id, "silenced" if silence else "inhibited", why)
        if Level.parse(event.level).is_major and alert.status != AlertStatus.DISMISSED:
            major_level = event.level
        s.flush()
        alert_id = alert.id
    if major_level:
        from yuqing.queue.dispatch import enqueue

        enqueue("notify", MAJOR_DIGEST_JOB, event_id, job_id=f"major-digest-{event_id}-{Level.parse(major_level).rank}")
    with rt.session() as s:
        return s.get(Alert, alert_id)


def send(s: Session, rt: Runtime, alert: Alert, event: Event | None, roles: list[str], why: str) -> None:
    """Notify ``roles`` and record the round on the alert (its count makes the keys unique)."""
    now = rt.now()
    alert.notify_count += 1
    notify(s, rt, alert, event, roles=roles, why=why, tag=f"n{alert.notify_count}",
           purpose="alert" if event else "admin")
    alert.last_notified_at = now
    alert.last_notify_reason = why
    # The record of what was sent, at which level and why (the timeline reads it): the alert's
    # own level moves on, this does not.
    s.add(AuditEntry(at=now, actor="系统", action="alert.notify", target_type="alert", target_id=alert.id,
                     detail={"level": alert.level, "why": why, "round": alert.notify_count, "roles": roles}))
    alert.notified_level = alert.level
    if event is not None:
        alert.notified_volume = event.item_count


def _create(s: Session, event: Event, reasons: list[str], now: datetime) -> Alert:
    alert = Alert(kind="event", event_id=event.id, status=AlertStatus.FIRING, level=event.level,
                  title=event.title, reasons=reasons, created_at=now, updated_at=now, rung=0,
                  rung_since=now, notify_count=0, notified_volume=0, notified_level="",
                  inhibited=False, last_notify_reason="")
    try:
        with s.begin_nested():
            s.add(alert)
    except IntegrityError:  # a concurrent evaluation made it first: use theirs
        theirs = s.scalar(select(Alert).where(Alert.event_id == event.id))
        assert theirs is not None  # the row whose insert beat ours
        alert = theirs
    return alert
