"""Issue 18, items 1–3 and 9 tried as an attacker would: 签收 links that expire and work once,
tokens kept out of the access log, notes that cannot break a report, response times that
cannot falsify the regulation's record, crawled text that cannot put a stranger's link into
official mail, and the small ones (non-ASCII CSRF token, absurd profile hours)."""

from __future__ import annotations

import io
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dashboard_seed import PASSWORD
from docx import Document
from factories import make_reported_event
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from yuqing.alerts.digest_content import Content, EventLine, Link
from yuqing.alerts.digests import render_html, render_text
from yuqing.alerts.notify import compose, notify
from yuqing.dashboards import reports
from yuqing.dashboards.app import HideAckTokens, create_app
from yuqing.models import (
    Alert,
    AuditEntry,
    Deadline,
    Delivery,
    Event,
    Item,
    ReferralNote,
    TicketChange,
    TicketResponse,
)
from yuqing.queue import clocks, jobs, referrals, tickets
from yuqing.queue.exceptions import BadResponse, InvalidAckLink
from yuqing.sanitise import clean_note, xml_safe

# Chromium's print stood in for: these tests read no PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def client(runtime, story):  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime), follow_redirects=False) as c:
        yield c


def _csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text).group(1)


def _path(url: str) -> str:
    return "/ack/" + url.rsplit("/ack/", 1)[1]


# ---- 1. 签收 links ------------------------------------------------------------------------

def test_ack_link_expires_after_the_profile_window(runtime, story, clock) -> None:  # type: ignore[no-untyped-def]
    token = _path(referrals.ack_url(runtime, story["referral"])).removeprefix("/ack/")
    clock.advance(hours=runtime.profile.clocks.ack_link_hours, seconds=1)
    with pytest.raises(InvalidAckLink, match="^签收链接已过期"):
        referrals.acknowledge_by_token(runtime, token, "宣传部 张三")


def test_an_old_link_without_expiry_is_refused(runtime, story) -> None:  # type: ignore[no-untyped-def]
    from itsdangerous import URLSafeSerializer

    forever = URLSafeSerializer(runtime.settings.secret(), salt="yuqing.referral.ack").dumps(
        [story["referral"], "propaganda"])
    with pytest.raises(InvalidAckLink, match="签名校验失败"):
        referrals.acknowledge_by_token(runtime, forever, "冒充者")


def test_ack_link_works_once_and_a_second_visit_shows_who_signed(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    path = _path(referrals.ack_url(runtime, story["referral"]))
    token = _csrf(client, path)
    r = client.post(path, data={"name": "宣传部 张三", "note": "已安排", "csrf_token": token})
    assert r.status_code == 200 and "已签收" in r.text
    again = client.post(path, data={"name": "冒名者", "note": "第二条备注", "csrf_token": token})
    assert again.status_code == 409
    assert "此前已签收" in again.text and "宣传部 张三" in again.text and "冒名者" not in again.text
    page = client.get(path)
    assert "签收人 宣传部 张三（签收链接" in page.text and "<form" not in page.text
    with runtime.session() as s:
        notes = list(s.scalars(select(ReferralNote.text).where(ReferralNote.referral_id == story["referral"])))
    assert notes == ["签收备注：已安排"]


def test_a_tampered_link_page_says_so_without_a_form(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/ack/not-a-token")
    assert r.status_code == 403 and "签收链接无效" in r.text and "<form" not in r.text


def test_ack_tokens_never_reach_the_access_log(caplog) -> None:  # type: ignore[no-untyped-def]
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "POST", "/ack/WzEsInByb3BhZ2FuZGEiXQ.sig?x=1", "1.1", 200), None)
    HideAckTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "POST /ack/…?x=1 HTTP/1.1" 200'


def test_public_notes_lose_control_characters_and_are_capped(runtime, story) -> None:  # type: ignore[no-untyped-def]
    token = _path(referrals.ack_url(runtime, story["referral"])).removeprefix("/ack/")
    referrals.acknowledge_by_token(runtime, token, "张三", note="收到\x1b[31m\u202e反转" + "长" * 5000)
    with runtime.session() as s:
        note = s.scalar(select(ReferralNote.text).where(ReferralNote.referral_id == story["referral"]))
    assert note.startswith("签收备注：收到[31m反转长")
    assert len(note) == len("签收备注：") + referrals.NOTE_MAX and "\x1b" not in note and "\u202e" not in note


