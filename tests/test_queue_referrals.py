"""Referrals: routed on consider, 专报 DOCX by real e-mail through yuqing.alerts.jobs.deliver to the
loopback SMTP server, status from the delivery callback, signed acknowledgement, reminders."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import threading
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from docx import Document
from factories import make_reported_event
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from yuqing.documents import issued
from yuqing.documents.keep import unjoined
from yuqing.models import Delivery, IssuedDocument, Item, Referral, ReferralNote, Ticket
from yuqing.queue import jobs, referrals, tickets
from yuqing.queue.exceptions import AlreadyAcknowledged, InvalidAckLink

# Chromium's print stood in for, except in the test that reads the PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")

def _subject(msg) -> str:  # type: ignore[no-untyped-def]
    return str(make_header(decode_header(msg["Subject"])))


def _text(msg) -> str:  # type: ignore[no-untyped-def]
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def _refs(rt) -> dict[str, Referral]:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return {r.department_key: r for r in s.scalars(select(Referral))}


@pytest.mark.slow  # Chromium prints the 专报, which is read
def test_major_event_referral_mail_carries_a_readable_report(runtime, drain, smtp, tmp_path, chromium_print) -> None:  # type: ignore[no-untyped-def]
    event = make_reported_event(runtime, level="重大", items=3)
    jobs.consider_event(event)
    jobs.consider_event(event)  # considered again: nothing doubles
    refs = _refs(runtime)
    assert set(refs) == {"propaganda", "cyberspace"}
    assert refs["propaganda"].route == "routing.routes[0] {level: 重大|特别重大}（continue）"
    assert refs["propaganda"].status == "pending"
    drain()
    messages = smtp.wait_for(2)
    assert len(messages) == 2
    by_to = {m["To"]: m for m in messages}
    msg = by_to["yqk@xcb.zezhou.example"]
    assert _subject(msg) == "【舆情专报】煤矿透水 报道0（重大）"  # the provincial report names it
    body = _text(msg)
    assert "请打开以下链接签收（无需登录）：http://127.0.0.1:8000/ack/" in body
    assert "routing" not in body and "**" not in body
    assert "\n事件：煤矿透水 报道0\n" in body  # the same title as the subject and the 专报: the event's account
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert '<a href="http://127.0.0.1:8000/ack/' in html
    attachment = next(p for p in msg.walk() if (p.get_filename() or "").endswith(".docx"))
    assert attachment.get_filename() == "泽州县应急管理局舆情专报〔2026〕第1期.docx"
    doc = Document(io.BytesIO(attachment.get_payload(decode=True)))
    text = unjoined("\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells]))
    for expected in ("泽州县应急管理局舆情专报", "〔2026〕第 1 期", "一、报送单位与对象", "二、事件概况",
                     "三、舆情态势", "共监测到相关信息 3 条", "（一）重点信息", "四、研判", "五、处置建议",
                     "请协调主流媒体及时转发权威信息", "六、我局回应", "发布权威信息：11月21日13时00分前",
                     "七、联系人", "报送对象：中共泽州县委宣传部", "抄送：县人民政府办公室，泽州县委网信办。"):
        assert expected in text, expected
    links = [r.target_ref for r in doc.part.rels.values() if r.reltype.endswith("/hyperlink")]
    assert any(link.startswith("https://news.example/") for link in links)
    assert text.index("省级媒体") < text.index("地方媒体")  # the more authoritative post first
    _the_pdf_beside_the_docx(msg, attachment, text, tmp_path)
    refs = _refs(runtime)  # the delivery callback ran on the respond queue
    assert {r.status for r in refs.values()} == {"sent"}
    assert refs["propaganda"].sent_at == runtime.now()


def _the_pdf_beside_the_docx(msg, docx_part, docx_text: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same 专报 as PDF: both attached with their MIME types, Chinese names in RFC 2231
    (filename*=utf-8''…, which mail clients decode), and the PDF's text (pdftotext) the DOCX's."""
    files = [p for p in msg.walk() if p.get_filename()]
    assert [p.get_filename() for p in files] == ["泽州县应急管理局舆情专报〔2026〕第1期.docx",
                                                 "泽州县应急管理局舆情专报〔2026〕第1期.pdf"]
    assert [p.get_content_type() for p in files] == [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/pdf"]
    for part in files:
        disposition = part["Content-Disposition"]
        # RFC 2231: charset, then percent-encoded UTF-8, in numbered continuations when long
        assert disposition.startswith("attachment;") and re.search(r"filename\*(0\*)?=utf-8''%E6%B3%BD%E5%B7%9E",
                                                                   disposition), disposition
        assert not re.search(r"[^\x00-\x7f]", disposition), "no raw 8-bit bytes in the header"
    pdf = tmp_path / "zb.pdf"
    pdf.write_bytes(files[1].get_payload(decode=True))
    assert pdf.read_bytes().startswith(b"%PDF-")
    printed = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    squeeze = lambda s: re.sub(r"\s+", "", s)  # noqa: E731 - line breaks fall differently on a page
    pages = squeeze(printed)
    for paragraph in docx_text.splitlines():
        if paragraph.strip() and not paragraph.startswith("请打开以下链接签收"):
            assert squeeze(paragraph) in pages, paragraph


def test_failed_delivery_marks_the_referral_failed_with_reason(runtime, drain, smtp, monkeypatch) -> None:
    from yuqing.queue.referrals import on_delivery

    event = make_reported_event(runtime, level="一般", watch_words=["瞒报"], flags={"complaint": True})
    jobs.consider_event(event)
    ref = _refs(runtime)["petitions"]
    with runtime.session() as s:
        d = s.scalars(select(Delivery).where(Delivery.ref_id == ref.id)).one()
        assert d.callback == "yuqing.queue.referrals.on_delivery"
        assert d.attachments == [ref.report_path, ref.report_path.removesuffix(".docx") + ".pdf"]
        d.status, d.last_error = "failed", "收件人被拒绝: bxk@xfj.zezhou.example（不可重试）"
    assert on_delivery(d.id) == "failed"
    ref = _refs(runtime)["petitions"]
    assert ref.last_error == "email bxk@xfj.zezhou.example：收件人被拒绝: bxk@xfj.zezhou.example（不可重试）"


def test_without_chromium_the_docx_still_goes_out(runtime, drain, smtp, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    from yuqing.documents.pdf import PdfError

    def no_chromium(page):  # type: ignore[no-untyped-def]
        raise PdfError("未找到 chromium，无法生成 PDF")

    monkeypatch.setattr(issued, "html_to_pdf", no_chromium)
    jobs.consider_event(make_reported_event(runtime, level="重大", items=3))
    drain()
    messages = smtp.wait_for(2)
    names = sorted(p.get_filename() for msg in messages for p in msg.walk() if p.get_filename())
    assert names == ["泽州县应急管理局舆情专报〔2026〕第1期.docx", "泽州县应急管理局舆情专报〔2026〕第2期.docx"], \
        "each department gets its DOCX alone, not held back for the PDF"
    with runtime.session() as s:
        assert {d.status for d in s.scalars(select(Delivery).where(Delivery.purpose == "referral"))} == {"sent"}
    assert "no PDF" in caplog.text


def test_the_pdf_is_printed_after_the_referral_commits(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Printing takes seconds (two or three prints to place the 版记); inside the referral's
    transaction it held SQLite's write lock, and other workers' writes gave up ("database is
    locked"). While it prints, another connection can write and sees the referral."""
    import sqlalchemy as sa

    seen: list[tuple[int, int]] = []

    def print_while_another_writes(page):  # type: ignore[no-untyped-def]
        engine = sa.create_engine(runtime.settings.sqlalchemy_url, connect_args={"timeout": 0.5})
        with engine.begin() as other:  # fails at once if the referral's transaction still held the lock
            other.execute(sa.text("UPDATE events SET updated_at = updated_at"))
            seen.append((other.execute(sa.text("SELECT count(*) FROM referrals")).scalar_one(),
                         other.execute(sa.text("SELECT count(*) FROM issued_documents")).scalar_one()))
        engine.dispose()
        return b"%PDF-1.7 printed"

    monkeypatch.setattr(issued, "html_to_pdf", print_while_another_writes)
    jobs.consider_event(make_reported_event(runtime, level="重大", items=3))
    assert len(seen) == 2 and all(refs == 2 and issued == 2 for refs, issued in seen), seen
    for ref in _refs(runtime).values():
        with open(ref.report_path.removesuffix(".docx") + ".pdf", "rb") as pdf:
            assert pdf.read() == b"%PDF-1.7 printed"


def test_signed_link_acknowledges_once_and_forgeries_are_refused(runtime) -> None:
    event = make_reported_event(runtime, level="重大")
    jobs.consider_event(event)
    ref = _refs(runtime)["cyberspace"]
    url = referrals.ack_url(runtime, ref.id)
    token = url.rsplit("/", 1)[1]
    assert url == f"http://127.0.0.1:8000/ack/{token}"
    with pytest.raises(InvalidAckLink, match="^签收链接无效：签名校验失败（链接不完整、被改动或为旧版链接）$"):
        referrals.acknowledge_by_token(runtime, token[:-2] + "xx", "网信办 张三")
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("another-secret", salt="yuqing.referral.ack").dumps([ref.id, "cyberspace"])
    with pytest.raises(InvalidAckLink):
        referrals.acknowledge_by_token(runtime, forged, "冒充者")
    assert referrals.acknowledge_by_token(runtime, token, "网信办 张三", note="已安排处置") == ref.id
    with pytest.raises(AlreadyAcknowledged, match="^该报送已于.*由网信办 张三签收，无需重复签收$"):
        referrals.acknowledge_by_token(runtime, token, "网信办 李四", note="冒名备注")
    ref = _refs(runtime)["cyberspace"]
    assert (ref.status, ref.acknowledged_by, ref.acknowledged_at) == ("acknowledged", "网信办 张三", runtime.now())
    with runtime.session() as s:
        notes = [n.text for n in s.scalars(select(ReferralNote).where(ReferralNote.referral_id == ref.id))]
    assert notes == ["签收备注：已安排处置"]


def test_unacknowledged_referrals_are_reminded_every_interval(runtime, drain, smtp, clock) -> None:
    event = make_reported_event(runtime, level="重大")
    jobs.consider_event(event)
    drain()
    referrals.acknowledge(runtime, _refs(runtime)["cyberspace"].id, "网信办 张三")
    clock.advance(hours=3, minutes=59)
    assert jobs.sweep()["referral_reminders"] == 0
    clock.advance(minutes=1)
    assert jobs.sweep()["referral_reminders"] == 1
    assert jobs.sweep()["referral_reminders"] == 0
    smtp.messages.clear()
    drain()
    reminders = [m for m in smtp.messages if _subject(m).startswith("【报送提醒】")]
    assert [m["To"] for m in reminders] == ["yqk@xcb.zezhou.example"]
    assert "第 1 次提醒" in _text(reminders[0])
    clock.advance(hours=4)
    assert jobs.sweep()["referral_reminders"] == 1
    assert _refs(runtime)["propaganda"].remind_count == 2


def test_level_rise_adds_referrals_and_quiet_events_route_nothing(runtime, clock) -> None:
    event = make_reported_event(runtime, level="较大")
    jobs.consider_event(event)
    assert _refs(runtime) == {}
    from factories import touch_event

    clock.advance(hours=1)
    touch_event(runtime, event, level="重大", categories=["false_information"])
    jobs.consider_event(event)
    assert set(_refs(runtime)) == {"propaganda", "cyberspace", "police"}
    assert timedelta(0) == _refs(runtime)["police"].created_at - runtime.now()


def _report_three_dead(runtime, event: int) -> None:  # type: ignore[no-untyped-def]
    """A provincial paper's report of 3 dead joins the event, so its figures change."""
    with runtime.session() as s:
        url = "https://sxrb.example/1.html"
        s.add(Item(url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), title="透水事故已致3人死亡",
                   text="已致3人死亡", tier="provincial", published_at=runtime.now(), fetched_at=runtime.now(),
                   content_hash="x", event_id=event, casualties={"deaths": 3}))


def _issued(rt) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    from yuqing.models import IssuedDocument

    with rt.session() as s:
        return [(d.kind, d.department_key, d.number) for d in s.scalars(select(IssuedDocument).order_by(IssuedDocument.id))]


def test_follow_up_goes_once_per_rise_to_each_department_already_referred(runtime, drain, smtp) -> None:
    import hashlib

    from factories import touch_event

    from yuqing.models import Item

    event = make_reported_event(runtime, level="较大", categories=["false_information"])
    jobs.consider_event(event)
    assert {k for k, d, _ in _issued(runtime) if k == "special"} == {"special"}
    assert sorted(d for _, d, _ in _issued(runtime)) == ["cyberspace", "police"]
    drain()  # the 专报 go: a 续报 goes only where its 专报 went
    touch_event(runtime, event, level="重大")
    jobs.consider_event(event)
    jobs.consider_event(event)  # the same rise seen again: no second 续报
    issued = _issued(runtime)
    assert sorted(d for k, d, _ in issued if k == "special") == ["cyberspace", "police", "propaganda"]
    assert sorted(d for k, d, _ in issued if k == "followup") == ["cyberspace", "police"]  # 网信办 gets the 重大 one
    assert [n for _, _, n in issued] == [1, 2, 3, 4, 5]  # one 舆情专报 series
    drain()
    with runtime.session() as s:  # new figures arrive: 续报 again, to all three
        url = "https://sxrb.example/1.html"
        s.add(Item(url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), title="透水事故已致3人死亡",
                   text="已致3人死亡", tier="provincial", published_at=runtime.now(), fetched_at=runtime.now(),
                   content_hash="x", event_id=event, casualties={"deaths": 3}))
    jobs.consider_event(event)
    jobs.consider_event(event)
    assert sorted(d for k, d, _ in _issued(runtime) if k == "followup") == [
        "cyberspace", "cyberspace", "police", "police", "propaganda"]
    drain()
    subjects = [_subject(m) for m in smtp.messages]
    assert sum(s.startswith("【舆情续报】") for s in subjects) == 5
    followup = next(m for m in smtp.messages if _subject(m).startswith("【舆情续报】") and m["To"] == "wxb@wxb.zezhou.example")
    part = next(p for p in followup.walk() if (p.get_filename() or "").endswith(".docx"))
    text = unjoined("\n".join(p.text for p in Document(io.BytesIO(part.get_payload(decode=True))).paragraphs))
    assert "（续报）" in text and "现将最新情况续报如下" in text
    # Each 续报 opens on the last issue 公安 had and what changed since it.
    with runtime.session() as s:
        told = s.scalars(select(IssuedDocument).where(IssuedDocument.department_key == "police")
                         .order_by(IssuedDocument.id)).all()
        openings = [next(p.text for p in Document(d.path).paragraphs if "续报如下" in p.text)
                    for d in told if d.kind == "followup"]
        year, numbers = told[0].year, [d.number for d in told]
    assert len(openings) == 2, openings
    assert f"报送〔{year}〕第{numbers[0]}期专报以来，事件等级由较大升为重大。" in unjoined(openings[0]), openings[0]
    assert f"报送〔{year}〕第{numbers[1]}期续报以来，新报告死亡 3 人（" in unjoined(openings[1]), openings[1]
    assert "等级" not in openings[1]  # the level did not change again
    assert referrals.send_final_reports(runtime, _refs(runtime)["police"].ticket_id) == 3
    assert referrals.send_final_reports(runtime, _refs(runtime)["police"].ticket_id) == 0  # 终报 once
    assert sorted(d for k, d, _ in _issued(runtime) if k == "final") == ["cyberspace", "police", "propaganda"]


def _route_wait(rt, event_id: int) -> int:  # type: ignore[no-untyped-def]
    from yuqing.alerts.grouping import route_timings
    from yuqing.models import Event, Item

    with rt.session() as s:
        event = s.get(Event, event_id)
        return route_timings(rt, event, list(s.scalars(select(Item).where(Item.event_id == event_id)))).group_wait_seconds


def test_a_department_hears_after_the_monitor_whose_first_notice_the_route_holds(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """The demo: 信访's 较大 专报 went 51 s before the monitor's 较大 alert, because the route's
    group_wait held the monitor's notice while the referral went at once. Now the referral waits
    for the notice and follows it (the wake-up or the sweep sends the notice, then the 专报)."""
    from rq.registry import ScheduledJobRegistry

    from yuqing.alerts.jobs import evaluate_event, sweep_alerts

    event = make_reported_event(runtime, level="较大", watch_words=["瞒报"], flags={"complaint": True})
    evaluate_event(event)  # the notify job: the alert is made, its first notice held
    jobs.consider_event(event)  # the respond job: the ticket opens
    drain()
    with runtime.session() as s:
        assert s.scalars(select(Delivery)).all() == [], "nobody hears while the monitor's notice waits"
    assert _refs(runtime) == {}
    later = ScheduledJobRegistry("respond", connection=runtime.redis).get_job_ids()
    assert later, "a later look is scheduled in case the held notice never goes"
    runtime.clock.advance(seconds=_route_wait(runtime, event))
    sweep_alerts()  # the held notice goes, and the referral after it
    drain()
    with runtime.session() as s:
        sent = list(s.scalars(select(Delivery).order_by(Delivery.id)))
    alert = [d for d in sent if d.purpose == "alert" and d.target == "zhiban@yjj.zezhou.example"]
    referred = [d for d in sent if d.purpose == "referral"]
    assert alert and [d.target for d in referred] == ["bxk@xfj.zezhou.example"], [(d.purpose, d.target) for d in sent]
    assert alert[0].id < referred[0].id and alert[0].sent_at <= referred[0].sent_at
    assert set(_refs(runtime)) == {"petitions"}


def test_a_follow_up_at_a_higher_level_waits_for_the_monitors_rise_notice(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """A rise to 重大 seen first by the respond worker: the 续报 waits until grouping has told the
    monitor of the rise (never held), then follows it."""
    from factories import touch_event

    from yuqing.alerts.jobs import evaluate_event, sweep_alerts

    event = make_reported_event(runtime, level="较大", categories=["false_information"])
    evaluate_event(event)
    runtime.clock.advance(seconds=_route_wait(runtime, event))
    sweep_alerts()
    jobs.consider_event(event)
    drain()
    assert sorted(_refs(runtime)) == ["cyberspace", "police"]
    touch_event(runtime, event, level="重大")
    jobs.consider_event(event)  # before the alert's evaluation: the monitor has not heard of 重大
    kinds = [k for k, _, _ in _issued(runtime)]
    assert "followup" not in kinds and sorted(_refs(runtime)) == ["cyberspace", "police"], kinds
    evaluate_event(event)  # the rise goes to the monitor at once, then the referrals it held
    drain()
    with runtime.session() as s:
        sent = list(s.scalars(select(Delivery).order_by(Delivery.id)))
    rise = [d for d in sent if d.purpose == "alert" and "等级由较大升至重大" in d.body]
    after = [d for d in sent if d.purpose == "referral" and "重大）" in d.subject]
    assert rise and after, [(d.purpose, d.subject) for d in sent]
    assert max(d.id for d in rise) < min(d.id for d in after)
    assert {k for k, _, _ in _issued(runtime)} >= {"followup"} and "propaganda" in _refs(runtime)


def _dismiss_and_close(rt, event_id: int) -> int:  # type: ignore[no-untyped-def]
    """The monitor dismisses the event's alert (排除) and closes its ticket, as the console does."""
    from yuqing.models import Alert, Ticket
    from yuqing.queue.dismissal import review_and_settle

    with rt.session() as s:
        alert_id = s.scalar(select(Alert.id).where(Alert.event_id == event_id))
        ticket_id = s.scalar(select(Ticket.id).where(Ticket.event_id == event_id))
    review_and_settle(rt, alert_id, "dismiss", "赵值班", ticket="close", reason="系旧闻翻炒，与本县无关")
    return ticket_id


def test_a_dismissed_and_closed_event_tells_the_departments_it_was_dismissed(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """The departments that got a 专报 of an event the monitor then dismissed hear that it was
    dismissed (a 终报 saying so, with no call to act), and are no longer reminded to sign for it.
    No 事后回应报告 is queued: a false alarm had no response to report (the ticket page still
    builds one on demand, its timeline ending in the dismissal)."""
    from factories import alerted

    from yuqing.models import Referral

    event = make_reported_event(runtime, level="较大", watch_words=["瞒报"], flags={"complaint": True})
    alerted(runtime, event)
    jobs.consider_event(event)
    drain()
    assert [d for _, d, _ in _issued(runtime)] == ["petitions"]
    smtp.messages.clear()
    ticket_id = _dismiss_and_close(runtime, event)
    queued = [j.func_name for j in __import__("rq").Queue("respond", connection=runtime.redis).get_jobs()]
    assert "yuqing.queue.jobs.final_reports" in queued
    assert "yuqing.dashboards.reports.generate_report" not in queued
    drain()
    [final] = [m for m in smtp.messages if _subject(m).startswith("【舆情终报】")]
    assert final["To"] == "bxk@xfj.zezhou.example"
    assert "经核查研判已予排除，现终止报送" in _text(final) and "已处置完毕" not in _text(final)
    doc = Document(io.BytesIO(next(p for p in final.walk() if (p.get_filename() or "").endswith(".docx"))
                              .get_payload(decode=True)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "经我局核查研判，该事件已于" in text and "予以排除" in text, text
    assert "已趋平息" not in text and "处置建议" not in text and "请按信访工作程序受理" not in text
    assert "旧闻翻炒" not in text, "the monitor's note for the record stays inside"
    assert [(k, d) for k, d, _ in _issued(runtime)] == [("special", "petitions"), ("final", "petitions")] and ticket_id
    runtime.clock.advance(hours=9)
    assert jobs.sweep()["referral_reminders"] == 0, "a dismissed event's referral is not chased"
    with runtime.session() as s:
        assert s.scalar(select(Referral.remind_count)) == 0


def _answered_and_closed(runtime, drain) -> int:  # type: ignore[no-untyped-def]
    """A 重大 event referred to the departments, answered, and its ticket closed after 73 hours."""
    event = make_reported_event(runtime, level="重大", ago_hours=80)
    jobs.consider_event(event)
    drain()
    with runtime.session() as s:
        ticket_id = s.scalar(select(Ticket.id).where(Ticket.event_id == event))
    tickets.record_response(runtime, ticket_id, "monitor", "authoritative_info", "政府网站",
                            "https://yjj.zezhou.example/1.html", "县应急管理局发布救援进展通报", runtime.now())
    runtime.clock.advance(hours=73)
    tickets.close(runtime, ticket_id, "monitor")
    return ticket_id


def test_a_closed_tickets_referrals_are_not_reminded(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """After the 终报 ("已处置完毕"), a reminder to sign for the 专报 and 处置 it contradicts it."""
    _answered_and_closed(runtime, drain)
    assert jobs.sweep()["referral_reminders"] == 0


def test_a_ticket_closed_again_after_reopening_sends_its_final_report_again(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """The 终报 was registered once per event and department ("final"): after the ticket was
    re-opened (the departments got 续报 of the new flare) and closed again, the second 终报 was
    refused as already issued, and the departments never heard the matter ended."""
    ticket_id = _answered_and_closed(runtime, drain)
    drain()
    tickets.reopen(runtime, ticket_id, "monitor", "事件再次发酵")
    tickets.record_response(runtime, ticket_id, "monitor", "authoritative_info", "政府网站",
                            "https://yjj.zezhou.example/2.html", "县应急管理局再次通报", runtime.now())
    runtime.clock.advance(hours=73)
    tickets.close(runtime, ticket_id, "monitor")
    drain()
    finals = sorted(d for k, d, _ in _issued(runtime) if k == "final")
    assert finals == ["cyberspace", "cyberspace", "propaganda", "propaganda"], _issued(runtime)
    assert len([m for m in smtp.messages if _subject(m).startswith("【舆情终报】")]) == 4


def test_more_posts_about_a_dismissed_event_do_not_reopen_its_ticket(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """The next post about an event the monitor dismissed and closed (排除, e.g. 旧闻翻炒) re-opened
    its ticket as 「事件再次发酵」 and sent the departments a 续报 right after the 终报 that said
    it was dismissed. Now only a rise above the level it was dismissed at re-opens it."""
    from factories import alerted, touch_event


    event = make_reported_event(runtime, level="较大", watch_words=["瞒报"], flags={"complaint": True})
    alerted(runtime, event)
    jobs.consider_event(event)
    drain()
    ticket_id = _dismiss_and_close(runtime, event)
    drain()
    before = _issued(runtime)
    runtime.clock.advance(hours=1)
    touch_event(runtime, event, item_count=9, unique_count=9)  # more reposts of the old story
    jobs.consider_event(event)
    drain()
    with runtime.session() as s:
        assert s.get(Ticket, ticket_id).state == "closed"
    assert _issued(runtime) == before, "no 续报 of a dismissed event"
    runtime.clock.advance(hours=1)
    touch_event(runtime, event, level="重大")
    jobs.consider_event(event)
    with runtime.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket.state != "closed" and "重大" in ticket.changes[-1].reason, ticket.changes[-1].reason


def test_one_worker_at_a_time_refers_an_event(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """Two consider_event jobs of one event (an analysis batch's and the one queued after the
    monitor's notice) printed the same 续报 in two write transactions at once, and on SQLite the
    second failed with "database is locked" (seen in the demo). The second now waits its turn."""
    import threading

    event = make_reported_event(runtime, level="重大")
    held = runtime.redis.lock(f"yuqing:refer:{event}", timeout=30)
    assert held.acquire(blocking=False)  # another worker is referring this event
    done: list[list[int]] = []
    second = threading.Thread(target=lambda: done.append(referrals.refer_event(runtime, event)))

    tickets.consider(runtime, event)
    second.start()
    second.join(timeout=3)
    assert second.is_alive() and _refs(runtime) == {}, "it waits while the other holds the event"
    held.release()
    second.join(timeout=120)
    assert not second.is_alive() and len(done[0]) == 2 and set(_refs(runtime)) == {"propaganda", "cyberspace"}


def test_the_referral_lock_is_renewed_while_its_holder_prints(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The lock's token was thread-local, so the renewing thread could not renew it (in the demo:
    "could not renew the referral lock") and a slow print let a second worker in after 30 s."""
    import time


    monkeypatch.setattr(referrals, "REFER_LOCK_SECONDS", 1)
    event = make_reported_event(runtime, level="重大")
    tickets.consider(runtime, event)
    seen: list[int] = []

    def slow(rt, event_id):  # type: ignore[no-untyped-def]
        time.sleep(2.5)  # longer than the lock's timeout: only renewal keeps it
        seen.append(runtime.redis.pttl(f"yuqing:refer:{event_id}"))
        return []

    monkeypatch.setattr(referrals, "_refer", slow)
    referrals.refer_event(runtime, event)
    assert seen and seen[0] > 0, "the lock was still held when the print ended"


def test_the_final_report_goes_only_to_departments_whose_special_report_went(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """A 终报 says "我局前期报送的舆情事件……": a department whose 专报 failed never heard of the
    event and gets none; one whose 专报 was still being retried when the ticket closed gets its
    终报 when the 专报 finally goes, not before it."""
    from yuqing.queue.referrals import on_delivery

    event = make_reported_event(runtime, level="重大", ago_hours=80)
    jobs.consider_event(event)
    refs = _refs(runtime)
    with runtime.session() as s:
        for d in s.scalars(select(Delivery).where(Delivery.ref_id == refs["propaganda"].id)):
            d.status, d.last_error = "failed", "收件人被拒绝（不可重试）"
            failed = d.id
    assert on_delivery(failed) == "failed"
    drain()
    with runtime.session() as s:  # the 网信办's 专报 is being retried (its mail server is down)
        s.get(Referral, refs["cyberspace"].id).status = "pending"
        retried = s.scalar(select(Delivery.id).where(Delivery.ref_id == refs["cyberspace"].id))
    ticket_id = refs["cyberspace"].ticket_id
    tickets.record_response(runtime, ticket_id, "monitor", "authoritative_info", "政府网站",
                            "https://yjj.zezhou.example/1.html", "县应急管理局发布救援进展通报", runtime.now())
    runtime.clock.advance(hours=73)
    tickets.close(runtime, ticket_id, "monitor")
    drain()
    assert [d for k, d, _ in _issued(runtime) if k == "final"] == [], "neither department has had its 专报"
    assert on_delivery(retried) == "sent"
    drain()
    assert [d for k, d, _ in _issued(runtime) if k == "final"] == ["cyberspace"]
    assert len([m for m in smtp.messages if _subject(m).startswith("【舆情终报】")]) == 1


def _retries_now_due(rt) -> None:  # type: ignore[no-untyped-def]
    """What RQ's scheduler does once a retry's wait is over: the scheduled jobs move to their queues."""
    from rq import Queue

    from yuqing.tasks.dispatch import QUEUE_NAMES

    for name in QUEUE_NAMES:
        queue = Queue(name, connection=rt.redis)
        for job_id in queue.scheduled_job_registry.get_job_ids():
            job = queue.fetch_job(job_id)
            queue.scheduled_job_registry.remove(job_id)
            if job is not None:
                queue.enqueue_job(job)


def _flaky_evaluation(monkeypatch, failures: int) -> None:  # type: ignore[no-untyped-def]
    """grouping.evaluate fails its first ``failures`` calls, as under a store locked by another writer."""
    from yuqing.alerts import grouping

    real, left = grouping.evaluate, [failures]

    def flaky(rt, event_id):  # type: ignore[no-untyped-def]
        if left[0]:
            left[0] -= 1
            raise RuntimeError("database is locked")
        return real(rt, event_id)

    monkeypatch.setattr(grouping, "evaluate", flaky)


def test_an_event_whose_evaluation_failed_in_its_batch_is_referred_after_its_alert(runtime, drain, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An event whose evaluation failed inside the analysis batch went on as its own job, but the
    batch's tickets' job took it too: while that job waited for its retry, the tickets' job found
    no alert, read it as "no rule holds", and the 专报 went before the monitor had any alert."""
    from yuqing.alerts.jobs import evaluate_events, sweep_alerts

    event = make_reported_event(runtime, level="重大", items=3)
    _flaky_evaluation(monkeypatch, failures=2)  # in the batch, then its own job's first run
    evaluate_events([event])
    drain()
    with runtime.session() as s:
        assert s.scalars(select(Delivery)).all() == [], "nobody hears before the alert is made"
    assert _refs(runtime) == {}
    _retries_now_due(runtime)
    drain()  # the evaluation succeeds: the alert, its first notice held by the route; then the ticket
    with runtime.session() as s:
        assert s.scalar(select(Ticket.id).where(Ticket.event_id == event)) is not None
    assert _refs(runtime) == {}, "the referrals wait for the held notice"
    runtime.clock.advance(seconds=_route_wait(runtime, event))
    sweep_alerts()
    drain()
    with runtime.session() as s:
        sent = list(s.scalars(select(Delivery).order_by(Delivery.id)))
    alert = [d.id for d in sent if d.purpose == "alert"]
    referred = [d.id for d in sent if d.purpose == "referral"]
    assert alert and referred and max(alert) < min(referred), [(d.purpose, d.target) for d in sent]
    assert set(_refs(runtime)) == {"propaganda", "cyberspace"}


def test_an_event_whose_evaluation_fails_for_good_still_gets_its_ticket(runtime, drain, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The handed-on evaluation failing on every retry: the ticket's 48 h clock is not lost with the alert."""
    from yuqing.alerts.jobs import evaluate_events

    event = make_reported_event(runtime, level="重大", items=3)
    _flaky_evaluation(monkeypatch, failures=99)
    evaluate_events([event])
    for _retry in range(4):  # DEFAULT_RETRY's four retries
        drain()
        with runtime.session() as s:
            assert s.scalar(select(Ticket.id).where(Ticket.event_id == event)) is None, "not while a retry is left"
        _retries_now_due(runtime)
    drain()
    with runtime.session() as s:
        assert s.scalar(select(Ticket.id).where(Ticket.event_id == event)) is not None


def test_a_follow_up_goes_only_where_the_special_report_went(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """A 续报 says "我局已于……报送该事件舆情": it went to a department whose 专报 failed, which never
    had that 专报. Now, by the 终报's rule, that department gets the 专报 as the event now stands,
    and one whose 专报 is still being retried gets its 续报 once the 专报 goes, not before it."""
    from factories import touch_event

    from yuqing.alerts.jobs import sweep_alerts
    from yuqing.queue.referrals import on_delivery

    event = make_reported_event(runtime, level="较大", categories=["false_information"])
    jobs.consider_event(event)
    refs = _refs(runtime)
    assert sorted(refs) == ["cyberspace", "police"]
    given = next(n for k, d, n in _issued(runtime) if (k, d) == ("special", "police"))
    with runtime.session() as s:
        for d in s.scalars(select(Delivery).where(Delivery.ref_id == refs["police"].id)):
            d.status, d.last_error = "failed", "收件人被拒绝（不可重试）"
            failed = d.id
        for d in s.scalars(select(Delivery).where(Delivery.ref_id == refs["cyberspace"].id)):
            d.attempts, d.last_error = 1, "连接超时"  # 网信办's mail server is down: retried in an hour
            d.next_attempt_at = runtime.now() + timedelta(hours=1)
    assert on_delivery(failed) == "failed"
    runtime.clock.advance(minutes=30)
    touch_event(runtime, event, level="重大")
    jobs.consider_event(event)
    drain()
    issued = [(k, d) for k, d, _ in _issued(runtime)]
    assert ("followup", "police") not in issued and ("followup", "cyberspace") not in issued, issued
    # 公安 gets the 专报 as it now stands, under the 期号 it was given (the first never reached it)
    assert [n for k, d, n in _issued(runtime) if (k, d) == ("special", "police")] == [given]
    refs = _refs(runtime)
    assert refs["police"].status == "sent" and refs["cyberspace"].status == "pending"
    to_police = [_subject(m) for m in smtp.messages if m["To"] == "wadd@gaj.zezhou.example"]
    assert len(to_police) == 1 and to_police[0].startswith("【舆情专报】") and to_police[0].endswith("（重大）"), to_police
    runtime.clock.advance(hours=1)
    sweep_alerts()  # the retry: 网信办's 专报 goes, then the 续报 held for it
    drain()
    issued = [(k, d) for k, d, _ in _issued(runtime)]
    assert issued.count(("followup", "cyberspace")) == 1 and ("followup", "police") not in issued, issued
    to_cyberspace = [_subject(m)[:6] for m in smtp.messages if m["To"] == "wxb@wxb.zezhou.example"]
    assert to_cyberspace == ["【舆情专报】", "【舆情续报】"], to_cyberspace


def test_a_silence_holds_the_departments_until_the_monitor_hears_and_never_at_major(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """A silence at 较大 muted the monitor's notice, yet the 专报 went to 信访 at once: a department
    heard of an event the duty room had muted and did not know was being sent. A silence now holds
    the referral until it ends (the notice, then the 专报); at 重大 it holds neither: the regulation's
    reports to 宣传部 and 网信办 are never silenced, and the monitor hears first."""
    from yuqing.alerts import actions
    from yuqing.alerts.jobs import evaluate_event, sweep_alerts

    event = make_reported_event(runtime, level="较大", watch_words=["瞒报"], flags={"complaint": True})
    actions.silence(runtime, "赵值班", "已转信访部门线下核实", runtime.now() + timedelta(hours=1), event_id=event)
    evaluate_event(event)
    jobs.consider_event(event)
    drain()
    runtime.clock.advance(minutes=30)
    sweep_alerts()
    jobs.consider_event(event)
    drain()
    with runtime.session() as s:
        assert s.scalars(select(Delivery)).all() == [], "nobody hears while the monitor's silence lasts"
        assert s.scalar(select(Ticket.id).where(Ticket.event_id == event)) is not None, "the clock runs"
    assert _refs(runtime) == {}
    runtime.clock.advance(minutes=31)
    sweep_alerts()  # the silence ended: the monitor's notice, then the 专报 held with it
    drain()
    with runtime.session() as s:
        sent = list(s.scalars(select(Delivery).order_by(Delivery.id)))
    alert = [d.id for d in sent if d.purpose == "alert" and "静默到期" in d.body]
    referred = [d.id for d in sent if d.purpose == "referral"]
    assert alert and referred and max(alert) < min(referred), [(d.purpose, d.target) for d in sent]

    major = make_reported_event(runtime, level="重大", items=3)
    actions.silence(runtime, "赵值班", "已核实为演练，暂不推送", runtime.now() + timedelta(hours=1), event_id=major)
    evaluate_event(major)
    runtime.clock.advance(seconds=_route_wait(runtime, major))
    sweep_alerts()  # the silence does not hold a 重大 notice the monitor has not had
    jobs.consider_event(major)
    drain()
    with runtime.session() as s:
        keys = set(s.scalars(select(Referral.department_key).where(Referral.event_id == major)))
    assert keys == {"propaganda", "cyberspace"}


def test_a_special_report_sent_again_after_its_delivery_failed_keeps_its_number(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """宣传部's 专报 fails (its mail server refuses), is sent again at the rise to 特别重大, fails
    again, and goes at the next change of the figures: each time under the 期号 it was given, so
    the series has no gap made by the retries, and 宣传部 files one 专报 with that number."""
    from factories import touch_event

    from yuqing.queue.referrals import on_delivery

    def refuse(department: str) -> None:
        with runtime.session() as s:
            ref_id = _refs(runtime)[department].id
            ids = []
            for d in s.scalars(select(Delivery).where(Delivery.ref_id == ref_id, Delivery.status == "pending")):
                d.status, d.last_error = "failed", "收件人被拒绝（不可重试）"
                ids.append(d.id)
        assert ids and [on_delivery(i) for i in ids][-1] == "failed"

    event = make_reported_event(runtime, level="重大")
    jobs.consider_event(event)
    given = {d: n for k, d, n in _issued(runtime) if k == "special"}
    assert sorted(given.values()) == [1, 2]
    refuse("propaganda")
    drain()  # 网信办's 专报 goes
    touch_event(runtime, event, level="特别重大")
    jobs.consider_event(event)
    refuse("propaganda")  # sent again, and refused again
    drain()
    _report_three_dead(runtime, event)  # the figures change: a 续报 is due
    jobs.consider_event(event)
    drain()
    issued = _issued(runtime)
    assert [(k, d, n) for k, d, n in issued if k == "special"] == sorted(
        [("special", d, n) for d, n in given.items()], key=lambda row: row[2])
    assert sorted(n for _, _, n in issued) == [1, 2, 3, 4]  # 网信办's two 续报 follow on, no gap
    assert _refs(runtime)["propaganda"].status == "sent"
    with runtime.session() as s:
        keys = list(s.scalars(select(Delivery.idempotency_key).where(
            Delivery.ref_id == _refs(runtime)["propaganda"].id).order_by(Delivery.id)))
    assert len(keys) == len(set(keys)) == 3  # three sendings, none taken for another
    to = runtime.profile.department("propaganda").channels[0].to
    mails = [m for m in smtp.messages if m["To"] == to]
    assert [_subject(m)[:6] for m in mails] == ["【舆情专报】"]
    part = next(p for p in mails[0].walk() if (p.get_filename() or "").endswith(".docx"))
    assert part.get_filename() == f"泽州县应急管理局舆情专报〔{runtime.now().year}〕第{given['propaganda']}期.docx"
    text = unjoined("\n".join(p.text for p in Document(io.BytesIO(part.get_payload(decode=True))).paragraphs))
    assert f"〔{runtime.now().year}〕第 {given['propaganda']} 期" in text and "3 人死亡" in text


def test_two_concurrent_attempts_at_one_final_report_make_one(store, smtp) -> None:  # type: ignore[no-untyped-def]
    """The ticket closed while 宣传部's 专报 was being retried; the 专报 goes, and its callback
    runs twice at once (RQ runs a job at least once) beside the closing's final_reports job:
    three attempts at one 终报 together, on SQLite and PostgreSQL. One is registered and mailed,
    and no attempt fails (a failed callback would leave the referral 待发送)."""
    event = make_reported_event(store, level="重大", ago_hours=80)
    jobs.consider_event(event)
    refs = _refs(store)
    ticket_id = refs["propaganda"].ticket_id
    with store.session() as s:
        for d in s.scalars(select(Delivery).where(Delivery.ref_id == refs["cyberspace"].id)):
            d.status, d.sent_at = "sent", store.now()
            heard = d.id
    assert referrals.on_delivery(heard) == "sent"
    tickets.record_response(store, ticket_id, "monitor", "authoritative_info", "政府网站",
                            "https://yjj.zezhou.example/1.html", "县应急管理局发布救援进展通报", store.now())
    store.clock.advance(hours=73)
    tickets.close(store, ticket_id, "monitor")
    with store.session() as s:  # 宣传部's 专报 goes only now
        d = s.scalars(select(Delivery).where(Delivery.ref_id == refs["propaganda"].id)).first()
        d.status, d.sent_at = "sent", store.now()
        late = d.id
    start, errors, results = threading.Barrier(3), [], []

    def attempt(fn) -> None:  # type: ignore[no-untyped-def]
        start.wait()
        try:
            results.append(fn())
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            errors.append(repr(exc))

    threads = [threading.Thread(target=attempt, args=(fn,)) for fn in (
        lambda: referrals.on_delivery(late), lambda: referrals.on_delivery(late),
        lambda: referrals.send_final_reports(store, ticket_id))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with store.session() as s:
        finals = sorted(s.scalars(select(IssuedDocument.department_key).where(IssuedDocument.kind == "final")))
        mails = s.scalars(select(Delivery.idempotency_key).where(Delivery.subject.startswith("【舆情终报】"))).all()
        assert s.get(Referral, refs["propaganda"].id).status == "sent"
    assert finals.count("propaganda") == 1
    assert len([k for k in mails if f"referral:{refs['propaganda'].id}:" in k]) == len(
        store.profile.department("propaganda").channels)
    # whatever the path, the register refuses a second 终报 of one closing to one department
    # (uq_issued_documents_once, migration 0004: kind, event, department, final-<closing>)
    with pytest.raises(IntegrityError), store.session() as s:
        first = s.scalars(select(IssuedDocument).where(IssuedDocument.kind == "final",
                                                       IssuedDocument.department_key == "propaganda")).one()
        s.add(IssuedDocument(series=first.series, year=first.year, number=first.number + 100, kind="final",
                             event_id=first.event_id, department_key="propaganda", fingerprint=first.fingerprint,
                             created_at=store.now()))
        s.flush()


def test_a_followup_whose_delivery_failed_is_marked_and_sent_again_under_its_number(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """公安's 续报 of the rise to 重大 is refused by its mail server. It was sent without a
    callback, so nothing marked the referral and, registered as told, it was never sent again:
    the next 续报 opened 我局于……报送第N期续报以来 of a document 公安 never had. Now the referral
    says so (and keeps saying so) until a 续报 goes; at the next change the 续报 goes again under
    its number, as a failed 专报 does, opening on the 专报 公安 did have and all that changed since."""
    from factories import touch_event

    from yuqing.queue.referrals import on_delivery

    event = make_reported_event(runtime, level="较大", categories=["false_information"])
    jobs.consider_event(event)
    drain()  # the 专报 go to 网信办 and 公安
    touch_event(runtime, event, level="重大")
    jobs.consider_event(event)
    police = _refs(runtime)["police"]
    with runtime.session() as s:
        pending = list(s.scalars(select(Delivery).where(Delivery.ref_id == police.id, Delivery.status == "pending")))
        assert [d.callback for d in pending] == ["yuqing.queue.referrals.on_delivery"]  # the 续报's
        for d in pending:
            d.status, d.last_error = "failed", "收件人被拒绝（不可重试）"
    assert [on_delivery(d.id) for d in pending] == ["sent"]  # 公安 had its 专报: its status stays
    drain()
    failed = next(n for k, d, n in _issued(runtime) if k == "followup" and d == "police")
    year = runtime.now().year
    marked = f"续报发送失败：〔{year}〕第{failed}期续报未送达（email "
    assert _refs(runtime)["police"].last_error.startswith(marked)
    jobs.consider_event(event)  # nothing changed: nothing sent, the mark stays
    drain()
    assert _refs(runtime)["police"].last_error.startswith(marked)
    _report_three_dead(runtime, event)  # the figures change: a 续报 is due
    jobs.consider_event(event)
    drain()
    issued = _issued(runtime)
    assert [n for k, d, n in issued if d == "police" and k == "followup"] == [failed], "sent again under its number"
    assert sorted(n for _, _, n in issued) == list(range(1, len(issued) + 1)), "no gap in the series"
    assert _refs(runtime)["police"].last_error == ""
    to = runtime.profile.department("police").channels[0].to
    mails = [m for m in smtp.messages if m["To"] == to and _subject(m).startswith("【舆情续报】")]
    assert len(mails) == 1
    part = next(p for p in mails[0].walk() if (p.get_filename() or "").endswith(".docx"))
    assert part.get_filename() == f"泽州县应急管理局舆情专报〔{year}〕第{failed}期.docx"
    text = unjoined("\n".join(p.text for p in Document(io.BytesIO(part.get_payload(decode=True))).paragraphs))
    special = next(n for k, d, n in issued if k == "special" and d == "police")
    assert f"报送〔{year}〕第{special}期专报以来，事件等级由较大升为重大，新报告死亡 3 人（" in text, text[:900]
