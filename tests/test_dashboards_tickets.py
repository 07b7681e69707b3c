"""The ticket actions through the HTTP client: the views check nothing the workflow checks; its
refusals come back as 422 from the app's one handler, the ticket page shown again with the
workflow's sentence (the JSON API: a JSON error), and nothing is changed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import make_reported_event
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_dashboards_app import login

from yuqing.dashboards.app import create_app
from yuqing.models import Alert, Ticket, TicketResponse
from yuqing.queue import jobs


@pytest.fixture
def client(runtime, story):  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime), follow_redirects=False) as c:
        yield c


@pytest.fixture
def ticket_id(runtime) -> int:  # type: ignore[no-untyped-def]
    return jobs.consider_event(make_reported_event(runtime, level="较大", ago_hours=2))


def _local(rt, when: datetime) -> str:  # type: ignore[no-untyped-def]
    """The form's ``datetime-local`` value in the bureau's zone."""
    return when.astimezone(ZoneInfo(rt.settings.timezone)).strftime("%Y-%m-%dT%H:%M")


def _refused_on_the_page(r, ticket_id: int, sentence: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text[:300]
    assert f'<div class="flash error" role="alert">{sentence}' in r.text
    assert "<h2>回应时限</h2>" in r.text and f'action="/tickets/{ticket_id}/' in r.text, "the ticket page itself, with its forms"


def test_refusals_show_the_ticket_page_again_with_the_workflows_sentence(runtime, client, ticket_id) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "monitor")
    base = f"/tickets/{ticket_id}"
    now = runtime.now()
    with runtime.session() as s:
        before = (s.get(Ticket, ticket_id).state, s.get(Ticket, ticket_id).section_key)
    cases = [
        ("/pause", {"reason": "   "}, "暂停计时须写明原因"),
        ("/assign", {"section_key": "nowhere"}, "未知科室 &#39;nowhere&#39;"),
        ("/transition", {"to_state": "bogus"}, "未知状态 &#39;bogus&#39;"),
        ("/respond", {"kind": "first_response", "channel": "政府网站", "link": "ftp://x.example/a", "text": "",
                      "responded_at": _local(runtime, now)}, "回应链接应以 http:// 或 https:// 开头"),
        ("/respond", {"kind": "first_response", "channel": "政府网站", "link": "", "text": " ",
                      "responded_at": _local(runtime, now)}, "回应须有链接或正文"),
        ("/respond", {"kind": "first_response", "channel": "政府网站", "link": "", "text": "已发布通报",
                      "responded_at": _local(runtime, now - timedelta(days=3))}, "回应时间 "),
        ("/respond", {"kind": "first_response", "channel": "政府网站", "link": "", "text": "已发布通报",
                      "responded_at": _local(runtime, now + timedelta(hours=2))}, "回应时间 "),
        ("/resume", {}, f"工单 #{ticket_id} 的计时未暂停，无需恢复"),
        ("/reopen", {"reason": "复核"}, f"工单 #{ticket_id} 未关闭"),
    ]
    for action, form, sentence in cases:
        r = client.post(base + action, data={**form, "csrf_token": token})
        _refused_on_the_page(r, ticket_id, sentence)
    with runtime.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert (ticket.state, ticket.section_key) == before and ticket.paused_since is None
        assert s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == ticket_id)).all() == []


def test_closing_waits_for_the_cool_down_then_a_closed_ticket_refuses_a_response(runtime, client, clock,  # type: ignore[no-untyped-def]
                                                                                    ticket_id) -> None:
    token = login(client, "monitor")
    base = f"/tickets/{ticket_id}"
    r = client.post(base + "/close", data={"reason": "", "csrf_token": token})
    _refused_on_the_page(r, ticket_id, f"工单 #{ticket_id} 不能关闭：须至少记录一次回应")
    response = {"kind": "first_response", "channel": "政府网站", "link": "", "text": "已发布通报", "csrf_token": token}
    r = client.post(base + "/respond", data={**response, "responded_at": _local(runtime, runtime.now())})
    assert r.status_code == 303 and r.headers["location"] == base
    r = client.post(base + "/close", data={"reason": "", "csrf_token": token})
    _refused_on_the_page(r, ticket_id, f"工单 #{ticket_id} 不能关闭：事件仍在发酵")
    assert "须平静满 72 小时" in r.text  # the profile's cool-down, as the workflow says it
    clock.advance(hours=72)
    token = login(client, "monitor")  # the session ran out meanwhile
    response["csrf_token"] = token
    r = client.post(base + "/close", data={"reason": "", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == base
    r = client.post(base + "/respond", data={**response, "responded_at": _local(runtime, runtime.now())})
    _refused_on_the_page(r, ticket_id, f"工单 #{ticket_id} 已关闭，须先重新打开才能记录回应")
    with runtime.session() as s:
        assert s.get(Ticket, ticket_id).state == "closed"
        assert len(s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == ticket_id)).all()) == 1


def test_a_missing_ticket_is_404_not_a_refusal(client) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "monitor")
    r = client.post("/tickets/999999/pause", data={"reason": "测试", "csrf_token": token})
    assert r.status_code == 404 and "999999" in r.text


def test_the_api_answers_a_refusal_with_a_json_422(runtime, client) -> None:  # type: ignore[no-untyped-def]
    with runtime.session() as s:
        alert = Alert(kind="system", level="一般", title="Redis 已重启", created_at=runtime.now(),
                      updated_at=runtime.now(), reasons=[])
        s.add(alert)
        s.flush()
        alert_id = alert.id
    token = login(client, "monitor")
    r = client.post(f"/api/alerts/{alert_id}/review", json={"action": "confirm"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    assert r.json() == {"detail": f"预警 #{alert_id} 是系统告警，不能研判"}


def test_the_ticket_page_tells_a_completed_clock_in_the_documents_words(runtime, client, ticket_id) -> None:  # type: ignore[no-untyped-def]
    """The page said 「12-01 14:05 按时」/「超时」 and the liaison's 「按时完成」/「超时完成」, each its own
    wording beside the documents' 完成（时限内） and 未按时完成（超时 1 小时 5 分钟）: one wording
    now (documents.dates.met_words), with how late."""
    from yuqing.models import Deadline

    with runtime.session() as s:
        clocks = list(s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id).order_by(Deadline.id)))
        assert clocks
        clocks[0].met_at = clocks[0].due_at + timedelta(hours=1, minutes=5)
    login(client, "monitor")
    page = client.get(f"/tickets/{ticket_id}").text
    assert " 未按时完成（超时 1 小时 5 分钟）</td>" in page
    with runtime.session() as s:
        s.get(Deadline, clocks[0].id).met_at = clocks[0].due_at - timedelta(minutes=10)
    page = client.get(f"/tickets/{ticket_id}").text
    assert " 完成（时限内）</td>" in page and " 按时</td>" not in page and " 超时</td>" not in page