def test_report_docx_with_an_esc_in_stored_text_still_builds(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    # A note written before the fix (or by any other path) holds the ESC that crashed report.docx.
    with runtime.session() as s:
        s.add(ReferralNote(referral_id=story["referral"], at=runtime.now(), by="旧数据", text="签收备注：\x1b\x0b已阅\x00"))
        s.get(Event, story["old"]).title = "暴雨\x1b致城区道路积水"
    body = reports.render_docx(runtime, reports.collect(runtime, story["ticket"]))  # used to raise ValueError
    text = "\n".join(p.text for p in Document(io.BytesIO(body)).paragraphs)
    assert "事后回应报告" in text and "\x1b" not in text
    assert xml_safe("a\x1bb\ufffec\ud800") == "abc" and clean_note("a\r\nb\x07", 10) == "a\nb"


# ---- 2. the regulation's clocks --------------------------------------------------------------

def _ticket(runtime) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    event = make_reported_event(runtime, level="重大", ago_hours=1)
    ticket_id = jobs.consider_event(event)
    assert ticket_id is not None
    return event, ticket_id


def test_a_response_before_detection_or_in_the_future_is_refused(runtime) -> None:  # type: ignore[no-untyped-def]
    _event, ticket_id = _ticket(runtime)
    with pytest.raises(BadResponse, match="^回应时间 2000-01-01 .* 早于事件首次发现时间"):
        tickets.record_response(runtime, ticket_id, "monitor", "first_response", "官方微博", "", "通报",
                                datetime(2000, 1, 1, tzinfo=UTC))
    with pytest.raises(BadResponse, match="晚于现在"):
        tickets.record_response(runtime, ticket_id, "monitor", "first_response", "官方微博", "", "通报",
                                runtime.now() + timedelta(hours=1))
    with runtime.session() as s:
        assert all(d.met_at is None for d in s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id)))
        assert s.scalar(select(Delivery.id).where(Delivery.purpose == "breach")) is None


def test_correcting_a_response_time_is_its_own_audited_action(runtime) -> None:  # type: ignore[no-untyped-def]
    _event, ticket_id = _ticket(runtime)
    rid = tickets.record_response(runtime, ticket_id, "monitor", "authoritative_info", "官方微博", "", "通报",
                                  runtime.now())
    with pytest.raises(BadResponse, match="^更正回应时间须写明原因$"):
        tickets.correct_response_time(runtime, rid, "monitor", runtime.now() - timedelta(minutes=30), " ")
    with pytest.raises(BadResponse, match="早于事件首次发现时间"):
        tickets.correct_response_time(runtime, rid, "monitor", datetime(2000, 1, 1, tzinfo=UTC), "录入有误")
    earlier = runtime.now() - timedelta(minutes=30)
    tickets.correct_response_time(runtime, rid, "monitor", earlier, "实际发布时间以微博为准")
    with runtime.session() as s:
        reasons = [c.reason for c in s.scalars(select(TicketChange).where(TicketChange.ticket_id == ticket_id))]
        met = {d.kind: d.met_at for d in s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id))}
    assert any(r.startswith("更正回应时间：") and r.endswith("原因：实际发布时间以微博为准") for r in reasons)
    assert met["authoritative_info"] == earlier


def test_no_breach_notice_when_the_record_shows_the_clock_met(runtime, clock) -> None:  # type: ignore[no-untyped-def]
    _event, ticket_id = _ticket(runtime)
    tickets.record_response(runtime, ticket_id, "monitor", "authoritative_info", "官方微博", "", "通报",
                            runtime.now())
    with runtime.session() as s:
        d = s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id, Deadline.kind == "authoritative_info")).one()
        d.met_at = None  # as if the met mark was lost (an old row, a race): the record still decides
    clock.advance(hours=6)
    with runtime.session() as s:
        d = s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id, Deadline.kind == "authoritative_info")).one()
        assert clocks.fire(runtime, s, d, runtime.now()) == "met"
        assert s.scalar(select(Delivery.id).where(Delivery.purpose == "breach")) is None


def _sign_in(client: TestClient, username: str) -> None:
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client, "/login")})
    assert r.status_code == 303


def _local(runtime, at: datetime) -> str:  # type: ignore[no-untyped-def]
    return at.astimezone(ZoneInfo(runtime.settings.timezone)).strftime("%Y-%m-%dT%H:%M")


