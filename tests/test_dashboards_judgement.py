"""A person's judgement goes the whole way: a level set on the console is the event's level,
starts the clocks and the routes as an automatic rise does; dismissing an event with an open
ticket asks what becomes of the ticket; silences and reviews show on the card; the timeline
keeps what happened then."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from dashboard_seed import PASSWORD
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from yuqing.clock import fmt
from yuqing.dashboards.app import create_app
from yuqing.models import (
    Alert,
    AuditEntry,
    Deadline,
    Delivery,
    Event,
    Referral,
    Ticket,
    TicketChange,
)

# Chromium's print stood in for: these tests read no PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


@pytest.fixture
def story(story, runtime):  # type: ignore[no-untyped-def]
    """conftest's seeded day (a copy of the store seeded once), each alert already notified."""
    with runtime.session() as s:  # as if each alert's first notification had gone out at its level
        for alert in s.scalars(select(Alert)):
            alert.notify_count, alert.notified_level = 1, alert.level
            s.add(AuditEntry(at=alert.created_at, actor="系统", action="alert.notify", target_type="alert",
                             target_id=alert.id, detail={"level": alert.level, "why": "首次预警"}))
    return story


@pytest.fixture
def client(runtime, story):  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime), follow_redirects=False) as c:
        yield c


def login(client: TestClient, username: str = "monitor") -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def _card(html: str, alert_id: int) -> str:
    start = html.index(f'id="alert-{alert_id}"')
    end = html.find("<article", start)
    return html[start:end if end > 0 else None]


def test_level_set_by_the_monitor_opens_the_ticket_with_its_clocks_and_referrals(runtime, client, story, drain) -> None:  # type: ignore[no-untyped-def]
    token = login(client)
    runtime.clock.advance(minutes=1)  # a person acts a moment after the page was seen
    r = client.post(f"/alerts/{story['alert_fire']}/review?next=/",
                    data={"action": "level", "level": "重大", "csrf_token": token})
    assert r.status_code == 303
    with runtime.session() as s:  # the referrals and their documents are a worker's job, not the request's
        assert s.scalar(select(func.count()).select_from(Referral).where(Referral.event_id == story["fire"])) == 0
    drain()
    with runtime.session() as s:
        event = s.get(Event, story["fire"])
        assert event.level == "重大"
        assert event.flags["manual_level"]["by"] == "monitor" and event.flags["manual_level"]["from"] == "较大"
        ticket = s.scalar(select(Ticket).where(Ticket.event_id == story["fire"]))
        assert ticket is not None and ticket.level == "重大"
        kinds = {d.kind for d in s.scalars(select(Deadline).where(Deadline.ticket_id == ticket.id))}
        assert kinds == {"first_response", "authoritative_info", "press_conference"}
        # 重大: the routes reach the propaganda and cyberspace departments, as an automatic rise does.
        departments = set(s.scalars(select(Referral.department_key).where(Referral.event_id == story["fire"])))
        assert {"propaganda", "cyberspace"} <= departments
        sent = s.scalars(select(Delivery).where(Delivery.ref_type == "alert",
                                                Delivery.ref_id == story["alert_fire"])).all()
        assert sent, "the rise is notified"
        assert all("重大" in d.subject for d in sent)
        assert "fjz@yjj.zezhou.example" in {d.target for d in sent}, "from 重大 the leaders hear at once"
        assert any("monitor 人工研判" in d.body for d in sent)
    card = _card(client.get("/").text, story["alert_fire"])
    assert "人工研判：monitor" in card
    assert 'class="clock" data-due=' in card and "发布权威信息" in card


