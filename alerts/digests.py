"""领导简报 (leadership digests): 舆情日报 at the profile's times, 要情专报 when an event
reaches 重大. Each is archived (a Digest row, its DOCX and chart under data_dir/digests) and
delivered to ``profile.digests`` channels and recipients: an HTML e-mail with the chart inline
and the DOCX and its PDF attached; IM channels get the text, split to their size limits.

Idempotent: the Digest row's unique ``key`` (``daily:2026-11-21@08:30``,
``major:<event id>:<level>``) is written in the same transaction as its deliveries, so a
digest is made and sent once however often the periodic job runs.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yuqing.documents.charts import spread_chart
from yuqing.documents.dates import cn_datetime, cn_short, cn_short_span
from yuqing.documents.issued import attachments, write_files
from yuqing.documents.register import issue
from yuqing.documents.wording import clip
from yuqing.levels import Level
from yuqing.models import Digest, Event, Item, Source, Ticket, TicketState
from yuqing.runtime import Runtime
from yuqing.sanitise import link_target, plain

from .delivery import create_delivery, make_key
from .digest_content import Content, Link, gather, item_heading, major_line, overdue_words, overview
from .digest_docx import compose, period_line

log = logging.getLogger(__name__)
TITLES = {"daily": "舆情日报", "major": "要情专报"}


def render_text(c: Content, tz: str) -> str:
    """The digest as plain text (the mail's plain part, WeCom, DingTalk): no Markdown syntax."""
    lines = [period_line(c, tz)]
    if c.quiet:
        return "\n".join([*lines, "本期无重要舆情。", f"本期共监测相关信息 {c.total_items} 条。"])
    lines.append(overview(c))
    numerals = iter("一二三四")
    if c.escalated:
        lines.append(f"{next(numerals)}、升级预警事件")
        for n, e in enumerate(c.escalated, 1):
            lines.append(f"{n}.{plain(item_heading(e.level, e.title))}：{plain(e.text)}")
            lines += [f"   依据：{plain(link.title)} {link_target(link.url)}" for link in e.links]
    if c.major_events:
        lines.append(f"{next(numerals)}、重大及以上舆情事件")
        for n, m in enumerate(c.major_events, 1):
            lines.append(f"{n}.{plain(major_line(m))}")
            lines += [f"   依据：{plain(link.title)} {link_target(link.url)}" for link in m.links]
    if c.tickets:
        lines.append(f"{next(numerals)}、未关闭工单及回应时限")
        for n, t in enumerate(c.tickets, 1):
            clocks = "；".join(f"{k.label}{cn_short(k.due_at, tz)}到期，{k.state}" for k in t.clocks)
            lines.append(f"{n}.{plain(item_heading(t.level, t.title))}（{t.state}，{t.section}）：{clocks}")
            lines += [f"   依据：{plain(link.title)} {link_target(link.url)}" for link in t.links]
    if c.breaches:
        lines.append(f"{next(numerals)}、超时事项")
        lines += [f"{n}.{plain(item_heading(t.level, t.title))}：{overdue_words(t)}" for n, t in enumerate(c.breaches, 1)]
    return "\n".join(lines)


def render_html(c: Content, tz: str, chart_name: str, page_url: str = "") -> str:
    """The digest as the mail's HTML part: the same sections, every item a working link."""
    esc = html_lib.escape

    def a(link: Link) -> str:
        # Only the item's own http(s) source; crawled text is escaped, never markup.
        return f'<a href="{esc(link_target(link.url))}">{esc(clip(link.title, 40))}</a>'

    body = [f"<p>{esc(period_line(c, tz))}</p>"]
    if chart_name:
        body.append(f'<p><img src="cid:{chart_name}" alt="传播走势" width="640"></p>')
    if c.quiet:
        body += ["<p><b>本期无重要舆情。</b></p>", f"<p>本期共监测相关信息 {c.total_items} 条。</p>"]
    else:
        body.append(f"<p>{esc(overview(c))}</p>")
    if c.escalated:
        body.append("<h3>升级预警事件</h3>")
        for e in c.escalated:
            body.append(f"<p>{esc(item_heading(e.level, e.title))}：{esc(e.text)}</p>")
            body += [f'<p style="margin-left:2em">依据：{a(link)}</p>' for link in e.links]
    if c.major_events:
        body.append("<h3>重大及以上舆情事件</h3>")
        for m in c.major_events:
            body.append(f"<p>{esc(major_line(m))}</p>")
            body += [f'<p style="margin-left:2em">依据：{a(link)}</p>' for link in m.links]
    if c.tickets:
        body.append("<h3>未关闭工单及回应时限</h3>")
        for t in c.tickets:
            clocks = "；".join(f"{k.label}{cn_short(k.due_at, tz)}到期，{k.state}" for k in t.clocks)
            body.append(f"<p>{esc(item_heading(t.level, t.title))}（{esc(t.state)}，{esc(t.section)}）：{esc(clocks)}</p>")
            body += [f'<p style="margin-left:2em">依据：{a(link)}</p>' for link in t.links]
    if c.breaches:
        body.append("<h3>超时事项</h3>")
        body += [f'<p style="color:#c00000">{esc(item_heading(t.level, t.title))}：{esc(overdue_words(t))}</p>'
                 for t in c.breaches]
    if page_url:
        body.append(f'<p><a href="{esc(page_url)}">在系统中查看</a></p>')
    return ('<html><body style="font-family:FangSong,SimSun,serif">'
            f'<p style="font-weight:bold">内部资料　注意保存</p>'
            f'<h1 style="color:#c00000;text-align:center">{esc(c.bureau)}{esc(c.title)}</h1>'
            f'<hr style="border:1px solid #c00000">{"".join(body)}</body></html>')


def monitoring_began(s: Session) -> datetime | None:
    """When monitoring began: the first source's creation (a 日报 must not cover time before it)."""
    return s.scalar(select(func.min(Source.created_at)))


def _targets(rt: Runtime) -> list[tuple[str, str]]:
    d = rt.profile.digests
    out: list[tuple[str, str]] = [(c.type, c.to) for c in d.channels]
    out += [("email", r.email) for r in d.recipients if r.email and ("email", r.email) not in out]
    return out


def publish(rt: Runtime, *, kind: str, key: str, title: str, start: datetime, end: datetime,  # noqa: PLR0913
            event_ids: list[int] | None = None, note: str = "") -> str | None:
    """Make, archive and deliver one digest; None if ``key`` was already made. ``note`` is said
    after the 统计时段 (when monitoring began inside the period)."""
    tz = rt.settings.timezone
    folder = Path(rt.settings.data_dir) / "digests" / re.sub(r"[^A-Za-z0-9_.@-]", "_", key)
    with rt.session() as s:
        if s.scalar(select(Digest.id).where(Digest.key == key)) is not None:
            return None
        content = gather(s, kind=kind, title=title, bureau=rt.profile.bureau.name, start=start, end=end,
                         tz=tz, event_ids=event_ids)
        content.note = note
        chart_name = ""
        if not content.quiet:
            chart = folder / "trend.png"
            chart.parent.mkdir(parents=True, exist_ok=True)
            chart.write_bytes(spread_chart(content.volume, f"{title}传播走势（每小时信息条数）"))
            content.chart_path, chart_name = str(chart), chart.name
        record = issue(s, series=title, kind=kind, now=end, tz=tz, title=title)
        doc = compose(content, rt.profile, tz, number=record.number, copy_no=record.id)
        docx = folder / doc.file_name(record.year, "docx")
        record.path = str(docx)
        files = attachments(docx) + ([Path(content.chart_path)] if content.chart_path else [])
        text = render_text(content, tz)
        page = f"{rt.settings.base_url.rstrip('/')}/events/{event_ids[0]}" if event_ids and len(event_ids) == 1 else ""
        html = render_html(content, tz, chart_name, page)
        subject = f"【{title}】{rt.profile.bureau.name} {cn_short_span(start, end, tz)}"
        digest = Digest(kind=kind, key=key, title=title, period_start=start, period_end=end,
                        created_at=rt.now(), quiet=content.quiet, html=html, docx_path=str(docx),
                        event_ids=content.event_ids)
        try:
            with s.begin_nested():
                s.add(digest)
        except IntegrityError:
            s.delete(record)  # another worker made this digest: its number goes back
            return None
        write_files(s, doc, docx)  # the DOCX now, its PDF twin once this commits
        for channel, to in _targets(rt):
            create_delivery(s, purpose="digest", channel=channel, target=to, subject=subject, body=text,
                            html=html if channel == "email" else "",
                            attachments=files if channel == "email" else (),
                            ref_type="digest", ref_id=digest.id, key=make_key("digest", key, channel, to))
    log.info("digest %s made (%s)", key, "quiet" if content.quiet else f"{len(content.event_ids)} events")
    return key


def period_start(rt: Runtime, at: datetime) -> datetime | None:
    """The start of the digest schedule's period holding ``at``: the latest 日报 slot
    (``digests.daily_at``) at or before it, today's or yesterday's; None without a schedule."""
    zone = ZoneInfo(rt.settings.timezone)
    when = at.astimezone(zone)
    slots = [time.fromisoformat(t) for t in rt.profile.digests.daily_at]
    past = [datetime.combine(when.date() - timedelta(days=back), t, zone) for back in (0, 1) for t in slots]
    return max((p for p in past if p <= when), default=None)


def due_slot(rt: Runtime) -> tuple[datetime, datetime, str] | None:
    """The latest daily slot that has come today: (period start, slot, key)."""
    zone = ZoneInfo(rt.settings.timezone)
    now = rt.now().astimezone(zone)
    slots = sorted(time.fromisoformat(t) for t in rt.profile.digests.daily_at)
    if not slots:
        return None
    today = [datetime.combine(now.date(), t, zone) for t in slots]
    past = [s for s in today if s <= now]
    if not past:
        return None
    slot = past[-1]
    previous = today[len(past) - 2] if len(past) > 1 else datetime.combine(
        now.date() - timedelta(days=1), slots[-1], zone)
    return previous, slot, f"daily:{slot:%Y-%m-%d@%H:%M}"


def send_due(rt: Runtime) -> list[str]:
    due = due_slot(rt)
    if due is None:
        return []
    start, slot, key = due
    with rt.session() as s:
        began = monitoring_began(s)
    if began is None or began > start:
        log.info("digest %s skipped: monitoring began %s, after the period's start", key, began)
        return []
    made = publish(rt, kind="daily", key=key, title=TITLES["daily"], start=start, end=slot)
    return [made] if made else []


def send_daily_now(rt: Runtime) -> str | None:
    """A 舆情日报 for the last 24 hours, now (``yuqing digest send --now``)."""
    end = rt.now()
    return publish(rt, kind="daily", key=f"daily:manual:{end:%Y-%m-%dT%H:%M:%S}", title=TITLES["daily"],
                   start=end - timedelta(days=1), end=end)


def send_major(rt: Runtime, event_id: int) -> str | None:
    """要情专报 for one event at its current level (once per event and level).

    Its period is the digest schedule's: from the last 日报 slot (or, if earlier, when the
    system fetched the event's first item) to now, as the 日报 frames the day. The dates crawled
    pages claim (``first_published_at``) never start it: one page with a false old date made
    an official document's period years long, while the 专报 counts what was fetched in it. Neither monitoring's start nor the event's
    first detection starts it: either would make a period of minutes (the demo's was one), shorter
    than the schedule, as the 日报 never is. Monitoring that began inside the period is said.
    """
    end = rt.now()
    with rt.session() as s:
        event = s.get(Event, event_id)
        if event is None or not Level.parse(event.level).is_major:
            return None
        if ticket_lags(s, event):
            log.info("要情专报 of event %s waits for its ticket to follow the event (the tickets' job sends it)", event_id)
            return None
        level, began = event.level, monitoring_began(s)
        first = s.scalar(select(func.min(Item.fetched_at)).where(Item.event_id == event_id)) or event.first_seen_at
        start = min(period_start(rt, end) or end - timedelta(days=1), first)
    note = f"系统自{cn_datetime(began, rt.settings.timezone)}起监测" if began and began > start else ""
    return publish(rt, kind="major", key=major_key(event_id, level), title=TITLES["major"],
                   start=start, end=end, event_ids=[event_id], note=note)


def major_key(event_id: int, level: str) -> str:
    """The 要情专报's key: one per event and level."""
    return f"major:{event_id}:{level}"


def major_made(s: Session, event_id: int, level: str) -> bool:
    """The event's 要情专报 at ``level`` was already made."""
    return s.scalar(select(Digest.id).where(Digest.key == major_key(event_id, level))) is not None


def ticket_lags(s: Session, event: Event) -> bool:
    """The event's open ticket is still below the event's level: the tickets' job has not yet
    raised it (and added the 5 h and 24 h clocks), and queues the 要情专报 itself when it has."""
    ticket = s.scalar(select(Ticket).where(Ticket.event_id == event.id))
    return (ticket is not None and ticket.state != TicketState.CLOSED
            and Level.parse(ticket.level) < Level.parse(event.level))


def send_major_now(rt: Runtime) -> str | None:
    """要情专报 of every 重大/特别重大 event seen in the last 24 hours (``--kind major --now``)."""
    end = rt.now()
    with rt.session() as s:
        ids = list(s.scalars(select(Event.id).where(Event.level.in_([Level.MAJOR.value, Level.GRAVE.value]),
                                                    Event.last_seen_at >= end - timedelta(days=1),
                                                    Event.merged_into.is_(None))))
    return publish(rt, kind="major", key=f"major:manual:{end:%Y-%m-%dT%H:%M:%S}", title=TITLES["major"],
                   start=end - timedelta(days=1), end=end, event_ids=ids)
