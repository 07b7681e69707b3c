"""Leadership digests: a quiet period says so briefly; a busy one carries every section, the
chart and a DOCX laid out as a briefing; made once per slot at the profile's time."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from factories import alerted, deliveries, make_event
from sqlalchemy import select

from yuqing.alerts.jobs import send_due_digests, sweep_alerts
from yuqing.documents.account import event_account
from yuqing.documents.dates import spoken
from yuqing.documents.keep import unjoined
from yuqing.documents.wording import machine_text
from yuqing.models import Alert, Deadline, Digest, Event, Item, Source, Ticket

# Chromium's print stood in for, except in the tests that read the PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


def _monitoring_since(rt, when) -> None:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        s.add(Source(key="since", name="泽州新闻网", kind="feed", urls=["http://news.example/rss"], tier="local",
                     created_at=when))


@pytest.fixture(autouse=True)
def monitoring(runtime) -> None:  # type: ignore[no-untyped-def]
    """Monitoring began two days before the clock, so a whole day's period is there to report."""
    _monitoring_since(runtime, runtime.now() - timedelta(days=2))


def pdftotext(blob: bytes) -> str:
    """The PDF's text as a reader's tools extract it (poppler), lines kept."""
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=blob, capture_output=True, check=True).stdout.decode()


def _subject(msg) -> str:  # type: ignore[no-untyped-def]
    return str(make_header(decode_header(msg["Subject"])))