def test_a_rise_on_an_event_with_a_ticket_is_never_inhibited(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    with runtime.session() as s:
        ticket_id = s.scalar(select(Ticket.id).where(Ticket.event_id == story["old"]))
        before = s.scalar(select(func.count()).select_from(Delivery))
    token = login(client)
    alert_id = _alert_of(runtime, story["old"])
    runtime.clock.advance(minutes=1)
    client.post(f"/alerts/{alert_id}/review", data={"action": "level", "level": "重大", "csrf_token": token})
    with runtime.session() as s:
        assert s.get(Ticket, ticket_id).level == "重大"
        rise = s.scalar(select(TicketChange).where(TicketChange.ticket_id == ticket_id,
                                                   TicketChange.reason.like("等级由较大升为重大%")))
        assert rise.by == "monitor" and "人工研判" in rise.reason and "新闻发布会" in rise.reason
        assert s.scalar(select(func.count()).select_from(Delivery)) > before
        assert s.get(Alert, alert_id).notified_level == "重大"
    page = client.get(f"/tickets/{ticket_id}").text
    assert "已分派 → 已分派" not in page
    assert "等级由较大升为重大（人工研判）" in page
    assert page.index("发出预警（较大）") < page.index("再次通知（重大）"), "each fact as it happened"
    assert "人工研判：等级定为重大" in page


def _alert_of(runtime, event_id: int) -> int:  # type: ignore[no-untyped-def]
    with runtime.session() as s:
        return s.scalar(select(Alert.id).where(Alert.event_id == event_id))


def test_dismissing_an_event_with_an_open_ticket_asks_what_becomes_of_it(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    token = login(client)
    alert_id = _alert_of(runtime, story["old"])
    card = _card(client.get("/").text, alert_id)
    assert 'name="ticket" value="close"' in card and 'name="ticket" value="keep"' in card
    url = f"/alerts/{alert_id}/review?next=/"
    r = client.post(url, data={"action": "dismiss", "csrf_token": token})
    assert r.status_code == 422 and "须选择关闭或保留该工单" in r.text
    r = client.post(url, data={"action": "dismiss", "ticket": "close", "csrf_token": token})
    assert r.status_code == 422 and "须写明原因" in r.text
    with runtime.session() as s:
        assert s.get(Alert, alert_id).status != "dismissed", "a refused dismissal changes nothing"
    r = client.post(url, data={"action": "dismiss", "ticket": "close", "reason": "系旧闻翻炒", "csrf_token": token})
    assert r.status_code == 303
    with runtime.session() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.event_id == story["old"]))
        assert ticket.state == "closed"
        assert all(d.cancelled_at or d.met_at for d in ticket.deadlines)
        last = s.scalars(select(TicketChange).where(TicketChange.ticket_id == ticket.id)
                         .order_by(TicketChange.id.desc())).first()
        assert last.by == "monitor" and last.reason == "事件经研判排除：系旧闻翻炒"


