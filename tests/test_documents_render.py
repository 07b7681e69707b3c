"""The document renderer (GB/T 9704-2012): a 专报 from a seeded story rendered to DOCX and PDF.

Checked from outside, as a reader's tools see it: the DOCX section properties (A4, 天头 37 mm,
订口 28 mm, 版心 156 × 225 mm), the East-Asian font names, the 份号/密级/期号 lines, Chinese
dates, no machine text; the PDF's pages, text and embedded fonts through pdftotext/pdffonts."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from documents_story import toll_story
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm
from sqlalchemy import select

from yuqing.alerts.digest_content import gather
from yuqing.alerts.digest_docx import compose as digest_compose
from yuqing.dashboards import reports
from yuqing.documents import Paragraph, Table, issue_number
from yuqing.documents.account import event_account
from yuqing.documents.charts import AXIS_HOUR
from yuqing.documents.dates import cn_date, cn_datetime, cn_short, cn_short_span
from yuqing.documents.docx_writer import write_docx
from yuqing.documents.keep import unjoined
from yuqing.documents.pdf import write_pdf
from yuqing.documents.register import issue
from yuqing.documents.wording import clip, machine_text, quoted_list
from yuqing.models import Deadline, Event, Item, Referral
from yuqing.queue import special_report

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def story(runtime):  # type: ignore[no-untyped-def]
    runtime.clock.set(datetime(2026, 12, 1, 17, 0, tzinfo=SHANGHAI))
    return toll_story(runtime)


def crawled(rt) -> list[str]:  # type: ignore[no-untyped-def]
    """The outside world's words (titles, texts, authors): not the document's own text."""
    with rt.session() as s:
        rows = s.execute(select(Item.title, Item.text, Item.author)).all()
    return [piece for row in rows for piece in row if piece]


def docx_text(blob: bytes) -> str:
    doc = Document(io.BytesIO(blob))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return unjoined("\n".join([p.text for p in doc.paragraphs] + cells))


def special(rt, story, kind: str = "special"):  # type: ignore[no-untyped-def]
    with rt.session() as s:
        ref = s.get(Referral, story["flood_referral"])
        doc, account = special_report.compose(s, rt.profile, ref, "http://127.0.0.1:8000/ack/token", rt.now(),
                                              rt.settings.timezone, kind=kind, others=["泽州县委网信办"])
        doc.number, doc.copy_no = 3, 17
        return doc, account


def test_chinese_dates_have_no_leading_zeros() -> None:
    at = datetime(2026, 12, 1, 6, 5, tzinfo=ZoneInfo("UTC"))
    assert cn_date(at) == "2026年12月1日"
    assert cn_datetime(at) == "2026年12月1日 14时05分"
    assert clip("一二三四五", 4) == "一二三…" and clip("一二三", 4) == "一二三"


def test_a_span_inside_one_day_names_its_day_once() -> None:
    """The 要情专报's subject: 「12月2日8时30分至22时53分」, not 「12月2日8时30分至12月2日22时53分」."""
    start = datetime(2026, 12, 2, 0, 30, tzinfo=ZoneInfo("UTC"))  # 8时30分 in Shanghai
    assert cn_short_span(start, datetime(2026, 12, 2, 14, 53, tzinfo=ZoneInfo("UTC"))) == "12月2日8时30分至22时53分"
    # 16时30分 UTC is the next day in Shanghai: the day is named again
    assert cn_short_span(start, datetime(2026, 12, 2, 16, 30, tzinfo=ZoneInfo("UTC"))) == "12月2日8时30分至12月3日0时30分"


def east_asia_of(p) -> set[str]:  # type: ignore[no-untyped-def]
    return {r._element.rPr.rFonts.get(qn("w:eastAsia")) for r in p.runs if r.text.strip()}


