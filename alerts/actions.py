"""Functions the web app (and the CLI) call. Each takes ``rt`` first, records who, when and
why in the audit log, and raises a clear error (one Chinese line) on an illegal change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.clock import fmt
from yuqing.levels import Level
from yuqing.models import (
    Alert,
    AlertStatus,
    AuditEntry,
    Digest,
    Event,
    ReviewLabel,
    Silence,
    Ticket,
)
from yuqing.runtime import Runtime

from .exceptions import AlertNotFound, AlertsError, SilenceError, SilenceNotFound
from .silences import validate_matchers

REVIEW_ACTIONS = ("confirm", "dismiss", "level", "restore")
TICKET_CHOICES = {"close": "关闭工单", "keep": "保留工单"}  # what 排除 does to the event's open ticket


def _audit(s: Session, rt: Runtime, by: str, action: str, target: str, target_id: int, ip: str = "",
           **detail: Any) -> None:
    s.add(AuditEntry(at=rt.now(), actor=by, action=action, target_type=target, target_id=target_id,
                     detail=detail, ip=ip))


def _alert(s: Session, alert_id: int) -> Alert:
    alert = s.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(f"预警 #{alert_id} 不存在")
    return alert


def acknowledge(rt: Runtime, alert_id: int, by: str, ip: str = "") -> Alert:
    """确认收到: stops the escalation ladder and the repeats."""
    with rt.session() as s:
        alert = _alert(s, alert_id)
        if alert.status != AlertStatus.FIRING:
            who = f"（{alert.acknowledged_by}，{fmt(alert.acknowledged_at, rt.settings.timezone)}）" if alert.acknowledged_by else ""
            raise AlertsError(f"预警 #{alert_id} 当前状态为 {alert.status}{who}，无需再确认")
        alert.status, alert.acknowledged_at, alert.acknowledged_by = AlertStatus.ACKNOWLEDGED, rt.now(), by
        alert.updated_at = rt.now()
        _audit(s, rt, by, "alert.acknowledge", "alert", alert_id, ip=ip, rung=alert.rung)
        return alert


def review(rt: Runtime, alert_id: int, action: str, by: str, level: str | None = None,
           ticket: str | None = None, reason: str = "", ip: str = "") -> Alert:
    """研判: confirm (属实), dismiss (误报, a training label), correct the level, or restore the
    computed level over the monitor's (恢复自动研判, :func:`restore_computed`).

    Dismissing an event whose response ticket (回应工单) is open is never silent: the monitor
    says whether the ticket is closed or kept (``ticket``) and why (``reason``);
    ``yuqing.queue.dismissal.review_and_settle`` settles the ticket in the same transaction. The one audit entry of the review
    (``alert.review.<action>``) keeps both, with the caller's address ``ip``."""
    with rt.session() as s:
        return review_in(s, rt, alert_id, action, by, level=level, ticket=ticket, reason=reason, ip=ip)


def review_in(s: Session, rt: Runtime, alert_id: int, action: str, by: str, level: str | None = None,
              ticket: str | None = None, reason: str = "", ip: str = "") -> Alert:
    """:func:`review` inside the caller's transaction ``s``, so the response workflow can settle
    the event's ticket in the same one (a failed closing then leaves the alert as it was)."""
    if action not in REVIEW_ACTIONS:
        raise AlertsError(f"未知研判操作 {action!r}，应为 confirm（确认属实）、dismiss（排除）、level（调整等级）"
                          "或 restore（恢复自动研判）")
    reason = reason.strip()
    alert = _alert(s, alert_id)
    if alert.kind != "event" or alert.event_id is None:
        raise AlertsError(f"预警 #{alert_id} 是系统告警，不能研判")
    if action == "dismiss":
        _check_ticket_choice(s, alert.event_id, ticket, reason)
    event = s.get(Event, alert.event_id)
    now = rt.now()
    value = ""
    restored: dict[str, Any] = {}
    if action == "level":
        if not level:
            raise AlertsError("修改等级时须给出新等级（一般、较大、重大 或 特别重大）")
        try:
            value = Level.parse(level).value
        except ValueError as exc:
            raise AlertsError(str(exc)) from None
        alert.level = value
        if event is not None:
            _judge_level(event, value, by, now)
    elif action == "restore":
        judged, suggested = manual_level(event) or {}, level_suggestion(event) or {}
        value = restore_computed(event, alert_id, now)
        alert.level = value
        restored = {"manual": judged.get("level", ""), "evidence": suggested.get("evidence", "")}
    else:
        alert.status = AlertStatus.CONFIRMED if action == "confirm" else AlertStatus.DISMISSED
        if action == "dismiss" and not alert.notified_level:
            # Dismissed on the console while its first notice waited (group_wait): the monitor
            # knows of it at this level, so only a rise above it speaks again (grouping).
            alert.notified_level = alert.level
    if not alert.acknowledged_at:
        alert.acknowledged_at, alert.acknowledged_by = now, by  # a review is an acknowledgement
    alert.updated_at = now
    text = f"{event.title}\n{event.summary}" if event else alert.title
    s.add(ReviewLabel(event_id=alert.event_id, alert_id=alert.id, label=action, value=value,
                      text=text, by=by, at=now))
    detail: dict[str, Any] = {"level": value, **restored}
    if ticket or reason:
        detail.update(ticket=ticket or "", reason=reason)
    _audit(s, rt, by, f"alert.review.{action}", "alert", alert_id, ip=ip, **detail)
    return alert


