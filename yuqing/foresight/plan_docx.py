"""The 解读回应预案 as DOCX in the layout of GB/T 9704-2012 (党政机关公文格式).

A4; 天头 37 mm, 订口 28 mm, 版心 156 × 225 mm; title 2号小标宋, body 3号仿宋_GB2312 at a fixed line
pitch (22 lines a page), 一、 headings 3号黑体, （一） headings 3号楷体_GB2312, page numbers
"— 1 —" in 4号宋体. Citations follow each fact in 〔〕. When the shared document renderer
(yuqing.documents) lands, :func:`write_plan_docx` is the one place to switch to it.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from .plan import Plan, Sentence, check_cited, cn_date

XIAOBIAOSONG, FANGSONG, HEITI, KAITI, SONG = "方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312", "宋体"
SIZE_2, SIZE_3, SIZE_4 = 22, 16, 14  # 2号, 3号, 4号 in points
LINE_PITCH = Pt(28.95)  # 225 mm / 22 lines


class UncitedFact(ValueError):
    """A sentence that states a fact without a citation reached the renderer (a bug, not input)."""


def _run(paragraph, text: str, font: str, size: float, bold: bool = False) -> None:  # type: ignore[no-untyped-def]
    run = paragraph.add_run(text)
    run.font.name = font
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def _para(doc, text: str = "", *, font: str = FANGSONG, size: float = SIZE_3, bold: bool = False,  # type: ignore[no-untyped-def]
          align=None, indent: bool = True):
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.space_before = fmt.space_after = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(2 * size)
    if align is not None:
        p.alignment = align
    if text:
        _run(p, text, font, size, bold)
    return p


def sentence_text(s: Sentence) -> str:
    """``text〔cite〕。``: the citations sit before the sentence's stop."""
    return s.text + "".join(f"〔{c}〕" for c in s.cites) + "。"


def _page_number(section) -> None:  # type: ignore[no-untyped-def]
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(p, "— ", SONG, SIZE_4)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = p.add_run()
        run.font.size = Pt(SIZE_4)
        if kind:
            node = OxmlElement("w:fldChar")
            node.set(qn("w:fldCharType"), kind)
            run._r.append(node)
        elif text == " PAGE ":
            node = OxmlElement("w:instrText")
            node.set(qn("xml:space"), "preserve")
            node.text = text
            run._r.append(node)
        else:
            run.text = text
    _run(p, " —", SONG, SIZE_4)


def write_plan_docx(plan: Plan, path: Path) -> Path:
    uncited = check_cited(plan)
    if uncited:
        raise UncitedFact(f"预案中有未注明出处的事实陈述: {uncited[0]}")
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Mm(297), Mm(210)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _page_number(section)
    _para(doc, plan.title, font=XIAOBIAOSONG, size=SIZE_2, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _para(doc, f"{plan.bureau}　{cn_date(plan.issued)}", align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _para(doc, "")
    for part in plan.parts:
        _para(doc, part.heading, font=HEITI)
        for block in part.blocks:
            if block.heading:
                _para(doc, block.heading, font=KAITI)
            for sentences in block.paragraphs:
                _para(doc, "".join(sentence_text(s) for s in sentences))
    _para(doc, "附件：引用来源", font=HEITI)
    for cite, what in plan.sources:
        _para(doc, f"〔{cite}〕{what}", size=SIZE_4)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
