"""An :class:`OfficialDocument` as print HTML: the same marks, blocks and page as the DOCX,
for Chromium to print to PDF (CSS ``@page`` with its margin box for ``— 1 —``)."""

from __future__ import annotations

import base64
import html

from . import layout as L
from .dates import cn_date
from .keep import kept_apart
from .model import Heading, Link, OfficialDocument, Paragraph, Picture, Table, Unbroken

esc = html.escape


def _css() -> str:
    f = L.CSS_FAMILY
    return f"""
@page {{ size: A4; margin: {L.TOP_MM}mm {L.RIGHT_MM}mm {L.BOTTOM_MM}mm {L.LEFT_MM}mm;
  @bottom-center {{ content: "— " counter(page) " —"; font-family: {f[L.SONGTI]}; font-size: {L.SIZE_4}pt;
                    vertical-align: top; padding-top: 7mm; }} }}
html {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
body {{ margin: 0; font-family: {f[L.FANGSONG]}; font-size: {L.SIZE_3}pt; line-height: {L.LINE_PT:.2f}pt;
        text-align: justify; color: #000; }}
p {{ margin: 0; }}
.indent {{ text-indent: 2em; }}
.ragged {{ text-align: left; }}
.unbroken {{ white-space: nowrap; }}
.mark {{ font-family: {f[L.HEITI]}; }}
.masthead {{ font-family: {f[L.XIAOBIAOSONG]}; line-height: 1.4; color: #{L.RED_HEX};
             text-align: center; font-weight: bold; white-space: nowrap; }}
.number {{ text-align: center; padding-bottom: 4mm; border-bottom: 2px solid #{L.RED_HEX}; margin-bottom: {L.LINE_PT:.2f}pt; }}
.number.signed {{ display: flex; justify-content: space-between; }}
.signer {{ font-family: {f[L.KAITI]}; }}
h1 {{ font-family: {f[L.XIAOBIAOSONG]}; font-size: {L.SIZE_2}pt; line-height: 1.5; text-align: center; font-weight: bold;
      margin: 0 0 {L.LINE_PT:.2f}pt; }}
h2, h3, h4 {{ font-size: {L.SIZE_3}pt; margin: 0; text-indent: 2em; break-after: avoid; }}
h2 {{ font-family: {f[L.HEITI]}; font-weight: normal; }}
h3 {{ font-family: {f[L.KAITI]}; font-weight: normal; }}
h4 {{ font-family: {f[L.FANGSONG]}; font-weight: bold; }}
a {{ color: #0563c1; word-break: break-all; }}
.red {{ color: #{L.RED_HEX}; }}
figure {{ margin: 0.5em 0; text-align: center; break-inside: avoid; }}
figure img {{ width: 100%; }}
figcaption, caption {{ font-size: {L.SIZE_S4}pt; line-height: 1.5; }}
caption {{ font-family: {f[L.HEITI]}; }}
table {{ width: 100%; border-collapse: collapse; table-layout: fixed; font-size: {L.SIZE_S4}pt; line-height: 1.5;
         margin: 0.3em 0; }}
th, td {{ border: 1px solid #000; padding: 1mm 1.5mm; vertical-align: top; word-break: break-word; text-align: left; }}
th {{ font-family: {f[L.HEITI]}; font-weight: normal; text-align: center; }}
tr {{ break-inside: avoid; }}
table.whole {{ break-inside: avoid; }}
/* A short table's lead paragraph goes with it (and its heading with both): no table alone on a page. */
p:has(+ table.whole) {{ break-after: avoid; }}
thead {{ display: table-header-group; }}
@media screen {{ body {{ max-width: {L.BODY_W_MM}mm; margin: 2em auto; padding: 0 1em; }} }}
.signature {{ text-align: right; padding-right: 4em; margin-top: {L.LINE_PT:.2f}pt; break-inside: avoid;
              break-before: avoid; }}
.record {{ margin-top: {L.LINE_PT * 2:.2f}pt; font-size: {L.SIZE_4}pt; break-inside: avoid; }}
.record p {{ padding: 0 1em; border-bottom: 1px solid #000; }}
.record p:first-child {{ border-top: 2px solid #000; }}
.record p:last-child {{ border-bottom: 2px solid #000; display: flex; justify-content: space-between; }}
"""


def _part(p: str | Link) -> str:
    if isinstance(p, Link):
        return f'<a href="{esc(p.url)}">{esc(p.text)}</a>'
    return f'<span class="unbroken">{esc(p)}</span>' if isinstance(p, Unbroken) else esc(p)


def _parts(parts: list[str | Link]) -> str:
    return "".join(_part(piece) for p in parts for piece in kept_apart(p))


