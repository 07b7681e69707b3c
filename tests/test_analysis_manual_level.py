"""A level the monitor set by hand (人工研判) stands when the next report of the incident arrives:
analysis raises it again only on evidence graver than the level the monitor overrode."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import pytest
from dashboard_seed import seed_users
from factories import alerted
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_dashboards_app import login

from yuqing.analysis import decision, jobs
from yuqing.clock import fmt
from yuqing.dashboards.app import create_app
from yuqing.models import (
    Alert,
    AuditEntry,
    Deadline,
    Digest,
    Event,
    IssuedDocument,
    Item,
    Referral,
    Ticket,
    TicketChange,
)
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

# Chromium's print stood in for: these tests count and route documents but read no PDF
# (tests/conftest.py); what Chromium prints is tested where it is read.
pytestmark = pytest.mark.usefixtures("print_stand_in")

FIRST = "泽州县巴公镇一煤矿发生透水事故，已致3人死亡，另有5人失联，救援正在进行"
AGAIN = "泽州县巴公镇煤矿透水事故：3人死亡5人失联，当地正全力搜救"
GRAVER = "泽州县巴公镇煤矿透水事故死亡人数升至12人，仍有2人失联"


def _post(rt, text: str) -> int:  # type: ignore[no-untyped-def]
    digest = hashlib.sha256(text.encode()).hexdigest()
    with rt.session() as s:
        item = Item(url=f"https://news.example.cn/{digest[:16]}", url_hash=digest, title="", text=text,
                    tier="provincial", fetched_at=rt.now(), published_at=rt.now(), content_hash=digest)
        s.add(item)
        s.flush()
        return item.id


def _level(rt, event_id: int) -> str:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return s.get(Event, event_id).level


@pytest.mark.slow  # the pipeline, the console and three analyses: about 7 s
def test_a_level_lowered_by_hand_stands_until_graver_evidence_arrives(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    seed_users(runtime)
    decision.reset()
    first = _post(runtime, FIRST)
    event_id = jobs.analyse_items([first])[first]
    computed = _level(runtime, event_id)
    assert computed in ("较大", "重大"), "3 dead: analysis grades it above 一般"
    alerted(runtime, event_id)
    drain()
    with runtime.session() as s:
        alert_id = s.scalar(select(Alert.id).where(Alert.event_id == event_id))
    assert alert_id is not None
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        token = login(client, "monitor")
        runtime.clock.advance(minutes=1)
        r = client.post(f"/alerts/{alert_id}/review", data={"action": "level", "level": "一般", "csrf_token": token})
        assert r.status_code == 303
    assert _level(runtime, event_id) == "一般"

    # the same facts again, from another outlet: the monitor's judgement stands
    runtime.clock.advance(minutes=10)
    again = _post(runtime, AGAIN)
    assert jobs.analyse_items([again])[again] == event_id
    with runtime.session() as s:
        event = s.get(Event, event_id)
        assert event.level == "一般", "a report of the same gravity does not undo the monitor's level"
        assert event.flags["manual_level"]["by"] == "monitor"
        assert event.flags["manual_level"]["suggested"]["level"] == computed, "the monitor is told the computed level"

    # 12 dead: graver than what the monitor overrode, so analysis raises it
    runtime.clock.advance(minutes=10)
    graver = _post(runtime, GRAVER)
    assert jobs.analyse_items([graver])[graver] == event_id
    assert _level(runtime, event_id) in ("重大", "特别重大"), "12 dead is graver than the level overridden"
    with runtime.session() as s:
        assert "suggested" not in s.get(Event, event_id).flags["manual_level"], "the level passed the suggestion"


TOWN3 = "泽州县巴公镇一煤矿发生透水事故，已致3人死亡，救援正在进行"
TOWN3_AGAIN = "泽州县巴公镇煤矿透水事故：3人死亡，当地正全力搜救"
TOWN12 = "泽州县巴公镇煤矿透水事故死亡人数升至12人，省应急管理厅派出工作组"
OPENING = "泽州县巴公镇一煤矿发生透水事故，已致12人死亡，救援正在进行"
ELSEWHERE = "泽州县南村镇一化工厂发生爆炸事故，已致12人死亡，救援正在进行"


def _analysed(rt, drain, text: str, queues: tuple[str, ...] | None = None) -> int:  # type: ignore[no-untyped-def]
    """The item analysed by the real job on a real RQ worker, and what analysis hands on run."""
    item_id = _post(rt, text)
    enqueue("analyse", registry.ANALYSE_ITEMS, [item_id], job_id=f"analyse-{item_id}")
    drain(queues) if queues else drain()
    with rt.session() as s:
        event_id = s.get(Item, item_id).event_id
    assert event_id is not None
    return event_id


def _suggestions(client: TestClient, path: str) -> list[str]:
    page = client.get(path)
    assert page.status_code == 200
    return re.findall(r"系统研判建议升为[^<]*", page.text)


def _opened(rt, event_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What the event's level has opened: the alert's last notice, the ticket and its clocks, the
    referrals and their 专报, the leaders' 要情专报."""
    with rt.session() as s:
        alert = s.scalar(select(Alert).where(Alert.event_id == event_id))
        ticket = s.scalar(select(Ticket).where(Ticket.event_id == event_id))
        clocks = sorted(d.kind for d in s.scalars(select(Deadline).where(Deadline.ticket_id == ticket.id))) if ticket else []
        referrals = sorted(s.scalars(select(Referral.department_key).where(Referral.event_id == event_id)))
        issued = sorted(s.scalars(select(IssuedDocument.department_key).where(IssuedDocument.event_id == event_id)))
        digests = sorted(d.key for d in s.scalars(select(Digest).where(Digest.kind == "major"))
                         if event_id in [int(i) for i in d.event_ids or []])
        return {"notified": alert.notified_level if alert else "", "ticket": ticket.level if ticket else "",
                "clocks": clocks, "referrals": referrals, "issued": issued,
                "digests": [k.replace(f":{event_id}:", ":") for k in digests]}


