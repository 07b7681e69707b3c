"""Tickets: opening, 回应主体, the regulation's clocks, states, pause/resume, re-open, level rise."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest
from factories import make_reported_event, touch_event
from rq import Queue
from sqlalchemy import select

from yuqing.models import Deadline, Referral, Ticket, TicketChange, TicketPause
from yuqing.queue import jobs, tickets
from yuqing.queue.exceptions import BadResponse, IllegalTransition, PauseError

# Chromium's print stood in for: these tests read no PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


def _ticket(rt, event_id):  # type: ignore[no-untyped-def]
    with rt.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.event_id == event_id)).one()
        s.expunge(t)
        return t


def _due(rt, ticket_id) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return {(d.kind if d.seq == 0 else f"{d.kind}{d.seq}"): d
                for d in s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id))}


def _respond(rt, ticket_id, kind="first_response", hours_ago=0.0):  # type: ignore[no-untyped-def]
    return tickets.record_response(rt, ticket_id, "赵值班", kind, "泽州县应急局微信公众号",
                                   "https://wx.example/post/1", "", rt.now() - timedelta(hours=hours_ago))


def test_below_threshold_opens_nothing_but_a_watch_word_does(runtime) -> None:
    quiet = make_reported_event(runtime, level="一般")
    assert jobs.consider_event(quiet) is None
    word = make_reported_event(runtime, level="一般", watch_words=["瞒报"])
    assert jobs.consider_event(word) is not None
    ticket = _ticket(runtime, word)
    assert ticket.level == "一般"
    with runtime.session() as s:
        reasons = [c.reason for c in s.scalars(select(TicketChange).where(TicketChange.ticket_id == ticket.id))]
    assert reasons[0] == "命中关注词：瞒报"


def test_larger_event_gets_48h_clock_from_first_detection(runtime) -> None:
    event = make_reported_event(runtime, level="较大", ago_hours=3)
    ticket_id = jobs.consider_event(event)
    assert jobs.consider_event(event) == ticket_id  # idempotent
    t = _ticket(runtime, event)
    due = _due(runtime, ticket_id)
    assert set(due) == {"first_response"}
    assert due["first_response"].due_at == t.detected_at + timedelta(hours=48)
    assert t.detected_at == runtime.now() - timedelta(hours=3)


def test_major_event_gets_5h_and_24h_clocks(runtime) -> None:
    event = make_reported_event(runtime, level="重大")
    ticket_id = jobs.consider_event(event)
    due = _due(runtime, ticket_id)
    first = _ticket(runtime, event).detected_at
    assert due["authoritative_info"].due_at == first + timedelta(hours=5)
    assert due["press_conference"].due_at == first + timedelta(hours=24)
    assert due["first_response"].due_at == first + timedelta(hours=48)


def test_assignment_by_remit_spanning_and_grave(runtime) -> None:
    fire = make_reported_event(runtime, topics=["fire"])
    jobs.consider_event(fire)
    one = _ticket(runtime, fire)
    assert one.section_key == "flood_fire"
    assert one.assignment_reason == "事件话题「火灾防治」属防汛抗旱和火灾防治管理科职责（谁主管谁发声）"
    assert one.state == "assigned"
    spans = make_reported_event(runtime, topics=["production_safety", "rescue"])
    jobs.consider_event(spans)
    t = _ticket(runtime, spans)
    assert t.section_key == "office"
    assert t.assignment_reason == "事件涉及多个科室（救援协调和预案管理科、安全生产综合协调科），由办公室统筹协调"
    grave = make_reported_event(runtime, level="特别重大", topics=["earthquake_geology"])
    jobs.consider_event(grave)
    t = _ticket(runtime, grave)
    assert (t.section_key, t.lead_leader) == ("quake", "局长 王建国")
    assert t.assignment_reason.endswith("；特别重大，由主要负责同志（局长 王建国）牵头")


def test_level_rise_adds_tighter_clocks_from_then_on(runtime, clock) -> None:
    event = make_reported_event(runtime, level="较大")
    ticket_id = jobs.consider_event(event)
    clock.advance(hours=10)
    touch_event(runtime, event, level="重大")
    jobs.consider_event(event)
    due = _due(runtime, ticket_id)
    assert due["authoritative_info"].due_at == runtime.now() + timedelta(hours=5)
    assert due["press_conference"].due_at == runtime.now() + timedelta(hours=24)
    assert due["first_response"].due_at == _ticket(runtime, event).detected_at + timedelta(hours=48)
    with runtime.session() as s:
        last = s.scalars(select(TicketChange).where(TicketChange.ticket_id == ticket_id)
                         .order_by(TicketChange.id.desc())).first()
    assert last.reason.startswith("等级由较大升为重大，新增时限：发布权威信息（2026-11-21 23:00 前）")
    assert _ticket(runtime, event).level == "重大"


def test_response_moves_states_and_starts_follow_up_cadence(runtime, clock) -> None:
    event = make_reported_event(runtime, level="较大")
    ticket_id = jobs.consider_event(event)
    clock.advance(hours=2)
    _respond(runtime, ticket_id)
    assert _ticket(runtime, event).state == "responded"
    due = _due(runtime, ticket_id)
    assert due["first_response"].met_at == runtime.now()
    assert due["follow_up1"].due_at == runtime.now() + timedelta(hours=24)
    clock.advance(hours=20)
    _respond(runtime, ticket_id, kind="follow_up")
    due = _due(runtime, ticket_id)
    assert due["follow_up1"].met_at == runtime.now()
    assert due["follow_up2"].due_at == runtime.now() + timedelta(hours=24)
    assert _ticket(runtime, event).state == "following_up"


def test_every_illegal_change_is_refused_word_for_word(runtime, clock) -> None:
    event = make_reported_event(runtime, level="较大")
    tid = jobs.consider_event(event)  # assigned by 谁主管谁发声

    def refused(to: str) -> str:
        with pytest.raises(IllegalTransition) as info:
            tickets.transition(runtime, tid, to, "赵值班", "测试")
        return str(info.value)

    assert refused("new") == f"工单 #{tid} 不能从「已分派」改为「新建」：工单不能退回新建"
    assert refused("assigned") == f"工单 #{tid} 已处于「已分派」状态"
    assert refused("responded") == f"工单 #{tid} 不能从「已分派」改为「已回应」：须按流程先改为「回应中」"
    assert refused("following_up") == f"工单 #{tid} 不能从「已分派」改为「持续发布」：须按流程先改为「回应中」"
    assert refused("closed") == f"工单 #{tid} 不能关闭：须至少记录一次回应（渠道、链接或正文、时间）"
    assert refused("bogus") == "未知状态 'bogus'，应为 new, assigned, responding, responded, following_up, closed"
    tickets.transition(runtime, tid, "responding", "赵值班", "开始起草回应")
    assert refused("assigned") == f"工单 #{tid} 不能从「回应中」改为「已分派」：不能退回之前的状态"
    assert refused("responded") == f"工单 #{tid} 不能从「回应中」改为「已回应」：须先记录至少一次回应（渠道、链接或正文、时间）"
    _respond(runtime, tid)
    assert refused("responding") == f"工单 #{tid} 不能从「已回应」改为「回应中」：不能退回之前的状态"
    assert refused("closed") == (f"工单 #{tid} 不能关闭：事件仍在发酵，最近一条信息在 2026-11-21 08:00，"
                                 "须平静满 72 小时（2026-11-24 08:00 之后）")
    clock.advance(hours=72)
    tickets.close(runtime, tid, "赵值班", "已平息")
    queued = Queue("respond", connection=runtime.redis).get_jobs()
    assert [(j.func_name, j.args) for j in queued if j.func_name.endswith("generate_report")] == [
        ("yuqing.dashboards.reports.generate_report", (tid,))], "closing queues the post-event report"
    assert refused("assigned") == f"工单 #{tid} 不能从「已关闭」改为「已分派」：已关闭的工单须先重新打开"
    assert refused("closed") == f"工单 #{tid} 已关闭"
    with pytest.raises(IllegalTransition, match=f"^工单 #{tid} 已关闭，须先重新打开才能记录回应$"):
        _respond(runtime, tid)
    with pytest.raises(PauseError, match=f"^工单 #{tid} 已关闭，不能暂停计时$"):
        tickets.pause(runtime, tid, "赵值班", "等待调查")
    with pytest.raises(IllegalTransition, match="^重新打开工单须写明原因$"):
        tickets.reopen(runtime, tid, "赵值班", " ")
    tickets.reopen(runtime, tid, "赵值班", "家属再次发帖")
    with pytest.raises(IllegalTransition, match=f"^工单 #{tid} 未关闭（当前「已分派」），无需重新打开$"):
        tickets.reopen(runtime, tid, "赵值班", "再开")
    with pytest.raises(BadResponse, match="^回应须有链接或正文$"):
        tickets.record_response(runtime, tid, "赵值班", "first_response", "微博", "", "", runtime.now())
    with runtime.session() as s:
        changes = [(c.from_state, c.to_state, c.by, c.reason) for c in
                   s.scalars(select(TicketChange).where(TicketChange.ticket_id == tid).order_by(TicketChange.id))]
    assert changes[0] == ("", "new", "系统", "事件达到较大")
    assert ("assigned", "responding", "赵值班", "开始起草回应") in changes
    assert ("following_up", "closed", "赵值班", "已平息") in changes or ("responded", "closed", "赵值班", "已平息") in changes
    assert changes[-1] == ("closed", "assigned", "赵值班", "重新打开：家属再次发帖")


def test_pause_and_resume_extend_due_times_and_show_in_history(runtime, clock) -> None:
    event = make_reported_event(runtime, level="重大")
    tid = jobs.consider_event(event)
    before = {k: d.due_at for k, d in _due(runtime, tid).items()}
    with pytest.raises(PauseError, match="^暂停计时须写明原因$"):
        tickets.pause(runtime, tid, "赵值班", "  ")
    clock.advance(hours=1)
    tickets.pause(runtime, tid, "李红梅", "上级工作组调查期间统一口径")
    with pytest.raises(PauseError, match=f"^工单 #{tid} 的计时已于 2026-11-21 09:00 由 李红梅 暂停，不能重复暂停$"):
        tickets.pause(runtime, tid, "赵值班", "再停")
    clock.advance(hours=3)
    assert tickets.resume(runtime, tid, "李红梅") == 3.0
    with pytest.raises(PauseError, match=f"^工单 #{tid} 的计时未暂停，无需恢复$"):
        tickets.resume(runtime, tid, "李红梅")
    after = {k: d.due_at for k, d in _due(runtime, tid).items()}
    assert all(after[k] == before[k] + timedelta(hours=3) for k in before)
    with runtime.session() as s:
        pause = s.scalars(select(TicketPause).where(TicketPause.ticket_id == tid)).one()
        assert (pause.paused_by, pause.resumed_by, pause.reason) == ("李红梅", "李红梅", "上级工作组调查期间统一口径")
        reasons = [c.reason for c in s.scalars(select(TicketChange).where(TicketChange.ticket_id == tid))]
    assert "暂停计时：上级工作组调查期间统一口径" in reasons
    assert "恢复计时：暂停 3.0 小时，各时限顺延" in reasons


def test_event_flaring_after_close_reopens_the_ticket(runtime, clock) -> None:
    event = make_reported_event(runtime, level="较大")
    tid = jobs.consider_event(event)
    _respond(runtime, tid)
    clock.advance(hours=73)
    tickets.close(runtime, tid, "赵值班")
    assert jobs.consider_event(event) == tid  # nothing new: stays closed
    assert _ticket(runtime, event).state == "closed"
    clock.advance(hours=5)
    touch_event(runtime, event, reopened_count=1)
    assert jobs.consider_event(event) == tid
    t = _ticket(runtime, event)
    assert (t.state, t.reopen_count, t.closed_at) == ("assigned", 1, None)
    assert _due(runtime, tid)["follow_up2"].due_at == runtime.now() + timedelta(hours=24)


def test_manual_open_below_threshold(runtime) -> None:
    event = make_reported_event(runtime, level="一般")
    tid = tickets.open_ticket_for_event(runtime, event, "赵值班")
    assert tickets.open_ticket_for_event(runtime, event, "赵值班") == tid


def _consider_in_child(event_id: int, barrier, out) -> None:  # type: ignore[no-untyped-def]
    from yuqing.store import dispose_all

    dispose_all()  # never share the parent's pooled SQLite connections across fork
    barrier.wait()
    out.put(jobs.consider_event(event_id))


def test_two_worker_processes_open_one_ticket(runtime) -> None:
    event = make_reported_event(runtime, level="重大")
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_consider_in_child, args=(event, barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    ids = {out.get(timeout=5), out.get(timeout=5)}
    assert len(ids) == 1 and None not in ids
    with runtime.session() as s:
        assert len(s.scalars(select(Ticket)).all()) == 1
        assert len(s.scalars(select(Deadline)).all()) == 3
        keys = [r.department_key for r in s.scalars(select(Referral))]
    assert sorted(keys) == ["cyberspace", "propaganda"]


def test_lost_race_on_insert_takes_the_update_path(runtime, monkeypatch) -> None:
    """The other worker commits between our look-up and our insert: IntegrityError, then update."""
    event = make_reported_event(runtime, level="较大")
    first = jobs.consider_event(event)
    real = tickets._follow_event
    calls = {"n": 0}

    def blind_scalar(rt, s, ticket, ev, *args):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return real(rt, s, ticket, ev, *args)

    import sqlalchemy.orm

    orig_scalar = sqlalchemy.orm.Session.scalar
    state = {"hidden": True}

    def scalar(self, stmt, *a, **k):  # type: ignore[no-untyped-def]
        if state["hidden"] and "FROM tickets" in str(stmt) and "tickets.event_id" in str(stmt):
            state["hidden"] = False
            return None  # as if the other worker had not committed yet
        return orig_scalar(self, stmt, *a, **k)

    monkeypatch.setattr(sqlalchemy.orm.Session, "scalar", scalar)
    monkeypatch.setattr(tickets, "_follow_event", blind_scalar)
    assert tickets._upsert(runtime, event, by="系统", force=False) == first
    assert calls["n"] == 1
    with runtime.session() as s:
        assert len(s.scalars(select(Ticket)).all()) == 1
