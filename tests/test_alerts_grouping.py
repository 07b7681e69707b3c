"""Rules, grouping (one alert per event), re-notification, silences and inhibition."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from factories import alerted, deliveries, grow, make_event
from rq import Queue
from sqlalchemy import select

from yuqing.alerts import actions
from yuqing.alerts.jobs import evaluate_event, sweep_alerts
from yuqing.models import Alert, Item, Ticket

# Chromium's print stood in for: these tests read no PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


def _alerts(rt) -> list[Alert]:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return list(s.scalars(select(Alert)))


def test_irrelevant_event_raises_no_alert(runtime) -> None:  # type: ignore[no-untyped-def]
    event_id = make_event(runtime, title="中超联赛 太原队主场取胜", relevance=0.1, in_remit=False,
                          topics=(), velocity=30, baseline=1)
    assert evaluate_event(event_id) is None
    assert _alerts(runtime) == [] and deliveries(runtime) == []


def test_each_rule_gives_its_reason(runtime) -> None:  # type: ignore[no-untyped-def]
    watched = make_event(runtime, title="网友称泽州应急局不作为", relevance=0.3, level="一般",
                         watch_words=["不作为"])
    spiking = make_event(runtime, title="泽州县山林起火", relevance=0.55, velocity=12, baseline=2)
    central = make_event(runtime, title="晋城一企业安全隐患被曝光", relevance=0.4, tier="central")
    reasons = {eid: runtime and _reasons(runtime, evaluate_event(eid)) for eid in (watched, spiking, central)}
    assert any("命中关注词：不作为" in r for r in reasons[watched])
    assert any("传播加速" in r and "6.0 倍" in r for r in reasons[spiking])
    assert any(r.startswith("中央媒体报道") for r in reasons[central])


def test_an_event_placed_outside_the_jurisdiction_does_not_alert_by_velocity(runtime) -> None:  # type: ignore[no-untyped-def]
    from yuqing.models import Event

    foreign = make_event(runtime, title="孟加拉国暴雨引发洪灾", relevance=0.2, level="一般", velocity=30, baseline=1)
    at_home = make_event(runtime, title="泽州县山林起火", relevance=0.2, level="一般", velocity=30, baseline=1)
    with runtime.session() as s:
        s.get(Event, foreign).in_jurisdiction = False
        for item in s.scalars(select(Item).where(Item.event_id == foreign)):
            item.in_jurisdiction, item.flags = False, {"outside": ["孟加拉国"]}
    assert evaluate_event(foreign) is None, "a spike abroad is not the bureau's response pressure"
    assert any("传播加速" in r for r in _reasons(runtime, evaluate_event(at_home)))


def _reasons(rt, alert_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return list(s.get(Alert, alert_id).reasons)


def test_one_alert_per_event_renotified_on_level_rise_and_doubled_volume(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    event_id = make_event(runtime, items=4)
    first = alerted(runtime, event_id)
    assert [d.target for d in deliveries(runtime)] == ["zhiban@yjj.zezhou.example"]
    grow(runtime, event_id, items=2)  # 6 items: not double of 4
    assert evaluate_event(event_id) == first
    assert len(deliveries(runtime)) == 1, "a few more reposts are not a new message"
    grow(runtime, event_id, items=2)  # 8 = 2 × 4
    evaluate_event(event_id)
    assert len(deliveries(runtime)) == 1, "within the group interval (5 min) the update waits"
    runtime.clock.advance(minutes=5)
    sweep_alerts()
    assert "新增 4 条" in deliveries(runtime)[-1].body and "更新：" in deliveries(runtime)[-1].subject
    grow(runtime, event_id, level="重大")
    evaluate_event(event_id)
    assert len(_alerts(runtime)) == 1
    last = deliveries(runtime)[-1]
    assert "等级由较大升至重大" in last.body and "【舆情预警·重大】" in last.subject
    # reaching 重大 queued the 要情专报 at once
    jobs = [j.func_name for j in Queue("notify", connection=runtime.redis).get_jobs()]
    assert "yuqing.alerts.jobs.send_major_digest" in jobs
    drain()
    assert len(smtp.wait_for(5 + 2)) >= 7  # 5 alert mails (the rise reaches the leaders too) + the 专报 to two
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in smtp.messages]
    assert sum("要情专报" in s for s in subjects) == 2


def test_silence_mutes_until_it_expires_by_itself(runtime) -> None:  # type: ignore[no-untyped-def]
    event_id = make_event(runtime)
    silence = actions.silence(runtime, "赵值班", "已核实为演练，暂不推送", runtime.now() + timedelta(hours=1),
                              event_id=event_id)
    alert_id = evaluate_event(event_id)
    assert deliveries(runtime) == []
    with runtime.session() as s:
        assert s.get(Alert, alert_id).silence_id == silence.id
    runtime.clock.advance(minutes=59)
    sweep_alerts()
    assert deliveries(runtime) == [], "still silenced a minute before the end"
    runtime.clock.advance(minutes=2)
    sweep_alerts()
    sent = deliveries(runtime)
    assert len(sent) == 1 and "静默到期" in sent[0].body
    with runtime.session() as s:
        assert s.get(Alert, alert_id).silence_id is None


def test_matcher_silence_mutes_matching_events_only(runtime) -> None:  # type: ignore[no-untyped-def]
    actions.silence(runtime, "赵值班", "防火期例行通报", runtime.now() + timedelta(hours=2),
                    matchers={"topic": ["fire"], "level": "较大"})
    muted = make_event(runtime, title="泽州县山林起火", topics=("fire",))
    loud = make_event(runtime, title="泽州县某煤矿透水")
    alerted(runtime, muted)
    alerted(runtime, loud)
    assert [d.ref_id for d in deliveries(runtime)] == [_alert_of(runtime, loud)]


def _alert_of(rt, event_id: int) -> int:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return s.scalar(select(Alert.id).where(Alert.event_id == event_id))


def _with_deaths(rt, event_id: int, deaths: int) -> None:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        item = s.scalars(select(Item).where(Item.event_id == event_id).order_by(Item.id.desc())).first()
        item.casualties = {"deaths": deaths}


def test_changes_within_the_group_interval_go_out_as_one_update(runtime) -> None:  # type: ignore[no-untyped-def]
    assert runtime.profile.alerts.group_interval_seconds == 300  # the default: 5 minutes
    event_id = make_event(runtime, items=3)
    _with_deaths(runtime, event_id, 3)
    alerted(runtime, event_id)
    first = deliveries(runtime)
    assert len(first) == 1 and "更新" not in first[0].subject
    runtime.clock.advance(seconds=3)  # the case: a "doubled" re-notification 3 s later
    grow(runtime, event_id, items=3)
    evaluate_event(event_id)
    runtime.clock.advance(minutes=2)
    grow(runtime, event_id, items=3)
    _with_deaths(runtime, event_id, 12)
    evaluate_event(event_id)
    sweep_alerts()
    assert len(deliveries(runtime)) == 1, "every change inside the interval is held"
    runtime.clock.advance(minutes=3)
    sweep_alerts()
    sent = deliveries(runtime)
    assert len(sent) == 2
    assert "**通知原因**：新增 6 条；死亡人数 3→12" in sent[-1].body
    # named as the 专报 names it now: the event account's title, the latest authoritative report (the last of three at one time)
    assert sent[-1].subject == "【舆情预警·较大】更新：泽州县某煤矿发生透水事故 多人被困（报道8）"
    sweep_alerts()
    assert len(deliveries(runtime)) == 2, "one update, not one per sweep"


def test_a_level_rise_is_not_held_and_says_what_else_changed(runtime) -> None:  # type: ignore[no-untyped-def]
    event_id = make_event(runtime, items=3)
    alerted(runtime, event_id)
    runtime.clock.advance(seconds=30)
    grow(runtime, event_id, items=3, level="重大")
    evaluate_event(event_id)
    sent = deliveries(runtime)
    rise = [d for d in sent if d.subject.startswith("【舆情预警·重大】更新：")]
    assert rise, "a rise goes out at once, inside the interval"
    assert "**通知原因**：等级由较大升至重大；新增 3 条" in rise[0].body
    targets = {d.target for d in rise}
    assert {"zhiban@yjj.zezhou.example", "fjz@yjj.zezhou.example"} <= targets, "from 重大 the leaders too"


def test_a_ticket_inhibits_repeats_and_the_ladder_never_a_rise(runtime) -> None:  # type: ignore[no-untyped-def]
    event_id = make_event(runtime, items=2)
    alert_id = alerted(runtime, event_id)
    assert len(deliveries(runtime)) == 1
    now = runtime.now()
    with runtime.session() as s:
        s.add(Ticket(event_id=event_id, level="较大", title="透水", opened_at=now, detected_at=now, updated_at=now))
    runtime.clock.advance(minutes=10)
    grow(runtime, event_id, items=10)
    evaluate_event(event_id)
    runtime.clock.advance(hours=5)
    sweep_alerts()
    assert len(deliveries(runtime)) == 1, "the ticket's clocks take over: no volume update, no ladder"
    with runtime.session() as s:
        alert = s.get(Alert, alert_id)
        assert alert.inhibited and alert.rung == 0
    grow(runtime, event_id, level="重大")
    evaluate_event(event_id)
    sent = deliveries(runtime)
    assert len(sent) > 1 and "等级由较大升至重大" in sent[-1].body


def test_group_wait_sends_a_burst_as_one_first_notification(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    from rq.registry import ScheduledJobRegistry

    assert runtime.profile.alerts.group_wait_seconds == 30  # the default (较大: the root route's)
    event_id = make_event(runtime, items=3)
    alert_id = evaluate_event(event_id)
    assert deliveries(runtime) == [], "the first notification waits for the rest of the burst"
    scheduled = ScheduledJobRegistry("notify", connection=runtime.redis).get_job_ids()
    wake = int((runtime.now() + timedelta(seconds=30)).timestamp())
    assert f"group-{alert_id}-{wake}" in scheduled, "a delayed evaluation at the wait's end (the sweep too)"
    runtime.clock.advance(seconds=12)
    grow(runtime, event_id, items=4)
    evaluate_event(event_id)
    runtime.clock.advance(seconds=17)
    sweep_alerts()
    assert deliveries(runtime) == [], "29 s: still waiting"
    runtime.clock.advance(seconds=1)
    assert sweep_alerts()["first"] == 1
    sent = deliveries(runtime)
    assert len(sent) == 1 and "更新" not in sent[0].subject and "首次预警" in sent[0].body
    assert "**传播**：7 条" in sent[0].body, "the whole burst in one message"
    drain()
    [mail] = smtp.wait_for(1)
    assert mail["X-Envelope-To"] == "zhiban@yjj.zezhou.example"
    runtime.clock.advance(seconds=30)
    sweep_alerts()
    evaluate_event(event_id)
    assert len(deliveries(runtime)) == 1, "sent once"


def test_the_major_route_sets_its_own_wait_and_interval(runtime) -> None:  # type: ignore[no-untyped-def]
    event_id = make_event(runtime, items=3, level="重大")  # routing.routes[0]: 10 s wait, 120 s interval
    evaluate_event(event_id)
    runtime.clock.advance(seconds=10)
    sweep_alerts()
    assert len(deliveries(runtime)) == 1, "10 s, not the default 30 s"
    runtime.clock.advance(seconds=20)
    grow(runtime, event_id, items=3)  # doubled
    evaluate_event(event_id)
    from rq.registry import ScheduledJobRegistry

    alert_id = _alert_of(runtime, event_id)
    wake = int((runtime.now() + timedelta(seconds=100)).timestamp())  # 120 s after the first notice
    assert f"group-{alert_id}-{wake}" in ScheduledJobRegistry("notify", connection=runtime.redis).get_job_ids()
    runtime.clock.advance(seconds=99)
    sweep_alerts()
    assert len(deliveries(runtime)) == 1, "119 s after the first: held"
    runtime.clock.advance(seconds=1)
    sweep_alerts()
    sent = deliveries(runtime)
    assert len(sent) == 2 and "新增 3 条" in sent[-1].body, "120 s, not the default 300 s"


def test_a_rise_inside_the_wait_goes_as_the_first_and_a_later_rise_at_once(runtime) -> None:  # type: ignore[no-untyped-def]
    event_id = make_event(runtime, items=3)
    evaluate_event(event_id)
    runtime.clock.advance(seconds=5)
    grow(runtime, event_id, items=1, level="重大")  # a rise inside the wait: the first, at 重大
    evaluate_event(event_id)
    runtime.clock.advance(seconds=5)
    sweep_alerts()  # the 重大 route waits 10 s from the alert's creation
    [first] = deliveries(runtime)
    assert first.subject.startswith("【舆情预警·重大】") and "更新" not in first.subject
    runtime.clock.advance(seconds=3)
    grow(runtime, event_id, level="特别重大")
    evaluate_event(event_id)
    assert "等级由重大升至特别重大" in deliveries(runtime)[-1].body, "a rise 3 s later goes at once"


def test_the_leaders_major_digest_waits_for_the_monitors_held_notice(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """An event first alerted at 重大: the route's group_wait holds the monitor's notice, and the
    leaders' 要情专报 about it waits too (in one demo the leaders were 36 s ahead)."""
    event_id = make_event(runtime, level="重大", items=4)
    evaluate_event(event_id)
    drain()
    assert deliveries(runtime) == [], "while the monitor's notice is held, nobody hears of the event"
    wait = _route_wait(runtime, event_id)
    assert wait > 1
    runtime.clock.advance(seconds=wait - 1)
    evaluate_event(event_id)  # more reports within the wait
    drain()
    assert deliveries(runtime) == [], "a second before the wait ends the 专报 still waits"
    runtime.clock.advance(seconds=1)
    sweep_alerts()
    drain()
    sent = deliveries(runtime)
    alerts = [d for d in sent if d.purpose == "alert"]
    digests = [d for d in sent if d.purpose == "digest"]
    assert alerts and digests, [(d.purpose, d.target) for d in sent]
    assert "zhiban@yjj.zezhou.example" in [d.target for d in alerts]
    assert max(d.id for d in alerts) < min(d.id for d in digests)
    assert all(d.sent_at is not None for d in alerts + digests)
    assert max(d.sent_at for d in alerts if d.target == "zhiban@yjj.zezhou.example") <= min(d.sent_at for d in digests)


