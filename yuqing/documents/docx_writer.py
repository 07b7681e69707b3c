"""An :class:`OfficialDocument` as DOCX, laid out to GB/T 9704-2012 (see :mod:`.layout`)."""

from __future__ import annotations

import copy
import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.text.font import CT_RPr
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph as DocxParagraph
from docx.text.run import Run

from yuqing.sanitise import xml_safe_record

from . import layout as L
from .dates import cn_date
from .keep import NO_LINE_END, NO_LINE_START, kept_apart
from .model import Heading, Link, OfficialDocument, Paragraph, Picture, Table, Unbroken

RED = RGBColor.from_string(L.RED_HEX)
# The schema's order of paragraph and run properties (ECMA-376 CT_PPrBase, CT_RPr), which Word
# insists on: an element added goes before those that follow it.
PPR_ORDER = ("w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl", "w:numPr",
             "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
             "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
             "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
             "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
             "w:rPr", "w:sectPr", "w:pPrChange")
RPR_ORDER = ("w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike", "w:dstrike",
             "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid", "w:vanish", "w:webHidden",
             "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect",
             "w:bdr", "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout",
             "w:specVanish", "w:oMath")
_AFTER_SNAP = PPR_ORDER[PPR_ORDER.index("w:snapToGrid") + 1:]
_AFTER_SPACING = RPR_ORDER[RPR_ORDER.index("w:spacing") + 1:]
_AFTER_LINE_BREAKS = ("w:savePreviewPicture", "w:hdrShapeDefaults", "w:footnotePr", "w:endnotePr", "w:compat",
                      "w:docVars", "w:rsids", "m:mathPr", "w:attachedSchema", "w:themeFontLang", "w:clrSchemeMapping",
                      "w:doNotIncludeSubdocsInStats", "w:doNotAutoCompressPictures", "w:forceUpgrade", "w:captions",
                      "w:readModeInkLockDown", "w:smartTagType", "sl:schemaLibrary", "w:shapeDefaults",
                      "w:doNotEmbedSmartTags", "w:decimalSymbol", "w:listSeparator")
_FIRST_LINE = Pt(L.SIZE_3 * 2)  # two characters


# A run's properties by (font, size, bold, red), built once per process and copied into each run:
# python-docx's setters walk the XML with XPath at every call, about 0.5 ms a run, and a 专报
# has a few hundred runs of a handful of kinds.
_RUN_PROPERTIES: dict[tuple[str, float, bool, bool], CT_RPr] = {}


def _fonts(run: Run, name: str, size: float, *, bold: bool = False, red: bool = False) -> None:
    """Set the font for Latin and East-Asian text alike (w:eastAsia is what Word uses for 汉字)."""
    if run._element.rPr is not None:  # properties already there: set these over them
        _set_fonts(run, name, size, bold=bold, red=red)
        return
    key = (name, size, bold, red)
    kept = _RUN_PROPERTIES.get(key)
    if kept is None:  # the first run of its kind: set, and keep a copy
        _set_fonts(run, name, size, bold=bold, red=red)
        _RUN_PROPERTIES[key] = copy.deepcopy(run._element.get_or_add_rPr())
        return
    run._element.insert(0, copy.deepcopy(kept))  # w:rPr is a run's first child


def _set_fonts(run: Run, name: str, size: float, *, bold: bool = False, red: bool = False) -> None:
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
    if size > L.SIZE_3:
        # Larger than a grid line: LibreOffice snapped each line of the title to two grid lines.
        snap = OxmlElement("w:snapToGrid")
        snap.set(qn("w:val"), "0")
        p._p.get_or_add_pPr().insert_element_before(snap, *_AFTER_SNAP)
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
        ppr.insert_element_before(borders, *PPR_ORDER[PPR_ORDER.index("w:pBdr") + 1:])
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
    props.extend([fonts, colour, half_points, underline])  # the schema's order: sz before u
    run.append(props)
    text = OxmlElement("w:t")
    text.text = link.text
    text.set(qn("xml:space"), "preserve")
    run.append(text)
    node.append(run)
    paragraph._p.append(node)


def _unbroken(paragraph: DocxParagraph, text: str, *, bold: bool, red: bool) -> None:
    """A run kept whole at a line's end by the document's 避头尾 lists (see :mod:`.keep`); its
    characters are the text's own, with no joiner a font lacks or a search misses."""
    _fonts(paragraph.add_run(text), L.FANGSONG, L.SIZE_3, bold=bold, red=red)


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
    # A line grid only: LibreOffice lays a character grid (linesAndChars) out at about 13
    # characters a line, each 汉字 snapped to several cells. The 28 characters come from the
    # character spacing instead, which Word, WPS and LibreOffice all honour.
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(round(L.LINE_PT * 20)))
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = L.FANGSONG, Pt(L.SIZE_3)
    r_pr = normal.element.get_or_add_rPr()
    r_pr.get_or_add_rFonts().set(qn("w:eastAsia"), L.FANGSONG)
    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:val"), str(L.CHAR_SPACING_TWIPS))
    r_pr.insert_element_before(spacing, *_AFTER_SPACING)
    _chinese(doc)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_number(footer)


