"""Warnings and breaches: scheduled checks, the sweep, idempotent firing, and a Redis restart."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from factories import make_reported_event
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from yuqing.models import Deadline, Delivery, Referral
from yuqing.queue import jobs, special_report, tickets
from yuqing.queue.clocks import check_deadline

# Chromium's print stood in for: these tests read no PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


def _deliveries(rt, purpose=None):  # type: ignore[no-untyped-def]
    with rt.session() as s:
        q = select(Delivery).order_by(Delivery.id)
        if purpose:
            q = q.where(Delivery.purpose == purpose)
        return [(d.purpose, d.target, d.subject) for d in s.scalars(q)]


def _deadline(rt, ticket_id, kind):  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id, Deadline.kind == kind)).one()


def test_checks_are_scheduled_at_each_warning_and_the_due_time(runtime) -> None:
    event = make_reported_event(runtime, level="重大")
    tid = jobs.consider_event(event)
    registry = ScheduledJobRegistry("respond", connection=runtime.redis)
    ids = set(registry.get_job_ids())
    d5 = _deadline(runtime, tid, "authoritative_info")
    d24 = _deadline(runtime, tid, "press_conference")
    ts = int(d5.due_at.timestamp())
    # 5 h clock: the 24 h and 6 h marks fall before it started, so only 1 h before and due.
    assert {f"deadline-{d5.id}-w1-{ts - 3600}", f"deadline-{d5.id}-due-{ts}"} == {i for i in ids if i.startswith(f"deadline-{d5.id}-")}
    ts24 = int(d24.due_at.timestamp())
    assert {f"deadline-{d24.id}-w6-{ts24 - 6 * 3600}", f"deadline-{d24.id}-w1-{ts24 - 3600}",
            f"deadline-{d24.id}-due-{ts24}"} == {i for i in ids if i.startswith(f"deadline-{d24.id}-")}


def test_warnings_then_breach_escalate_to_leadership_once_each(runtime, clock) -> None:
    event = make_reported_event(runtime, level="重大", topics=["production_safety"])
    tid = jobs.consider_event(event)
    d5 = _deadline(runtime, tid, "authoritative_info")
    _ = [r for r in _deliveries(runtime) if r[0] == "referral"]
    clock.advance(hours=3, minutes=59)
    assert check_deadline(d5.id) == "none"  # a job early is harmless
    clock.advance(minutes=1)  # 1 h before the 5 h clock
    assert check_deadline(d5.id) == "warn1"
    assert check_deadline(d5.id) == "none"
    assert jobs.sweep()["warnings"] == 0
    warnings = _deliveries(runtime, "deadline")
    assert warnings == [("deadline", "aqsc@yjj.zezhou.example",
                         "【回应时限预警】泽州县某煤矿发生透水事故：发布权威信息还剩不到 1 小时")]
    clock.advance(hours=1)
    assert jobs.sweep()["breaches"] == 1
    assert check_deadline(d5.id) == "none"
    assert jobs.sweep()["breaches"] == 0
    breaches = _deliveries(runtime, "breach")
    assert [b[1] for b in breaches] == ["fjz@yjj.zezhou.example"]  # 重大: the supervising leader
    assert breaches[0][2] == "【回应超时】泽州县某煤矿发生透水事故：发布权威信息已逾期"


def test_grave_breach_also_reaches_the_principal_leader_and_48h_clock(runtime, clock) -> None:
    event = make_reported_event(runtime, level="特别重大", topics=["fire"])
    tid = jobs.consider_event(event)
    clock.advance(hours=47)
    jobs.sweep()
    first = _deadline(runtime, tid, "first_response")
    assert first.due_at == first.started_at + timedelta(hours=48)
    assert set(first.warnings_sent) == {24.0, 6.0, 1.0}
    clock.advance(hours=1)
    jobs.sweep()
    with runtime.session() as s:
        rows = s.scalars(select(Delivery).where(Delivery.purpose == "breach", Delivery.ref_id == first.id)).all()
        assert sorted(d.target for d in rows) == ["fjz@yjj.zezhou.example", "juzhang@yjj.zezhou.example"]


def test_paused_clock_neither_warns_nor_breaches(runtime, clock) -> None:
    event = make_reported_event(runtime, level="重大")
    tid = jobs.consider_event(event)
    tickets.pause(runtime, tid, "李红梅", "核查伤亡人数")
    clock.advance(hours=6)
    assert jobs.sweep() == {"warnings": 0, "breaches": 0, "follow_ups_ended": 0, "referral_reminders": 0}
    tickets.resume(runtime, tid, "李红梅")
    assert _deadline(runtime, tid, "authoritative_info").due_at == runtime.now() + timedelta(hours=5)
    clock.advance(hours=4)
    assert jobs.sweep()["warnings"] >= 1


def test_a_response_meets_the_clock_and_stops_its_reminders(runtime, clock) -> None:
    event = make_reported_event(runtime, level="较大")
    tid = jobs.consider_event(event)
    clock.advance(hours=30)
    tickets.record_response(runtime, tid, "赵值班", "first_response", "政府网站", "https://gov.example/1", "",
                            runtime.now())
    clock.advance(hours=18)  # past the 48 h: met, so no breach
    assert jobs.sweep()["breaches"] == 0
    assert _deliveries(runtime, "breach") == []
    clock.advance(hours=7)  # but 持续发布 is due 24 h after the response while the event is active
    assert jobs.sweep()["breaches"] == 1
    assert [b[2] for b in _deliveries(runtime, "breach")] == ["【回应超时】泽州县某煤矿发生透水事故：持续发布已逾期"]


def test_follow_ups_end_when_the_event_goes_quiet(runtime, clock) -> None:
    event = make_reported_event(runtime, level="较大")
    tid = jobs.consider_event(event)
    tickets.record_response(runtime, tid, "赵值班", "first_response", "政府网站", "", "通报全文", runtime.now())
    clock.advance(hours=72)
    counts = jobs.sweep()
    assert (counts["follow_ups_ended"], counts["breaches"]) == (1, 0)


def test_sweep_recovers_reminders_lost_with_redis(runtime, clock, redis_server, drain, smtp) -> None:
    event = make_reported_event(runtime, level="重大")
    tid = jobs.consider_event(event)
    d5 = _deadline(runtime, tid, "authoritative_info")
    try:
        redis_server.stop()
        clock.advance(hours=4, minutes=30)  # the 1-hour warning came while Redis was away
        counts = jobs.sweep()  # the database is the truth: the warning is recorded even with Redis down
        assert counts["warnings"] == 1
    finally:
        if redis_server.process is None:
            redis_server.start()
    runtime.redis.flushall()  # what a Redis that lost its data looks like: no jobs at all
    assert Queue("notify", connection=runtime.redis).count == 0
    assert jobs.sweep()["warnings"] == 0  # nothing sent twice
    from yuqing.alerts.jobs import sweep_alerts

    assert sweep_alerts()["deliveries_requeued"] >= 1  # pending rows go back on the queue
    drain()
    mails = [m for m in smtp.messages if "回应时限预警" in str(make_header(decode_header(m["Subject"])))]
    assert len(mails) == 1 and mails[0]["To"] == "aqsc@yjj.zezhou.example"
    clock.advance(minutes=31)
    assert jobs.sweep()["breaches"] == 1
    assert check_deadline(d5.id) == "none"


def test_a_clock_changed_in_the_profile_is_the_hours_the_mail_and_the_report_state(runtime, clock) -> None:
    """One home for the regulation's hours: a bureau's stricter 3 h / 12 h clocks run, and every
    message and document says 3 and 12, not the regulations' 5 and 24 typed into the text."""
    runtime.profile.clocks = runtime.profile.clocks.model_copy(
        update={"authoritative_info_hours": 3.0, "press_conference_hours": 12.0})
    event = make_reported_event(runtime, level="重大")
    tid = jobs.consider_event(event)
    d3 = _deadline(runtime, tid, "authoritative_info")
    assert d3.due_at - d3.started_at == timedelta(hours=3)
    with runtime.session() as s:
        referral = s.scalars(select(Referral).where(Referral.event_id == event)).first()
        doc, _ = special_report.compose(s, runtime.profile, referral, "http://127.0.0.1:8000/ack/x", runtime.now(),
                                        runtime.settings.timezone)
    text = "\n".join(getattr(b, "text", "") for b in doc.blocks)
    assert "我局须在 3 小时内发布权威信息、12 小时内举行新闻发布会" in text
    assert "发布权威信息：11月21日11时00分前" in text and "5 小时" not in text and "24 小时" not in text
    clock.advance(hours=3)
    assert check_deadline(d3.id) == "breach"
    with runtime.session() as s:
        body = s.scalars(select(Delivery.body).where(Delivery.purpose == "breach")).first()
    assert "依据：国办发〔2016〕80号：特别重大、重大突发事件 3 小时内发布权威信息" in body
    assert "截止 2026年11月21日 11时00分（北京时间）" in body  # 公文 dates, not 2026-11-21 11:00
