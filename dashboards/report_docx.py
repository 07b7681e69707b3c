"""The post-event report as a Word document (python-docx), with the same sections and charts."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.styles.style import CharacterStyle

from yuqing.clock import fmt
from yuqing.sanitise import safe_document, xml_safe

if TYPE_CHECKING:
    from docx.document import Document as DocumentObject
    from docx.styles.style import BaseStyle

    from yuqing.runtime import Runtime

    from .reports import ReportData

EAST_ASIA_FONT = "宋体"  # what the bureau's Word has; LibreOffice maps it to Noto CJK


def _cjk(style: BaseStyle) -> None:
    assert isinstance(style, CharacterStyle)  # the four styles set are paragraph styles
    style.font.name = "Times New Roman"
    rpr = style.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), EAST_ASIA_FONT)


def _table(doc: DocumentObject, header: list[str], rows: list[list[str]]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = xml_safe(text)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = xml_safe(text)


def build_docx(rt: Runtime, d: ReportData) -> bytes:
    tz = rt.settings.timezone
    doc = safe_document(Document())
    for name in ("Normal", "Title", "Heading 1", "Heading 2"):
        _cjk(doc.styles[name])
    doc.styles["Normal"].font.size = Pt(10.5)
    doc.add_heading(f"事后回应报告：{d.event.title}", level=0)
    doc.add_paragraph(f"{rt.profile.bureau.name}　工单 #{d.ticket.id}　生成于 {fmt(d.generated_at, tz)}")

    doc.add_heading("一、概况", level=1)
    _table(doc, ["项目", "内容"], [[k, v] for k, v in d.summary])

    doc.add_heading("二、处置时间线", level=1)
    _table(doc, ["时间", "事项", "说明", "经办"],
           [[fmt(e.at, tz), e.title, (e.detail + (f" {e.link}" if e.link else "")).strip(), e.by]
            for e in d.timeline])

    doc.add_heading("三、回应时限执行情况", level=1)
    _table(doc, ["时限", "应完成", "实际完成", "结果"],
           [[x["kind"], x["due"], x["met"], x["verdict"]] for x in d.deadlines] or [["—", "—", "—", "无时限"]])

    doc.add_heading("四、传播态势", level=1)
    for key, caption in (("volume", "声量曲线"), ("emotion", "负面情绪走势"), ("sources", "信源与地点")):
        if key in d.charts:
            doc.add_picture(io.BytesIO(d.charts[key]), width=Cm(16))
            doc.add_paragraph(caption).alignment = WD_ALIGN_PARAGRAPH.CENTER

    doc.add_heading("五、重点帖文", level=1)
    _table(doc, ["发布时间", "标题", "作者/平台", "转载", "链接"],
           [[fmt(p.published_at, tz), p.title or p.text[:40], f"{p.author} {p.platform}".strip(),
             str(p.duplicate_count), p.url] for p in d.posts])

    doc.add_heading("六、报送与处置结果", level=1)
    _table(doc, ["部门", "状态", "发送", "签收", "备注"],
           [[r["name"], r["status"], r["sent"] or "—", f"{r['acknowledged'] or '—'} {r['by']}".strip(),
             "；".join(r["notes"])] for r in d.referrals] or [["—", "未报送", "", "", ""]])
    doc.add_paragraph(f"处置结果：{d.outcome}")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