def test_nothing_before_the_daily_time_then_once_per_day(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    assert send_due_digests() == []  # 08:00 < 08:30
    runtime.clock.advance(minutes=31)
    assert send_due_digests() == ["daily:2026-11-21@08:30"]
    assert send_due_digests() == []
    runtime.clock.advance(hours=3)
    assert send_due_digests() == []
    drain()
    msgs = smtp.wait_for(2)
    assert sorted(m["X-Envelope-To"] for m in msgs) == ["fjz@yjj.zezhou.example", "juzhang@yjj.zezhou.example"]


def test_no_daily_for_a_period_before_monitoring_began(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    with runtime.session() as s:
        s.query(Source).delete()
    _monitoring_since(runtime, runtime.now() - timedelta(hours=1))  # started at 07:00 today
    runtime.clock.advance(minutes=31)
    assert send_due_digests() == [], "no empty 日报 at start-up for a period mostly before monitoring"
    runtime.clock.advance(days=1)
    assert send_due_digests() == ["daily:2026-11-22@08:30"]


def test_quiet_period_yields_a_short_digest(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    runtime.clock.advance(minutes=30)
    send_due_digests()
    drain()
    msg = smtp.wait_for(1)[0]
    assert "舆情日报" in _subject(msg)
    plain = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "本期无重要舆情" in plain and "升级预警事件" not in plain and "**" not in plain
    assert not any(p.get_content_type() == "image/png" for p in msg.walk()), "no chart of nothing"
    with runtime.session() as s:
        digest = s.scalars(select(Digest)).one()
        assert digest.quiet and digest.period_end - digest.period_start == timedelta(days=1)
    text = unjoined("\n".join(p.text for p in Document(digest.docx_path).paragraphs))
    assert "本期无重要舆情" in text and "内部资料" in text
    assert "统计时段：2026年11月20日 8时30分至2026年11月21日 8时30分" in text
    assert digest.docx_path.endswith("泽州县应急管理局舆情日报〔2026〕第1期.docx")


@pytest.mark.slow  # Chromium prints the 日报, which is read
def test_busy_digest_has_every_section_linked_to_items_and_a_proper_docx(runtime, drain, smtp, chromium_print) -> None:  # type: ignore[no-untyped-def]
    runtime.clock.advance(hours=-10)  # the day before, 22:00
    event_id = make_event(runtime, level="重大", items=6)
    alert_id = alerted(runtime, event_id)
    now = runtime.now()
    with runtime.session() as s:
        ticket = Ticket(event_id=event_id, level="重大", title="泽州县某煤矿透水", opened_at=now, detected_at=now,
                        section_key="safety", section_name="安全生产综合协调科", updated_at=now)
        s.add(ticket)
        s.flush()
        s.add(Deadline(ticket_id=ticket.id, kind="authoritative_info", due_at=now + timedelta(hours=5)))
        s.add(Deadline(ticket_id=ticket.id, kind="first_response", due_at=now + timedelta(hours=48)))
    runtime.clock.advance(minutes=30)
    sweep_alerts()  # not yet escalated: inhibited by the ticket
    runtime.clock.set(datetime(2026, 11, 21, 8, 31, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert send_due_digests() == ["daily:2026-11-21@08:30"]
    drain()
    daily = [m for m in smtp.wait_for(6) if "舆情日报" in _subject(m)]
    assert len(daily) == 2
    msg = daily[0]
    plain = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    for section in ("升级预警事件", "重大及以上舆情事件", "未关闭工单及回应时限", "超时事项"):
        assert section in plain, section
    assert "发布权威信息11月21日3时00分到期，已超时 5 小时 30 分钟，尚未完成" in plain
    assert "首次回应11月22日22时00分到期，尚在时限内（剩余 1 天 13 小时）" in plain
    assert "**" not in plain and "](" not in plain
    assert "累计监测到相关信息 6 条，来自 2 个信息来源，最多时每小时 6 条" in plain and "每小时最多" not in plain, "no rate of 0 beside a count"
    assert f"https://news.example.cn/{event_id}/0.html" in html
    assert '<img src="cid:trend.png"' in html
    assert any(p.get_content_type() == "image/png" for p in msg.walk())
    part = next(p for p in msg.walk() if (p.get_filename() or "").endswith(".docx"))
    blob = part.get_payload(decode=True)
    doc = Document(io.BytesIO(blob))
    assert part.get_filename() == "泽州县应急管理局舆情日报〔2026〕第1期.docx"
    text = [unjoined(p.text) for p in doc.paragraphs if p.text.strip()]
    assert text[0] == "000001" and text[1].startswith("内部资料")
    assert text[2] == "泽州县应急管理局舆情日报" and text[3] == "〔2026〕第 1 期"
    assert text[4] == "舆情日报（11月21日）"
    assert any(t.startswith("统计时段：2026年11月20日 8时30分至2026年11月21日 8时30分") for t in text)
    with runtime.session() as s:
        quoted = [x for row in s.execute(select(Item.title, Item.text)).all() for x in row if x]
    assert machine_text("\n".join(text), quoted) == []
    assert machine_text(plain, quoted) == []
    assert any("泽州县某煤矿发生透水事故" in t for t in text)
    assert doc.inline_shapes, "the volume chart is in the document"
    links = [r.target_ref for r in doc.part.rels.values() if r.reltype.endswith("/hyperlink")]
    assert f"https://news.example.cn/{event_id}/0.html" in links
    pdf = next(p for p in msg.walk() if (p.get_filename() or "").endswith(".pdf"))
    assert pdf.get_filename() == "泽州县应急管理局舆情日报〔2026〕第1期.pdf"
    pdf_text = pdftotext(pdf.get_payload(decode=True))
    (Path(runtime.settings.data_dir).parent / "daily-last.pdf").write_bytes(pdf.get_payload(decode=True))
    bare = re.sub(r"\s", "", pdf_text)
    for expected in ("泽州县应急管理局舆情日报", "〔2026〕第 1 期", "舆情日报（11月21日）", "2026年11月21日印发",
                     "统计时段：2026年11月20日 8时30分至2026年11月21日 8时30分", "泽州县某煤矿发生透水事故"):
        assert re.sub(r"\s", "", expected) in bare, expected
    assert machine_text(pdf_text, quoted) == [] and "YUQING" not in pdf_text
    assert not re.search(r"\d时\d{2}\s*\n\s*分", pdf_text), "a time of the period is never split across lines"
    footer_xml = zipfile.ZipFile(io.BytesIO(blob)).read("word/footer1.xml").decode()
    assert "PAGE" in footer_xml and 'w:fldCharType="begin"' in footer_xml
    with runtime.session() as s:
        digest = s.scalars(select(Digest).where(Digest.kind == "daily")).one()
        assert not digest.quiet and event_id in digest.event_ids
        assert s.get(Alert, alert_id).inhibited
    assert {d.purpose for d in deliveries(runtime)} >= {"alert", "digest"}


def test_a_major_report_covers_the_schedules_period_not_the_minutes_since_start_up(runtime) -> None:  # type: ignore[no-untyped-def]
    """The demo's case: monitoring begins a minute before a 重大 event. The 要情专报's period
    is the 日报's (since today's 08:30 slot), with monitoring's start said, not one minute."""
    from yuqing.alerts.digests import send_major

    with runtime.session() as s:
        s.query(Source).delete()
    runtime.clock.set(datetime(2026, 11, 21, 22, 29, tzinfo=ZoneInfo("Asia/Shanghai")))
    _monitoring_since(runtime, runtime.now())
    runtime.clock.advance(minutes=1)
    event_id = make_event(runtime, level="重大")
    runtime.clock.advance(minutes=1)
    assert send_major(runtime, event_id)
    with runtime.session() as s:
        digest = s.scalars(select(Digest).where(Digest.kind == "major")).one()
        assert digest.period_start == datetime(2026, 11, 21, 0, 30, tzinfo=ZoneInfo("UTC"))  # 08:30 local
        html = digest.html
    assert "统计时段：2026年11月21日 8时30分至2026年11月21日 22时31分（系统自2026年11月21日 22时29分起监测）" in html


def test_a_major_report_of_an_event_older_than_the_period_starts_at_its_first_item(runtime) -> None:  # type: ignore[no-untyped-def]
    """From the first item the system fetched, not the date a crawled page claims (one page
    dated years back must not give an official document a period of years)."""
    from yuqing.alerts.digests import send_major
    from yuqing.models import Event

    runtime.clock.set(datetime(2026, 11, 21, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    event_id = make_event(runtime, level="重大")
    with runtime.session() as s:
        s.get(Event, event_id).first_published_at = datetime(2023, 3, 1, tzinfo=ZoneInfo("UTC"))  # a false date
        first = s.scalars(select(Item).where(Item.event_id == event_id).order_by(Item.id)).first()
        first.fetched_at = runtime.now() - timedelta(hours=20)  # fetched yesterday 13:00
        first.published_at = datetime(2023, 3, 1, tzinfo=ZoneInfo("UTC"))
    assert send_major(runtime, event_id)
    with runtime.session() as s:
        digest = s.scalars(select(Digest).where(Digest.kind == "major")).one()
    assert "统计时段：2026年11月20日 13时00分至2026年11月21日 9时00分</p>" in digest.html  # monitoring began 2 days before: no note


def test_a_major_report_goes_out_as_docx_and_pdf_of_the_same_document(runtime, drain, smtp, chromium_print) -> None:  # type: ignore[no-untyped-def]
    """要情专报 mails carry the PDF beside the DOCX: 期号, title, 加急 and the 版记 in both."""
    from yuqing.alerts.digests import send_major

    event_id = make_event(runtime, level="重大", items=3)
    assert send_major(runtime, event_id)
    drain()
    msg = next(m for m in smtp.wait_for(2) if "要情专报" in _subject(m))
    names = sorted(p.get_filename() for p in msg.walk() if p.get_filename())
    assert names == ["trend.png", "泽州县应急管理局要情专报〔2026〕第1期.docx", "泽州县应急管理局要情专报〔2026〕第1期.pdf"]
    pdf = next(p for p in msg.walk() if (p.get_filename() or "").endswith(".pdf")).get_payload(decode=True)
    docx = next(p for p in msg.walk() if (p.get_filename() or "").endswith(".docx")).get_payload(decode=True)
    pdf_text = pdftotext(pdf)
    (Path(runtime.settings.data_dir).parent / "major-last.pdf").write_bytes(pdf)
    docx_lines = [unjoined(p.text) for p in Document(io.BytesIO(docx)).paragraphs if p.text.strip()]
    bare = re.sub(r"\s", "", pdf_text)
    for line in docx_lines[:5]:  # 份号, 内部资料, 加急, masthead, 期号: the same marks in both
        assert re.sub(r"\s", "", line) in bare, line
    assert "〔2026〕第 1 期" in pdf_text and "加急" in pdf_text and "2026年11月21日印发" in pdf_text
    with runtime.session() as s:
        title = event_account(s, event_id).title
    assert docx_lines[5] == f"关于“{title}”的要情专报", "one event's report names it, by the event's one account"
    assert re.sub(r"\s", "", docx_lines[5]) in bare
    with runtime.session() as s:
        quoted = [x for row in s.execute(select(Item.title, Item.text)).all() for x in row if x]
    assert machine_text(pdf_text, quoted) == []


def test_a_major_report_waits_until_the_ticket_follows_the_event(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """The demo's case: the 较大 event's ticket was open when the event rose to 重大. The 要情专报
    queued with the monitor's 重大 notice ran before the tickets' job raised the ticket, so its
    未关闭工单 listed 【较大】 under the first title with the 48 h clock alone, beside the same event
    at 重大 in the sections above. It now waits, and the tickets' job sends it once the ticket follows."""
    from yuqing.alerts.digests import send_major
    from yuqing.queue.jobs import consider_event

    event_id = make_event(runtime, level="较大", items=3)
    alerted(runtime, event_id)
    assert consider_event(event_id) is not None  # the 较大 ticket
    drain()
    runtime.clock.advance(minutes=30)
    raised = "泽州县某煤矿透水事故已致12人死亡"
    with runtime.session() as s:
        event = s.get(Event, event_id)
        event.level, event.title = "重大", raised
        alert = s.scalars(select(Alert).where(Alert.event_id == event_id)).one()
        alert.level = alert.notified_level = "重大"  # the monitor's 重大 notice went
        alert.notify_count += 1
    assert send_major(runtime, event_id) is None, "the ticket is still 较大: no 要情专报 yet"
    consider_event(event_id)  # the tickets' job raises the ticket and queues the 要情专报
    drain()
    with runtime.session() as s:
        digest = s.scalars(select(Digest).where(Digest.kind == "major")).one()
        ticket = s.scalars(select(Ticket).where(Ticket.event_id == event_id)).one()
        assert ticket.level == "重大"
    html = unjoined(digest.html)
    open_tickets = html[html.index("未关闭工单"):]
    assert f"【重大】{raised}" in open_tickets and "【较大】" not in open_tickets
    assert "发布权威信息" in open_tickets, "the 5 h clock the rise added is listed"


def test_hours_are_said_without_a_tenth_of_nothing() -> None:
    assert [spoken(timedelta(hours=h)) for h in (55, 5.5, 0.25)] == ["2 天 7 小时", "5 小时 30 分钟", "15 分钟"]


def test_the_overview_counts_major_events_as_the_digest_lists_them(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """「新增重大舆情信息 0 条」 stood beside a 重大 event (it counted items whose own level was
    重大, and this event's items were scored 较大). The overview counts what a reader counts: the
    重大 or graver events of the period, listed under their own heading, each count in the
    overview the number of entries listed under its heading, in the DOCX, the plain and the HTML part."""
    runtime.clock.advance(hours=-10)
    major = make_event(runtime, level="较大", items=4)
    with runtime.session() as s:
        s.get(Event, major).level = "重大"  # risen; its items keep their own 较大
    alerted(runtime, major)
    minor = make_event(runtime, title="某小区停水 居民反映", level="较大", items=2)
    alerted(runtime, minor)
    runtime.clock.set(datetime(2026, 11, 21, 8, 31, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert send_due_digests() == ["daily:2026-11-21@08:30"]
    drain()
    msg = next(m for m in smtp.wait_for(2) if "舆情日报" in _subject(m))
    plain = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    part = next(p for p in msg.walk() if (p.get_filename() or "").endswith(".docx"))
    docx = unjoined("\n".join(p.text for p in Document(io.BytesIO(part.get_payload(decode=True))).paragraphs))
    for text in (plain, html, docx):
        assert "新增重大舆情信息" not in text
        assert "本期共监测相关信息 6 条；升级预警事件 2 起；重大及以上舆情事件 1 起；未关闭工单 0 件，其中超时 0 件" in text
        assert "重大及以上舆情事件\n" in text or "<h3>重大及以上舆情事件</h3>" in text
    listed = re.findall(r"^\d+\.【(?:重大|特别重大)】.*本期新增相关信息 (\d+) 条", plain, re.M)
    assert listed == ["4"], plain
    assert len(re.findall(r"^\d+\.【", plain.split("升级预警事件\n", 1)[1].split("、重大及以上", 1)[0], re.M)) == 2
