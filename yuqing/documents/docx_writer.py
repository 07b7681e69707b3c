"""An :class:`OfficialDocument` as DOCX, laid out to GB/T 9704-2012 (see :mod:`.layout`)."""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph as DocxParagraph
from docx.text.run import Run

from yuqing.sanitise import xml_safe_record

from . import layout as L
from .dates import cn_date
from .model import Heading, Link, OfficialDocument, Paragraph, Picture, Table

RED = RGBColor.from_string(L.RED_HEX)
_FIRST_LINE = Pt(L.SIZE_3 * 2)  # two characters


def _fonts(run: Run, name: str, size: float, *, bold: bool = False, red: bool = False) -> None:
    """Set the font for Latin and East-Asian text alike (w:eastAsia is what Word uses for 汉字)."""
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    if red:
        run.font.color.rgb = RED
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(key), name)


def _paragraph(doc: DocxDocument, text: str = "", *, font: str = L.FANGSONG, size: float = L.SIZE_3,
               bold: bool = False, red: bool = False, align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.JUSTIFY, indent: bool = False,
               keep_next: bool = False) -> DocxParagraph:
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    p.alignment = align
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(max(L.LINE_PT, size * 1.25))
    fmt.widow_control = True
    if indent:
        fmt.first_line_indent = _FIRST_LINE
    if keep_next:
        fmt.keep_with_next = True
    if text:
        _fonts(p.add_run(text), font, size, bold=bold, red=red)
    return p