def _table(t: Table) -> str:
    cols = "".join(f'<col style="width:{w:g}mm">' for w in t.widths_mm)
    head = "".join(f"<th>{esc(h)}</th>" for h in t.header)
    rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in t.rows)
    caption = f"<caption>{esc(t.caption)}</caption>" if t.caption else ""
    whole = ' class="whole"' if len(t.rows) <= L.WHOLE_TABLE_ROWS else ""
    return f"<table{whole}>{caption}<colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _body(d: OfficialDocument) -> str:
    out: list[str] = []
    numbers = L.heading_numbers(b.level if isinstance(b, Heading) else None for b in d.blocks)
    for block, number in zip(d.blocks, numbers, strict=True):
        if isinstance(block, Heading):
            tag = f"h{min(block.level, 3) + 1}"
            out.append(f"<{tag}>{number}{esc(block.text)}</{tag}>")
        elif isinstance(block, Paragraph):
            cls = " ".join(c for c, on in (("indent", block.indent), ("red", block.red), ("ragged", block.ragged)) if on)
            text = _parts(block.parts)
            out.append(f'<p class="{cls}">' + (f"<b>{text}</b>" if block.bold else text) + "</p>")
        elif isinstance(block, Table):
            out.append(_table(block))
        elif isinstance(block, Picture):
            src = "data:image/png;base64," + base64.b64encode(block.png).decode()
            caption = f"<figcaption>{esc(block.caption)}</figcaption>" if block.caption else ""
            out.append(f'<figure><img src="{src}" alt="{esc(block.caption)}">{caption}</figure>')
    return "\n".join(out)


def _head(d: OfficialDocument) -> str:
    marks = []
    if d.copy_no is not None:
        marks.append(f'<p class="mark">{L.copy_number(d.copy_no)}</p>')
    if d.secrecy:
        marks.append(f'<p class="mark">{esc(d.secrecy)}</p>')
    if d.urgency:
        marks.append(f'<p class="mark">{esc(d.urgency)}</p>')
    number = esc(d.issue_line(d.year))
    if d.signer:
        line = f'<p class="number signed"><span>{number}</span><span>签发人：<span class="signer">{esc(d.signer)}</span></span></p>'
    else:
        line = f'<p class="number">{number}</p>'
    addressee = f"<p>{esc(d.addressee)}：</p>" if d.addressee else ""
    return "".join(marks) + f'<p class="masthead" style="font-size:{L.masthead_size(d.masthead)}pt">{esc(d.masthead)}</p>{line}<h1>{esc(d.title)}</h1>{addressee}'


def _tail(d: OfficialDocument) -> str:
    signature = f'<div class="signature"><p>{esc(d.issuer)}</p><p>{cn_date(d.issued_at, d.timezone)}</p></div>'
    if not (d.cc or d.printer):
        return signature
    rows = []
    if d.cc:
        rows.append(f"<p>抄送：{esc('，'.join(d.cc))}。</p>")
    rows.append(f"<p><span>{esc(d.printer)}</span><span>{cn_date(d.printed_at or d.issued_at, d.timezone)}印发</span></p>")
    return signature + f'{RECORD_OPEN}{"".join(rows)}</div>'


# 版记 at the foot of the last page (GB/T 9704 7.4). CSS cannot place a block at the bottom of
# the last page, so pdf.py prints, measures where the 版记 landed (MARK_TOP / MARK_FOOT, two
# invisible words in the measuring print only) and prints again with the room left above it
# as padding (padding, not margin: a margin at a page break is cut off there, CSS Fragmentation
# §5.2). A 版记 that lands alone on a page takes the text's last block with it.
MARK_TOP, MARK_FOOT = "YUQINGRECORDTOP", "YUQINGRECORDFOOT"
RECORD_OPEN = '<div class="record">'
# The text's last block (the one before the 落款) starts a new page, and the headings right
# above it go along (a heading never stays at the foot of the page before).
_MOVE_LAST = "".join(f"{sel} {{ break-before: page; }}" for sel in (  # one rule each: :has cannot nest
    "body > :not(h2, h3, h4) + :has(+ .signature)",
    "body > :first-child:has(+ .signature)",
    "body > :not(h2, h3, h4) + :is(h2, h3, h4):has(+ * + .signature)",
    "body > :not(h2, h3, h4) + :is(h2, h3, h4):has(+ :is(h2, h3, h4) + * + .signature)"))
_MARK = "position:absolute;left:0;font:1px/1px monospace;color:#fff;white-space:nowrap"


def for_print(page: str, *, probe: bool = False, pad_px: float = 0.0, move_last: bool = False) -> str:
    """The page as Chromium prints it. ``probe`` adds the two words that mark the 版记's top
    and foot; ``pad_px`` is the room given above it; ``move_last`` starts the text's last block
    (the one before the 落款) on a new page, so the 版记 never stands alone on one."""
    if RECORD_OPEN not in page:
        return page
    rules = [f".record {{ padding-top: {pad_px:.2f}px; }}" if pad_px > 0 else "",
             _MOVE_LAST if move_last else ""]
    head, end, tail = page.partition("</head>")
    page = f"{head}<style>{''.join(rules)}</style>{end}{tail}" if end and any(rules) else page
    if probe:
        marks = (f'<span style="{_MARK};top:0">{MARK_TOP}</span>'
                 f'<span style="{_MARK};bottom:0">{MARK_FOOT}</span>')
        page = page.replace(RECORD_OPEN, f'<div class="record" style="position:relative">{marks}', 1)
    return page


def to_html(d: OfficialDocument) -> str:
    """The whole document as one HTML page (UTF-8, no outside resources)."""
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{esc(d.title)}</title>'
            f"<style>{_css()}</style></head><body>{_head(d)}{_body(d)}{_tail(d)}</body></html>")