def test_docx_page_fonts_and_marks_follow_gbt_9704(runtime, story) -> None:  # type: ignore[no-untyped-def]
    doc, _ = special(runtime, story)
    blob = write_docx(doc)
    d = Document(io.BytesIO(blob))
    section = d.sections[0]
    mm = [round(v / 36000, 1) for v in (section.page_width, section.page_height, section.top_margin,
                                          section.left_margin, section.right_margin, section.bottom_margin)]
    assert mm == [210.0, 297.0, 37.0, 28.0, 26.0, 35.0]
    assert 210 - 28 - 26 == 156 and 297 - 37 - 35 == 225  # the 版心
    grid = section._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "lines" and grid.get(qn("w:linePitch")) == "580"  # 22 lines
    paragraphs = [p for p in d.paragraphs if p.text.strip()]
    texts = [p.text for p in paragraphs]
    assert texts[0] == "000017"  # 份号
    assert texts[1] == "内部资料　注意保存"
    assert texts[2] == "加急"  # 重大
    assert texts[3] == "泽州县应急管理局舆情专报"
    assert texts[4].startswith("〔2026〕第 3 期") and texts[4].endswith("签发人：王建国")
    assert texts[5] == "关于“泽州县巴公镇煤矿透水事故死亡人数升至12人”相关舆情的专报"

    def east_asia(p) -> set[str]:  # type: ignore[no-untyped-def]
        return {r._element.rPr.rFonts.get(qn("w:eastAsia")) for r in p.runs if r.text.strip()}

    masthead = paragraphs[3]
    assert east_asia(masthead) == {"方正小标宋简体"} and masthead.runs[0].font.color.rgb == (0xC0, 0x00, 0x00)
    assert masthead.runs[0].font.size.pt > 22
    assert paragraphs[4]._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom")).get(qn("w:color")) == "C00000"  # red rule
    assert east_asia(paragraphs[5]) == {"方正小标宋简体"} and paragraphs[5].runs[0].font.size.pt == 22  # 2号
    by_text = {p.text: p for p in paragraphs}
    assert east_asia(by_text["一、报送单位与对象"]) == {"黑体"}
    assert east_asia(by_text["（一）重点信息"]) == {"楷体_GB2312"}
    body = next(p for p in paragraphs if p.text.startswith("报送单位："))
    assert east_asia(body) == {"仿宋_GB2312"} and body.runs[0].font.size.pt == 16  # 3号仿宋
    assert by_text["一、报送单位与对象"].paragraph_format.keep_with_next  # never stranded at a page foot
    # 版记: a floating table anchored at the bottom of the 版心 of the page its anchor (the last
    # paragraph) is on, so at the foot of the last page; body text never runs under it.
    record = d.tables[-1]
    assert [r.cells[0].text for r in record.rows] == ["抄送：县人民政府办公室，泽州县委网信办。",
                                                      "泽州县应急管理局办公室\t2026年12月1日印发"]
    body_xml = d.element.body
    assert body_xml.index(record._tbl) == len(body_xml) - 3, "the 版记, then its anchor paragraph, then sectPr"
    position = record._tbl.tblPr.find(qn("w:tblpPr"))
    assert (position.get(qn("w:vertAnchor")), position.get(qn("w:tblpYSpec"))) == ("margin", "bottom")
    assert record._tbl.tblPr.find(qn("w:tblOverlap")).get(qn("w:val")) == "never"
    rules = record._tbl.tblPr.find(qn("w:tblBorders"))
    assert [rules.find(qn(f"w:{e}")).get(qn("w:sz")) for e in ("top", "insideH", "bottom")] == ["8", "3", "8"]
    assert east_asia_of(record.rows[0].cells[0].paragraphs[0]) == {"仿宋_GB2312"}
    # 落款 kept with the last line of the text: the date never stands alone on a page
    signature = [p for p in paragraphs if p.text in ("泽州县应急管理局", "2026年12月1日")][-2:]
    last_text = paragraphs[paragraphs.index(signature[0]) - 1]
    assert last_text.paragraph_format.keep_with_next and signature[0].paragraph_format.keep_with_next
    footer = section.footer.paragraphs[0]
    assert footer.text.replace("1", "").strip() == "—  —" and "PAGE" in footer._p.xml
    contact = next(p for p in paragraphs if p.text.startswith("张主任（办公室主任）"))
    assert contact.alignment == WD_ALIGN_PARAGRAPH.LEFT, "the 联系人 line is not spread by justification"
    assert contact.text == "张主任（办公室主任），电话 0356-3000000，邮箱 bgs@yjj.zezhou.example。"
    text = docx_text(blob)
    assert "2026年12月1日" in text and not re.search(r"\d{4}-\d{2}-\d{2}", text)
    assert machine_text(text, crawled(runtime)) == []


def test_every_figure_in_the_special_report_is_the_event_accounts(runtime, story) -> None:  # type: ignore[no-untyped-def]
    doc, account = special(runtime, story)
    text = docx_text(write_docx(doc))
    with runtime.session() as s:
        assert event_account(s, story["flood"]).fingerprint == account.fingerprint
    assert account.national_category == "事故灾难"  # a coal-mine flooding is an accident, not a flood
    assert account.places == ["巴公镇"]
    assert {k: f.value for k, f in account.figures.items()} == {"deaths": 12, "missing": 2}  # 3 of the 5 found
    assert "3 人死亡（14:14 山西日报） → 12 人死亡（16:16 山西日报）" in text
    assert "据山西日报（省级媒体）12月1日16时16分报道，事件已致 12 人死亡、2 人失联" in text
    figures = {int(n) for n in re.findall(r"(\d+) 人(?:死亡|失联|被困|受伤)", text)}
    reported = {f.value for steps in account.progressions.values() for f in steps}
    assert figures == reported, "no figure in the 专报 that the account does not hold"
    assert "死亡 3 人" not in text and "按国家突发公共事件分类属事故灾难" in text
    assert ("2026年12月1日 13时20分，泽州新闻网（地方媒体）首先发布巴公镇“泽州县巴公镇煤矿透水事故死亡人数升至12人”"
            "相关消息，我局于2026年12月1日 14时00分监测发现。") in text, "who published what about where"
    assert "质疑瞒报、谎报" in text and "关注救援进展" in text