def test_the_wake_up_of_a_held_notice_sends_the_major_digest_after_it(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """The job scheduled for the wait's end (an evaluation) sends the held notice, then the 专报."""
    event_id = make_event(runtime, level="重大", items=4)
    evaluate_event(event_id)
    jobs = [j.func_name for j in Queue("notify", connection=runtime.redis).get_jobs()]
    assert "yuqing.alerts.jobs.send_major_digest" not in jobs
    runtime.clock.advance(seconds=_route_wait(runtime, event_id))
    evaluate_event(event_id)
    jobs = [j.func_name for j in Queue("notify", connection=runtime.redis).get_jobs()]
    assert "yuqing.alerts.jobs.send_major_digest" in jobs
    assert jobs.index("yuqing.alerts.jobs.deliver") < jobs.index("yuqing.alerts.jobs.send_major_digest")


def _route_wait(rt, event_id: int) -> int:  # type: ignore[no-untyped-def]
    """The group_wait of the route this event follows (重大 routes wait less than the root)."""
    from yuqing.alerts.grouping import route_timings
    from yuqing.models import Event

    with rt.session() as s:
        event = s.get(Event, event_id)
        items = list(s.scalars(select(Item).where(Item.event_id == event_id)))
        return route_timings(rt, event, items).group_wait_seconds


def test_a_silenced_event_reaching_major_is_told_to_the_monitor_before_the_leaders(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """The leaders' 要情专报 goes whatever the silence; the monitor, who must act, is told of the
    rise to 重大 first (after the route's wait), not left to hear of it at the silence's end."""
    event_id = make_event(runtime, items=4)
    actions.silence(runtime, "赵值班", "已核实为演练，暂不推送", runtime.now() + timedelta(hours=4), event_id=event_id)
    evaluate_event(event_id)
    drain()
    assert deliveries(runtime) == [], "较大 and silenced: muted"
    grow(runtime, event_id, items=3, level="重大")
    evaluate_event(event_id)
    drain()
    assert deliveries(runtime) == [], "the monitor's notice waits for the route's group_wait, and the 专报 with it"
    runtime.clock.advance(seconds=_route_wait(runtime, event_id))
    sweep_alerts()
    drain()
    sent = deliveries(runtime)
    alerts = [d for d in sent if d.purpose == "alert"]
    digests = [d for d in sent if d.purpose == "digest"]
    assert [d.target for d in alerts] == ["zhiban@yjj.zezhou.example"] and digests
    assert alerts[0].id < min(d.id for d in digests) and alerts[0].sent_at <= min(d.sent_at for d in digests)
    runtime.clock.advance(minutes=30)
    sweep_alerts()
    assert len(deliveries(runtime, purpose="alert")) == 1, "still silenced: no climbing, no repeats"


def test_an_alert_dismissed_while_its_first_notice_waits_stays_dismissed(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """The monitor dismissed (排除) an alert on the console during the route's group_wait: the
    wake-up at the wait's end sent its 首次预警 anyway and set it firing again, undoing the
    judgement. Now it stays dismissed and silent; only a later level rise speaks (and reopens it)."""
    event_id = make_event(runtime, items=4)
    alert_id = evaluate_event(event_id)
    assert deliveries(runtime) == [], "held by the route's group_wait"
    actions.review(runtime, alert_id, "dismiss", "赵值班")
    runtime.clock.advance(seconds=_route_wait(runtime, event_id))
    evaluate_event(event_id)  # the wake-up job scheduled for the wait's end
    sweep_alerts()
    grow(runtime, event_id, items=4)  # more reports of the same level
    evaluate_event(event_id)
    drain()
    assert deliveries(runtime) == [], [d.subject for d in deliveries(runtime)]
    with runtime.session() as s:
        assert s.get(Alert, alert_id).status == "dismissed"
    grow(runtime, event_id, level="重大")
    evaluate_event(event_id)
    sent = deliveries(runtime)
    assert sent and "等级由较大升至重大" in sent[0].body, [d.body for d in sent]
    with runtime.session() as s:
        assert s.get(Alert, alert_id).status == "firing"
