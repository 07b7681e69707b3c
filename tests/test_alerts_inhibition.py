"""Inhibition as data (the profile's alerts.inhibit_rules): the loader's checks word for word,
the shipped ticket rule, a rule of the bureau's own, and `yuqing route test` showing them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from factories import alerted, deliveries, grow, make_event
from sqlalchemy import select
from typer.testing import CliRunner

from yuqing.alerts.jobs import evaluate_event, sweep_alerts
from yuqing.exceptions import ProfileError
from yuqing.models import Alert, Event, Ticket
from yuqing.profile import InhibitRule, load_profile

# Chromium's print stood in for: these tests read no PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


REPO = Path(__file__).resolve().parent.parent
TICKET_RULE = {"source_match": {"type": ["ticket"]}, "target_match": {"notice": ["update", "escalation", "repeat"]},
               "equal": ["event"]}


def _with_rules(tmp_path: Path, rules: list[dict]) -> Path:
    data = yaml.safe_load((REPO / "profiles" / "zezhou-emergency.yaml").read_text(encoding="utf-8"))
    data["alerts"]["inhibit_rules"] = rules
    path = tmp_path / "bureau.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("rule, message", [
    ({**TICKET_RULE, "target_match": {"notice": ["update", "rise"]}},
     "字段 alerts.inhibit_rules[0].target_match.notice: 等级上升（rise）的通知从不抑制，请删去 rise"),
    ({**TICKET_RULE, "target_match": {"notice": ["again"]}},
     "字段 alerts.inhibit_rules[0].target_match.notice: 未知的通知类型 'again'，应为 first（首次预警）、update（更新）、"
     "escalation（升级）、repeat（重复提醒）"),
    ({**TICKET_RULE, "source_match": {"type": ["referral"]}},
     "字段 alerts.inhibit_rules[0].source_match.type: 未知的抑制源 'referral'，应为 ticket（回应工单（未关闭））、"
     "alert（预警（未排除、未解除））"),
    ({**TICKET_RULE, "source_match": {"level": ["重大"]}},
     "字段 alerts.inhibit_rules[0].source_match: 须给出 type：抑制源是 ticket（回应工单）还是 alert（预警）"),
    ({**TICKET_RULE, "source_match": {"type": ["ticket"], "level": ["四级"]}},
     "字段 alerts.inhibit_rules[0].source_match.level: 未知等级 '四级'，应为 一般、较大、重大 或 特别重大"),
    ({**TICKET_RULE, "equal": []}, "字段 alerts.inhibit_rules[0].equal: 至少需要一项"),
    ({**TICKET_RULE, "equal": ["town"]},
     "字段 alerts.inhibit_rules[0].equal[0]: 应为 'type', 'event', 'level', 'category', 'topic', 'place', 'state' 或 "
     "'notice'"),
    ({**TICKET_RULE, "equal": ["event", "notice"]},
     "字段 alerts.inhibit_rules[0].equal: notice 不能作为相同标签（抑制源没有通知类型）"),
])
def test_bad_inhibit_rule_is_refused_naming_the_key(tmp_path: Path, rule: dict, message: str) -> None:
    path = _with_rules(tmp_path, [rule])
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value) == f"{path}: {message}"


def test_shipped_profiles_carry_the_ticket_rule_as_data() -> None:
    for name in ("zezhou-emergency", "nanning-meteorological"):
        assert load_profile(name).alerts.inhibit_rules == [InhibitRule(**TICKET_RULE)]


def _ticket(rt, event_id: int) -> None:  # type: ignore[no-untyped-def]
    now = rt.now()
    with rt.session() as s:
        s.add(Ticket(event_id=event_id, level="较大", title="透水", opened_at=now, detected_at=now, updated_at=now))


def test_without_the_rule_a_ticket_no_longer_stops_updates(runtime) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.alerts.inhibit_rules = []  # the bureau removed it: no `if ticket` left in code
    event_id = make_event(runtime, items=2)
    alerted(runtime, event_id)
    _ticket(runtime, event_id)
    runtime.clock.advance(minutes=10)
    grow(runtime, event_id, items=10)
    evaluate_event(event_id)
    sent = deliveries(runtime)
    assert len(sent) == 2 and "新增 10 条" in sent[-1].body
    with runtime.session() as s:
        assert not s.scalar(select(Alert.inhibited))


def _place(rt, event_id: int, name: str, code: str) -> None:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        s.get(Event, event_id).places = [{"name": name, "code": code}]


def test_a_rule_of_the_bureau_own_a_major_alert_mutes_lesser_ones_in_its_town(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.alerts.inhibit_rules = [InhibitRule(
        source_match={"type": ["alert"], "level": ["重大", "特别重大"]},
        target_match={"level": ["一般", "较大"]}, equal=["place"])]
    major = make_event(runtime, title="巴公镇化工厂爆炸", level="重大")
    _place(runtime, major, "巴公镇", "140525101")
    alerted(runtime, major)
    same_town = make_event(runtime, title="巴公镇化工厂周边道路封闭", level="较大")
    _place(runtime, same_town, "巴公镇", "140525101")
    elsewhere = make_event(runtime, title="南村镇一煤矿透水", level="较大")
    _place(runtime, elsewhere, "南村镇", "140525102")
    for event_id in (same_town, elsewhere):
        alerted(runtime, event_id)
    by_event = {d.subject for d in deliveries(runtime)}
    assert any("巴公镇化工厂爆炸" in s for s in by_event)
    assert any("南村镇一煤矿透水" in s for s in by_event)
    assert not any("道路封闭" in s for s in by_event), "inhibited by the 重大 alert in the same town"
    grow(runtime, same_town, level="重大")  # no longer a lesser alert: the rule no longer holds
    evaluate_event(same_town)
    runtime.clock.advance(seconds=30)
    sweep_alerts()
    assert any("【舆情预警·重大】巴公镇化工厂周边道路封闭" in d.subject for d in deliveries(runtime))
    drain()
    subjects = [m["Subject"] for m in smtp.wait_for(3)]
    assert len(subjects) >= 3


def test_route_test_shows_timings_and_what_a_ticket_inhibits(profile) -> None:
    from yuqing.cli import app

    result = CliRunner().invoke(app, ["route", "test", "--level", "重大", "--ticket"])
    assert result.exit_code == 0, result.output
    assert "预警时序：首次通知等待 10 秒，更新至少相隔 120 秒；等级上升立即通知" in result.output
    assert ("已开工单时：首次预警发出；更新（被 alerts.inhibit_rules[0] 抑制）；升级（被 alerts.inhibit_rules[0] 抑制）；"
            "重复提醒（被 alerts.inhibit_rules[0] 抑制）；等级上升发出") in result.output
    quiet = CliRunner().invoke(app, ["route", "test", "--level", "较大"])
    assert "预警时序：首次通知等待 30 秒，更新至少相隔 300 秒" in quiet.output
    assert "未开工单时：首次预警发出；更新发出；升级发出；重复提醒发出；等级上升发出" in quiet.output