@pytest.mark.slow
def test_pdf_is_a4_with_embedded_cjk_fonts_and_page_numbers(runtime, story, tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc, _ = special(runtime, story)
    path = tmp_path / "zb.pdf"
    path.write_bytes(write_pdf(doc))
    (tmp_path.parent / "zb-last.pdf").write_bytes(path.read_bytes())
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+59[45]\.\d* x 841\.\d* pts \(A4\)", info), info
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("〔2026〕第 3 期", "内部资料", "一、报送单位与对象", "2026年12月1日印发"):
        assert expected in text, expected
    bare = re.sub(r"\s", "", text)
    assert all(f"—{n}—" in bare for n in range(1, pages + 1)), "every page is numbered"
    assert "泽州县应急管理局舆情专报" in bare.split("〔2026〕")[0], "the masthead on one line"
    _record_at_the_foot_of_the_last_page(path, pages)
    sheets = text.split("\f")
    heading = next(i for i, p in enumerate(sheets) if "八、签收" in p)
    assert "请打开以下链接签收" in sheets[heading], "a heading never stays at a page's foot without its text"
    _contact_line_is_not_spread(path)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    # Skia writes Noto CJK's CFF outlines as Type 3 glyphs: embedded, with a Unicode map (searchable).
    assert rows and all(r[-5] == "yes" and r[-3] == "yes" for r in rows), fonts
    assert machine_text(text, crawled(runtime)) == []


def _contact_line_is_not_spread(path) -> None:  # type: ignore[no-untyped-def]
    """The 联系人 line is set flush left: justified, the address's long unbreakable run left the
    line before it spread, so pdftotext read every character as a word of its own (张 主 任 …)."""
    bbox = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', bbox)
    name = next(i for i, (*_, w) in enumerate(words) if w.startswith("张"))
    assert words[name][3].startswith("张主任（办公室主任），电话"), words[name:name + 6]
    assert any(w.endswith("bgs@yjj.zezhou.example。") for *_, w in words), "the address unbroken"


def _record_at_the_foot_of_the_last_page(path, pages: int) -> None:  # type: ignore[no-untyped-def]
    """GB/T 9704 7.4: the 版记 (抄送 … 印发) sits at the bottom of the last page's 版心."""
    bbox = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    found = []
    for n, page in enumerate(re.findall(r"<page [^>]*>(.*?)</page>", bbox, re.S), start=1):
        for y_max, word in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', page):
            if "印发" in word:
                found.append((n, float(y_max)))
    foot = (37 + 225) * 72 / 25.4  # the 版心's bottom edge, in points from the top
    assert len(found) == 1 and found[0][0] == pages, found
    assert foot - 12 * 72 / 25.4 < found[0][1] <= foot + 2, f"印发 line at {found[0][1]:.0f} pt, foot at {foot:.0f} pt"


def test_issue_numbers_count_per_series_and_year(runtime) -> None:  # type: ignore[no-untyped-def]
    tz = runtime.settings.timezone
    with runtime.session() as s:
        first = issue(s, series="舆情专报", kind="special", now=runtime.now(), tz=tz)
        second = issue(s, series="舆情专报", kind="special", now=runtime.now(), tz=tz)
        daily = issue(s, series="舆情日报", kind="daily", now=runtime.now(), tz=tz)
        next_year = issue(s, series="舆情专报", kind="special", now=datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI), tz=tz)
        assert [first.number, second.number, daily.number, next_year.number] == [1, 2, 1, 1]
        assert next_year.year == 2027


def test_machine_text_is_caught() -> None:
    assert machine_text("报送依据：routing.routes[0] {level: 重大}（continue）")
    assert machine_text("信源层级：provincial") and machine_text("相关度 1.00 ≥ 0.6")
    assert machine_text("**等级**") and machine_text("签收：127.0.0.1")
    assert machine_text("详见 https://news.example/a_b?x=1 。泽州县应急管理局") == []
    assert machine_text("网友说 hello", quoted=["网友说 hello"]) == []


def test_no_machine_text_in_any_document_or_message(runtime, story, drain, smtp,  # type: ignore[no-untyped-def]
                                                    print_stand_in) -> None:
    """Every document and message of the story, as its reader gets it: DOCX text, e-mail parts.
    (No PDF is read here: Chromium's print of the 专报 and 日报 is stood in for, tests/conftest.py.)"""
    from yuqing.alerts.digests import send_major
    from yuqing.dashboards import reports
    from yuqing.models import Alert, Delivery, Event, User
    from yuqing.queue import referrals

    with runtime.session() as s:
        s.query(Referral).delete()  # the story's hand-made referral: let the routing refer the event
        event = s.get(Event, story["flood"])
        event.in_remit = True
        for alert in s.scalars(select(Alert).where(Alert.event_id == event.id)):
            alert.notified_level = event.level  # the monitor heard first (grouping.monitor_pending)
    assert referrals.refer_event(runtime, story["flood"])
    assert send_major(runtime, story["flood"])
    report = reports.render_docx(runtime, reports.collect(runtime, story["flood_ticket"]))
    drain()
    quoted = crawled(runtime)
    with runtime.session() as s:
        quoted += [n for n in s.scalars(select(User.username))]
        bodies = [(d.subject, d.body, d.html) for d in s.scalars(select(Delivery))]
    texts = {"事后回应报告": docx_text(report)}
    for msg in smtp.messages:
        for part in msg.walk():
            name = part.get_filename() or ""
            if name.endswith(".docx"):
                texts[name] = docx_text(part.get_payload(decode=True))
            elif part.get_content_type() == "text/plain":
                texts[f"{msg['Subject']} 正文"] = part.get_payload(decode=True).decode()
            elif part.get_content_type() == "text/html":
                html = part.get_payload(decode=True).decode()
                texts[f"{msg['Subject']} HTML"] = re.sub(r"<[^>]+>", " ", html)
    assert len(bodies) >= 3 and any(k.endswith("第1期.docx") for k in texts), sorted(texts)
    for where, text in texts.items():
        assert machine_text(text, quoted) == [], where
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text), where


@pytest.mark.parametrize(("evidence", "expected"), [
    ({"basis": "refuted", "source": "泽州县应急管理局：关于网传水库溃坝系谣言的说明", "tier": "government"},
     "经研判，网上有关说法疑似不实：政府网站已发布“泽州县应急管理局：关于网传水库溃坝系谣言的说明”，与网传内容不符。"),
    ({"basis": "pattern", "detail": "未经证实的说法（听说、内部消息）并呼吁扩散（求扩散）"},
     "经研判，网上有关说法疑似不实：有帖文以“听说”“内部消息”等无法核实的说法为据，并呼吁“求扩散”，"
     "目前尚无新闻媒体或权威部门证实。"),
])
def test_special_report_states_the_evidence_of_suspected_false_information(runtime, story, evidence,  # type: ignore[no-untyped-def]
                                                                          expected) -> None:
    from yuqing.models import Event

    with runtime.session() as s:
        event = s.get(Event, story["flood"])
        event.flags = {**(event.flags or {}), "false_information": evidence}
        event.categories = [*(event.categories or []), "false_information"]
    doc, _ = special(runtime, story)
    text = docx_text(write_docx(doc))
    assert expected in text
    assessment = text[text.index("研判"):text.index("处置建议")]
    assert "疑似不实" in assessment
    assert machine_text(text, crawled(runtime)) == []  # no basis/refuted/pattern, no tier keys


