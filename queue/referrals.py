"""报送 (referrals): an event routed to outside departments, each with a 专报 DOCX, delivered
through the department's channels, tracked, acknowledged through a signed link, and reminded.

One Referral per event and department (unique), however often the event is considered or
however many workers consider it at once. Delivery outcome comes back through the Delivery's
callback (:func:`on_delivery`, queue ``respond``); the sweep reminds unacknowledged referrals.
"""

from __future__ import annotations

import html as html_lib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import CursorResult, Select, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yuqing.alerts.delivery import create_delivery
from yuqing.alerts.grouping import monitor_pending
from yuqing.documents import issue_number
from yuqing.documents.account import event_account
from yuqing.documents.current import event_title
from yuqing.documents.dates import cn_datetime
from yuqing.documents.issued import attachments
from yuqing.documents.register import AlreadyIssued
from yuqing.locks import kept_alive
from yuqing.models import (
    Delivery,
    DeliveryStatus,
    Event,
    IssuedDocument,
    Item,
    Referral,
    ReferralNote,
    ReferralStatus,
    Ticket,
    TicketState,
)
from yuqing.routing import facts_for_event, route
from yuqing.runtime import Runtime, get_runtime
from yuqing.sanitise import clean_note
from yuqing.store import after_commit, write_lock_first
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

from . import special_report
from .exceptions import AlreadyAcknowledged, InvalidAckLink, QueueError, ReferralNotFound
from .workflow import closed_as_dismissed

log = logging.getLogger(__name__)

_SALT = "yuqing.referral.ack"
REFER_LOCK_SECONDS = 30  # renewed while the holder works; a killed holder frees it this soon
REFER_WAIT_SECONDS = 240  # how long a second job of the event waits before RQ retries it
NOTE_MAX = 500  # a 签收备注 from the public page: a line or two, not a document


def _serializer(rt: Runtime) -> URLSafeSerializer:
    return URLSafeSerializer(rt.settings.secret(), salt=_SALT)


def ack_url(rt: Runtime, referral_id: int) -> str:
    """The signed link a department opens, without an account, to acknowledge (签收)."""
    with rt.session() as s:
        ref = s.get(Referral, int(referral_id))
        if ref is None:
            raise ReferralNotFound(f"报送 #{referral_id} 不存在")
        return _ack_url(rt, ref)


def _ack_url(rt: Runtime, ref: Referral) -> str:
    # The link is a bearer token sent by mail: it names its referral and department and ends
    # ``ack_link_hours`` after it was made (each reminder carries a fresh one).
    expires = int((rt.now() + timedelta(hours=rt.profile.clocks.ack_link_hours)).timestamp())
    token = _serializer(rt).dumps([ref.id, ref.department_key, expires])
    return f"{rt.settings.base_url.rstrip('/')}/ack/{token}"


@dataclass(frozen=True)
class AckState:
    """What the public 签收 page shows for a valid link: the referral, and who signed it if anyone."""

    referral_id: int
    department_name: str
    event_title: str
    acknowledged_by: str
    acknowledged_at: datetime | None


def check_ack_token(rt: Runtime, token: str) -> AckState:
    """The referral a 签收 link is for; :class:`InvalidAckLink` if forged, damaged, expired or gone."""
    try:
        referral_id, department_key, expires = _serializer(rt).loads(token)
        referral_id, expires = int(referral_id), int(expires)
    except (BadSignature, ValueError, TypeError, OverflowError):
        raise InvalidAckLink("签收链接无效：签名校验失败（链接不完整、被改动或为旧版链接）") from None
    if rt.now().timestamp() > expires:
        raise InvalidAckLink("签收链接已过期：请使用最近一次报送或提醒邮件中的链接，或联系报送单位值班室")
    with rt.session() as s:
        ref = s.get(Referral, referral_id)
        if ref is None or ref.department_key != department_key:
            raise InvalidAckLink("签收链接无效：对应的报送已不存在")
        event = s.get(Event, ref.event_id)
        return AckState(ref.id, ref.department_name, event.title if event else "", ref.acknowledged_by,
                        ref.acknowledged_at)


