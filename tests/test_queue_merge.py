"""What a merge of two events (one incident) carries over in the response workflow: the merged
event's ticket (回应记录 and clocks) onto the kept event's ticket, and a notice to the departments
referred for the merged event alone."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from docx import Document
from factories import alerted
from sqlalchemy import select

from yuqing.analysis import merging
from yuqing.documents.keep import unjoined
from yuqing.models import (
    AuditEntry,
    Deadline,
    DeadlineKind,
    Delivery,
    Event,
    IssuedDocument,
    Referral,
    Ticket,
    TicketResponse,
    TicketState,
)
from yuqing.queue import jobs as jobs_queue
from yuqing.queue import tickets
from yuqing.queue.tickets import merged_closing

pytestmark = pytest.mark.usefixtures("print_stand_in")  # the 专报 and 续报 are read as DOCX, no PDF
K = DeadlineKind


def _event(rt, title: str, level: str) -> int:  # type: ignore[no-untyped-def]
    now = rt.now()
    with rt.session() as s:
        event = Event(title=title, first_seen_at=now, last_seen_at=now, updated_at=now, level=level,
                      in_remit=True, in_jurisdiction=True, relevance=0.9)
        s.add(event)
        s.flush()
        return event.id


def _clocks(rt, ticket_id: int) -> dict[str, Deadline]:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        rows = s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id, Deadline.kind != K.FOLLOW_UP))
        out = {d.kind: d for d in rows}
        s.expunge_all()
        return out


def test_a_merged_tickets_responses_and_clocks_go_onto_the_kept_ticket_and_it_closes_as_merged(runtime) -> None:  # type: ignore[no-untyped-def]
    """The kept event (较大 at t0) and the merged one (重大 at t0+10 min, its 5 h and 24 h clocks
    from then) each have a ticket; the merged one's ticket recorded the authoritative information
    at t0+20 min; the kept event rose to 重大 at t0+30 min (its own 5 h and 24 h clocks from then).
    Merged: the kept ticket holds the response, its 48 h clock is met (met on the other ticket),
    its 5 h and 24 h clocks count from t0+10 min (the earlier start: the regulation counts from
    first detection), so the 24 h clock is breached at t0+10 min+24 h, not half an hour later; the
    merged ticket is closed 已合并 pointing to the kept ticket, and the 操作日志 says so."""
    t0 = runtime.now()
    kept = _event(runtime, "巴公镇煤矿透水", "较大")
    kept_ticket = tickets.consider(runtime, kept)
    runtime.clock.advance(minutes=10)
    gone = _event(runtime, "泽州一煤矿出事，多人被困", "重大")
    gone_ticket = tickets.consider(runtime, gone)
    assert kept_ticket and gone_ticket
    runtime.clock.advance(minutes=10)
    response = tickets.record_response(runtime, gone_ticket, "monitor", K.AUTHORITATIVE_INFO, "政府网站",
                                       "https://gov.example.cn/1", "", runtime.now())
    runtime.clock.advance(minutes=10)
    with runtime.session() as s:
        s.get(Event, kept).level = "重大"
    tickets.consider(runtime, kept)
    mine = _clocks(runtime, kept_ticket)
    assert mine[K.PRESS_CONFERENCE].started_at == t0 + timedelta(minutes=30)  # a rise counts from now
    with runtime.session() as s:  # analysis's record of the merge
        s.get(Event, gone).merged_into = kept
    runtime.clock.advance(minutes=5)

    assert jobs_queue.merged_event(gone, kept)["ticket"] == gone_ticket
    merged_at = runtime.now()
    with runtime.session() as s:
        ticket = s.get(Ticket, kept_ticket)
        assert [r.id for r in s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == kept_ticket))] == [response]
        assert ticket.state == TicketState.RESPONDED and ticket.detected_at == t0
        assert "合并工单" in ticket.changes[-1].reason and f"#{gone_ticket}" in ticket.changes[-1].reason
        other = s.get(Ticket, gone_ticket)
        assert other.state == TicketState.CLOSED and other.closed_at == merged_at
        assert other.changes[-1].reason == merged_closing(kept, kept_ticket) == (
            f"已合并：已并入事件 #{kept}，由工单 #{kept_ticket} 继续处置")
        assert not s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == gone_ticket)).all()
        audit = {(a.action, a.target_id): a.detail for a in s.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(["ticket.merged", "ticket.close"])))}
        assert audit[("ticket.merged", kept_ticket)]["from_ticket"] == gone_ticket
        assert audit[("ticket.close", gone_ticket)]["ticket"] == kept_ticket
    clocks = _clocks(runtime, kept_ticket)
    assert set(clocks) == {K.FIRST_RESPONSE, K.AUTHORITATIVE_INFO, K.PRESS_CONFERENCE}
    assert clocks[K.FIRST_RESPONSE].started_at == t0  # the kept ticket's start is the earlier here
    assert clocks[K.FIRST_RESPONSE].met_at == t0 + timedelta(minutes=20)  # met on the other ticket
    assert clocks[K.AUTHORITATIVE_INFO].started_at == t0 + timedelta(minutes=10)
    assert clocks[K.AUTHORITATIVE_INFO].met_at == t0 + timedelta(minutes=20)
    press = clocks[K.PRESS_CONFERENCE]
    assert (press.started_at, press.due_at, press.met_at) == (
        t0 + timedelta(minutes=10), t0 + timedelta(minutes=10, hours=24), None)

    # the carried 24 h clock is the one that breaches, on the kept ticket alone
    runtime.clock.advance(hours=24, minutes=-24)  # t0+10 min+24 h+1 min
    assert jobs_queue.sweep()["breaches"] == 1
    with runtime.session() as s:
        assert s.get(Deadline, press.id).breached_at == runtime.now()
        assert all(d.breached_at is None for d in s.get(Ticket, gone_ticket).deadlines)
    # the job again (a retry) changes nothing
    assert jobs_queue.merged_event(gone, kept)["ticket"] is None


def _followups(rt) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Each department's 续报 mailed so far: the text of the attached DOCX, in order."""
    out: dict[str, list[str]] = {}
    with rt.session() as s:
        rows = s.execute(select(Referral.department_key, Delivery.attachments).join(
            Referral, Referral.id == Delivery.ref_id).where(Delivery.ref_type == "referral",
                                                            Delivery.subject.startswith("【舆情续报】"),
                                                            Delivery.channel == "email").order_by(Delivery.id)).all()
    for key, files in rows:
        doc = Document(io.BytesIO(Path(next(f for f in files if f.endswith(".docx"))).read_bytes()))
        out.setdefault(key, []).append(unjoined("\n".join(p.text for p in doc.paragraphs)))
    return out


