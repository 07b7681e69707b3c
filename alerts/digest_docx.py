"""The digest (舆情日报 / 要情专报) as a document record for the core's renderer (GB/T 9704-2012):
份号, 内部资料, the red masthead with its 期号 and rule, the period, numbered sections, the chart,
links to the items, 版记 and "— 1 —" page numbers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from yuqing.documents import Heading, Link, OfficialDocument, Paragraph, Picture, Unbroken
from yuqing.documents.dates import cn_date, cn_datetime, cn_short
from yuqing.documents.wording import clip
from yuqing.profile import Profile

from .digest_content import Content, item_heading, major_count, overdue_words, overview
from .digest_content import Link as DigestLink


def _link(link: DigestLink) -> Link:
    return Link(clip(link.title, 40), link.url)


def period_line(c: Content, tz: str) -> str:
    """统计时段：2026年12月1日 8时30分至2026年12月1日 16时16分（系统自2026年12月1日 9时00分起监测）."""
    note = f"（{c.note}）" if c.note else ""
    return f"统计时段：{cn_datetime(c.period_start, tz)}至{cn_datetime(c.period_end, tz)}{note}"


def _sections(c: Content, tz: str) -> list:
    """Each entry under its section as a third-level heading, numbered by the renderer
    (1.【重大】泽州县某煤矿透水, 仿宋 bold), its facts in the paragraphs after it."""
    blocks: list = [Heading("总体情况"), Paragraph.of(overview(c))]
    if c.chart_path and Path(c.chart_path).exists():
        blocks.append(Picture(Path(c.chart_path).read_bytes(), "图 1　传播走势"))
    if c.escalated:
        blocks.append(Heading("升级预警事件"))
        for e in c.escalated:
            blocks.append(Heading(item_heading(e.level, e.title), 3))
            blocks.append(Paragraph.of(e.text))
            blocks += [Paragraph.of("依据：", _link(link)) for link in e.links]
    if c.major_events:
        blocks.append(Heading("重大及以上舆情事件"))
        for m in c.major_events:
            blocks.append(Heading(item_heading(m.level, m.title), 3))
            blocks.append(Paragraph.of(major_count(m)))
            blocks += [Paragraph.of("依据：", _link(link)) for link in m.links]
    if c.tickets:
        blocks.append(Heading("未关闭工单及回应时限"))
        for t in c.tickets:
            blocks.append(Heading(f"{item_heading(t.level, t.title)}（{t.state}，回应主体：{t.section}）", 3))
            for clock in t.clocks:
                blocks.append(Paragraph.of(f"{clock.label}：{cn_short(clock.due_at, tz)}到期，{clock.state}。",
                                           red=clock.overdue))
            blocks += [Paragraph.of("依据：", _link(link)) for link in t.links]
    if c.breaches:
        blocks.append(Heading("超时事项"))
        for t in c.breaches:
            blocks.append(Heading(item_heading(t.level, t.title), 3))
            blocks.append(Paragraph.of(f"{overdue_words(t)}。", red=True))
    return blocks


def compose(c: Content, profile: Profile, tz: str, *, number: int | None = None,
            copy_no: int | None = None) -> OfficialDocument:
    """The digest as a document record."""
    end: datetime = c.period_end
    # The period's two times each kept on one line, the line flush left: justified, "17时00" / "分"
    # was split across the lines under the title.
    note = f"（{c.note}）" if c.note else ""
    blocks: list = [Paragraph(["统计时段：", Unbroken(cn_datetime(c.period_start, tz)), "至",
                               Unbroken(cn_datetime(c.period_end, tz)), note], indent=False, ragged=True)]
    if c.quiet:
        blocks += [Paragraph.of("本期无重要舆情。", bold=True),
                   Paragraph.of(f"本期共监测相关信息 {c.total_items} 条，未发现需要报告的舆情。")]
    else:
        blocks += _sections(c, tz)
    title = f"{c.title}（{cn_date(end, tz).split('年', 1)[1]}）" if c.kind == "daily" else c.title
    if c.kind == "major" and c.subject:  # one event's 要情专报 names it, as the 专报 does
        title = f"关于“{clip(c.subject, 30)}”的{c.title}"
    return OfficialDocument(
        series=c.title, issuer=c.bureau, title=title, issued_at=end, blocks=blocks, copy_no=copy_no,
        secrecy=profile.documents.secrecy, number=number, cc=list(profile.documents.cc),
        printer=profile.documents.printer or f"{c.bureau}办公室", printed_at=end, timezone=tz,
        urgency="加急" if c.kind == "major" else "")