def test_dismiss_can_keep_the_ticket(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    token = login(client)
    alert_id = _alert_of(runtime, story["old"])
    r = client.post(f"/alerts/{alert_id}/review?next=/",
                    data={"action": "dismiss", "ticket": "keep", "reason": "预警误报，但群众诉求仍需答复",
                          "csrf_token": token})
    assert r.status_code == 303
    with runtime.session() as s:
        assert s.scalar(select(Ticket.state).where(Ticket.event_id == story["old"])) == "assigned"
        kept = s.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.keep"))
        assert kept.actor == "monitor" and kept.detail["reason"] == "预警误报，但群众诉求仍需答复"


def test_the_api_dismisses_an_event_with_an_open_ticket_only_with_a_choice_and_a_reason(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    """The rule lives in the alerts workflow, so the API cannot leave a ticket's state unexplained."""
    token = login(client)
    alert_id = _alert_of(runtime, story["old"])
    url, headers = f"/api/alerts/{alert_id}/review", {"X-CSRF-Token": token}
    with runtime.session() as s:
        ticket_id = s.scalar(select(Ticket.id).where(Ticket.event_id == story["old"]))
    r = client.post(url, json={"action": "dismiss"}, headers=headers)
    assert r.status_code == 422
    assert r.json() == {"detail": f"事件已有未关闭的回应工单 #{ticket_id}：排除时须选择关闭或保留该工单"}
    r = client.post(url, json={"action": "dismiss", "ticket": "close", "reason": "  "}, headers=headers)
    assert r.status_code == 422
    assert r.json() == {"detail": f"事件已有未关闭的回应工单 #{ticket_id}：排除时须写明原因"}
    assert client.post(url, json={"action": "dismiss", "ticket": "drop", "reason": "x"}, headers=headers).status_code == 422
    with runtime.session() as s:
        assert s.get(Alert, alert_id).status != "dismissed", "a refused dismissal changes nothing"
    r = client.post(url, json={"action": "dismiss", "ticket": "close", "reason": "系旧闻翻炒"}, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    with runtime.session() as s:
        assert s.get(Ticket, ticket_id).state == "closed"
        last = s.scalars(select(TicketChange).where(TicketChange.ticket_id == ticket_id)
                         .order_by(TicketChange.id.desc())).first()
        assert last.by == "monitor" and last.reason == "事件经研判排除：系旧闻翻炒"
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "alert.review.dismiss"))
        assert entry.detail["ticket"] == "close" and entry.detail["reason"] == "系旧闻翻炒"


def test_the_api_describes_the_dismissal_fields(client) -> None:  # type: ignore[no-untyped-def]
    login(client)
    spec = client.get("/api/openapi.json").json()
    op = spec["paths"]["/api/alerts/{alert_id}/review"]["post"]
    assert "ticket（close 关闭工单或 keep 保留工单）" in op["description"] and "reason" in op["description"]
    dismiss = spec["components"]["schemas"]["ReviewDismiss"]["properties"]
    assert set(dismiss) == {"action", "ticket", "reason"} and dismiss["reason"]["maxLength"] == 500


def test_bulk_dismissal_leaves_an_event_with_an_open_ticket_to_the_workflow(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    token = login(client)
    alert_id = _alert_of(runtime, story["old"])
    r = client.post("/alerts/bulk?next=/", data={"action": "dismiss", "ids": [alert_id], "csrf_token": token})
    assert r.status_code == 303
    assert "须选择关闭或保留该工单" in client.get("/").text
    with runtime.session() as s:
        assert s.get(Alert, alert_id).status != "dismissed"
        assert s.scalar(select(Ticket.state).where(Ticket.event_id == story["old"])) != "closed"


def test_silence_and_confirmation_show_on_the_card(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    token = login(client)
    alert = story["alert_fire"]
    client.get("/")
    runtime.clock.advance(minutes=1)
    client.post(f"/alerts/{alert}/silence?next=/", data={"hours": "1", "comment": "已核实为烧荒", "csrf_token": token})
    card = _card(client.get("/").text, alert)
    ends = fmt(runtime.now() + timedelta(hours=1), runtime.settings.timezone)
    assert f"已静默至 {ends}（monitor：已核实为烧荒）" in card
    runtime.clock.advance(minutes=1)
    client.post(f"/alerts/{alert}/review?next=/", data={"action": "confirm", "csrf_token": token})
    card = _card(client.get("/").text, alert)
    assert "已确认属实" in card and 'value="confirm"' not in card


def test_admin_page_says_every_code_in_words(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin")
    page = client.get("/admin").text
    routing = page[page.index('id="routing"'):page.index('id="users"')]
    assert "类别：不实信息" in routing and "县委网信办" in routing
    for code in ("false_information", "in_remit", "cyberspace", "propaganda", "spans_sections"):
        assert code not in routing, code
    audit = page[page.index('id="audit"'):]
    assert "<td>登录</td>" in audit and ">login<" not in audit
    sections = page[page.index("<h3>科室</h3>"):page.index("<h3>设置</h3>")]
    assert "防汛抗旱" in sections and "flood_drought" not in sections
    sources = page[page.index('id="sources"'):page.index('id="profile"')]
    assert "地方媒体" in sources and "json_api" not in sources


def test_leader_page_shows_running_clocks_lag_and_open_referrals(runtime, client, story, drain) -> None:  # type: ignore[no-untyped-def]
    token = login(client)
    runtime.clock.advance(minutes=1)
    client.post(f"/alerts/{story['alert_fire']}/review", data={"action": "level", "level": "重大", "csrf_token": token})
    drain(("respond",))
    client.post("/logout", data={"csrf_token": token})
    login(client, "leader")
    page = client.get("/leader").text
    table = page[page.index('id="majors"'):page.index("</table>", page.index('id="majors"'))]
    fire = table[table.index("山上冒烟疑似山火"):]
    fire = fire[:fire.index("</tr>")]
    assert "发布权威信息" in fire and "剩余 3 小时 59 分钟" in fire  # 5 h from first detection an hour ago
    with runtime.session() as s:
        waiting = s.scalar(select(func.count()).select_from(Referral).where(
            Referral.event_id == story["fire"], Referral.acknowledged_at.is_(None)))
    assert waiting >= 2 and f"<td>{waiting}</td>" in fire, "the referrals not yet acknowledged"
    flood = table[table.index("泽州县某煤矿发生透水事故"):]
    assert "40 分钟" in flood[:flood.index("</tr>")], "detection lag: published 3 h 40 min ago, seen 3 h ago"


def test_ack_page_says_what_signing_means(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    from yuqing.queue import referrals

    url = referrals.ack_url(runtime, story["referral"])
    page = client.get("/ack/" + url.rsplit("/ack/", 1)[1]).text
    assert "报送 #" in page and "县委宣传部" in page
    meaning = page[page.index('id="ack-meaning"'):]
    assert "签收表示县委宣传部已收到本次舆情报送及所附专报" in meaning and "签收人和签收时间记入" in meaning


def test_a_dismissal_whose_ticket_cannot_be_closed_changes_nothing(runtime, client, story, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The review and the ticket's closing are one transaction: if closing fails, the alert is
    not left dismissed beside an open ticket, and the refusal answers 422 as any other."""
    from yuqing.exceptions import Refused
    from yuqing.queue import tickets

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Refused("工单正被他人修改，请稍后重试")

    monkeypatch.setattr(tickets, "_close", refuse)
    token = login(client)
    alert_id = _alert_of(runtime, story["old"])
    with runtime.session() as s:
        before = s.get(Alert, alert_id).status
    for url, kwargs in ((f"/alerts/{alert_id}/review?next=/",
                         {"data": {"action": "dismiss", "ticket": "close", "reason": "系旧闻翻炒", "csrf_token": token}}),
                        (f"/api/alerts/{alert_id}/review",
                         {"json": {"action": "dismiss", "ticket": "close", "reason": "系旧闻翻炒"},
                          "headers": {"X-CSRF-Token": token}})):
        r = client.post(url, **kwargs)
        assert r.status_code == 422 and "工单正被他人修改" in r.text
        with runtime.session() as s:
            assert s.get(Alert, alert_id).status == before != "dismissed"
            assert s.scalar(select(Ticket.state).where(Ticket.event_id == story["old"])) == "assigned"
            assert s.scalar(select(AuditEntry).where(AuditEntry.action.in_(
                ["alert.review.dismiss", "ticket.close"]))) is None
