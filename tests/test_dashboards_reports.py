"""The post-event report (事后回应报告): HTML, DOCX and PDF with Chinese text and charts.

The PDF is checked by rendering its first page to an image with pdftoppm (poppler-utils)
and by extracting its text (pdftotext): Chinese glyphs must be embedded, not tofu."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import timedelta

import factories
import pytest
from documents_story import docx_table_faults
from docx import Document

from yuqing.dashboards import reports
from yuqing.documents.keep import unjoined


@pytest.fixture
def story(runtime):  # type: ignore[no-untyped-def]
    return factories.story(runtime, users=False)


def test_report_has_every_section_and_escapes_crawled_text(runtime, story) -> None:  # type: ignore[no-untyped-def]
    data = reports.collect(runtime, story["ticket"])
    html = reports.render_html(runtime, data)
    for heading in ("一、事件概况", "二、舆情发展过程", "三、回应处置情况", "四、部门协同", "五、舆情平复",
                    "六、经验与不足", "七、附件", "回应时限执行情况", "重点帖文", "处置时间线"):
        assert heading in html, heading
    assert "发布权威信息" in html and "未完成" in html  # the breached 5-hour clock
    assert "县委宣传部" in html and "系统首次发现" in html and "开立回应工单" in html
    assert html.count("data:image/png;base64,") == 3
    assert "舆情高峰期" in html and "首次回应未完成" not in html
    flood = reports.collect(runtime, story["ticket"])  # same ticket again: deterministic
    assert flood.summary == data.summary


def test_the_calm_window_is_the_profiles(runtime, story) -> None:  # type: ignore[no-untyped-def]
    from yuqing.dashboards.period import _calmed
    from yuqing.models import Item, Ticket, TicketResponse

    with runtime.session() as s:  # a response in the middle of the event's items
        ticket = s.get(Ticket, story["ticket"])
        times = sorted(i.published_at or i.fetched_at for i in s.query(Item).filter_by(event_id=ticket.event_id))
        at = times[len(times) // 2]
        s.add(TicketResponse(ticket_id=ticket.id, kind="first_response", channel="官方微博",
                             text="县应急管理局已组织力量赶赴现场处置，将及时发布进展情况。", responded_at=at,
                             recorded_by="monitor", recorded_at=at))
    calm = reports.collect(runtime, story["ticket"]).calm
    assert calm and all("回应前 6 小时" in line and "回应后 6 小时" in line for line in calm)
    rules = runtime.profile.documents.model_copy(update={"calm_hours": 1.5, "calm_negative": 1.0})
    runtime.profile = runtime.profile.model_copy(update={"documents": rules})
    calm = reports.collect(runtime, story["ticket"]).calm
    assert all("回应前 1.5 小时" in line and "负面占比 0%" in line for line in calm), calm
    with runtime.session() as s:  # the period index reads the same rule
        ticket = s.get(Ticket, story["ticket"])
        first = s.query(TicketResponse).filter_by(ticket_id=ticket.id).order_by(TicketResponse.responded_at).first()
        assert _calmed(s, ticket, first.responded_at, rules) == 1.0  # nothing counts as negative at 1.0


def test_the_report_reads_as_a_document_where_nothing_followed_a_response(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """A response after the last item: "回应后 6 小时无新增相关信息", not "0 条、负面占比 无法统计"; its
    quoted text without a second full stop; the timeline without the console's record ids (#2)."""
    from yuqing.models import Item, Ticket, TicketResponse

    with runtime.session() as s:
        ticket = s.get(Ticket, story["ticket"])
        last = max(i.published_at or i.fetched_at for i in s.query(Item).filter_by(event_id=ticket.event_id))
        at = last + timedelta(hours=1)
        s.add(TicketResponse(ticket_id=ticket.id, kind="first_response", channel="官方微博",
                             text="县应急管理局已组织力量赶赴现场处置。", responded_at=at, recorded_by="monitor",
                             recorded_at=at))
    data = reports.collect(runtime, story["ticket"])
    assert any("回应后 6 小时无新增相关信息" in line for line in data.calm), data.calm
    doc = Document(io.BytesIO(reports.render_docx(runtime, data)))
    text = unjoined("\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells]))
    assert "无法统计" not in text and "。”" not in text and "发布“县应急管理局已组织力量赶赴现场处置”。" in text
    assert "开立回应工单" in text and not re.search(r"#\d", text)


def test_durations_read_as_a_document_says_them() -> None:
    from datetime import timedelta as td

    assert [reports.spoken(td(hours=4)), reports.spoken(td(minutes=40)), reports.spoken(td(hours=1, minutes=5)),
            reports.spoken(td(days=1))] == ["4 小时", "40 分钟", "1 小时 5 分钟", "1 天"]


def test_report_escapes_hostile_posts(runtime, story) -> None:  # type: ignore[no-untyped-def]
    from yuqing.models import Ticket

    with runtime.session() as s:
        t = Ticket(event_id=story["flood"], level="重大", title="透水", opened_at=runtime.now(),
                   detected_at=runtime.now(), updated_at=runtime.now())
        s.add(t)
        s.flush()
        ticket_id = t.id
    html = reports.render_html(runtime, reports.collect(runtime, ticket_id))
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_charts_draw_chinese_without_missing_glyphs(runtime, story) -> None:  # type: ignore[no-untyped-def]
    # Warnings are errors in this suite: a missing CJK glyph warning from matplotlib fails here.
    data = reports.collect(runtime, story["ticket"])
    assert set(data.charts) == {"volume", "emotion", "sources"}
    assert all(png.startswith(b"\x89PNG") and len(png) > 5000 for png in data.charts.values())


def test_docx_has_chinese_text_tables_and_pictures(runtime, story) -> None:  # type: ignore[no-untyped-def]
    body = reports.render_docx(runtime, reports.collect(runtime, story["ticket"]))
    doc = Document(io.BytesIO(body))
    text = unjoined("\n".join(p.text for p in doc.paragraphs))
    assert "关于“城区积水严重 第13报”舆情回应情况的报告" in text and "处置结果：" in text
    assert "泽州县应急管理局事后回应报告" in text  # the same 版头 as every 公文
    section = doc.sections[0]
    assert (round(section.page_width / 36000), round(section.page_height / 36000)) == (210, 297)  # A4, not Letter
    assert (round(section.top_margin / 36000), round(section.left_margin / 36000)) == (37, 28)
    cells = {c.text for t in doc.tables for row in t.rows for c in row.cells}
    assert "发布权威信息" in cells and "县委宣传部" in cells
    assert len(doc.inline_shapes) == 3
    assert "127.0.0.1" not in text and not any("127.0.0.1" in c for c in cells)
    assert not any(len(c) == 40 and not c.endswith("…") for c in cells), "titles cut with an ellipsis"


def test_docx_tables_keep_their_widths_rows_and_header(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """Word and WPS fitted the columns to their text ("auto" table width, no fixed grid), so a
    date broke as 2026-12-/01 and 状态 stood one character a line: every table of the report is
    laid out at its columns' millimetres, no row splits across a page, the header repeats, and
    each column holds its header and its cells' dates and times on one line."""
    data = reports.collect(runtime, story["ticket"])
    assert data.referrals and data.timeline and data.deadlines  # the tables that hold dates
    assert docx_table_faults(reports.render_docx(runtime, data)) == []


@pytest.mark.slow
def test_pdf_renders_chinese_and_charts(runtime, story, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert shutil.which("pdftoppm"), "poppler-utils is needed to check the PDF (apt-get install poppler-utils)"
    pdf = reports.render_pdf(runtime, reports.collect(runtime, story["ticket"]))
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "事后回应报告" in text and "回应时限执行情况" in text and "县委宣传部" in text
    layout = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert re.findall(r"\d时\d{2}分", layout) and not re.findall(r"\d时\d{2} +\S", layout), \
        "the tables' time columns hold a date and time on one line (not 12月1日14时14 / 分)"
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(r[-5] == "yes" for r in rows), "every font is embedded:\n" + fonts
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")], check=True)
    page = next(tmp_path.glob("page*.png"))
    from PIL import Image

    img = Image.open(page).convert("L")
    dark = sum(1 for px in img.getdata() if px < 128)
    assert dark > 2000, "the first page has text on it"
    art = _artifacts()
    shutil.copy(page, art / "report-page1.png")


def _artifacts():  # type: ignore[no-untyped-def]
    from pathlib import Path

    folder = Path(__file__).parent / "artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.slow  # Chromium prints the report
def test_generate_report_job_writes_three_files(runtime, story) -> None:  # type: ignore[no-untyped-def]
    paths = reports.generate_report(story["ticket"])
    assert sorted(p.rsplit(".", 1)[1] for p in paths) == ["docx", "html", "pdf"]
    assert all(str(reports.report_folder(runtime, story["ticket"])) in p for p in paths)


def test_missing_ticket_is_a_clear_error(runtime) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(reports.ReportError, match="工单 999 不存在"):
        reports.collect(runtime, 999)


def test_phases_are_counted_by_the_hour_whatever_the_charts_buckets() -> None:
    """A young event's chart has 10-minute buckets: the report said 「12月1日14时，每小时 2 条」 of
    one ten-minute bucket, beside a 专报 whose busiest hour held 4. The phases count whole clock
    hours (and an old event's daily buckets whole days), and the phases add up to the total."""
    from types import SimpleNamespace

    from yuqing.dashboards.report_doc import _phases

    account = SimpleNamespace(progression_sentence=lambda tz: "")
    young = {"hours": ["12-01 13:20", "12-01 14:00", "12-01 14:10", "12-01 16:00", "12-01 16:10", "12-01 16:50"],
             "volume": [3, 2, 1, 2, 1, 1]}
    text = [p.text for p in _phases(SimpleNamespace(stats=young, label=reports.ReportData.label, account=account),
                                     "Asia/Shanghai")]
    assert text == ["舆情发酵期：自12月1日13时起，至高峰前共 6 条。", "舆情高峰期：12月1日16时，该小时 4 条。"], text
    old = {"hours": ["11-28", "11-29", "11-30"], "volume": [2, 9, 1]}
    text = [p.text for p in _phases(SimpleNamespace(stats=old, label=reports.ReportData.label, account=account),
                                    "Asia/Shanghai")]
    assert text == ["舆情发酵期：自11月28日起，至高峰前共 2 条。", "舆情高峰期：11月29日，当日 9 条。",
                    "舆情回落期：高峰后至11月30日共 1 条，逐步回落。"], text


def test_lessons_never_list_a_shortfall_as_experience() -> None:
    """「本次回应未有按时完成的时限」 stood under 经验, while every clock was still running: 经验
    says what went well, or that the response is still under way."""
    from types import SimpleNamespace

    from yuqing.dashboards.report_doc import _lessons

    running = [{"kind": "发布权威信息", "state": "running", "verdict": "尚在时限内（剩余 2 小时）"}]
    text = [p.text for p in _lessons(SimpleNamespace(deadlines=running, lag="", referrals=[])) if hasattr(p, "parts")]
    assert text == ["回应尚在进行，经验待时限到期后总结。", "未发现明显不足。"], text
    late = [{"kind": "发布权威信息", "state": "late", "verdict": "未按时完成（超时 1 小时）"}]
    text = [p.text for p in _lessons(SimpleNamespace(deadlines=late, lag="40 分钟", referrals=[])) if hasattr(p, "parts")]
    assert text == ["首条信息发布 40 分钟后即被监测发现。", "发布权威信息未按时完成（超时 1 小时），今后须压实时限责任。"], text


def test_the_timeline_reports_a_referral_when_it_was_sent(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """「报送」 stood at the referral's creation, before the 专报 left: it stands at sent_at, and a
    专报 that failed or waits says so instead of 报送."""
    from yuqing.dashboards.timeline import event_timeline
    from yuqing.models import Event, Referral, ReferralStatus, Ticket

    with runtime.session() as s:
        ticket = s.get(Ticket, story["ticket"])
        made = runtime.now()
        for key, name, status, sent in (("a", "甲部门", ReferralStatus.SENT, made + timedelta(minutes=7)),
                                        ("b", "乙部门", ReferralStatus.FAILED, None),
                                        ("c", "丙部门", ReferralStatus.PENDING, None)):
            s.add(Referral(event_id=ticket.event_id, ticket_id=ticket.id, department_key=key, department_name=name,
                           level="重大", status=status, created_at=made, sent_at=sent))
        s.flush()
        entries = [e for e in event_timeline(s, s.get(Event, ticket.event_id), ticket) if e.kind == "referral"]
    titles = {e.title: e.at for e in entries}
    assert titles["报送 甲部门"] == made + timedelta(minutes=7)
    assert "专报发送失败，未送达 乙部门" in titles and "专报待发送至 丙部门" in titles
    assert not any(t.startswith("报送") and ("乙" in t or "丙" in t) for t in titles)
    # 部门协同 tells what the timeline tells, and 不足 faults no department for a 专报 it never got.
    sent = [t.removeprefix("报送 ") for t in titles if t.startswith("报送 ")]
    data = reports.collect(runtime, story["ticket"])
    html = re.sub(r"<[^>]+>", "", reports.render_html(runtime, data))
    acked = sum(1 for r in data.referrals if r["acknowledged"] and r["status"] not in ("failed", "pending"))
    assert f"共向 {len(sent)} 个部门报送专报，已签收 {acked} 个" in html, html
    assert "向乙部门报送的专报发送失败" in html and "向丙部门报送的专报待发送" in html
    assert "乙部门未签收" not in html and "丙部门未签收" not in html and "甲部门未签收" in html