def test_the_ticket_page_corrects_a_response_time_and_says_why_it_refuses(runtime, client) -> None:  # type: ignore[no-untyped-def]
    _event, ticket_id = _ticket(runtime)
    now = runtime.now().replace(second=0, microsecond=0)
    rid = tickets.record_response(runtime, ticket_id, "monitor", "authoritative_info", "官方微博", "", "通报", now)
    _sign_in(client, "monitor")
    page = client.get(f"/tickets/{ticket_id}")
    assert 'id="correct-form"' in page.text and f'<option value="{rid}"' in page.text
    token = _csrf(client, f"/tickets/{ticket_id}")

    def correct(when: str, reason: str = "录入有误，以政务微博发布时间为准", csrf: str = token) -> Response:
        return client.post(f"/tickets/{ticket_id}/correct-time",
                           data={"response_id": rid, "responded_at": when, "reason": reason, "csrf_token": csrf})

    before = correct("2000-01-01T00:00")
    assert before.status_code == 422 and "Traceback" not in before.text
    assert re.search(r'id="correction-error">未能更正：回应时间 2000-01-01 .*早于事件首次发现时间', before.text)
    assert 'value="2000-01-01T00:00"' in before.text  # what was typed stays in the form
    future = correct(_local(runtime, now + timedelta(hours=2)))
    assert future.status_code == 422 and "晚于现在" in future.text
    assert "须写明原因" in correct(_local(runtime, now - timedelta(minutes=20)), reason=" ").text
    assert "时间格式应为" in correct("昨天下午").text
    assert correct(_local(runtime, now - timedelta(minutes=20)), csrf="forged").status_code == 403
    with runtime.session() as s:
        assert s.scalar(select(AuditEntry.id).where(AuditEntry.action == "ticket.correct_response_time")) is None

    done = correct(_local(runtime, now - timedelta(minutes=20)))
    assert done.status_code == 303 and done.headers["location"] == f"/tickets/{ticket_id}"
    with runtime.session() as s:
        assert s.get(TicketResponse, rid).responded_at == now - timedelta(minutes=20)
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.correct_response_time"))
        assert entry.actor == "monitor" and entry.target_id == ticket_id
        assert entry.detail["reason"] == "录入有误，以政务微博发布时间为准"
    shown = client.get(f"/tickets/{ticket_id}").text
    assert "已更正回应时间" in shown and "原因：录入有误，以政务微博发布时间为准" in shown


def test_only_the_monitor_may_correct_a_response_time(runtime, client) -> None:  # type: ignore[no-untyped-def]
    _event, ticket_id = _ticket(runtime)
    rid = tickets.record_response(runtime, ticket_id, "monitor", "authoritative_info", "官方微博", "", "通报",
                                  runtime.now())
    _sign_in(client, "leader")
    assert 'id="correct-form"' not in client.get(f"/tickets/{ticket_id}").text
    r = client.post(f"/tickets/{ticket_id}/correct-time", data={
        "response_id": rid, "responded_at": _local(runtime, runtime.now()), "reason": "试图更改",
        "csrf_token": _csrf(client, "/leader")})
    assert r.status_code == 403
    client.post("/logout", data={"csrf_token": _csrf(client, "/leader")})
    _sign_in(client, "monitor")
    r = client.post(f"/tickets/{ticket_id + 1000}/correct-time", data={
        "response_id": rid, "responded_at": _local(runtime, runtime.now()), "reason": "错号",
        "csrf_token": _csrf(client, "/")})
    assert r.status_code == 404


# ---- 3. crawled text is text ---------------------------------------------------------------

EVIL = "[点此查看官方通报](http://evil.example/phish) **紧急** <b>x</b>"


def test_a_crawled_title_cannot_put_a_link_into_the_alert_mail(runtime) -> None:  # type: ignore[no-untyped-def]
    event_id = make_reported_event(runtime, level="重大", title=f"煤矿透水{EVIL}")
    with runtime.session() as s:
        event = s.get(Event, event_id)
        s.expunge(event)
    item = Item(id=1, url="https://news.example/a(1)", title=f"通报{EVIL}", text="正文", tier="local_media",
                fetched_at=runtime.now())
    alert = Alert(id=7, event_id=event_id, level="重大", title=event.title, reasons=[f"命中关注词{EVIL}"])
    _subject, text, html = compose(runtime, alert, event, [item], "新预警")
    # links only to the app and to the item's own source
    assert set(re.findall(r'href="([^"]+)"', html)) == {"http://127.0.0.1:8000/alerts/7", "https://news.example/a%281%29"}
    assert "](http://evil" not in text and "**紧急**" not in text and "<b>x" not in html
    assert "［点此查看官方通报］（http://evil.example/phish）" in text