def _chinese(doc: DocxDocument) -> None:
    """Text in Simplified Chinese (w:lang eastAsia zh-CN, so a reader without the 公文 fonts gets
    the SC forms, not the Japanese ones), and the line-breaking rules of :mod:`.keep` as the
    document's own 避头尾 lists (w:noLineBreaksBefore/After): the text stays plain characters."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    lang = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}") if defaults is not None else None
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")
        lang.set(qn("w:val"), "zh-CN")
    settings = doc.settings.element
    for tag, chars in (("w:noLineBreaksAfter", NO_LINE_END), ("w:noLineBreaksBefore", NO_LINE_START)):
        node = OxmlElement(tag)
        node.set(qn("w:lang"), "zh-CN")
        node.set(qn("w:val"), chars)
        settings.insert_element_before(node, *_AFTER_LINE_BREAKS)


def _head(doc: DocxDocument, d: OfficialDocument) -> None:
    """版头: 份号, 密级/内部资料, 紧急程度, the red 发文机关标志, 期号 (and 签发人), the red rule."""
    year = d.year
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
        # 期号 one character in from the left, 签发人 one in from the right (GB/T 9704 7.2.4), by a
        # right tab: ideographic spaces pushed 签发人 onto a line of its own in LibreOffice.
        fmt = line.paragraph_format
        fmt.left_indent = fmt.right_indent = Pt(L.SIZE_3)
        fmt.tab_stops.add_tab_stop(Mm(L.BODY_W_MM) - Pt(L.SIZE_3), alignment=WD_TAB_ALIGNMENT.RIGHT)
        _fonts(line.add_run("\t签发人："), L.FANGSONG, L.SIZE_3)
        _fonts(line.add_run(d.signer), L.KAITI, L.SIZE_3)
    _border(line, "bottom", size=18)
    _paragraph(doc)
    _paragraph(doc, d.title, font=L.XIAOBIAOSONG, size=L.SIZE_2, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc)
    if d.addressee:
        _paragraph(doc, f"{d.addressee}：")


def _blocks(doc: DocxDocument, d: OfficialDocument) -> None:
    numbers = L.heading_numbers(b.level if isinstance(b, Heading) else None for b in d.blocks)
    after = [*d.blocks[1:], None]
    for block, number, following in zip(d.blocks, numbers, after, strict=True):
        if isinstance(block, Heading):
            _paragraph(doc, number + block.text, font=L.HEADING_FONT.get(block.level, L.FANGSONG),
                       bold=block.level == 3, indent=True, keep_next=True)
        elif isinstance(block, Paragraph):
            # A short table's lead paragraph goes with it, as in the print page: no table alone on a page.
            lead = isinstance(following, Table) and len(following.rows) <= L.WHOLE_TABLE_ROWS
            p = _paragraph(doc, indent=block.indent, keep_next=lead,
                           align=WD_ALIGN_PARAGRAPH.LEFT if block.ragged else WD_ALIGN_PARAGRAPH.JUSTIFY)
            for part in (piece for whole in block.parts for piece in kept_apart(whole)):
                if isinstance(part, Link):
                    _hyperlink(p, part, L.SIZE_3)
                elif isinstance(part, Unbroken):
                    _unbroken(p, part, bold=block.bold, red=block.red)
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
    """Columns at ``widths_mm`` (w:tblGrid, each cell's w:tcW and the table's w:tblW in twips, a
    fixed layout: Word and WPS otherwise fit the columns to their text and squeezed a date column
    to one character, 2026-12-/01), 小四 text, no row split across pages (w:cantSplit), the header
    row repeated on each page (w:tblHeader)."""
    if t.caption:
        _paragraph(doc, t.caption, font=L.HEITI, size=L.SIZE_S4, align=WD_ALIGN_PARAGRAPH.CENTER, keep_next=True)
    table = doc.add_table(rows=1, cols=len(t.header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False  # w:tblLayout fixed
    widths = [Mm(w) for w in t.widths_mm]
    total = table._tbl.tblPr.find(qn("w:tblW"))  # python-docx writes one, "auto"
    if total is not None:
        total.set(qn("w:type"), "dxa")
        total.set(qn("w:w"), str(sum(int(w.twips) for w in widths)))
    whole = len(t.rows) <= L.WHOLE_TABLE_ROWS
    for n, (values, bold) in enumerate([(t.header, True)] + [(r, False) for r in t.rows]):
        row = table.rows[0] if n == 0 else table.add_row()
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        if n == 0:
            tr_pr.append(OxmlElement("w:tblHeader"))
        for cell, value, width in zip(row.cells, values, widths, strict=True):
            cell.width = width
            p = cell.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER if bold else WD_ALIGN_PARAGRAPH.LEFT
            p.paragraph_format.keep_with_next = whole and n < len(t.rows)  # Word keeps the rows together
            _fonts(p.add_run(value), L.HEITI if bold else L.FANGSONG, L.SIZE_S4)
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(int(width.twips)))


def _signature(doc: DocxDocument, d: OfficialDocument) -> None:
    """落款: the issuer and the date, right-aligned, four characters from the edge, kept on one
    page with the last line of the text (never a date alone at the top of a page)."""
    if doc.paragraphs:
        doc.paragraphs[-1].paragraph_format.keep_with_next = True
    _paragraph(doc, keep_next=True)
    for text, keep in ((d.issuer, True), (cn_date(d.issued_at, d.timezone), False)):
        p = _paragraph(doc, text, align=WD_ALIGN_PARAGRAPH.RIGHT, keep_next=keep)
        p.paragraph_format.right_indent = Pt(L.SIZE_3 * 4)


def _float_to_the_foot(table: DocxTable) -> None:
    """Anchor the table at the bottom of the 版心 on the page of its anchor paragraph (the last
    one): a floating table (w:tblpPr, vertical anchor the margin, position bottom) that body text
    never overlaps (w:tblOverlap never), as Word and WPS lay out a 版记."""
    tbl_pr = table._tbl.tblPr
    position = OxmlElement("w:tblpPr")
    for key, value in (("leftFromText", "0"), ("rightFromText", "0"), ("topFromText", "0"), ("bottomFromText", "0"),
                       ("vertAnchor", "margin"), ("horzAnchor", "margin"), ("tblpXSpec", "center"),
                       ("tblpYSpec", "bottom")):
        position.set(qn(f"w:{key}"), value)
    overlap = OxmlElement("w:tblOverlap")
    overlap.set(qn("w:val"), "never")
    style = tbl_pr.find(qn("w:tblStyle"))
    at = 0 if style is None else list(tbl_pr).index(style) + 1  # schema order: tblStyle, tblpPr, tblOverlap
    tbl_pr.insert(at, position)
    tbl_pr.insert(at + 1, overlap)


def _rules(table: DocxTable, rows: int) -> None:
    """版记 rules: heavy (1 pt) above the first row and below the last, light (0.35 pt) between."""
    borders = OxmlElement("w:tblBorders")
    for edge, size in (("top", 8), ("bottom", 8), ("insideH", 3 if rows > 1 else 0),
                       ("left", 0), ("right", 0), ("insideV", 0)):
        line = OxmlElement(f"w:{edge}")
        line.set(qn("w:val"), "single" if size else "nil")
        if size:
            for key, value in (("sz", str(size)), ("space", "0"), ("color", "000000")):
                line.set(qn(f"w:{key}"), value)
        borders.append(line)
    table._tbl.tblPr.append(borders)


def _record(doc: DocxDocument, d: OfficialDocument) -> None:
    """版记 (GB/T 9704 7.4): 抄送, 印发机关 and 印发日期 between rules, at the foot of the last page."""
    if not (d.cc or d.printer):
        return
    lines = ([f"抄送：{'，'.join(d.cc)}。"] if d.cc else []) + [
        f"{d.printer}\t{cn_date(d.printed_at or d.issued_at, d.timezone)}印发"]
    table = doc.add_table(rows=len(lines), cols=1)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    width = Mm(L.BODY_W_MM)
    table._tbl.tblGrid.findall(qn("w:gridCol"))[0].set(qn("w:w"), str(int(width.twips)))
    for row, text in zip(table.rows, lines, strict=True):
        cell = row.cells[0]
        cell.width = width
        p = cell.paragraphs[0]
        fmt = p.paragraph_format
        fmt.space_before = fmt.space_after = Pt(0)
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(L.LINE_PT)
        fmt.left_indent = fmt.right_indent = Pt(L.SIZE_4)  # one character in from each end
        fmt.tab_stops.add_tab_stop(Mm(L.BODY_W_MM - 4) - Pt(L.SIZE_4 * 2), alignment=2)  # the date, right
        _fonts(p.add_run(text), L.FANGSONG, L.SIZE_4)
    _rules(table, len(lines))
    _float_to_the_foot(table)
    anchor = doc.add_paragraph()  # a floating table needs a paragraph after it (its anchor)
    anchor.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    anchor.paragraph_format.line_spacing = Pt(1)
    anchor.paragraph_format.space_before = anchor.paragraph_format.space_after = Pt(0)


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