def refer_event(rt: Runtime, event_id: int) -> list[int]:
    """Route the event's ticket to the departments its facts reach; ids of referrals made now.

    One worker at a time per event: two ``consider_event`` jobs of one event (an analysis
    batch's and the one grouping queues after the monitor's notice) each printed the same 续报
    inside a write transaction, and on SQLite the second failed with "database is locked" after
    waiting for the first. The second now waits for the lock and finds the work done."""
    lock = rt.get_redis().lock(f"yuqing:refer:{int(event_id)}", timeout=REFER_LOCK_SECONDS,
                               blocking_timeout=REFER_WAIT_SECONDS, thread_local=False)  # renewed by another thread
    if not lock.acquire():
        raise QueueError(f"事件 #{event_id} 的报送正由另一进程处理，{REFER_WAIT_SECONDS} 秒内未完成，稍后重试")
    with kept_alive(lock, "referral"):
        return _refer(rt, int(event_id))


def _refer(rt: Runtime, event_id: int) -> list[int]:
    made: list[int] = []
    with rt.session() as s:
        event = s.get(Event, event_id)
        ticket = s.scalar(select(Ticket).where(Ticket.event_id == event_id))
        if event is None or ticket is None or ticket.state == TicketState.CLOSED:
            return made  # closed (and not re-opened by tickets.consider): its 终报 ended the referrals
        due = monitor_pending(s, rt, event, rt.now())
        if due is not None:
            _wait_for_the_monitor(rt, event_id, due)
            return made
        tiers = list(s.scalars(select(Item.tier).where(Item.event_id == event_id).distinct()))
        done = set(s.scalars(select(Referral.department_key).where(Referral.event_id.in_(with_merged(event_id)))))
        matches = route(rt.profile, facts_for_event(rt.profile, event, tiers))
        everyone = list(dict.fromkeys([*sorted(done), *(key for key, _ in matches)]))
        for key, match in matches:
            if key in done:
                continue
            others = [rt.profile.department(k).name for k in everyone if k != key]
            ref = _create(rt, s, event, ticket, key, match.description, others)
            if ref is not None:
                made.append(ref.id)
        _follow_up(rt, s, event, exclude=set(made))
    return made


def with_merged(event_id: int) -> Select[int]:
    """The event and the events merged into it (``events.merged_into``): a department referred
    for a merged event has been referred for the incident, and the kept event sends it no second
    专报. Analysis moves such referrals to the kept event once the merge is settled
    (analysis/merging.py); this covers a consideration of the kept event that runs before."""
    return select(Event.id).where((Event.id == event_id) | (Event.merged_into == event_id))


def _wait_for_the_monitor(rt: Runtime, event_id: int, due: datetime) -> None:
    """The monitor's notice of the event at its level has not gone yet (grouping holds it for the
    route's group_wait, or its evaluation has not run): the 专报 and 续报 wait. Grouping routes them
    again as soon as the notice goes; this later look is for a notice that never goes after all
    (a silence or an inhibition arrived meanwhile, or the evaluation failed)."""
    at = max(due, rt.now()) + timedelta(seconds=rt.settings.sweep_interval)
    log.info("event %s: referrals wait for the monitor's notice (due %s)", event_id, due.isoformat())
    enqueue("respond", registry.CONSIDER_EVENT, event_id, job_id=f"consider-{event_id}-wait-{int(at.timestamp())}",
            at=at)


def _others(s: Session, event_id: int, key: str) -> list[str]:
    """The other departments this event went to (the 抄送 of each one's 专报)."""
    return list(s.scalars(select(Referral.department_name).where(Referral.event_id == event_id,
                                                                Referral.department_key != key)
                          .order_by(Referral.id)))


def _last_fingerprint(s: Session, ref: Referral) -> str | None:
    last = special_report.last_told(s, ref)
    return last.fingerprint if last is not None else None


