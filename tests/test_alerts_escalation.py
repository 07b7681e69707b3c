"""The acknowledgement and escalation ladder, moved by the ManualClock; repeats; admin alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import alerted, deliveries, make_event

from yuqing.alerts import actions
from yuqing.alerts.exceptions import AlertsError
from yuqing.alerts.jobs import source_unhealthy, sweep_alerts
from yuqing.models import Alert, ReviewLabel, Source


def _targets(rt) -> list[str]:  # type: ignore[no-untyped-def]
    return [d.target for d in deliveries(rt)]


def test_ladder_climbs_one_rung_per_timeout_and_skips_principal_below_grave(runtime) -> None:  # type: ignore[no-untyped-def]
    alert_id = alerted(runtime, make_event(runtime, level="重大"))
    assert _targets(runtime) == ["zhiban@yjj.zezhou.example"]
    runtime.clock.advance(minutes=29)
    sweep_alerts()
    assert len(deliveries(runtime)) == 1, "the monitor still has a minute"
    runtime.clock.advance(minutes=1)
    sweep_alerts()
    assert _targets(runtime)[-1] == "aqsc@yjj.zezhou.example"  # head of 安全生产综合协调科
    assert "升级至科室负责人" in deliveries(runtime)[-1].body
    sweep_alerts()
    assert len(deliveries(runtime)) == 2, "one rung at a time"
    runtime.clock.advance(minutes=60)
    sweep_alerts()
    assert _targets(runtime)[-1] == "fjz@yjj.zezhou.example"
    runtime.clock.advance(minutes=120)
    sweep_alerts()
    assert "juzhang@yjj.zezhou.example" not in _targets(runtime), "principal leader: 特别重大 only"
    with runtime.session() as s:
        assert s.get(Alert, alert_id).rung == 2


def test_grave_alert_reaches_principal_leader_and_ack_stops_the_ladder(runtime) -> None:  # type: ignore[no-untyped-def]
    alert_id = alerted(runtime, make_event(runtime, level="特别重大"))
    for minutes in (30, 60, 120):
        runtime.clock.advance(minutes=minutes)
        sweep_alerts()
    assert _targets(runtime)[-1] == "juzhang@yjj.zezhou.example"
    other = alerted(runtime, make_event(runtime, title="泽州县山体滑坡", level="特别重大", topics=("earthquake_geology",)))
    actions.acknowledge(runtime, other, "赵值班")
    before = len(deliveries(runtime))
    runtime.clock.advance(hours=10)
    sweep_alerts()
    assert not [d for d in deliveries(runtime)[before:] if d.ref_id == other]
    with pytest.raises(AlertsError, match="无需再确认"):
        actions.acknowledge(runtime, other, "赵值班")
    assert alert_id != other


def test_repeat_interval_resends_unacknowledged_alert_at_top_rung(runtime) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.alerts.escalation = runtime.profile.alerts.escalation[:1]  # monitor only
    alerted(runtime, make_event(runtime))
    runtime.clock.advance(minutes=239)
    sweep_alerts()
    assert len(deliveries(runtime)) == 1
    runtime.clock.advance(minutes=1)
    sweep_alerts()
    assert len(deliveries(runtime)) == 2 and "重复提醒" in deliveries(runtime)[-1].body


def test_review_dismiss_writes_a_training_label(runtime) -> None:  # type: ignore[no-untyped-def]
    alert_id = alerted(runtime, make_event(runtime))
    actions.review(runtime, alert_id, "dismiss", "赵值班")
    with pytest.raises(AlertsError, match="修改等级时须给出新等级"):
        actions.review(runtime, alert_id, "level", "赵值班")
    actions.review(runtime, alert_id, "level", "赵值班", level="major_2")
    with runtime.session() as s:
        labels = [(r.label, r.value) for r in s.query(ReviewLabel).order_by(ReviewLabel.id)]
        assert labels == [("dismiss", ""), ("level", "重大")]
        assert s.get(Alert, alert_id).status == "dismissed"


def _failing_source(rt, now) -> int:  # type: ignore[no-untyped-def]
    """A feed that has failed five times running, last at ``now``; its id."""
    with rt.session() as s:
        src = Source(key="jc-news", name="晋城新闻网", kind="feed", tier="local", created_at=now, healthy=False,
                     consecutive_failures=5, last_error="HTTP 503", last_error_at=now)
        s.add(src)
        s.flush()
        return src.id


def test_unhealthy_source_alerts_the_administrator_once(runtime) -> None:  # type: ignore[no-untyped-def]
    now = runtime.now()
    source_id = _failing_source(runtime, now)
    first = source_unhealthy(source_id)
    assert source_unhealthy(source_id) == first
    sent = deliveries(runtime)
    assert [(d.purpose, d.target) for d in sent] == [("admin", "zhiban@yjj.zezhou.example")]
    assert "连续失败 5 次" in sent[0].body
    with runtime.session() as s:
        s.get(Source, source_id).healthy = True
    sweep_alerts()
    with runtime.session() as s:
        assert s.get(Alert, first).status == "resolved"


def test_admin_alert_shows_times_in_the_bureaus_zone(runtime) -> None:  # type: ignore[no-untyped-def]
    """A bureau in 乌鲁木齐 (settings.timezone) reads its own clock in the administrator's notice,
    not Shanghai's two hours ahead."""
    runtime.settings = runtime.settings.model_copy(update={"timezone": "Asia/Urumqi"})
    now = runtime.now()  # 2026-11-21 08:00 in Shanghai, 06:00 in Urumqi
    source_id = _failing_source(runtime, now)
    source_unhealthy(source_id)
    body = deliveries(runtime)[0].body
    assert "最近错误（2026-11-21 06:00）" in body, body
    with pytest.raises(AlertsError, match="2026-11-21 06:00"):
        actions.silence(runtime, "赵值班", "测试", now - timedelta(minutes=1), event_id=1)
