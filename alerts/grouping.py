"""分组 (grouping): one alert per event, re-notified only when something worth a message changed.

Modelled on Alertmanager's grouping: the event is the group, new items update the alert in
place. A notification goes out the first time the rules hold, and again only when the level
rises or the volume (Event.item_count) doubles since the last one; the repeat interval for
unacknowledged alerts is the sweep's job (escalation.py). Timings come from the route the
event follows (``yuqing.routing.timings``): the first notification waits ``group_wait`` so a
burst of reports goes out as one, and updates come at most once per ``group_interval``,
saying everything that changed meanwhile. A level rise is never held and never inhibited.
Silences mute, except an event reaching 重大 the monitor has not heard of at that level (the
leaders' 要情专报 goes whatever the silence, so the monitor must not be the one left out); inhibition is the profile's ``alerts.inhibit_rules`` (inhibition.py; the
shipped rule: once the event has a ticket its updates, escalations and repeats stop, the
ticket's clocks and notices take over). An event reaching 重大 triggers a 要情专报 for the
leaders, but never before the monitor's notice: while grouping holds that notice (group_wait),
the 专报 waits with it and goes when the held notice goes (the wake-up or the sweep).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yuqing.levels import Level, max_level
from yuqing.models import Alert, AlertStatus, AuditEntry, Event, HotlistEntry, Item, Source
from yuqing.routing import Timings, facts_for_event, timings
from yuqing.runtime import Runtime
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

from . import inhibition, rules, silences
from .actions import manual_level
from .digests import major_made
from .notify import notify

log = logging.getLogger(__name__)


def renotify_reason(alert: Alert, event: Event) -> str:
    """Why the alert should be sent again now, or "" (level rise, volume doubled). An alert the
    monitor dismissed while its first notice waited is not sent: only a rise speaks again."""
    closed = alert.status in (AlertStatus.DISMISSED, AlertStatus.RESOLVED)
    if alert.notify_count == 0 and not closed:
        return "首次预警"
    if level_rose(alert):
        judged = manual_level(event)
        who = f"（{judged['by']} 人工研判）" if judged and judged.get("level") == alert.level else ""
        return f"等级由{alert.notified_level}升至{alert.level}{who}"
    if closed:
        return ""  # the monitor judged it; only a level rise speaks again
    if alert.notified_volume and event.item_count >= 2 * alert.notified_volume:
        return f"传播量翻倍：{alert.notified_volume} → {event.item_count} 条"
    return ""


def deaths_of(items: list[Item]) -> int:
    """死亡人数 reported so far: the highest count any item gives (reports repeat, not add)."""
    return max((int((i.casualties or {}).get("deaths") or 0) for i in items), default=0)


def what_changed(alert: Alert, event: Event, deaths: int, last: dict[str, Any], why: str) -> str:
    """One update's text: every change since the last notification, e.g.
    "等级由较大升至重大；新增 3 条；死亡人数 3→12" (Alertmanager's grouped notification)."""
    parts = [why] if why.startswith("等级由") else []
    if not parts and last.get("level") and Level.parse(alert.level) > Level.parse(str(last["level"])):
        parts.append(f"等级由{last['level']}升至{alert.level}")
    added = event.item_count - int(last.get("volume", alert.notified_volume) or 0)
    if added > 0:
        parts.append(f"新增 {added} 条")
    before = int(last.get("deaths") or 0)
    if deaths != before:
        parts.append(f"死亡人数 {before}→{deaths}")
    return "；".join(parts) or why


def notice_kind(alert: Alert, why: str) -> str:
    """The kind of notice ``why`` makes (the ``notice`` label inhibition rules match on)."""
    if alert.notify_count == 0:
        return "first"
    return "rise" if why.startswith("等级由") else "update"


def route_timings(rt: Runtime, event: Event, items: list[Item]) -> Timings:
    """group_wait and group_interval of the route this event follows (the profile's ``routing``)."""
    return timings(rt.profile, facts_for_event(rt.profile, event, [i.tier for i in items]))


def holding(alert: Alert, kind: str, timing: Timings, now: datetime) -> datetime | None:
    """Until when a notice of this kind waits, or None to send now (Alertmanager's timings):
    the first waits group_wait from the alert's creation so a burst of reports goes as one; an
    update waits group_interval from the last notification; a level rise never waits."""
    if kind == "first":
        until = alert.created_at + timedelta(seconds=timing.group_wait_seconds)
    elif kind == "update" and alert.last_notified_at is not None:
        until = alert.last_notified_at + timedelta(seconds=timing.group_interval_seconds)
    else:
        return None
    return until if now < until else None


def speak(s: Session, rt: Runtime, alert: Alert, event: Event, items: list[Item], now: datetime) -> str | datetime:
    """Send the notice due now, unless its route's timings hold it or a rule inhibits it.

    Returns "sent", "" (nothing to say, or inhibited) or the time a held notice is due. Called
    by :func:`evaluate` as items arrive and by the sweep, which sends what was held.
    """
    why = renotify_reason(alert, event)
    if not why:
        return ""
    kind = notice_kind(alert, why)
    until = holding(alert, kind, route_timings(rt, event, items), now)
    if until is not None:
        log.info("alert %s held until %s (%s): %s", alert.id, until.isoformat(), kind, why)
        return until
    inhibited = inhibition.inhibiting(s, rt.profile, alert, event, kind)
    if inhibited is not None:
        log.info("alert %s not sent (inhibited by %s): %s", alert.id, inhibited, why)
        return ""
    if alert.status in (AlertStatus.DISMISSED, AlertStatus.RESOLVED):
        alert.status = AlertStatus.FIRING  # a level rise reopens a dismissed alert
    deaths = deaths_of(items)
    update = alert.notify_count > 0
    if update:
        why = what_changed(alert, event, deaths, last_round(s, alert), why)
    send(s, rt, alert, event, rise_roles(rt, alert), why, deaths=deaths, update=update)
    return "sent"


def refresh_inhibited(s: Session, rt: Runtime, alert: Alert, event: Event) -> None:
    """``Alert.inhibited``, shown on the console: whether a rule now stops this alert's repeats."""
    alert.inhibited = inhibition.inhibiting(s, rt.profile, alert, event, "repeat") is not None


def last_round(s: Session, alert: Alert) -> dict[str, Any]:
    """What the last notification said (level, volume, deaths), from its record."""
    row = s.scalar(select(AuditEntry).where(AuditEntry.target_type == "alert", AuditEntry.target_id == alert.id,
                                            AuditEntry.action == "alert.notify")
                   .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(1))
    if row is None:
        return {"level": alert.notified_level, "volume": alert.notified_volume}
    return dict(row.detail or {})


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


def hot_mentions(s: Session, event_id: int) -> list[rules.HotMention]:
    """The event's entries on hot lists now, named by their list (the source's name)."""
    rows = s.execute(select(Source.name, HotlistEntry.rank).join(Source, Source.id == HotlistEntry.source_id)
                     .where(HotlistEntry.event_id == event_id, HotlistEntry.rank.is_not(None))).all()
    return [rules.HotMention(name, rank) for name, rank in rows if rank is not None]


def evaluate(rt: Runtime, event_id: int) -> Alert | None:
    """Apply the rules to one event; create or update its alert; notify if warranted."""
    now = rt.now()
    major_level = ""
    with rt.session() as s:
        event = s.get(Event, event_id)
        if event is None or event.merged_into is not None:
            log.info("event %s is gone or merged; nothing to evaluate", event_id)
            return None
        items = s.scalars(select(Item).where(Item.event_id == event_id).limit(500)).all()
        reasons = rules.evaluate(event, items, rt.profile, hot_mentions(s, event_id))
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
        refresh_inhibited(s, rt, alert, event)
        silence = silences.silencing(s, event, now)
        alert.silence_id = silence.id if silence else None
        muted = silence is not None and not breaks_silence(alert)
        spoken = speak(s, rt, alert, event, list(items), now) if not muted else ""
        if muted and silence is not None and renotify_reason(alert, event):
            log.info("alert %s not sent (silenced by silence %s)", alert.id, silence.id)
        wake_at = spoken if isinstance(spoken, datetime) else None
        s.flush()
        if Level.parse(event.level).is_major and monitor_pending(s, rt, event, now) is None:
            major_level = major_digest_level(alert, event)  # a held notice holds the leaders' 专报 too
        alert_id, rounds = alert.id, alert.notify_count
    if wake_at is not None:  # the wait's or the interval's end: the sweep would send it too, a little later
        enqueue("notify", registry.EVALUATE_EVENT, event_id, job_id=f"group-{alert_id}-{int(wake_at.timestamp())}",
                at=wake_at)
    if spoken == "sent":
        queue_referrals(event_id, rounds)
    if major_level:
        queue_major_digest(event_id, major_level)
    with rt.session() as s:
        return s.get(Alert, alert_id)


def breaks_silence(alert: Alert, level: str = "") -> bool:
    """A silence mutes the event's notices until it reaches 重大 or above at a level the monitor
    has not been told: the leaders' 要情专报 goes whatever the silence, and the monitor, who
    must act, is never the one who has not heard. ``level``: the event's, if above the alert's."""
    reached = max_level(alert.level, level)
    return reached.is_major and (not alert.notified_level or Level.parse(alert.notified_level) < reached)


def monitor_pending(s: Session, rt: Runtime, event: Event, now: datetime) -> datetime | None:
    """先报值班员 (the monitor hears first), the one home of the rule: when the monitor's notice of
    ``event`` at its present level is due, while that notice is owed and not yet sent (a silence
    that mutes it: its end); None once it went, or when none will go (no alert rule holds, the
    monitor dismissed the alert before any notice, an inhibition rule stops it).

    Nobody outside the duty room hears of an event at a level before the monitor: the leaders'
    要情专报 and the departments' 专报 and 续报 wait while this is not None, and go when grouping
    sends the held notice (the wake-up or the sweep queues them after it). An event has been
    evaluated before it is considered (analysis hands its batch to ``evaluate_events``, which hands
    it on to ``consider_events``), so an event without an alert is one no alert rule holds for.
    Reads only: the alert is not changed.
    """
    level = Level.parse(event.level)
    alert = s.scalar(select(Alert).where(Alert.event_id == event.id))
    if alert is None:
        return None  # evaluated before (alerts.jobs.evaluate_events hands its batch on): no rule holds
    if alert.notified_level and Level.parse(alert.notified_level) >= level:
        return None  # told at this level or above (or judged it on the console: actions.review_in)
    kind = "rise" if alert.notify_count else "first"
    silence = silences.silencing(s, event, now)
    if silence is not None and not breaks_silence(alert, event.level):
        # The monitor muted it: a silence mutes every receiver of the alert (as Alertmanager's),
        # so no department hears of it before the monitor does, when the silence ends (the sweep
        # then sends the notice and the referrals after it). A rise to 重大 breaks the silence:
        # the regulation's reports to 宣传部 and 网信办 are never silenced.
        return silence.ends_at
    if inhibition.inhibiting(s, rt.profile, alert, event, kind) is not None:
        return None
    items = list(s.scalars(select(Item).where(Item.event_id == event.id).limit(500)))
    return holding(alert, kind, route_timings(rt, event, items), now) or now


def queue_referrals(event_id: int, rounds: int) -> None:
    """After a notice to the monitor went: the referrals (专报, 续报) that waited for it
    (:func:`monitor_pending`), routed by the response workflow's ``consider_event`` job."""
    enqueue("respond", registry.CONSIDER_EVENT, event_id, job_id=f"consider-{event_id}-after-notice-{rounds}")


def major_digest_level(alert: Alert, event: Event) -> str:
    """The level of the 要情专报 (for the leaders) this event calls for now, or "".

    Asked only once the monitor's notice at the event's level went, or none will go
    (:func:`monitor_pending`): the monitor, who must act, never hears later than the leaders.
    A held first notice (group_wait) would otherwise reach the monitor a route's wait after the
    leaders' 专报 about the same event."""
    if Level.parse(event.level).is_major and alert.status != AlertStatus.DISMISSED:
        return event.level
    return ""


def queue_major_digest(event_id: int, level: str, after: str = "notice") -> None:
    """Enqueue the 要情专报 job (once per event, level and ``after``: the monitor's notice, or the
    tickets' job; the digest itself is made once per event and level, by its key)."""
    enqueue("notify", registry.SEND_MAJOR_DIGEST, event_id,
            job_id=f"major-digest-{event_id}-{Level.parse(level).rank}-after-{after}")


def queue_owed_major_digest(rt: Runtime, event_id: int) -> None:
    """After the tickets' job made the event's ticket follow it: the 要情专报 its level calls for,
    if the monitor has heard (:func:`monitor_pending`). The digest job queued with the monitor's
    notice does not send while the ticket lags the event (``digests.ticket_lags``): its 未关闭工单
    section would list the ticket at the old level and title, beside the event at the new one."""
    with rt.session() as s:
        event = s.get(Event, event_id)
        alert = s.scalar(select(Alert).where(Alert.event_id == event_id))
        if event is None or alert is None or not Level.parse(event.level).is_major:
            return
        if monitor_pending(s, rt, event, rt.now()) is not None:
            return
        level = major_digest_level(alert, event)
        if level and major_made(s, event_id, level):
            return  # every later batch of a 重大 event passes here: no job for a digest made
    if level:
        queue_major_digest(event_id, level, after="ticket")


def send(s: Session, rt: Runtime, alert: Alert, event: Event | None, roles: list[str], why: str,
         deaths: int = 0, update: bool = False) -> None:
    """Notify ``roles`` and record the round on the alert (its count makes the keys unique);
    ``update``: news of an alert already sent (更新 in the subject), not an escalation or repeat."""
    now = rt.now()
    alert.notify_count += 1
    notify(s, rt, alert, event, roles=roles, why=why, tag=f"n{alert.notify_count}",
           purpose="alert" if event else "admin", update=update)
    alert.last_notified_at = now
    alert.last_notify_reason = why
    # The record of what was sent, at which level and why (the timeline reads it): the alert's
    # own level moves on, this does not.
    s.add(AuditEntry(at=now, actor="系统", action="alert.notify", target_type="alert", target_id=alert.id,
                     detail={"level": alert.level, "why": why, "round": alert.notify_count, "roles": roles,
                             "volume": event.item_count if event is not None else 0, "deaths": deaths}))
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
