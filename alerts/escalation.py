"""确认与升级 (acknowledgement and escalation), driven by the periodic sweep and ``rt.now()``.

PagerDuty's ladder: an alert nobody acknowledges climbs one rung at a time (monitor →
section head → supervising leader → principal leader), each rung waiting its own timeout;
a rung whose ``min_level`` the alert does not reach (the principal leader: 特别重大 only) is
skipped, and the ladder stops at its top. Independently, an unacknowledged alert is repeated
to its current rungs every ``repeat_interval_minutes``. The sweep also sends what grouping
held (a first notification after its group_wait, an update after its group_interval).
Silenced alerts neither climb nor repeat; the profile's inhibition rules decide whether an
alert climbs (notice ``escalation``) and repeats (``repeat``). When a silence ends, the alert
speaks again if it never did or if it grew.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.levels import Level
from yuqing.models import Alert, AlertStatus, Event, Item, Source
from yuqing.profile import Rung
from yuqing.runtime import Runtime
from yuqing.store import after_commit

from . import silences
from .grouping import (
    breaks_silence,
    major_digest_level,
    notice_kind,
    queue_major_digest,
    queue_referrals,
    refresh_inhibited,
    renotify_reason,
    send,
    speak,
)
from .inhibition import inhibiting
from .notify import ROLE_LABELS

log = logging.getLogger(__name__)


def next_rung(ladder: list[Rung], current: int, level: str) -> int | None:
    """The next rung above ``current`` that this level reaches, or None at the top."""
    for index in range(current + 1, len(ladder)):
        if Level.parse(level) >= ladder[index].min_level:
            return index
    return None


def sweep(rt: Runtime) -> dict[str, int]:
    """One pass over the open alerts: silence expiry, escalation, repeats. Returns counts."""
    now = rt.now()
    counts = {"escalated": 0, "repeated": 0, "unsilenced": 0, "updated": 0, "first": 0}
    with rt.session() as s:
        alerts = s.scalars(select(Alert).where(
            Alert.status.in_([AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED, AlertStatus.CONFIRMED]))).all()
        for alert in alerts:
            if alert.kind == "source":
                counts["repeated"] += _sweep_source(s, rt, alert, now)
                continue
            event = s.get(Event, alert.event_id) if alert.event_id else None
            if event is None:
                continue
            counts_for = _sweep_event(s, rt, alert, event, now)
            for key, value in counts_for.items():
                counts[key] += value
    return counts


def _sweep_event(s: Session, rt: Runtime, alert: Alert, event: Event, now: datetime) -> dict[str, int]:
    out = {"escalated": 0, "repeated": 0, "unsilenced": 0, "updated": 0, "first": 0}
    refresh_inhibited(s, rt, alert, event)
    silence = silences.silencing(s, event, now)
    if silence is not None:
        alert.silence_id = silence.id
        if breaks_silence(alert):  # 重大 or above, not yet told: held notices go out (no climbing, no repeats)
            items = list(s.scalars(select(Item).where(Item.event_id == event.id).limit(500)))
            first = alert.notify_count == 0
            if speak(s, rt, alert, event, items, now) == "sent":
                out["first" if first else "updated"] = 1
                _queue_digest_after(s, alert, event)
        return out
    if alert.silence_id is not None:  # the silence ended by itself
        alert.silence_id = None
        alert.rung_since = now  # the ladder's clock restarts when the alert is heard again
        why = renotify_reason(alert, event)
        if why and inhibiting(s, rt.profile, alert, event, notice_kind(alert, why)) is None:
            ladder = rt.profile.alerts.escalation
            send(s, rt, alert, event, [r.role for r in ladder[: alert.rung + 1]], f"静默到期；{why}")
            _queue_digest_after(s, alert, event)
            out["unsilenced"] = 1
        return out
    first = alert.notify_count == 0
    items = list(s.scalars(select(Item).where(Item.event_id == event.id).limit(500)))
    if speak(s, rt, alert, event, items, now) == "sent":
        # group_wait or group_interval passed: what was held goes out as one notice, and the
        # leaders' 要情专报 held with it follows (queued after the monitor's delivery)
        out["first" if first else "updated"] = 1
        _queue_digest_after(s, alert, event)
        return out
    if alert.status != AlertStatus.FIRING or not alert.notify_count:
        return out
    ladder = rt.profile.alerts.escalation
    since = alert.rung_since or alert.created_at
    climbs = inhibiting(s, rt.profile, alert, event, "escalation") is None
    if climbs and alert.rung < len(ladder) and now - since >= timedelta(minutes=ladder[alert.rung].timeout_minutes):
        target = next_rung(ladder, alert.rung, alert.level)
        if target is not None:
            waited = int((now - (alert.last_notified_at or alert.created_at)).total_seconds() // 60)
            why = f"{waited} 分钟未确认，升级至{ROLE_LABELS[ladder[target].role]}"
            alert.rung, alert.rung_since, alert.escalated_at = target, now, now
            send(s, rt, alert, event, [ladder[target].role], why)
            log.info("alert %s escalated to rung %d (%s)", alert.id, target, ladder[target].role)
            out["escalated"] = 1
            return out
    repeat = timedelta(minutes=rt.profile.alerts.repeat_interval_minutes)
    if alert.last_notified_at and now - alert.last_notified_at >= repeat and not alert.inhibited:
        send(s, rt, alert, event, [r.role for r in ladder[: alert.rung + 1]],
             f"重复提醒：{rt.profile.alerts.repeat_interval_minutes} 分钟内无人确认")
        out["repeated"] = 1
    return out


def _queue_digest_after(s: Session, alert: Alert, event: Event) -> None:
    """The leaders' 要情专报 and the departments' referrals held with the notice just sent,
    queued once it is committed (after the monitor's delivery)."""
    level, event_id, rounds = major_digest_level(alert, event), event.id, alert.notify_count
    after_commit(s, lambda: queue_referrals(event_id, rounds))
    if level:
        after_commit(s, lambda: queue_major_digest(event_id, level))


def _sweep_source(s: Session, rt: Runtime, alert: Alert, now: datetime) -> int:
    source = s.get(Source, alert.source_id) if alert.source_id else None
    if source is None or source.healthy:
        alert.status = AlertStatus.RESOLVED  # the source recovered (or was removed)
        alert.updated_at = now
        return 0
    repeat = timedelta(minutes=rt.profile.alerts.repeat_interval_minutes)
    if alert.status == AlertStatus.FIRING and alert.last_notified_at and now - alert.last_notified_at >= repeat:
        send(s, rt, alert, None, ["monitor"], "重复提醒：信源仍未恢复")
        return 1
    return 0