def _follow_up(rt: Runtime, s: Session, event: Event, exclude: set[int]) -> int:
    """续报 to every department that has had its 专报, when the level rose or the figures changed
    (once each), by the one rule of :data:`HEARD`: a department whose 专报 failed gets the current
    专报 instead (a 续报 says "我局已于……报送", of a document it never had), and one whose 专报 is
    still being retried waits for it (:func:`on_delivery` looks again once it went)."""
    refs = [r for r in s.scalars(select(Referral).where(Referral.event_id == event.id).order_by(Referral.id))
            if r.id not in exclude and (r.status in HEARD or r.status == ReferralStatus.FAILED)]
    if not refs:
        return 0
    fingerprint = event_account(s, event.id).fingerprint
    sent = 0
    for ref in refs:
        if _last_fingerprint(s, ref) == fingerprint:
            continue
        if _issue_and_send(rt, s, ref, event, kind="followup" if ref.status in HEARD else "special"):
            sent += 1
    return sent


# A department has heard of the event once its 专报 went: a 续报 or a 终报 ("我局前期报送的舆情
# 事件……") goes only to those. One whose 专报 failed never heard of it: it gets no 终报, and a
# change of the event sends it the current 专报 (:func:`_follow_up`). One whose 专报 is still being
# retried gets what was held for it when the 专报 finally goes (:func:`on_delivery`).
HEARD = (ReferralStatus.SENT, ReferralStatus.DELIVERED, ReferralStatus.ACKNOWLEDGED)


def send_final_reports(rt: Runtime, ticket_id: int) -> int:
    """终报 to every department whose 专报 went, once, when the ticket closes; how many were sent."""
    sent = 0
    with rt.session() as s:
        write_lock_first(s)  # beside on_delivery's 终报 of a 专报 that went late: one of the two sends it
        ticket = s.get(Ticket, ticket_id)
        event = s.get(Event, ticket.event_id) if ticket else None
        if event is None:
            return 0
        for ref in s.scalars(select(Referral).where(Referral.event_id == event.id, Referral.status.in_(HEARD))
                             .order_by(Referral.id)):
            if _issue_and_send(rt, s, ref, event, kind="final"):
                sent += 1
    return sent


_SUBJECTS = {"special": "【舆情专报】", "followup": "【舆情续报】", "final": "【舆情终报】"}
_PURPOSE = {"special": "现将我局监测到的舆情事件报送如下，详见附件专报。",
            "followup": "我局前期报送的舆情事件有新进展，现续报如下，详见附件。",
            "final": "我局前期报送的舆情事件已处置完毕，现将最终情况报告如下，详见附件。",
            "dismissed": "我局前期报送的舆情事件经核查研判已予排除，现终止报送，详见附件。",
            "merged": "我局前期报送的舆情事件经核实已与另一事件合并，现续报如下，后续报送以本期为准，详见附件。"}


def _issue_and_send(rt: Runtime, s: Session, ref: Referral, event: Event, *, kind: str) -> bool:
    now = rt.now()
    try:
        with s.begin_nested():
            issued = special_report.build(s, rt.profile, ref, _ack_url(rt, ref), rt.settings.data_dir / "reports",
                                          now, rt.settings.timezone, kind=kind,
                                          others=_others(s, event.id, ref.department_key))
    except AlreadyIssued:
        return False  # another worker sent this very 续报 just now
    except OSError as exc:
        log.error("referral %s: %s failed: %s", ref.id, kind, exc)
        return False
    title = event_title(s, event)
    ticket = s.scalar(select(Ticket).where(Ticket.event_id == event.id))
    said = ("dismissed" if kind == "final" and ticket is not None and closed_as_dismissed(ticket)
            else "merged" if issued.merged_from is not None else kind)
    if kind == "special":  # sent again, as it now stands, where the first failed: tracked as the first was
        ref.status, ref.report_path, ref.last_error = ReferralStatus.PENDING, str(issued.path), ""
    # A 专报 or 续报 sent again keeps its 期号: what it now reports tells one sending from the next.
    # Both come back through on_delivery: a 续报 that failed is marked on the referral until it goes.
    _send(rt, s, ref, event, tag=issued.tag, purpose_line=_PURPOSE[said],
          subject=f"{_SUBJECTS[kind]}{title}（{event.level}）",
          callback=registry.REFERRAL_DELIVERED if kind in ("special", "followup") else "",
          attachment=str(issued.path))
    log.info("event %s: %s %s to %s", event.id, kind, issued.number, ref.department_key)
    return True