def test_a_response_that_ends_its_own_sentence_is_not_given_a_second_full_stop(runtime, story) -> None:  # type: ignore[no-untyped-def]
    from yuqing.models import TicketResponse

    at = datetime(2026, 12, 1, 18, 0, tzinfo=SHANGHAI)
    with runtime.session() as s:
        s.add(TicketResponse(ticket_id=story["flood_ticket"], kind="authoritative_info", channel="权威发布",
                             text="县应急管理局通报：正全力搜救失联人员。", responded_at=at, recorded_by="monitor",
                             recorded_at=at))
    doc, _ = special(runtime, story)
    text = docx_text(write_docx(doc))
    assert "12月1日18时00分，通过权威发布：县应急管理局通报：正全力搜救失联人员。\n" in text
    assert "。。" not in text


def test_the_spread_states_the_busiest_hour_counted_from_the_items(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """Not the event's smoothed rates, which printed "近一小时新增 0.4 条" and "每小时最多 0 条"."""
    from yuqing.clock import local
    from yuqing.documents.dates import cn_short

    doc, _ = special(runtime, story)
    text = docx_text(write_docx(doc))
    with runtime.session() as s:
        published = s.scalars(select(Item.published_at).where(Item.event_id == story["flood"])).all()
    hours: dict[datetime, int] = {}
    for when in sorted(p for p in published if p):
        hour = local(when, "Asia/Shanghai").replace(minute=0, second=0, microsecond=0)
        hours[hour] = hours.get(hour, 0) + 1
    at, most = max(hours.items(), key=lambda h: h[1])
    assert most > 1 and f"{cn_short(at, 'Asia/Shanghai')}起的一小时内发布最多，达 {most} 条；" in text
    assert "每小时最多" not in text and "近一小时新增" not in text


def test_a_final_report_always_says_when_the_response_was_completed(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """The story's ticket is still open: the 终报 said "我局回应工作于完成" with no date."""
    doc, _ = special(runtime, story, kind="final")
    text = docx_text(write_docx(doc))
    assert "我局回应工作于12月1日17时00分完成" in text and "于完成" not in text


def test_a_final_report_says_what_the_bureau_keeps_doing_and_advises_no_one(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """Advice to a department (处置建议) makes no sense once the event is closed: the 终报 has
    后续工作 in its place, with the one text of it; the 专报 keeps its 处置建议."""
    final = docx_text(write_docx(special(runtime, story, kind="final")[0]))
    assert "后续工作" in final and special_report.FINAL_FOLLOW_UP in final
    assert "处置建议" not in final and "请协调主流媒体" not in final
    first = docx_text(write_docx(special(runtime, story)[0]))
    assert "处置建议" in first and "后续工作" not in first


def test_special_report_without_evidence_says_no_suspected_false_information(runtime, story) -> None:  # type: ignore[no-untyped-def]
    doc, _ = special(runtime, story)
    assert "疑似不实" not in docx_text(write_docx(doc))


@pytest.mark.slow
@pytest.mark.parametrize("record", [False, True], ids=["no 版记", "版记"])
def test_the_signature_and_the_record_never_stand_alone_on_a_page(tmp_path, record: bool) -> None:  # type: ignore[no-untyped-def]
    """落款 (issuer and date) stays on the page of the text's last line, however the text falls
    (the 预案's PDF could leave its date alone on the last page); the 版记 stands at the foot of
    the last page, with text above it, never alone: for a short text, a text that fills page 1
    exactly, one that spills over by a line, and a long last paragraph."""
    from yuqing.documents import OfficialDocument, Paragraph

    page_counts = set()
    long_last = "最后一段正文，" + "这一段较长，" * 40 + "完。"
    cases = [(n, "最后一段正文。") for n in (2, *range(9, 14))] + [(8, long_last)]
    for n, last_text in cases:  # one-line paragraphs: the text's end crosses the foot of page 1 here
        doc = OfficialDocument(series="解读回应预案", issuer="泽州县应急管理局", title="关于某政策的解读回应预案",
                               issued_at=datetime(2026, 12, 1, 9, tzinfo=SHANGHAI),
                               cc=["县人民政府办公室"] if record else [], printer="泽州县应急管理局办公室" if record else "",
                               blocks=[Paragraph.of(f"第{i}段正文。") for i in range(n)] + [Paragraph.of(last_text)])
        path = tmp_path / f"plan-{n}.pdf"
        path.write_bytes(write_pdf(doc))
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
        pages = [p for p in text.split("\f") if p.strip()]
        page_counts.add(len(pages))
        last = max(i for i, p in enumerate(pages) if "正文" in p or "较长" in p)
        date_page = next(i for i, p in enumerate(pages) if "2026年12月1日" in p)
        issuer_page = max(i for i, p in enumerate(pages) if "泽州县应急管理局" in p.replace("泽州县应急管理局解读回应预案", ""))
        assert last == issuer_page == date_page, f"{n} paragraphs: text ends on page {last + 1}, 落款 on {date_page + 1}"
        if record:
            _record_at_the_foot_of_the_last_page(path, len(pages))
            assert last == len(pages) - 1, f"{n} paragraphs: the 版记 alone on page {len(pages)}"
            assert "YUQING" not in text, "the measuring marks stay out of the document"
    assert page_counts == {1, 2}, "the range crosses a page boundary"


@pytest.mark.slow
def test_a_short_table_is_never_split_across_pages(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The post-event report's 项目/情况 table stood at page 1's foot with one row ("等级 重大"),
    its other rows on page 2. A short table goes whole to the next page, in PDF and DOCX."""
    from yuqing.documents import OfficialDocument, Paragraph, Table

    rows = [[f"项目{i}", f"情况{i}"] for i in range(8)]
    for n in range(8, 13):  # one-line paragraphs: the table's start crosses page 1's foot in this range
        doc = OfficialDocument(series="事后回应报告", issuer="泽州县应急管理局", title="关于某事件舆情回应情况的报告",
                               issued_at=datetime(2026, 12, 1, 9, tzinfo=SHANGHAI),
                               blocks=[*(Paragraph.of(f"第{i}段正文。") for i in range(n)), Table(["项目", "情况"], rows, [39, 117])])
        path = tmp_path / f"t-{n}.pdf"
        path.write_bytes(write_pdf(doc))
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
        pages = text.split("\f")
        holding = {i for i, page in enumerate(pages) for cell in ("情况0", "情况7") if cell in page}
        assert len(holding) == 1, f"{n} paragraphs: the table split across pages {sorted(holding)}"
    cells = [c for t in Document(io.BytesIO(write_docx(doc))).tables for r in t.rows[:-1] for c in r.cells]
    assert cells and all(c.paragraphs[0].paragraph_format.keep_with_next for c in cells)


KEPT = ("12月1日16时55分", "2026年12月1日 14时05分", "12 人", "3.5 级", "0356-2021234")
WHOLE = ("12月1日", "16时55分", "2026年12月1日", "14时05分", "12 人", "3.5 级", "0356-2021234")


@pytest.mark.slow
def test_a_time_a_figure_and_a_phone_never_break_at_a_line_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """「12月1日16 / 时55分」 fell across two lines of a justified paragraph. A Chinese date, a
    time, a figure with its unit and a telephone number stay on one line in the print (whatever
    text precedes them), the extracted text has no joiners in it; the DOCX keeps them by its
    避头尾 lists, its text the plain characters (U+2060 joiners split a search for 12月1日)."""
    from yuqing.documents import OfficialDocument, Paragraph

    blocks = [Paragraph.of("据" * n + f"，{kept}，续。") for kept in KEPT for n in range(12, 30)]
    doc = OfficialDocument(series="舆情专报", issuer="泽州县应急管理局", title="关于某事件的舆情专报",
                           issued_at=datetime(2026, 12, 1, 9, tzinfo=SHANGHAI), blocks=blocks)
    path = tmp_path / "kept.pdf"
    path.write_bytes(write_pdf(doc))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "\u2060" not in text and "\u2011" not in text and "\u00a0" not in text
    lines = [line.strip() for line in text.splitlines()]
    written = "".join(b.text for b in blocks)
    for kept in WHOLE:  # a line may end between a date and its time, never inside either
        whole = sum(line.count(kept) for line in lines)
        assert whole == written.count(kept), f"{kept}: whole on one line {whole} times of {written.count(kept)}"

    blob = write_docx(doc)
    d = Document(io.BytesIO(blob))
    texts = [p.text for p in d.paragraphs]
    assert not any(ch in t for t in texts for ch in ("\u2060", "\u00a0", "\u2011")), \
        "the DOCX text is the text's own characters: no joiner a 公文 font lacks or a search misses"
    for kept in WHOLE:
        assert sum(t.count(kept) for t in texts if "据" in t) == written.count(kept), kept
    _docx_keeps_the_runs_by_its_line_breaking_rules(blob)


def _docx_keeps_the_runs_by_its_line_breaking_rules(blob: bytes) -> None:
    """The DOCX's 避头尾 lists for zh-CN text: no line begins with a unit, none ends after 年/月/时."""
    from zipfile import ZipFile

    settings = ZipFile(io.BytesIO(blob)).read("word/settings.xml").decode()
    before = re.search(r'<w:noLineBreaksBefore w:lang="zh-CN" w:val="([^"]*)"', settings).group(1)
    after = re.search(r'<w:noLineBreaksAfter w:lang="zh-CN" w:val="([^"]*)"', settings).group(1)
    assert set("年月日时分人级。，）") <= set(before) and set("年月时（“") <= set(after)
    styles = ZipFile(io.BytesIO(blob)).read("word/styles.xml").decode()
    assert 'w:eastAsia="zh-CN"' in styles, "Simplified Chinese: LibreOffice otherwise falls back to the JP forms"


def test_the_docx_lays_28_characters_on_each_of_22_lines(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """LibreOffice laid the character grid (linesAndChars) out at 13 characters a line and put
    签发人 on a line of its own below the 期号: the DOCX has a line grid only, its 3号 characters
    spaced so that 28 fit the 版心, the 期号 and 签发人 on one line by a right tab, the title's
    lines not snapped to two grid lines each, and every property in the schema's order."""
    from yuqing.documents import layout
    from yuqing.documents.docx_writer import PPR_ORDER, RPR_ORDER

    doc, _ = special(runtime, story)
    d = Document(io.BytesIO(write_docx(doc)))
    normal = d.styles["Normal"].element.rPr
    spacing_pt = int(normal.find(qn("w:spacing")).get(qn("w:val"))) / 20
    width_pt = layout.BODY_W_MM * 72 / 25.4
    assert normal.sz_val.pt == 16 and 28 * (16 + spacing_pt) <= width_pt < 29 * (16 + spacing_pt)
    number = next(p for p in d.paragraphs if p.text.startswith("〔2026〕"))
    assert number.text == "〔2026〕第 3 期\t签发人：王建国" and "\u3000" not in number.text
    stops = number.paragraph_format.tab_stops
    assert len(stops) == 1 and stops[0].alignment == 2 and stops[0].position > Mm(layout.BODY_W_MM - 10)
    title = next(p for p in d.paragraphs if p.text.startswith("关于"))
    assert title._p.pPr.find(qn("w:snapToGrid")).get(qn("w:val")) == "0"
    for parent, tag, names in ((d.element.body, "w:pPr", PPR_ORDER), (d.element.body, "w:rPr", RPR_ORDER),
                               (d.styles.element, "w:rPr", RPR_ORDER)):
        order = [qn(t) for t in names]
        for props in parent.iter(qn(tag)):
            seen = [order.index(c.tag) for c in props if c.tag in order]
            assert seen == sorted(seen), f"{tag} out of the schema's order: {[c.tag for c in props]}"


def test_one_wording_for_durations_in_documents_and_pages() -> None:
    """「4 小时 0 分」 read as machine text, 「40 分」 as a score. One wording for every document,
    mail and page (the UI's filter, the digest's clocks, the statistics)."""
    from datetime import timedelta as td

    from yuqing.dashboards import period, reports
    from yuqing.dashboards.templating import duration
    from yuqing.documents.dates import spoken

    cases = {td(hours=4): "4 小时", td(minutes=40): "40 分钟", td(hours=1, minutes=5): "1 小时 5 分钟",
             td(days=1): "1 天", td(days=1, hours=15, minutes=20): "1 天 15 小时", td(hours=5, minutes=30): "5 小时 30 分钟",
             td(seconds=20): "不足 1 分钟", -td(hours=2): "超时 2 小时"}
    assert {k: spoken(k) for k in cases} == cases
    assert all(duration(k) == v and reports.spoken(k) == v for k, v in cases.items())
    assert period.hours_text(1.5) == "1 小时 30 分钟" and period.hours_text(4.0) == "4 小时"
    assert period.hours_text(None) == "无数据"


def test_the_chart_hours_read_without_leading_zeros() -> None:
    """The spread chart's axis read 「01日09时」: as the text, 1日9时 (and 12日16时 unchanged)."""
    assert datetime(2026, 12, 1, 9).strftime(AXIS_HOUR) == "1日9时"
    assert datetime(2026, 12, 12, 16).strftime(AXIS_HOUR) == "12日16时"


def test_every_document_tells_a_clock_in_the_same_official_words(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """A clock met in time, one met late and one past due and still open, as the 专报, the 终报,
    the post-event report and the 日报 each say them (one home: dates.clock_words); the forms
    before it (「按时（提前 4 小时）」, 「已完成（超时）」, 「12月1日14时00分前，已于…完成」) are gone."""
    now = runtime.now()  # 17:00
    with runtime.session() as s:
        clocks = {d.kind: d for d in s.scalars(select(Deadline).where(Deadline.ticket_id == story["flood_ticket"]))}
        clocks["authoritative_info"].due_at, clocks["authoritative_info"].met_at = now - timedelta(hours=3), now - timedelta(hours=4)
        clocks["press_conference"].due_at = now - timedelta(hours=3)
        clocks["press_conference"].met_at = now - timedelta(hours=1, minutes=55)
        clocks["first_response"].due_at = now - timedelta(hours=1)
        first_seen = s.get(Event, story["flood"]).first_seen_at
    met = "发布权威信息：12月1日14时00分前完成，已于12月1日13时00分完成（时限内）"
    late = "新闻发布会：12月1日14时00分前完成，未按时完成（超时 1 小时 5 分钟）"
    overdue = "首次回应：12月1日16时00分前完成，已超时，尚未完成"
    told = []
    for kind in ("special", "final"):
        text = docx_text(write_docx(special(runtime, story, kind=kind)[0]))
        told.append(text)
        for line in (met, late, overdue):
            assert line in text, (kind, line)
    data = reports.collect(runtime, story["flood_ticket"])
    text = docx_text(reports.render_docx(runtime, data))
    told.append(text)
    for said in ("已于12月1日13时00分完成（时限内）", "未按时完成（超时 1 小时 5 分钟）", "已超时，尚未完成",
                 "发布权威信息在时限内完成。", "新闻发布会未按时完成（超时 1 小时 5 分钟）；首次回应已超时，尚未完成"):
        assert said in text, said
    with runtime.session() as s:
        content = gather(s, kind="daily", title="舆情日报", bureau="泽州县应急管理局", start=first_seen, end=now,
                         tz="Asia/Shanghai")
    text = docx_text(write_docx(digest_compose(content, runtime.profile, "Asia/Shanghai")))
    assert "发布权威信息：12月1日14时00分到期，已于12月1日13时00分完成（时限内）。" in text
    assert "首次回应：12月1日16时00分到期，已超时 1 小时，尚未完成。" in text
    assert "新闻发布会：12月1日14时00分到期，未按时完成（超时 1 小时 5 分钟）。" in text
    for old in ("按时（提前", "已完成（按时）", "已完成（超时）", "前，已于"):
        assert not any(old in said for said in [*told, text]), old


def test_quoted_items_follow_one_another_without_a_dunhao() -> None:
    """GB/T 15834: no 顿号 between quoted items; the one check of every document finds one."""
    assert quoted_list(["瞒报", "不作为", ""]) == "“瞒报”“不作为”"
    assert quoted_list(["老人", "儿童"], "「」") == "「老人」「儿童」"
    assert machine_text("网民质疑“瞒报”“不作为”。") == []
    assert machine_text("网民质疑“瞒报”、“不作为”。") == ["”、“"]
    assert machine_text("涉及「老人」、「儿童」") == ["」、「"]
    assert machine_text("有帖文称“已死亡多人”、“有人被埋”", quoted=["有帖文称“已死亡多人”、“有人被埋”"]) == []


def test_a_table_is_refused_whose_columns_do_not_fill_the_type_area() -> None:
    """Column widths are millimetres of the 版心 (156 mm), one per column: relative weights
    (1, 3) or a missing column are a programming error named with the table's caption."""
    assert Table(["项目", "情况"], [], [39, 117]).widths_mm == [39, 117]
    with pytest.raises(ValueError, match="'部门协同情况'.*4 mm"):
        Table(["项目", "情况"], [], [1, 3], caption="部门协同情况")
    with pytest.raises(ValueError, match="2 columns but 1 widths"):
        Table(["项目", "情况"], [], [156])


def _digests(rt, story):  # type: ignore[no-untyped-def]
    """The day's 舆情日报 and the flooding's 要情专报 of the toll story, as DOCX."""
    start = rt.now() - timedelta(days=1)
    with rt.session() as s:
        daily = gather(s, kind="daily", title="舆情日报", bureau="泽州县应急管理局", start=start, end=rt.now(),
                       tz="Asia/Shanghai")
        major = gather(s, kind="major", title="要情专报", bureau="泽州县应急管理局", start=start, end=rt.now(),
                       tz="Asia/Shanghai", event_ids=[story["flood"]])
    return {kind: Document(io.BytesIO(write_docx(digest_compose(c, rt.profile, "Asia/Shanghai", number=3, copy_no=1))))
            for kind, c in (("daily", daily), ("major", major))}


def test_digest_entries_are_numbered_third_level_headings(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """Each entry of the 日报 and the 要情专报 is a 公文 third-level heading, 1.【重大】标题 in 仿宋
    bold, numbered from 1 under each section: the 重大及以上 entries read 「1. 【重大】…：本期新增相关信息
    11 条。」 as body text, and 超时事项 「1. 暴雨致城区道路积水：…」 without its level. Read end to
    end: no machine words, no leading zeros, no heading without text under it."""
    docs = _digests(runtime, story)
    for kind, doc in docs.items():
        paragraphs = [p for p in doc.paragraphs if p.text.strip()]
        texts = [unjoined(p.text) for p in paragraphs]
        assert not [t for t in texts if re.match(r"\d+\.\s+\S", t)], (kind, "numbered as body text")
        numbers: list[int] = []
        for p, text in zip(paragraphs, texts, strict=True):
            if re.match(r"[一二三四五六七八九十]+、", text):
                numbers = []  # each section numbers its entries afresh
            entry = re.match(r"(\d+)\.【(一般|较大|重大|特别重大)】\S", text)
            if entry:
                numbers.append(int(entry.group(1)))
                assert numbers == list(range(1, len(numbers) + 1)), (kind, text)
                assert all(r.bold for r in p.runs) and {r.font.name for r in p.runs} == {"仿宋_GB2312"}, text
                assert p.paragraph_format.keep_with_next, text
        for n, text in enumerate(texts[:-1]):  # a heading is followed by its text, not by another heading
            if re.match(r"[一二三四五六七八九十]+、", text):
                assert not re.match(r"[一二三四五六七八九十]+、", texts[n + 1]), (kind, text)
        whole = "\n".join(texts)
        assert machine_text(whole, crawled(runtime)) == [], kind
        assert not re.search(r"(?<!\d)0\d月|月0\d日|(?<![\d:])0\d时", whole), kind
    daily = "\n".join(unjoined(p.text) for p in docs["daily"].paragraphs)
    flood = "【重大】泽州县巴公镇煤矿透水事故死亡人数升至12人"
    assert f"二、重大及以上舆情事件\n1.{flood}\n本期新增相关信息 11 条。" in daily
    assert "四、超时事项\n1.【较大】暴雨致城区道路积水\n发布权威信息已超时 1 天 15 小时，尚未完成。" in daily
    assert f"二、升级预警事件\n1.{flood}\n累计监测到相关信息 16 条" in "\n".join(p.text for p in docs["major"].paragraphs)


def test_a_followup_dates_its_opening_from_the_register_not_the_referral(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """The 续报 said 我局已于<the referral's creation>报送该事件舆情 where nothing it reports had
    changed, though the department's 专报 failed then and went two hours later (re-registered
    under its number at its sending): the opening names the issue and its time from the register."""
    with runtime.session() as s:
        ref = s.get(Referral, story["flood_referral"])
        referred = ref.created_at = runtime.now() - timedelta(hours=3)
        sent = referred + timedelta(hours=2)
        issue(s, series=special_report.SERIES, kind="special", now=sent, tz="Asia/Shanghai", event_id=ref.event_id,
              department_key=ref.department_key, referral_id=ref.id,
              fingerprint=event_account(s, ref.event_id).fingerprint)  # what it told is what stands now
    text = docx_text(write_docx(special(runtime, story, kind="followup")[0]))
    assert f"我局已于{cn_short(sent)}报送〔2026〕第1期专报，现将最新情况续报如下。" in text, text[:600]
    assert cn_short(referred) not in text


def test_a_merge_notice_is_composed_with_the_followup_not_swapped_in_after(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """build() replaced the composed 续报's third block with the merge notice once its 期号 was
    known. Registered first, the 续报 is composed whole: its opening is the notice, naming its own
    期号 and the event the department had, and the register's title is the document's."""
    with runtime.session() as s:
        ref = s.get(Referral, story["flood_referral"])
        record = issue(s, series=special_report.SERIES, kind="followup", now=runtime.now(), tz="Asia/Shanghai",
                       event_id=ref.event_id, department_key=ref.department_key, referral_id=ref.id, fingerprint="x")
        gone = event_account(s, story["fire"]).title
        had = runtime.now() - timedelta(hours=2)  # its 专报 of the fire, hours after the referral was made
        ref.created_at = had - timedelta(hours=3)
        issue(s, series=special_report.SERIES, kind="special", now=had, tz="Asia/Shanghai", event_id=story["fire"],
              department_key=ref.department_key, referral_id=ref.id, fingerprint="fire")
        doc, account = special_report.compose(s, runtime.profile, ref, "http://127.0.0.1:8000/ack/t", runtime.now(),
                                              "Asia/Shanghai", kind="followup", record=record, merged_from=story["fire"])
        opening = [b.text for b in doc.blocks if isinstance(b, Paragraph)][1]
        assert opening.startswith(f"我局已于{cn_short(had)}报送“{clip(gone, 30)}”相关舆情"), opening
        assert f"后续报送以〔2026〕第{record.number}期为准" in opening and doc.number == record.number
        assert doc.title == special_report.title_of(account, "followup") and "报送该事件舆情" not in opening


# A year written inside 〔〕 by code: 〔{year}〕, 〔{{ d.year }}〕, 〔{last.year}〕.
_FORMED_ISSUE = re.compile(r"〔\{[^〕]*\}〕第")


def test_the_issue_number_is_worded_in_one_place() -> None:
    """〔2026〕第3期 is written by documents.model.issue_number alone: the 续报's opening, the
    merge notice, the 版头's line, the file name and the liaison's page each wrote it themselves,
    so one change of form (a space, 第 before the number) would leave the others saying the old."""
    root = Path(__file__).resolve().parent.parent
    home = root / "yuqing" / "documents" / "model.py"
    found = [f"{path.relative_to(root)}:{n}" for path in sorted(root.rglob("*"))
             if path.suffix in (".py", ".html") and "tests" not in path.parts and path != home
             and path.is_file() for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if _FORMED_ISSUE.search(line)]
    assert found == []
    assert issue_number(2026, 3) == "〔2026〕第3期" and issue_number(2026, 3, spaced=True) == "〔2026〕第 3 期"


def test_the_dismissal_and_the_last_resort_opening_date_what_was_told_not_the_referral(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """The 终报 of a dismissed event said 我局于<the referral's creation>报送的舆情事件 and a 续报
    with nothing registered 我局已于<the referral's creation>报送该事件舆情: the time the referral
    was drawn up, which no document the department filed bears (its 专报 waited, or failed and
    went hours later). The 终报 names the 专报 and its time from the register; the 续报 says when
    the 专报 left, or 前期 where that is not known."""
    from yuqing.models import Ticket, TicketChange
    from yuqing.queue.workflow import DISMISSED

    with runtime.session() as s:
        ref = s.get(Referral, story["flood_referral"])
        referred = ref.created_at = runtime.now() - timedelta(hours=3)
    followup = docx_text(write_docx(special(runtime, story, kind="followup")[0]))
    assert "我局已前期报送该事件舆情，现将最新情况续报如下。" in followup and cn_short(referred) not in followup
    sent = referred + timedelta(hours=2)
    with runtime.session() as s:
        ref = s.get(Referral, story["flood_referral"])
        ref.sent_at = sent
    followup = docx_text(write_docx(special(runtime, story, kind="followup")[0]))
    assert f"我局已于{cn_short(sent)}报送该事件舆情，现将最新情况续报如下。" in followup
    with runtime.session() as s:
        ref = s.get(Referral, story["flood_referral"])
        record = issue(s, series=special_report.SERIES, kind="special", now=sent, tz="Asia/Shanghai",
                       event_id=ref.event_id, department_key=ref.department_key, referral_id=ref.id,
                       fingerprint=event_account(s, ref.event_id).fingerprint)
        ticket = s.get(Ticket, story["flood_ticket"])
        closed = runtime.now() - timedelta(minutes=30)
        ticket.state, ticket.closed_at = "closed", closed
        s.add(TicketChange(ticket_id=ticket.id, at=closed, by="赵值班", from_state="responding", to_state="closed",
                           reason=f"{DISMISSED}系旧闻翻炒"))
        number = record.number
    final = docx_text(write_docx(special(runtime, story, kind="final")[0]))
    assert (f"我局于{cn_short(sent)}以〔2026〕第{number}期专报报送的舆情事件，经我局核查研判，"
            f"该事件已于{cn_short(closed)}予以排除") in final, final[:900]
    assert cn_short(referred) not in final


@pytest.mark.slow
def test_a_long_table_repeats_its_header_row_on_each_page_of_the_pdf(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A table running over a page break (the post-event report's 时间线, the statistics' tables by
    department) is read on page 2 without turning back: its header row repeats on every page it
    spans, as the DOCX marks it (w:tblHeader). Printed by Chromium, read back with pdftotext."""
    from yuqing.documents import OfficialDocument, Table

    rows = [[str(n), f"12月1日{n % 24}时05分", f"第{n}项处置记录"] for n in range(1, 61)]
    doc = OfficialDocument(series="事后回应报告", issuer="泽州县应急管理局", title="关于某事件舆情回应情况的报告",
                           issued_at=datetime(2026, 12, 1, 9, tzinfo=SHANGHAI),
                           blocks=[Table(["序次", "记录时间", "处置事项"], rows, [20, 50, 86], caption="表 1　处置过程")])
    path = tmp_path / "long-table.pdf"
    path.write_bytes(write_pdf(doc))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    spanned = [p for p in pages if "项处置记录" in p]
    assert len(spanned) >= 2, f"the table fits one page ({len(pages)} pages): the test needs a longer one"
    for n, page in enumerate(spanned, 1):
        header = [line for line in page.splitlines() if re.search(r"序次\s+记录时间\s+处置事项", line)]
        assert len(header) == 1, f"page {n} of the table has no header row:\n{page[:400]}"
        first = next(i for i, line in enumerate(page.splitlines()) if "项处置记录" in line)
        assert page.splitlines().index(header[0]) < first, f"page {n}: the header stands above the rows"
    assert "第60项处置记录" in spanned[-1] and "第1项处置记录" in spanned[0]
