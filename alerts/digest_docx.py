"""The digest as a DOCX laid out as an internal briefing (简报) is: 内部资料 mark, red title,
issuing unit and date, a red rule, the period, numbered sections, and page numbers in the
footer through a PAGE field. Page margins follow GB/T 9704-2012 (党政机关公文格式)."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from yuqing.clock import fmt, local

from .digest_content import Content, Link

RED = RGBColor(0xC0, 0x00, 0x00)
SONG, HEI = "宋体", "黑体"


def _font(run, name: str, size: float, bold: bool = False, colour: RGBColor | None = None) -> None:  # type: ignore[no-untyped-def]
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = colour
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _para(doc, text: str = "", *, font: str = SONG, size: float = 14, bold: bool = False,  # type: ignore[no-untyped-def]
          align=None, colour: RGBColor | None = None):
    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    if text:
        _font(p.add_run(text), font, size, bold, colour)
    return p


def _hyperlink(paragraph, link: Link) -> None:  # type: ignore[no-untyped-def]
    """A real hyperlink run (python-docx has no API for one)."""
    rel = paragraph.part.relate_to(link.url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    node = OxmlElement("w:hyperlink")
    node.set(qn("r:id"), rel)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    style = OxmlElement("w:color")
    style.set(qn("w:val"), "0563C1")
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    props.extend([style, underline])
    run.append(props)
    text = OxmlElement("w:t")
    text.text = link.title
    text.set(qn("xml:space"), "preserve")
    run.append(text)
    node.append(run)
    paragraph._p.append(node)


def _page_field(paragraph) -> None:  # type: ignore[no-untyped-def]
    """``— PAGE —`` in the footer, as a complex field Word and LibreOffice both update."""
    _font(paragraph.add_run("— "), SONG, 14)
    for kind, instr in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        _font(run, SONG, 14)
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif instr == " PAGE ":
            node = OxmlElement("w:instrText")
            node.set(qn("xml:space"), "preserve")
            node.text = instr
            run._r.append(node)
        else:
            run.text = instr
    _font(paragraph.add_run(" —"), SONG, 14)


def _rule(paragraph) -> None:  # type: ignore[no-untyped-def]
    """The red rule under the masthead, as a paragraph bottom border."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "18"), ("space", "1"), ("color", "C00000")):
        bottom.set(qn(f"w:{key}"), value)
    borders.append(bottom)
    ppr.append(borders)


def _links(doc, links: list[Link]) -> None:  # type: ignore[no-untyped-def]
    for link in links:
        p = _para(doc, "依据：", size=12)
        _hyperlink(p, link)


def write_docx(content: Content, path: Path, tz: str) -> Path:
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Mm(297), Mm(210)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _para(doc, "内部资料　注意保存", font=HEI, size=14, bold=True)
    _para(doc, content.title, font=SONG, size=26, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, colour=RED)
    issued = local(content.period_end, tz)
    masthead = _para(doc, f"{content.bureau}　　　　{issued:%Y年%m月%d日}", size=14,  # type: ignore[union-attr]
                     align=WD_ALIGN_PARAGRAPH.CENTER)
    _rule(masthead)
    _para(doc, f"统计时段：{fmt(content.period_start, tz)} 至 {fmt(content.period_end, tz)}", size=14)
    if content.quiet:
        _para(doc, "本期无重要舆情。", size=16)
        _para(doc, f"本期共监测相关信息 {content.total_items} 条，未发现需要报告的舆情。", size=14)
    else:
        _sections(doc, content)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_field(footer)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def _heading(doc, text: str) -> None:  # type: ignore[no-untyped-def]
    _para(doc, text, font=HEI, size=16)


def _sections(doc, c: Content) -> None:  # type: ignore[no-untyped-def]
    numerals = iter("一二三四五六七八")
    _heading(doc, f"{next(numerals)}、总体情况")
    _para(doc, f"本期共监测相关信息 {c.total_items} 条；升级预警事件 {len(c.escalated)} 起；"
               f"未关闭工单 {len(c.tickets)} 件，其中超时 {len(c.breaches)} 件；新增重大条目 {len(c.major_items)} 条。")
    if c.chart_path and Path(c.chart_path).exists():
        doc.add_picture(c.chart_path, width=Mm(150))
    if c.escalated:
        _heading(doc, f"{next(numerals)}、升级预警事件")
        for n, e in enumerate(c.escalated, 1):
            _para(doc, f"{n}. 【{e.level}】{e.title}", bold=True)
            _para(doc, e.text, size=12)
            _links(doc, e.links)
    if c.tickets:
        _heading(doc, f"{next(numerals)}、未关闭工单及回应时限")
        for n, t in enumerate(c.tickets, 1):
            _para(doc, f"{n}. 【{t.level}】{t.title}（{t.state}，回应主体：{t.section}）", bold=True)
            for clock in t.clocks:
                _para(doc, f"{clock.label}：{fmt(clock.due_at)} 到期，{clock.state}", size=12,
                      colour=RED if clock.overdue else None)
            _links(doc, t.links)
    if c.breaches:
        _heading(doc, f"{next(numerals)}、超时事项")
        for n, t in enumerate(c.breaches, 1):
            late = "；".join(f"{k.label}{k.state}" for k in t.clocks if k.overdue)
            _para(doc, f"{n}. {t.title}：{late}", colour=RED)
    if c.major_items:
        _heading(doc, f"{next(numerals)}、新增重大舆情条目")
        for n, (level, link) in enumerate(c.major_items, 1):
            p = _para(doc, f"{n}. 【{level}】", size=12)
            _hyperlink(p, link)