def resolve_merged(s: Session, rt: Runtime, event_id: int, kept: int) -> int | None:
    """The alert of an event analysis merged into event ``kept`` (one incident): resolved, the
    reason 「已并入事件 #N」 in the 操作日志 and the timeline; the alert's id, or None. Its repeats
    and the escalation ladder stop; the kept event's own alert speaks from now on."""
    alert = s.scalar(select(Alert).where(Alert.event_id == event_id))
    if alert is None or alert.status == AlertStatus.RESOLVED:
        return None
    alert.status, alert.updated_at = AlertStatus.RESOLVED, rt.now()
    _audit(s, rt, "系统", "alert.merged", "alert", alert.id, reason=merged_reason(kept), kept=kept)
    return alert.id


def move_merged(s: Session, rt: Runtime, event_id: int, kept: int) -> dict[str, list[int]]:
    """The silences and digests of an event merged into event ``kept``, moved to it: a silence
    the monitor set on the merged event mutes the incident, now the kept event (its alert shows
    it at once while it lasts, as a new silence does); a 日报 or 要情专报 listing the merged event
    lists the kept one instead (once), and a 要情专报 made for the merged event at a level counts
    as the kept event's at that level unless it has its own (leaders were told of the incident
    at that level). Each move is in the 操作日志. The ids moved, by kind."""
    now = rt.now()
    moved: dict[str, list[int]] = {"silences": [], "digests": []}
    for row in s.scalars(select(Silence).where(Silence.event_id == event_id).order_by(Silence.id)):
        row.event_id = kept
        moved["silences"].append(row.id)
        _audit(s, rt, "系统", "silence.merged", "silence", row.id, reason=merged_reason(kept), event_id=event_id,
               kept=kept)
        if row.starts_at <= now < row.ends_at:
            for alert in s.scalars(select(Alert).where(Alert.event_id == kept)):
                alert.silence_id, alert.updated_at = row.id, now
    gone = s.get(Event, event_id)
    since = gone.first_seen_at if gone is not None else None  # a digest lists only events of its period
    query = select(Digest).order_by(Digest.id)
    for digest in s.scalars(query.where(Digest.period_end >= since) if since is not None else query):
        ids = [int(i) for i in digest.event_ids or []]
        if event_id not in ids:
            continue
        digest.event_ids = list(dict.fromkeys(kept if i == event_id else i for i in ids))
        prefix = f"major:{event_id}:"
        if digest.key.startswith(prefix):
            theirs = f"major:{kept}:{digest.key[len(prefix):]}"
            if s.scalar(select(Digest.id).where(Digest.key == theirs)) is None:
                digest.key = theirs
        moved["digests"].append(digest.id)
        _audit(s, rt, "系统", "digest.merged", "digest", digest.id, reason=merged_reason(kept), event_id=event_id,
               kept=kept)
    return moved


def merged_reason(kept: int) -> str:
    """Why a merged event's alert and ticket ended: the one sentence both records give."""
    return f"已并入事件 #{kept}"


def open_ticket_of(s: Session, event_id: int | None) -> int | None:
    """The event's response ticket (回应工单) while it is not closed."""
    if event_id is None:
        return None
    return s.scalar(select(Ticket.id).where(Ticket.event_id == event_id, Ticket.state != "closed"))


def _check_ticket_choice(s: Session, event_id: int, ticket: str | None, reason: str) -> None:
    """排除 an event with an open ticket: the monitor chooses the ticket's fate and gives a reason."""
    if ticket and ticket not in TICKET_CHOICES:
        raise AlertsError(f"ticket: 应为 close（关闭工单）或 keep（保留工单），而不是 {ticket!r}")
    open_id = open_ticket_of(s, event_id)
    if open_id is None:
        return
    if not ticket:
        raise AlertsError(f"事件已有未关闭的回应工单 #{open_id}：排除时须选择关闭或保留该工单")
    if not reason:
        raise AlertsError(f"事件已有未关闭的回应工单 #{open_id}：排除时须写明原因")


def _judge_level(event: Event, value: str, by: str, now: datetime) -> None:
    """人工研判: the monitor's level is the event's level, whoever raised it before.

    A level set here stays unless later evidence is graver than the level it overrode ("from";
    the rule is analysis.counting.item_level); who set it and when are kept on the event for
    the card, the timeline and the notification that follows."""
    before = event.level
    event.level = value
    flags = dict(event.flags or {})
    flags["manual_level"] = {"level": value, "from": before, "by": by, "at": now.isoformat()}
    event.flags = flags
    event.updated_at = now