def _create(rt: Runtime, s: Session, event: Event, ticket: Ticket, key: str, why: str,
            others: list[str]) -> Referral | None:
    department = rt.profile.department(key)
    now = rt.now()
    ref = Referral(event_id=event.id, ticket_id=ticket.id, department_key=key, department_name=department.name,
                   route=why, level=event.level, status=ReferralStatus.PENDING,
                   suggestion=special_report.suggestion_for(department, event, rt.profile.clocks), created_at=now, remind_count=0)
    try:
        with s.begin_nested():
            s.add(ref)
    except IntegrityError:  # another worker referred this event to this department just now
        return None
    try:
        issued = special_report.build(s, rt.profile, ref, _ack_url(rt, ref), rt.settings.data_dir / "reports", now,
                                      rt.settings.timezone, others=others)
    except (OSError, AlreadyIssued) as exc:
        ref.status, ref.last_error = ReferralStatus.FAILED, f"专报生成失败：{exc}"
        log.error("referral %s: report failed: %s", ref.id, exc)
        return ref
    ref.report_path = str(issued.path)
    title = event_title(s, event)
    _send(rt, s, ref, event, tag="send", purpose_line=_PURPOSE["special"],
          subject=f"{_SUBJECTS['special']}{title}（{event.level}）", callback=registry.REFERRAL_DELIVERED)
    log.info("event %s referred to %s (%s)", event.id, key, why)
    return ref


def _message(rt: Runtime, ref: Referral, event: Event, purpose_line: str, title: str) -> tuple[str, str]:
    """The referral message as plain text (no Markdown) and as HTML with a working 签收 link;
    ``title`` is the event account's, as in the subject and the attached 专报."""
    department = rt.profile.department(ref.department_key)
    zone = rt.settings.timezone
    link = _ack_url(rt, ref)
    lines = [f"{department.name}：", purpose_line, f"事件：{title}",
             f"等级：{event.level}　首次发现：{cn_datetime(event.first_seen_at, zone)}",
             f"处置建议：{ref.suggestion}"]
    esc = html_lib.escape
    html = ("<html><body style=\"font-family:FangSong,serif;font-size:16px\">"
            + "".join(f"<p>{esc(line)}</p>" for line in lines)
            + f'<p>请打开以下链接签收（无需登录）：<a href="{esc(link)}">签收</a></p>'
            + f"<p>{esc(rt.profile.bureau.name)}</p></body></html>")
    text = "\n".join([*lines, f"请打开以下链接签收（无需登录）：{link}", rt.profile.bureau.name])
    return text, html


def _send(rt: Runtime, s: Session, ref: Referral, event: Event, *, tag: str, purpose_line: str, subject: str,
          callback: str, attachment: str = "") -> int:
    department = rt.profile.department(ref.department_key)
    body, html = _message(rt, ref, event, purpose_line, event_title(s, event))
    attached = attachment or ref.report_path
    count = 0
    for index, channel in enumerate(department.channels):
        if create_delivery(s, key=f"referral:{ref.id}:{tag}:{index}", purpose="referral", channel=channel.type,
                           target=channel.to, subject=subject, body=body, ref_type="referral",
                           ref_id=ref.id, attachments=attachments(attached) if attached else [],
                           callback=callback, html=html if channel.type == "email" else "") is not None:
            count += 1
    return count


