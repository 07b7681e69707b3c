"""事后回应报告 (post-event response report): HTML, DOCX and PDF with Chinese text and charts.

Built from the store when a ticket closes (the job :func:`generate_report`, enqueued by
``yuqing.queue.tickets.close``) and on demand from the ticket page.

* Charts: matplotlib (Agg) PNGs drawn with the Noto CJK font (Debian ``fonts-noto-cjk``),
  embedded as data: images in the HTML and as pictures in the DOCX.
* PDF: Debian's headless Chromium prints the very same HTML (``--print-to-pdf``). Chromium
  shapes and embeds the CJK font itself; the pure-Python options fall short here (reportlab
  cannot embed Noto CJK's CFF outlines, fpdf2 cannot read the .ttc collection Debian ships),
  and one HTML source for both formats means they never drift apart.
"""

from __future__ import annotations

import base64
import io
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from yuqing.exceptions import YuqingError
from yuqing.models import (
    Alert,
    Deadline,
    Event,
    Item,
    Referral,
    ReferralNote,
    Ticket,
    TicketChange,
    TicketState,
)
from yuqing.runtime import Runtime, get_runtime

from .queries import event_stats, key_posts
from .templating import deadline_label, duration, make_templates, state_label
from .timeline import Entry, event_timeline

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "WenQuanYi Zen Hei"]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer"]


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
    charts: dict[str, bytes] = field(default_factory=dict)


def collect(rt: Runtime, ticket_id: int) -> ReportData:
    from yuqing.clock import fmt

    tz = rt.settings.timezone
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
            summary=_summary(ticket, event, alert, tz), deadlines=[_deadline(d, tz) for d in deadlines],
            stats=event_stats(s, event.id, tz), posts=key_posts(s, event.id, 10),
            referrals=[{"name": r.department_name, "status": r.status, "route": r.route,
                        "sent": fmt(r.sent_at, tz), "acknowledged": fmt(r.acknowledged_at, tz),
                        "by": r.acknowledged_by, "suggestion": r.suggestion,
                        "notes": [f"{fmt(n.at, tz)} {n.by}：{n.text}" for n in notes[r.id]]} for r in refs],
            outcome=(close.reason if close and close.reason else
                     ("工单已关闭" if ticket.state == TicketState.CLOSED else f"工单尚未关闭（{state_label(ticket.state)}）")),
            generated_at=rt.now())
    data.charts = draw_charts(data.stats)
    return data


def _summary(ticket: Ticket, event: Event, alert: Alert | None, tz: str) -> list[tuple[str, str]]:
    from yuqing.clock import fmt

    lag = (event.first_seen_at - event.first_published_at) if event.first_published_at else None
    first = ticket.responses[0].responded_at if ticket.responses else None
    return [
        ("事件", event.title), ("等级", ticket.level), ("工单状态", state_label(ticket.state)),
        ("回应主体", ticket.section_name or "未分派"), ("责任人", ticket.assignee or "—"),
        ("帖文总数", f"{event.item_count}（去重后 {event.unique_count}，信源 {event.source_count} 个）"),
        ("首条发布", fmt(event.first_published_at, tz) or "—"),
        ("系统发现", f"{fmt(event.first_seen_at, tz)}（发现滞后 {duration(lag) if lag is not None else '—'}）"),
        ("发出预警", fmt(alert.created_at, tz) if alert else "—"),
        ("开立工单", fmt(ticket.opened_at, tz)),
        ("首次回应", f"{fmt(first, tz)}（距发现 {duration(first - ticket.detected_at)}）" if first else "尚无回应"),
        ("关闭", fmt(ticket.closed_at, tz) or "—"),
    ]


def _deadline(d: Deadline, tz: str) -> dict[str, str]:
    from yuqing.clock import fmt

    if d.cancelled_at:
        verdict = "已取消"
    elif d.met_at is None:
        verdict = "未完成"
    elif d.met_at <= d.due_at:
        verdict = f"按时（提前 {duration(d.due_at - d.met_at)}）"
    else:
        verdict = f"超时 {duration(d.met_at - d.due_at)}"
    name = deadline_label(d.kind) + (f" 第 {d.seq} 次" if d.seq else "")
    return {"kind": name, "due": fmt(d.due_at, tz), "met": fmt(d.met_at, tz) or "—", "verdict": verdict}


def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = CJK_FONTS + ["DejaVu Sans"]
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def draw_charts(stats: dict[str, Any]) -> dict[str, bytes]:
    """Volume curve, emotion trend, sources and places as PNG bytes."""
    plt = _pyplot()
    out: dict[str, bytes] = {}
    hours = stats["hours"] or ["—"]
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
    templates = make_templates(rt.settings.timezone)
    charts = {k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in data.charts.items()}
    return templates.env.get_template("report.html").render(
        d=data, charts=charts, bureau=rt.profile.bureau.name)


def render_docx(rt: Runtime, data: ReportData) -> bytes:
    from .report_docx import build_docx

    return build_docx(rt, data)


def chromium_path() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    raise ReportError("未找到 chromium，无法生成 PDF 报告")


def render_pdf(rt: Runtime, data: ReportData) -> bytes:
    html = render_html(rt, data)
    with tempfile.TemporaryDirectory(prefix="yuqing-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        pdf = Path(tmp) / "report.pdf"
        cmd = [chromium_path(), *CHROMIUM_ARGS, f"--user-data-dir={tmp}/profile",
               f"--print-to-pdf={pdf}", page.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise ReportError("chromium 生成 PDF 超时（120 秒）") from None
        if not pdf.exists() or pdf.stat().st_size == 0:
            raise ReportError(f"chromium 未能生成 PDF（退出码 {proc.returncode}）: "
                              f"{proc.stderr.decode('utf-8', 'replace')[-300:]}")
        return pdf.read_bytes()


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