def _border(paragraph: DocxParagraph, edge: str, colour: str = L.RED_HEX, size: int = 12) -> None:
    """A rule above or below a paragraph (the red rule under the masthead, the 版记 lines)."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    line = OxmlElement(f"w:{edge}")
    for key, value in (("val", "single"), ("sz", str(size)), ("space", "1"), ("color", colour)):
        line.set(qn(f"w:{key}"), value)
    borders.append(line)


def _hyperlink(paragraph: DocxParagraph, link: Link, size: float) -> None:
    """A real hyperlink (python-docx has no API for one); its text stays plain text."""
    rel = paragraph.part.relate_to(link.url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    node = OxmlElement("w:hyperlink")
    node.set(qn("r:id"), rel)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    fonts = OxmlElement("w:rFonts")
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        fonts.set(qn(key), L.FANGSONG)
    colour = OxmlElement("w:color")
    colour.set(qn("w:val"), "0563C1")
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    half_points = OxmlElement("w:sz")
    half_points.set(qn("w:val"), str(int(size * 2)))
    props.extend([fonts, colour, underline, half_points])
    run.append(props)
    text = OxmlElement("w:t")
    text.text = link.text
    text.set(qn("xml:space"), "preserve")
    run.append(text)
    node.append(run)
    paragraph._p.append(node)


def _page_number(paragraph: DocxParagraph) -> None:
    """``— 1 —`` in 4号宋体: a PAGE field Word and LibreOffice both update."""
    _fonts(paragraph.add_run("— "), L.SONGTI, L.SIZE_4)
    for kind, text in (("begin", ""), ("", " PAGE "), ("separate", ""), ("", "1"), ("end", "")):
        run = paragraph.add_run()
        _fonts(run, L.SONGTI, L.SIZE_4)
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text == " PAGE ":
            node = OxmlElement("w:instrText")
            node.set(qn("xml:space"), "preserve")
            node.text = text
            run._r.append(node)
        else:
            run.text = text
    _fonts(paragraph.add_run(" —"), L.SONGTI, L.SIZE_4)


def _page(doc: DocxDocument) -> None:
    section = doc.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = Mm(L.PAGE_W_MM), Mm(L.PAGE_H_MM)
    section.top_margin, section.bottom_margin = Mm(L.TOP_MM), Mm(L.BOTTOM_MM)
    section.left_margin, section.right_margin = Mm(L.LEFT_MM), Mm(L.RIGHT_MM)
    section.footer_distance = Mm(L.BOTTOM_MM - 7 - 6)  # the number sits 7 mm below the 版心
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "linesAndChars")
    grid.set(qn("w:linePitch"), str(round(L.LINE_PT * 20)))
    grid.set(qn("w:charSpace"), str(round((L.CHAR_PT - L.SIZE_3) * 4096)))
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = L.FANGSONG, Pt(L.SIZE_3)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), L.FANGSONG)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_number(footer)


def _head(doc: DocxDocument, d: OfficialDocument) -> None:
    """版头: 份号, 密级/内部资料, 紧急程度, the red 发文机关标志, 期号 (and 签发人), the red rule."""
    year = d.issued_at.year
    if d.copy_no is not None:
        _paragraph(doc, L.copy_number(d.copy_no), font=L.HEITI)
    if d.secrecy:
        _paragraph(doc, d.secrecy, font=L.HEITI)
    if d.urgency:
        _paragraph(doc, d.urgency, font=L.HEITI)
    _paragraph(doc, d.masthead, font=L.XIAOBIAOSONG, size=L.masthead_size(d.masthead), red=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    number = d.issue_line(year)
    line = _paragraph(doc, align=WD_ALIGN_PARAGRAPH.CENTER if not d.signer else WD_ALIGN_PARAGRAPH.LEFT)
    if number:
        _fonts(line.add_run(number), L.FANGSONG, L.SIZE_3)
    if d.signer:
        _fonts(line.add_run("　　　　　　　　签发人："), L.FANGSONG, L.SIZE_3)
        _fonts(line.add_run(d.signer), L.KAITI, L.SIZE_3)
    _border(line, "bottom", size=18)
    _paragraph(doc)
    _paragraph(doc, d.title, font=L.XIAOBIAOSONG, size=L.SIZE_2, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc)
    if d.addressee:
        _paragraph(doc, f"{d.addressee}：")


def _blocks(doc: DocxDocument, d: OfficialDocument) -> None:
    numbers = L.heading_numbers(b.level if isinstance(b, Heading) else None for b in d.blocks)
    for block, number in zip(d.blocks, numbers, strict=True):
        if isinstance(block, Heading):
            _paragraph(doc, number + block.text, font=L.HEADING_FONT.get(block.level, L.FANGSONG),
                       bold=block.level == 3, indent=True, keep_next=True)
        elif isinstance(block, Paragraph):
            p = _paragraph(doc, indent=block.indent)
            for part in block.parts:
                if isinstance(part, Link):
                    _hyperlink(p, part, L.SIZE_3)
                else:
                    _fonts(p.add_run(part), L.FANGSONG, L.SIZE_3, bold=block.bold, red=block.red)
        elif isinstance(block, Table):
            _table(doc, block)
        elif isinstance(block, Picture):
            p = _paragraph(doc, align=WD_ALIGN_PARAGRAPH.CENTER, keep_next=bool(block.caption))
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            p.add_run().add_picture(io.BytesIO(block.png), width=Mm(L.BODY_W_MM))
            if block.caption:
                _paragraph(doc, block.caption, size=L.SIZE_S4, align=WD_ALIGN_PARAGRAPH.CENTER)


def _table(doc: DocxDocument, t: Table) -> None:
    """Columns in proportion to ``widths`` across the 版心, 小四 text, the header repeated."""
    if t.caption:
        _paragraph(doc, t.caption, font=L.HEITI, size=L.SIZE_S4, align=WD_ALIGN_PARAGRAPH.CENTER, keep_next=True)
    table = doc.add_table(rows=1, cols=len(t.header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    total = sum(t.widths)
    widths = [Mm(L.BODY_W_MM * w / total) for w in t.widths]
    header_row = table.rows[0]
    tr_pr = header_row._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    tr_pr.append(repeat)
    for values, row, bold in [(t.header, header_row, True)] + [(r, None, False) for r in t.rows]:
        cells = (row or table.add_row()).cells
        for cell, value, width in zip(cells, values, widths, strict=True):
            cell.width = width
            p = cell.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER if bold else WD_ALIGN_PARAGRAPH.LEFT
            _fonts(p.add_run(value), L.HEITI if bold else L.FANGSONG, L.SIZE_S4)
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(int(width.twips)))


def _signature(doc: DocxDocument, d: OfficialDocument) -> None:
    """落款: the issuer and the date, right-aligned, four characters from the edge."""
    _paragraph(doc)
    for text in (d.issuer, cn_date(d.issued_at, d.timezone)):
        p = _paragraph(doc, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Pt(L.SIZE_3 * 4)


def _record(doc: DocxDocument, d: OfficialDocument) -> None:
    """版记: 抄送, 印发机关 and 印发日期 between rules, at the end."""
    if not (d.cc or d.printer):
        return
    _paragraph(doc)
    first = True
    if d.cc:
        p = _paragraph(doc, f"抄送：{'，'.join(d.cc)}。", size=L.SIZE_4)
        p.paragraph_format.left_indent = p.paragraph_format.right_indent = Pt(L.SIZE_4)
        _border(p, "top", colour="000000", size=12)
        first = False
    p = _paragraph(doc, size=L.SIZE_4)
    p.paragraph_format.tab_stops.add_tab_stop(Mm(L.BODY_W_MM - 4), alignment=2)  # right-aligned date
    _fonts(p.add_run(f"{d.printer}\t{cn_date(d.printed_at or d.issued_at, d.timezone)}印发"), L.FANGSONG, L.SIZE_4)
    _border(p, "top", colour="000000", size=12 if first else 4)
    _border(p, "bottom", colour="000000", size=12)


def write_docx(d: OfficialDocument) -> bytes:
    """The document as DOCX bytes."""
    d = xml_safe_record(d)  # one ESC from a note or a post must not make the document a 500
    doc = Document()
    _page(doc)
    _head(doc, d)
    _blocks(doc, d)
    _signature(doc, d)
    _record(doc, d)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