def on_delivery(delivery_id: int) -> str | None:
    """Job (Delivery callback): a referral's message was finally sent or failed; its new status."""
    rt = get_runtime()
    with rt.session() as s:
        # Its channels' callbacks (and a callback run twice, or final_reports) decide at once: each
        # reads the referral only once the one before it has written (no stale read on SQLite).
        write_lock_first(s)
        d = s.get(Delivery, int(delivery_id))
        if d is None or d.ref_type != "referral" or d.ref_id is None:
            return None
        ref = s.get(Referral, d.ref_id)
        if ref is None:
            return None
        followup = _followup_sent(s, ref, d)
        if followup is not None:
            _on_followup_delivery(s, ref, d, followup)
        elif d.status == DeliveryStatus.SENT and ref.status in (ReferralStatus.PENDING, ReferralStatus.FAILED):
            ref.status, ref.sent_at, ref.last_error = ReferralStatus.SENT, d.sent_at or rt.now(), ""
            ticket = s.get(Ticket, ref.ticket_id) if ref.ticket_id is not None else None
            event = s.get(Event, ref.event_id)
            if ticket is not None and event is not None and ticket.state == TicketState.CLOSED:
                # The ticket closed while this 专报 was being retried: its 终报 was held for it.
                _issue_and_send(rt, s, ref, event, kind="final")
            elif event is not None and _last_fingerprint(s, ref) != event_account(s, event.id).fingerprint:
                # The event moved on while this 专报 was being retried: the 续报 held for it, routed
                # as every 续报 is (after the monitor's notice, one worker at a time).
                event_id = event.id
                after_commit(s, lambda: enqueue("respond", registry.CONSIDER_EVENT, event_id,
                                                job_id=f"consider-{event_id}-after-delivery-{delivery_id}"))
        elif d.status == DeliveryStatus.FAILED and ref.status == ReferralStatus.PENDING:
            siblings = s.scalars(select(Delivery.status).where(Delivery.ref_type == "referral",
                                                               Delivery.ref_id == ref.id, Delivery.id != d.id))
            if DeliveryStatus.SENT not in set(siblings):
                ref.status = ReferralStatus.FAILED
                ref.last_error = f"{d.channel} {d.target}：{d.last_error}"
        return str(ref.status)


# How the referral says a 续报 did not reach the department: it stays until a 续报 goes (the one
# that failed, sent again under its number at the event's next change, as a failed 专报 is).
FOLLOWUP_FAILED = "续报发送失败"


def _followup_sent(s: Session, ref: Referral, d: Delivery) -> IssuedDocument | None:
    """The 续报 this delivery sent (its key holds the sending's tag), or None for any other message."""
    for record in s.scalars(select(IssuedDocument).where(IssuedDocument.referral_id == ref.id,
                                                         IssuedDocument.kind == "followup")):
        if d.idempotency_key.startswith(f"referral:{ref.id}:{special_report.sending_tag(record)}:"):
            return record
    return None


def _on_followup_delivery(s: Session, ref: Referral, d: Delivery, record: IssuedDocument) -> None:
    """A 续报 went, or every channel of it failed: the referral says so where the monitor reads it
    (its status stays: the department had its 专报)."""
    if d.status == DeliveryStatus.SENT:
        if ref.last_error.startswith(FOLLOWUP_FAILED):
            ref.last_error = ""
    elif d.status == DeliveryStatus.FAILED and special_report.undelivered(s, ref, record):
        ref.last_error = (f"{FOLLOWUP_FAILED}：{issue_number(record.year, record.number)}续报未送达"
                          f"（{d.channel} {d.target}：{d.last_error}），事件再有变化时重发")


def acknowledge_by_token(rt: Runtime, token: str, by: str, note: str = "") -> int:
    """签收 through the signed link, once; the referral id.

    A forged, damaged or expired link is refused; so is a second use after the referral was
    acknowledged (:class:`AlreadyAcknowledged` names who signed and when): a link that leaked
    from a mailbox cannot add notes under any name it likes.
    """
    state = check_ack_token(rt, token)
    note = clean_note(note, NOTE_MAX)
    with rt.session() as s:
        now = rt.now()
        # Compare-and-set: of two visits racing, exactly one signs.
        won = cast(CursorResult[Any], s.execute(
            update(Referral).where(Referral.id == state.referral_id, Referral.acknowledged_at.is_(None))
            .values(status=ReferralStatus.ACKNOWLEDGED, acknowledged_at=now,
                    acknowledged_by=by[:100]))).rowcount
        if not won:
            ref = s.get(Referral, state.referral_id)
            assert ref is not None
            raise AlreadyAcknowledged(_signed_line(rt, ref.acknowledged_by, ref.acknowledged_at))
        if note:
            s.add(ReferralNote(referral_id=state.referral_id, at=now, by=by[:100], text=f"签收备注：{note}"))
    return state.referral_id