def test_the_alert_mail_shows_crawled_text_as_text_and_its_link_opens_the_alert(runtime, client, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """The mail as it arrives: its plain part without Markdown (**等级**, [标题](url)), its HTML part
    linking only the alert's page and the items' own sources, a crawled [点此查看](http://evil…)
    shown as text in both; the alert's page answers the link (sign-in first, then the event's
    page), where the issue found a 404 in English JSON."""
    event_id = make_reported_event(runtime, level="重大", title=f"煤矿透水{EVIL}")
    with runtime.session() as s:
        item = s.scalars(select(Item).where(Item.event_id == event_id)).first()
        item.title = f"通报{EVIL}"
        event = s.get(Event, event_id)
        alert = Alert(event_id=event_id, level="重大", title=event.title, reasons=[f"命中关注词{EVIL}"],
                      created_at=runtime.now(), updated_at=runtime.now())
        s.add(alert)
        s.flush()
        assert notify(s, runtime, alert, event, roles=["monitor"], why="新预警", tag="new") >= 1
        alert_id = alert.id
        sources = {i.url for i in s.scalars(select(Item).where(Item.event_id == event_id))}
    drain()
    msg = smtp.wait_for(1)[0]
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    page = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    link = f"http://127.0.0.1:8000/alerts/{alert_id}"
    assert "**" not in text and "](" not in text and "<b>" not in text and "\n- " not in text
    assert "等级：重大" in text and f"确认与处理：{link}" in text
    assert "［点此查看官方通报］（http://evil.example/phish）" in text  # the crawled words, as words
    assert set(re.findall(r'href="([^"]+)"', page)) == {link, *sources}
    assert "点此查看官方通报" in page and "<b>x" not in page and "evil.example/phish\"" not in page
    path = "/alerts/" + str(alert_id)
    r = client.get(path)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    _sign_in(client, "monitor")
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text[:200]
    assert "煤矿透水" in r.text and "<b>x</b>" not in r.text
    r = client.get(f"/alerts/{alert_id + 1000}")  # an alert that is not there: a page saying so, in Chinese
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html") and "不存在" in r.text


def test_a_crawled_title_cannot_put_a_link_into_the_daily_digest(runtime) -> None:  # type: ignore[no-untyped-def]
    now = runtime.now()
    c = Content(kind="daily", title="舆情日报", period_start=now - timedelta(days=1), period_end=now, bureau="泽州县应急管理局")
    c.total_items = 3
    c.escalated.append(EventLine(1, f"事件{EVIL}", "重大", f"摘要{EVIL}",
                                 [Link(f"报道{EVIL}", "https://news.example/b")]))
    text = render_text(c, runtime.settings.timezone)
    html = render_html(c, runtime.settings.timezone, "")
    assert re.findall(r'href="([^"]+)"', html) == ["https://news.example/b"]
    assert "](http://evil" not in text


# ---- 9. the small ones ---------------------------------------------------------------------

def test_a_non_ascii_csrf_token_is_a_403_not_a_500(client) -> None:  # type: ignore[no-untyped-def]
    _csrf(client, "/login")
    r = client.post("/login", data={"username": "monitor", "password": PASSWORD, "csrf_token": "令牌"})
    assert r.status_code == 403
    r = client.post("/login", data={"username": "monitor", "password": PASSWORD},
                    headers={"X-CSRF-Token": "令牌".encode()})
    assert r.status_code == 403


@pytest.mark.parametrize("value", [1e308, True, "1"])
def test_absurd_profile_hours_are_refused(tmp_path, value) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from yuqing.exceptions import ProfileError
    from yuqing.profile import load_profile

    data = yaml.safe_load((REPO / "profiles" / "zezhou-emergency.yaml").read_text(encoding="utf-8"))
    data["clocks"]["first_response_hours"] = value
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match=r"clocks.first_response_hours: (应为数字|应不大于 8784)$"):
        load_profile(path)