def test_departments_referred_for_the_merged_event_alone_get_one_notice_of_the_merge(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """Both events are 重大 (宣传部 and 网信办 are referred for each); the merged one also carries a
    complaint, so 信访 was referred for it alone. Merged, 信访 gets exactly one 续报 that says the
    event it had is now one with the kept event and which 期 to follow; 宣传部 and 网信办, referred
    for both, get no such notice; nothing more goes when the kept event is considered again."""
    kept = _event(runtime, "巴公镇煤矿透水", "重大")
    alerted(runtime, kept)
    jobs_queue.consider_event(kept)
    runtime.clock.advance(minutes=10)
    gone = _event(runtime, "泽州一煤矿出事，家属求助", "重大")
    with runtime.session() as s:
        s.get(Event, gone).flags = {"complaint": True}
    alerted(runtime, gone)
    jobs_queue.consider_event(gone)
    drain()
    with runtime.session() as s:
        referred = {e: {r.department_key for r in s.scalars(select(Referral).where(Referral.event_id == e))}
                    for e in (kept, gone)}
    assert referred[gone] - referred[kept] == {"petitions"} and {"propaganda", "cyberspace"} <= referred[kept]
    assert _followups(runtime) == {}

    runtime.clock.advance(minutes=10)
    with runtime.session() as s:  # what analysis does after the grouping lock
        s.get(Event, gone).merged_into = kept
        merging.settle(s, {gone: kept}, runtime.now(), runtime.profile.judgement)
    drain()
    jobs_queue.consider_event(kept)
    drain()
    notices = _followups(runtime)
    assert set(notices) == {"petitions"} and len(notices["petitions"]) == 1
    with runtime.session() as s:
        number = s.scalar(select(IssuedDocument.number).where(IssuedDocument.kind == "followup",
                                                              IssuedDocument.department_key == "petitions"))
        year = runtime.now().year
    text = notices["petitions"][0]
    assert "“泽州一煤矿出事，家属求助”相关舆情" in text
    assert f"该事件已与“巴公镇煤矿透水”合并，系同一事件，后续报送以〔{year}〕第{number}期为准" in text
    assert "我局已于" in text and "报送该事件舆情" not in text  # the 续报's usual opening, replaced
    # considered again with nothing new: no second notice, and still none to the others
    jobs_queue.consider_event(kept)
    drain()
    assert _followups(runtime) == notices