def _signed_line(rt: Runtime, by: str, at: datetime | None) -> str:
    return f"该报送已于{cn_datetime(at, rt.settings.timezone) if at else '此前'}由{by or '联络员'}签收，无需重复签收"


def acknowledge(rt: Runtime, referral_id: int, by: str, note: str = "") -> int:
    """签收 by a signed-in liaison (idempotent: a second acknowledgement keeps the first and only adds its note)."""
    note = clean_note(note, 2000)
    with rt.session() as s:
        ref = s.get(Referral, int(referral_id))
        if ref is None:
            raise ReferralNotFound(f"报送 #{referral_id} 不存在")
        now = rt.now()
        if ref.acknowledged_at is None:
            ref.status, ref.acknowledged_at, ref.acknowledged_by = ReferralStatus.ACKNOWLEDGED, now, by
        if note:
            s.add(ReferralNote(referral_id=ref.id, at=now, by=by, text=f"签收备注：{note}"))
        return ref.id


def add_note(rt: Runtime, referral_id: int, by: str, text: str) -> int:
    """A note on a referral (处置反馈); the note id."""
    text = clean_note(text, 5000)
    if not text:
        raise QueueError("备注不能为空")
    with rt.session() as s:
        if s.get(Referral, int(referral_id)) is None:
            raise ReferralNotFound(f"报送 #{referral_id} 不存在")
        note = ReferralNote(referral_id=int(referral_id), at=rt.now(), by=by, text=text)
        s.add(note)
        s.flush()
        return note.id


def remind_unacknowledged(rt: Runtime, now: datetime) -> int:
    """Remind every sent referral unacknowledged for ``referral_remind_hours`` since it was sent or last reminded."""
    every = timedelta(hours=rt.profile.clocks.referral_remind_hours)
    with rt.session() as s:
        # Not once the ticket closed: its 终报 said the matter is over (handled, or dismissed).
        rows = s.execute(select(Referral.id, Referral.remind_count, Referral.sent_at, Referral.reminded_at)
                         .outerjoin(Ticket, Ticket.id == Referral.ticket_id).where(
            Referral.acknowledged_at.is_(None), or_(Ticket.id.is_(None), Ticket.state != TicketState.CLOSED),
            Referral.status.in_([ReferralStatus.SENT, ReferralStatus.DELIVERED]))).all()
    reminded = 0
    for referral_id, count, sent_at, reminded_at in rows:
        last = reminded_at or sent_at
        if last is None or last + every > now:
            continue
        with rt.session() as s:
            # Compare-and-set on the count: of two sweeps racing, only one sends this reminder.
            won = cast(CursorResult[Any], s.execute(
                update(Referral).where(Referral.id == referral_id, Referral.remind_count == count)
                .values(remind_count=count + 1, reminded_at=now))).rowcount
            if not won:
                continue
            ref = s.get(Referral, referral_id)
            assert ref is not None  # the update above just found it
            event = s.get(Event, ref.event_id)
            assert event is not None  # a referral's event goes only with the referral (foreign key)
            hours = (now - (ref.sent_at or now)).total_seconds() / 3600
            _send(rt, s, ref, event, tag=f"remind{count + 1}",
                  purpose_line=f"我局于 {hours:.0f} 小时前报送的舆情事件尚未签收，请及时签收处置（第 {count + 1} 次提醒）。",
                  subject=f"【报送提醒】{event_title(s, event)}（{event.level}）尚未签收", callback="")
            reminded += 1
    return reminded
