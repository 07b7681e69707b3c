"""事后回应报告 (post-event response report): HTML, DOCX and PDF with Chinese text and charts.

Built from the store when a ticket closes (the job :func:`generate_report`, enqueued by
``yuqing.queue.tickets.close``) and on demand from the ticket page.

Gathered here into :class:`ReportData`, laid out by :mod:`.report_doc` as a 公文 record that the
core's renderer turns into DOCX, HTML and PDF (Chromium printing that HTML), so the three never
drift apart. Charts: matplotlib through :mod:`yuqing.documents.charts` (the CJK font set-up).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from yuqing.documents.account import EventAccount, event_account, key_posts
from yuqing.documents.charts import pyplot
from yuqing.documents.dates import clock_state, clock_words, cn_short, spoken
from yuqing.documents.docx_writer import write_docx
from yuqing.documents.html_writer import to_html
from yuqing.documents.pdf import PdfError, html_to_pdf
from yuqing.exceptions import YuqingError
from yuqing.models import (
    Alert,
    Deadline,
    DeadlineKind,
    Event,
    Item,
    Referral,
    ReferralNote,
    Ticket,
    TicketChange,
    TicketResponse,
    TicketState,
    User,
)
from yuqing.profile import Documents
from yuqing.runtime import Runtime, get_runtime

from .evidence import Capture, first_captures
from .queries import event_stats
from .report_doc import compose
from .templating import deadline_label, state_label
from .timeline import Entry, event_timeline

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

ROLE_NAMES = {"system": "系统", "seed": "系统", "monitor": "值班监测员"}


class ReportError(YuqingError):
    """A report cannot be built (missing ticket, no Chromium for the PDF ...)."""

    hint = "PDF 需要 Debian 的 chromium 与 fonts-noto-cjk：apt-get install chromium fonts-noto-cjk"


@dataclass
class ReportData:
    ticket: Ticket
    event: Event
    summary: list[tuple[str, str]]
    timeline: list[Entry]
    deadlines: list[dict[str, str]]
    stats: dict[str, Any]
    posts: list[Item]
    referrals: list[dict[str, Any]]
    outcome: str
    generated_at: Any
    account: EventAccount
    responses: list[dict[str, Any]] = field(default_factory=list)
    calm: list[str] = field(default_factory=list)
    lag: str = ""
    people: dict[str, str] = field(default_factory=dict)
    charts: dict[str, bytes] = field(default_factory=dict)
    captures: dict[int, Capture] = field(default_factory=dict)  # 原文快照 of the key posts, by item id

    def person(self, by: str) -> str:
        """A login as the reader knows the person (display name), never a bare account key."""
        return self.people.get(by) or ROLE_NAMES.get(by, by)

    @staticmethod
    def label(hour: str) -> str:
        """``12-01 14:00`` (a stats hour) as ``12月1日14时``."""
        month, rest = hour.split("-", 1)
        day, clock = rest.split(" ", 1)
        return f"{int(month)}月{int(day)}日{int(clock[:2])}时"


def collect(rt: Runtime, ticket_id: int) -> ReportData:
    tz = rt.settings.timezone
    fmt = cn_short
    with rt.session() as s:
        ticket = s.get(Ticket, ticket_id)
        if ticket is None:
            raise ReportError(f"工单 {ticket_id} 不存在，无法生成报告",
                              hint="运行 `yuqing tickets list` 查看工单编号。")
        event = s.get(Event, ticket.event_id)
        assert event is not None  # a ticket's event goes only with the ticket (foreign key)
        alert = s.scalar(select(Alert).where(Alert.event_id == event.id))
        deadlines = list(s.scalars(select(Deadline).where(Deadline.ticket_id == ticket_id).order_by(Deadline.due_at)))
        close = s.scalar(select(TicketChange).where(TicketChange.ticket_id == ticket_id,
                                                    TicketChange.to_state == TicketState.CLOSED)
                         .order_by(TicketChange.id.desc()))
        refs = list(s.scalars(select(Referral).where(Referral.event_id == event.id).order_by(Referral.created_at)))
        notes = {r.id: list(s.scalars(select(ReferralNote).where(ReferralNote.referral_id == r.id))) for r in refs}
        data = ReportData(
            ticket=ticket, event=event, timeline=event_timeline(s, event, ticket),
            summary=_summary(ticket, event, alert, tz), deadlines=[_deadline(d, tz, rt.now()) for d in deadlines],
            stats=event_stats(s, event.id, tz), posts=key_posts(s, event.id),
            referrals=[{"name": r.department_name, "status": r.status, "route": r.route,
                        "sent": fmt(r.sent_at, tz), "acknowledged": fmt(r.acknowledged_at, tz),
                        "by": r.acknowledged_by, "suggestion": r.suggestion, "sent_at": r.sent_at,
                        "notes": [f"{fmt(n.at, tz)} {n.by}：{n.text}" for n in notes[r.id]]} for r in refs],
            outcome=(close.reason if close and close.reason else
                     ("工单已关闭" if ticket.state == TicketState.CLOSED else f"工单尚未关闭（{state_label(ticket.state)}）")),
            generated_at=rt.now(), account=event_account(s, event.id),
            responses=_responses(s, ticket_id), calm=_calm(s, event.id, ticket_id, tz, rt.profile.documents),
            lag=spoken(event.first_seen_at - event.first_published_at) if event.first_published_at else "",
            people=dict(s.execute(select(User.username, User.display_name)).all()))
        data.captures = first_captures(s, [p.id for p in data.posts])
    data.charts = draw_charts(data.stats)
    return data


def _responses(s: Any, ticket_id: int) -> list[dict[str, Any]]:
    out = []
    for r in s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == ticket_id)
                       .order_by(TicketResponse.responded_at)):
        kind = DeadlineKind(r.kind).label if r.kind in DeadlineKind._value2member_map_ else "回应"
        out.append({"at": r.responded_at, "kind": kind, "channel": r.channel, "text": r.text, "link": r.link})
    return out


def _calm(s: Any, event_id: int, ticket_id: int, tz: str, rules: Documents) -> list[str]:
    """舆情平复: for each response, items and negative share in the hours before and after it
    (``documents.calm_hours``; negative from ``documents.calm_negative``)."""
    window = timedelta(hours=rules.calm_hours)
    rows = [(p or f, e) for p, f, e in s.execute(select(Item.published_at, Item.fetched_at, Item.emotion)
                                                  .where(Item.event_id == event_id)).all()]
    out = []
    hours = f"{rules.calm_hours:g}"
    for at, channel in s.execute(select(TicketResponse.responded_at, TicketResponse.channel)
                                 .where(TicketResponse.ticket_id == ticket_id).order_by(TicketResponse.responded_at)):
        before = [e for t, e in rows if at - window <= t < at]
        after = [e for t, e in rows if at <= t < at + window]
        out.append(f"{cn_short(at, tz)}通过{channel}回应：回应前 {hours} 小时{_window(before, rules.calm_negative)}；"
                   f"回应后 {hours} 小时{_window(after, rules.calm_negative)}。")
    return out


def _window(emotions: list[float | None], threshold: float) -> str:
    """One side of a response: its items and their negative share, or that nothing came (a
    share of nothing read "0 条、负面占比 无法统计")."""
    if not emotions:
        return "无新增相关信息"
    known = [v for v in emotions if v is not None]
    if not known:
        return f"相关信息 {len(emotions)} 条（情绪未能判断）"
    return f"相关信息 {len(emotions)} 条、负面占比 {round(100 * sum(v >= threshold for v in known) / len(known))}%"


def _summary(ticket: Ticket, event: Event, alert: Alert | None, tz: str) -> list[tuple[str, str]]:
    fmt = cn_short
    lag = (event.first_seen_at - event.first_published_at) if event.first_published_at else None
    first = ticket.responses[0].responded_at if ticket.responses else None
    return [
        ("等级", ticket.level), ("工单状态", state_label(ticket.state)),
        ("回应主体", ticket.section_name or "未分派"), ("责任人", ticket.assignee or "—"),
        ("帖文总数", f"{event.item_count} 条（去重后 {event.unique_count} 条，信源 {event.source_count} 个）"),
        ("首条发布", fmt(event.first_published_at, tz) or "—"),
        ("系统发现", f"{fmt(event.first_seen_at, tz)}（发现滞后 {spoken(lag) if lag is not None else '—'}）"),
        ("发出预警", fmt(alert.created_at, tz) if alert else "—"),
        ("开立工单", fmt(ticket.opened_at, tz)),
        ("首次回应", f"{fmt(first, tz)}（距发现 {spoken(first - ticket.detected_at)}）" if first else "尚无回应"),
        ("关闭", fmt(ticket.closed_at, tz) or "—"),
    ]


def _deadline(d: Deadline, tz: str, now: datetime) -> dict[str, str]:
    """One clock as the report tells it: its name, due time and the one wording of its state
    (:func:`yuqing.documents.dates.clock_words`); ``state`` is what 经验与不足 sorts by."""
    name = deadline_label(d.kind) + (f"（第 {d.seq} 次）" if d.seq else "")
    return {"kind": name, "due": cn_short(d.due_at, tz),
            "state": clock_state(d.due_at, d.met_at, now, d.cancelled_at).value,
            "verdict": clock_words(d.due_at, d.met_at, now, tz, cancelled_at=d.cancelled_at)}


def draw_charts(stats: dict[str, Any]) -> dict[str, bytes]:
    """Volume curve, emotion trend, sources and places as PNG bytes."""
    plt = pyplot()
    out: dict[str, bytes] = {}
    hours = [ReportData.label(h) for h in stats["hours"]] or ["—"]
    ticks = max(1, len(hours) // 8)

    def save(fig: Figure, name: str) -> None:
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        out[name] = buf.getvalue()

    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    ax.plot(hours, stats["volume"] or [0], color="#2f6fb0", marker="o", markersize=3)
    ax.set_title("声量曲线（每小时帖文数）")
    ax.set_xticks(range(0, len(hours), ticks), [hours[i] for i in range(0, len(hours), ticks)], rotation=30, fontsize=7)
    save(fig, "volume")

    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    emotion = [v if v is not None else float("nan") for v in stats["emotion"]] or [0]
    ax.plot(hours, emotion, color="#c0392b", marker="o", markersize=3)
    ax.set_ylim(0, 1)
    ax.set_title("负面情绪走势（0–1）")
    ax.set_xticks(range(0, len(hours), ticks), [hours[i] for i in range(0, len(hours), ticks)], rotation=30, fontsize=7)
    save(fig, "emotion")

    fig, (left, right) = plt.subplots(1, 2, figsize=(7.5, 3.0))
    for ax, pairs, title in ((left, stats["sources"], "主要信源"), (right, stats["places"], "涉及地点")):
        names = [n for n, _ in pairs][::-1] or ["无"]
        counts = [c for _, c in pairs][::-1] or [0]
        ax.barh(names, counts, color="#5b8c5a")
        ax.set_title(title)
        ax.tick_params(labelsize=8)
    save(fig, "sources")
    return out


def render_html(rt: Runtime, data: ReportData) -> str:
    """The report as one HTML page: the same 公文 as the DOCX, for the browser and for the PDF."""
    return to_html(compose(rt, data))


def render_docx(rt: Runtime, data: ReportData) -> bytes:
    return write_docx(compose(rt, data))


def render_pdf(rt: Runtime, data: ReportData) -> bytes:
    try:
        return html_to_pdf(render_html(rt, data))
    except PdfError as exc:
        raise ReportError(str(exc)) from None


def report_folder(rt: Runtime, ticket_id: int) -> Path:
    return rt.settings.data_dir / "reports" / f"ticket-{ticket_id}"


def generate_report(ticket_id: int) -> list[str]:
    """Job (RQ, queue ``respond``): write the report of a ticket as HTML, DOCX and PDF files."""
    rt = get_runtime()
    data = collect(rt, ticket_id)
    folder = report_folder(rt, ticket_id)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, body in (("html", render_html(rt, data).encode("utf-8")), ("docx", render_docx(rt, data)),
                      ("pdf", render_pdf(rt, data))):
        path = folder / f"事后回应报告-工单{ticket_id}.{ext}"
        path.write_bytes(body)
        paths.append(str(path))
    log.info("report for ticket %s written to %s", ticket_id, folder)
    return paths