@pytest.mark.slow  # five analyses, two 重大 events' 专报 and 要情专报 on a real RQ worker: about 4 s
def test_a_graver_computed_level_is_suggested_once_per_rise_and_restored_as_any_rise(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    seed_users(runtime)
    decision.reset()
    # 12 dead: analysis grades it 重大; the monitor judges it 一般 on the console at once, while its
    # first notice waits (group_wait) and before the tickets' job has run
    event_id = _analysed(runtime, drain, OPENING, queues=("analyse", "notify"))
    assert _level(runtime, event_id) == "重大"
    with runtime.session() as s:
        alert_id = s.scalar(select(Alert.id).where(Alert.event_id == event_id))
    assert alert_id is not None
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        token = login(client, "monitor")
        r = client.post(f"/alerts/{alert_id}/review", data={"action": "level", "level": "一般", "csrf_token": token})
        assert r.status_code == 303
        drain()
        assert _opened(runtime, event_id) == {"notified": "", "ticket": "", "clocks": [], "referrals": [],
                                              "issued": [], "digests": []}, "一般 opens nothing"
        assert _suggestions(client, f"/events/{event_id}") == []

        # 3 dead: graver than the monitor's 一般, not than the 重大 overridden: the level stands,
        # the monitor is told the computed level, on the event page and the alert's card
        runtime.clock.advance(minutes=10)
        assert _analysed(runtime, drain, TOWN3) == event_id
        assert _level(runtime, event_id) == "一般"
        with runtime.session() as s:
            judged_at = datetime.fromisoformat(s.get(Event, event_id).flags["manual_level"]["at"])
        when = fmt(judged_at, runtime.settings.timezone)
        told = f"系统研判建议升为较大：新信息称死亡 3 人（“{TOWN3}”），您曾于 {when} 手动定为一般"
        assert _suggestions(client, f"/events/{event_id}") == [told]
        assert _suggestions(client, "/") == [told.replace("您", "monitor")]

        # the same gravity again: no second notice, the first stands as it was
        runtime.clock.advance(minutes=10)
        assert _analysed(runtime, drain, TOWN3_AGAIN) == event_id
        assert _suggestions(client, f"/events/{event_id}") == [told]
        assert _suggestions(client, "/") == [told.replace("您", "monitor")]

        # 12 dead: a further rise, told once, in place of the first
        runtime.clock.advance(minutes=10)
        assert _analysed(runtime, drain, TOWN12) == event_id
        assert _level(runtime, event_id) == "一般", "still not graver than the 重大 the monitor overrode"
        told = f"系统研判建议升为重大：新信息称死亡 12 人（“{TOWN12}”），您曾于 {when} 手动定为一般"
        assert _suggestions(client, f"/events/{event_id}") == [told]
        assert _suggestions(client, "/") == [told.replace("您", "monitor")]
        page = client.get(f"/events/{event_id}").text
        assert page.count('name="action" value="restore"') == 1

        # a POST without the session's CSRF token changes nothing
        assert client.post(f"/alerts/{alert_id}/review", data={"action": "restore"}).status_code in (400, 403)
        assert _level(runtime, event_id) == "一般"

        # 恢复自动研判: the judgement by hand is cleared and 重大 goes the whole way
        runtime.clock.advance(minutes=1)
        r = client.post(f"/alerts/{alert_id}/review?next=/events/{event_id}",
                        data={"action": "restore", "csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == f"/events/{event_id}"
        drain()
        assert _suggestions(client, f"/events/{event_id}") == []
        assert _suggestions(client, "/") == []
        timeline = client.get(f"/events/{event_id}").text
        assert "恢复自动研判：等级定为重大" in timeline
        # restoring again: there is nothing to restore, a clear refusal
        again = client.post(f"/alerts/{alert_id}/review", data={"action": "restore", "csrf_token": token})
        assert again.status_code == 422 and "没有待采纳的系统研判建议" in again.text
    with runtime.session() as s:
        event = s.get(Event, event_id)
        assert event.level == "重大" and "manual_level" not in (event.flags or {})
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "alert.review.restore"))
        assert entry is not None and entry.actor == "monitor" and entry.target_id == alert_id
        assert entry.detail["level"] == "重大" and entry.detail["manual"] == "一般"
        notices = [row.detail for row in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "alert.notify", AuditEntry.target_id == alert_id).order_by(AuditEntry.id))]
        assert notices[-1]["level"] == "重大" and notices[-1]["why"].startswith("等级由一般升至重大")
        changes = [c.reason for c in s.scalars(select(TicketChange).join(Ticket).where(Ticket.event_id == event_id)
                                               .order_by(TicketChange.id))]
    restored = _opened(runtime, event_id)
    assert "authoritative_info" in restored["clocks"] and "press_conference" in restored["clocks"]
    assert restored["referrals"] and restored["digests"] == ["major:重大"]
    assert changes[0] == "恢复自动研判（事件达到重大）", changes

    # a computed 重大 of another incident opens the same
    runtime.clock.advance(minutes=10)
    other = _analysed(runtime, drain, ELSEWHERE)
    assert other != event_id
    alerted(runtime, other)
    drain()
    assert _opened(runtime, other) == restored