def level_suggestion(event: Event | None) -> dict[str, Any] | None:
    """The computed level analysis suggests over the monitor's (系统研判建议: level, evidence,
    item, at; written by analysis.counting.note_suggestion), while it is above the event's level."""
    judged = manual_level(event)
    suggested = judged.get("suggested") if judged is not None else None
    if event is None or not isinstance(suggested, dict) or not suggested.get("level"):
        return None
    return suggested if Level.parse(suggested["level"]) > Level.parse(event.level) else None


def suggestion_notice(event: Event | None, zone: str, viewer: str = "") -> str:
    """The monitor's notice of a suggestion, on the event page and the alert's card ("" when none):
    系统研判建议升为重大：新信息称死亡 12 人（“…”），您曾于 2026-12-03 14:05 手动定为一般.
    ``viewer``: the person reading, told 您 where the judgement was theirs."""
    suggested = level_suggestion(event)
    judged = manual_level(event)
    if suggested is None or judged is None:
        return ""
    who = "您" if viewer and viewer == judged.get("by") else str(judged.get("by") or "值班员")
    at = datetime.fromisoformat(str(judged["at"])) if judged.get("at") else None
    when = f"于 {fmt(at, zone)} " if at is not None else ""
    return f"系统研判建议升为{suggested['level']}：{suggested.get('evidence') or '新信息'}，{who}曾{when}手动定为{judged['level']}"


def restore_computed(event: Event | None, alert_id: int, now: datetime) -> str:
    """恢复自动研判: the monitor takes the level analysis suggests (:func:`level_suggestion`); the
    judgement by hand is cleared, so analysis grades the event again as every other, and the
    caller carries the level on as any level change (the notice, ticket clocks, referrals and
    their 续报, the 要情专报). The level restored."""
    suggested = level_suggestion(event)
    if event is None or suggested is None:
        raise AlertsError(f"预警 #{alert_id} 的事件没有待采纳的系统研判建议（等级以人工研判为准，或已由系统更新），无需恢复自动研判")
    event.level = Level.parse(suggested["level"]).value
    event.flags = {k: v for k, v in (event.flags or {}).items() if k != "manual_level"}
    event.updated_at = now
    return event.level


def manual_level(event: Event | None) -> dict[str, Any] | None:
    """The monitor's judgement of the event's level, when there is one (level, from, by, at)."""
    judged = (event.flags or {}).get("manual_level") if event is not None else None
    return judged if isinstance(judged, dict) else None


def silence(rt: Runtime, by: str, comment: str, ends_at: datetime, event_id: int | None = None,
            matchers: dict[str, Any] | None = None, ip: str = "", alert_id: int | None = None) -> Silence:
    """静默: mute one event, or every event matching ``matchers``, until ``ends_at``."""
    now = rt.now()
    if not comment or not comment.strip():
        raise SilenceError("静默须说明原因")
    if ends_at.tzinfo is None:
        raise SilenceError("静默结束时间须带时区")
    if ends_at <= now:
        raise SilenceError(f"静默结束时间 {fmt(ends_at, rt.settings.timezone)} 已过，应晚于当前时间 {fmt(now, rt.settings.timezone)}")
    if (event_id is None) == (not matchers):
        raise SilenceError("静默须指定一个事件，或一组匹配条件（二者选一）")
    clean = validate_matchers(matchers) if matchers else {}
    with rt.session() as s:
        if event_id is not None and s.get(Event, event_id) is None:
            raise SilenceError(f"事件 #{event_id} 不存在")
        row = Silence(event_id=event_id, matchers=clean, starts_at=now, ends_at=ends_at,
                      created_by=by, comment=comment.strip())
        s.add(row)
        s.flush()
        if event_id is not None:  # the card shows the silence at once, not at the next evaluation
            for alert in s.scalars(select(Alert).where(Alert.event_id == event_id)):
                alert.silence_id, alert.updated_at = row.id, now
        # The one audit entry of a silence, whoever asked for it (console, API or command line).
        _audit(s, rt, by, "silence.add", "silence", row.id, ip, event_id=event_id, matchers=clean,
               ends_at=ends_at.isoformat(), comment=row.comment,
               **({"alert_id": alert_id} if alert_id is not None else {}))
        return row


def expire_silence(rt: Runtime, silence_id: int, by: str) -> Silence:
    """End a silence now; its alerts speak again at the next sweep."""
    with rt.session() as s:
        row = s.get(Silence, silence_id)
        if row is None:
            raise SilenceNotFound(f"静默 #{silence_id} 不存在")
        now = rt.now()
        if row.ends_at <= now:
            raise SilenceError(f"静默 #{silence_id} 已于 {fmt(row.ends_at, rt.settings.timezone)} 结束")
        row.ends_at = now
        _audit(s, rt, by, "silence.expire", "silence", silence_id)
        return row
