"""半年、全年回应关切统计 (泽州 plan §5.2: submitted by 7月10日 and 1月10日): the period's events
by level, category, place and source tier; on-time rates of the 48 h, 5 h and 24 h clocks; time
to first response (median, p90); detection lag (p50, p95); 持续发布; referrals and
acknowledgement by department; the top events; and the 回应关切 index from ticket data with the
weights stated in the document (set in the profile: ``documents.index_weights``).
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.alerts.delivery import create_delivery, make_key
from yuqing.documents import Heading, OfficialDocument, Paragraph, Table
from yuqing.documents.account import national_category, tier_label
from yuqing.documents.dates import cn_date, cn_hours
from yuqing.documents.docx_writer import write_docx
from yuqing.documents.issued import write_whole
from yuqing.documents.pdf import PdfError, write_pdf
from yuqing.documents.register import content_fingerprint, issue_once
from yuqing.documents.wording import clip
from yuqing.levels import Level
from yuqing.models import (
    Deadline,
    DeadlineKind,
    Delivery,
    Event,
    IssuedDocument,
    Item,
    Referral,
    Ticket,
    TicketResponse,
)
from yuqing.profile import Documents
from yuqing.runtime import Runtime, get_runtime

from .reports import ReportError

log = logging.getLogger(__name__)

SERIES = "回应关切统计"
INDEX_LABELS = {"timeliness": "时效", "follow_up": "持续发布", "pertinence": "内容针对性", "subject_level": "主体层级",
                "form": "形式（发布会/权威发布）", "coordination": "宣传网信协同", "calming": "舆论平复"}
CLOCKS = (DeadlineKind.FIRST_RESPONSE, DeadlineKind.AUTHORITATIVE_INFO, DeadlineKind.PRESS_CONFERENCE)


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def hours_text(value: float | None) -> str:
    return cn_hours(value) if value is not None else "无数据"


@dataclass
class PeriodStats:
    start: datetime
    end: datetime
    events: int = 0
    by_level: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    by_place: Counter[str] = field(default_factory=Counter)
    by_tier: Counter[str] = field(default_factory=Counter)
    on_time: dict[str, tuple[int, int]] = field(default_factory=dict)  # clock label → (on time, due)
    first_response: list[float] = field(default_factory=list)  # hours from detection
    detection_lag: list[float] = field(default_factory=list)   # hours from first publication
    follow_ups: int = 0
    tickets_followed: int = 0
    referrals: dict[str, list[float | None]] = field(default_factory=dict)  # department → ack hours
    top: list[tuple[str, str, int]] = field(default_factory=list)  # (title, level, items)
    index: dict[str, float] = field(default_factory=dict)  # component → 0..1
    tickets: int = 0


def _ticket_components(s: Session, t: Ticket, now: datetime, rules: Documents) -> dict[str, float]:
    """Each index component of one ticket, 0..1 (the rules are stated in the document)."""
    level = Level.parse(t.level)
    deadlines = list(s.scalars(select(Deadline).where(Deadline.ticket_id == t.id, Deadline.cancelled_at.is_(None))))
    due = [d for d in deadlines if d.due_at <= now or d.met_at]
    on_time = [d for d in due if d.met_at and d.met_at <= d.due_at]
    responses = list(s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == t.id)
                               .order_by(TicketResponse.responded_at)))
    follow = [r for r in responses if r.kind == DeadlineKind.FOLLOW_UP]
    refs = list(s.scalars(select(Referral).where(Referral.event_id == t.event_id)))
    acked = [r for r in refs if r.acknowledged_at]
    form = 1.0 if any(r.kind == DeadlineKind.PRESS_CONFERENCE or "发布会" in r.channel or "权威发布" in r.channel
                      for r in responses) else (0.5 if responses else 0.0)
    return {
        "timeliness": len(on_time) / len(due) if due else 1.0,
        "follow_up": (1.0 if follow else 0.0) if level.is_major else 1.0,
        "pertinence": sum(1 for r in responses if len(r.text.strip()) >= 20) / len(responses) if responses else 0.0,
        "subject_level": (1.0 if t.lead_leader else 0.5) if level == Level.GRAVE else (1.0 if t.section_key else 0.5),
        "form": form if level.is_major else (1.0 if responses else 0.0),
        "coordination": (len(acked) / len(refs) if refs else 0.0) if level.is_major else 1.0,
        "calming": _calmed(s, t, responses[0].responded_at, rules) if responses else 0.0,
    }


def _calmed(s: Session, t: Ticket, at: datetime, rules: Documents) -> float:
    """1 when the negative share did not rise in ``documents.calm_hours`` after the first response."""
    rows = s.execute(select(Item.published_at, Item.fetched_at, Item.emotion).where(Item.event_id == t.event_id)).all()
    window = timedelta(hours=rules.calm_hours)

    def share(lo: datetime, hi: datetime) -> float | None:
        values = [e for p, f, e in rows if e is not None and lo <= (p or f) < hi]
        return sum(v >= rules.calm_negative for v in values) / len(values) if values else None

    before, after = share(at - window, at), share(at, at + window)
    if before is None:
        return 1.0
    return 1.0 if after is None or after <= before else 0.0


def gather(rt: Runtime, first: date, last: date) -> PeriodStats:
    """The statistics of events first detected from ``first`` to ``last`` (local dates, inclusive)."""
    zone = ZoneInfo(rt.settings.timezone)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    st = PeriodStats(start=start, end=end)
    now = rt.now()
    components: dict[str, list[float]] = defaultdict(list)
    clocks: dict[str, list[int]] = {k.label: [0, 0] for k in CLOCKS}
    # One row per department, named as the profile names it now: a referral keeps the name it
    # was sent under, so a renamed department (县委宣传部 → 中共泽州县委宣传部) made two rows.
    names = {d.key: d.name for d in rt.profile.departments}
    with rt.session() as s:
        events = list(s.scalars(select(Event).where(Event.first_seen_at >= start, Event.first_seen_at < end,
                                                    Event.merged_into.is_(None))))  # counted in its kept event
        tickets = {t.event_id: t for t in s.scalars(select(Ticket).where(Ticket.event_id.in_([e.id for e in events])))}
        counted = [e for e in events if e.id in tickets or Level.parse(e.level) >= Level.LARGER]
        st.events = len(counted)
        for e in counted:
            st.by_level[e.level] += 1
            st.by_category[national_category(e.title, list(e.topics or []))] += 1
            for p in e.places or []:
                if isinstance(p, dict) and p.get("name"):
                    st.by_place[str(p["name"])] += 1
            if e.first_published_at:
                st.detection_lag.append((e.first_seen_at - e.first_published_at).total_seconds() / 3600)
        ids = [e.id for e in counted]
        for tier in s.scalars(select(Item.tier).where(Item.event_id.in_(ids))):
            st.by_tier[tier_label(tier)] += 1
        st.top = [(e.title, e.level, e.item_count) for e in sorted(counted, key=lambda e: -e.item_count)[:10]]
        for t in tickets.values():
            st.tickets += 1
            for d in s.scalars(select(Deadline).where(Deadline.ticket_id == t.id, Deadline.cancelled_at.is_(None))):
                if d.kind in (k.value for k in CLOCKS) and (d.met_at or d.due_at <= now):
                    row = clocks[DeadlineKind(d.kind).label]
                    row[1] += 1
                    row[0] += bool(d.met_at and d.met_at <= d.due_at)
            first_at = s.scalar(select(TicketResponse.responded_at).where(TicketResponse.ticket_id == t.id)
                                .order_by(TicketResponse.responded_at).limit(1))
            if first_at:
                st.first_response.append((first_at - t.detected_at).total_seconds() / 3600)
            follows = len(list(s.scalars(select(TicketResponse.id).where(
                TicketResponse.ticket_id == t.id, TicketResponse.kind == DeadlineKind.FOLLOW_UP))))
            st.follow_ups += follows
            st.tickets_followed += bool(follows)
            for key, value in _ticket_components(s, t, now, rt.profile.documents).items():
                components[key].append(value)
        for r in s.scalars(select(Referral).where(Referral.event_id.in_(ids))):
            hours = ((r.acknowledged_at - r.sent_at).total_seconds() / 3600
                     if r.acknowledged_at and r.sent_at else None)
            st.referrals.setdefault(names.get(r.department_key, r.department_name), []).append(hours)
    st.on_time = {k: (v[0], v[1]) for k, v in clocks.items()}
    st.index = {k: sum(v) / len(v) for k, v in components.items()}
    return st


def index_score(st: PeriodStats, weights: dict[str, float]) -> float:
    return sum(weights.get(k, 0) * st.index.get(k, 0.0) for k in INDEX_LABELS)


# The sentences and rows the document and /leader/period share, so the page says what is issued.
def spread_text(st: PeriodStats) -> str:
    """涉及地点 … 信息来源 …: where the events were and where their items came from."""
    places = "，".join(f"{k} {n} 起" for k, n in st.by_place.most_common(8)) or "无"
    tiers = "，".join(f"{k} {n} 条" for k, n in st.by_tier.most_common()) or "无"
    return f"涉及地点：{places}。信息来源：{tiers}。"


def timeliness_text(st: PeriodStats) -> str:
    """自发现至首次回应 … 自首条信息发布至系统发现 …: the medians and the tail, in words; with
    nothing to measure, what there is not (not 「中位数 无数据，90% 的工单在 无数据内」)."""
    response = (f"自发现至首次回应：中位数 {hours_text(quantile(st.first_response, 0.5))}，"
                f"90% 的工单在 {hours_text(quantile(st.first_response, 0.9))}内。"
                if st.first_response else "本期尚无已回应的工单，无法统计回应用时。")
    lag = (f"自首条信息发布至系统发现：中位数 {hours_text(quantile(st.detection_lag, 0.5))}，"
           f"95% 的事件在 {hours_text(quantile(st.detection_lag, 0.95))}内。"
           if st.detection_lag else "本期事件均无可核实的首发时间，无法统计发现滞后。")
    return response + lag


def referral_rows(st: PeriodStats) -> list[list[str]]:
    """部门, 报送, 已签收, 签收用时（中位数） for each department."""
    rows = []
    for name, hours in sorted(st.referrals.items()):
        acked = [h for h in hours if h is not None]
        rows.append([name, str(len(hours)), str(len(acked)), hours_text(median(acked) if acked else None)])
    return rows


def compose(rt: Runtime, st: PeriodStats) -> OfficialDocument:
    tz = rt.settings.timezone
    weights = rt.profile.documents.index_weights
    calm = rt.profile.documents.calm_hours
    last_day = st.end - timedelta(days=1)
    span = f"{cn_date(st.start, tz)}至{cn_date(last_day, tz)}"

    def counts(c: Counter[str]) -> str:
        return "，".join(f"{k} {n} 起" for k, n in c.most_common()) or "无"

    rates = [[k, str(due), str(ok), f"{round(100 * ok / due)}%" if due else "无到期时限"]
             for k, (ok, due) in st.on_time.items()]
    refs = referral_rows(st)
    score = index_score(st, weights)
    blocks: list = [
        Heading("总体情况"),
        Paragraph.of(f"{span}，我局共监测处置舆情事件 {st.events} 起，开立回应工单 {st.tickets} 件。"
                     f"按等级：{counts(st.by_level)}。按国家突发公共事件分类：{counts(st.by_category)}。"),
        Paragraph.of(spread_text(st)),
        Heading("回应时效"),
        Table(["时限", "已到期", "按时完成", "按时率"], rates, [60, 30, 30, 36], caption="回应时限执行情况"),
        Paragraph.of(timeliness_text(st)),
        Paragraph.of(f"持续发布权威信息 {st.follow_ups} 次，涉及工单 {st.tickets_followed} 件。"),
        Heading("部门协同"),
        Table(["部门", "报送", "已签收", "签收用时（中位数）"], refs or [["无", "0", "0", "无数据"]], [57, 28, 28, 43],
              caption="报送与签收情况"),
        Heading("重点事件"),
        Table(["事件", "等级", "信息量"], [[clip(t, 40), lv, f"{n} 条"] for t, lv, n in st.top] or [["无", "—", "—"]],
              [100, 28, 28], caption="信息量前十的事件"),
        Heading("回应关切指数"),
        Paragraph.of(f"本期回应关切指数为 {score:.1f} 分（满分 {sum(weights.values()):g} 分）。各项权重与得分如下："),
        Table(["指标", "权重", "得分率", "得分"],
              [[label, f"{weights.get(k, 0):g}", f"{round(100 * st.index.get(k, 0.0))}%",
                f"{weights.get(k, 0) * st.index.get(k, 0.0):.1f}"] for k, label in INDEX_LABELS.items()],
              [66, 30, 30, 30], caption="回应关切指数构成"),
        Paragraph.of("计分规则：时效为到期时限的按时完成比例（无到期时限的计满分）；持续发布为重大以上事件有持续发布的比例（其他事件计满分）；"
                     "内容针对性为回应内容具体（不少于二十字）的比例；主体层级为特别重大事件由主要负责同志牵头、其他事件"
                     "明确回应科室的比例（未做到的计一半）；形式为重大以上事件召开发布会或权威发布的比例（仅有其他回应的计一半），"
                     "其他事件为有回应的比例；宣传网信协同为重大以上事件报送部门签收的比例（其他事件计满分）；"
                     f"舆论平复为首次回应后 {calm:g} 小时内负面信息占比较回应前同样时长未上升的比例。各项按工单平均后乘以权重。"),
    ]
    profile = rt.profile
    return OfficialDocument(
        series=SERIES, issuer=profile.bureau.name, title=f"{span}政务舆情回应关切情况统计报告", issued_at=rt.now(),
        blocks=blocks, secrecy=profile.documents.secrecy, signer=profile.documents.signer,
        cc=list(profile.documents.cc), printer=profile.documents.printer or f"{profile.bureau.name}办公室",
        printed_at=rt.now(), timezone=tz)


def parse_day(value: str, option: str) -> date:
    """``2026-07-01`` (or 2026年7月1日) from the command line; a clear error naming the option."""
    m = re.fullmatch(r"\s*(\d{4})(?:-|年)(\d{1,2})(?:-|月)(\d{1,2})日?\s*", value)
    try:
        if m is None:
            raise ValueError
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ReportError(f"{option} 日期无效：{value!r}，应为 2026-07-01 或 2026年7月1日 这样的日期") from None


def period_fingerprint(first: date, last: date, doc: OfficialDocument) -> str:
    """The register's fingerprint of a period's statistics: the span and what they say."""
    return f"{first}~{last}~{content_fingerprint(doc)}"


def write_period(rt: Runtime, first: date, last: date, pdf: bool = True) -> list[str]:
    """Gather, number and write the period's statistics as DOCX and (``pdf``) PDF; the paths.
    A PDF that cannot be printed is a :class:`ReportError` (the DOCX is written all the same).

    The same statistics downloaded again keep their 期号 (and 份号 and date); statistics that
    changed since (a clock fell due, a response was recorded) are a new document, numbered next.
    """
    if last < first:
        raise ReportError(f"--to（{last}）早于 --from（{first}）")
    st = gather(rt, first, last)
    doc = compose(rt, st)
    folder = rt.settings.data_dir / "reports" / f"period-{first}-{last}"
    folder.mkdir(parents=True, exist_ok=True)
    with rt.session() as s:
        # Unchanged statistics are the document already issued: its number and its date.
        record = issue_once(s, series=SERIES, kind="period", now=rt.now(), tz=rt.settings.timezone,
                            title=doc.title, fingerprint=period_fingerprint(first, last, doc))
        doc.number, doc.copy_no = record.number, record.id
        doc.issued_at = doc.printed_at = record.created_at
        docx = folder / doc.file_name(record.year, "docx")
        docx.write_bytes(write_docx(doc))
        record.path = str(docx)
    if not pdf:
        return [str(docx)]
    printed = docx.with_suffix(".pdf")
    try:
        data = write_pdf(doc)
    except PdfError as exc:
        raise ReportError(str(exc)) from None
    write_whole(printed, data)  # two downloads may race
    return [str(docx), str(printed)]


def due_period(today: date) -> tuple[date, date, str] | None:
    """The statistics due now (泽州 plan §5.2): from 1 July to 10 July the first half-year's, from
    1 January to 10 January the past year's; else None. (first day, last day, deadline)."""
    if today.month == 7 and today.day <= 10:
        return date(today.year, 1, 1), date(today.year, 6, 30), f"{today.year}年7月10日"
    if today.month == 1 and today.day <= 10:
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), f"{today.year}年1月10日"
    return None


def draft_due() -> list[str]:
    """Job (periodic): draft the half-year or annual statistics once, and remind the office to
    review and submit them by the deadline (the draft attached)."""
    rt = get_runtime()
    today = rt.now().astimezone(ZoneInfo(rt.settings.timezone)).date()
    due = due_period(today)
    if due is None:
        return []
    first, last, deadline = due
    head = rt.profile.coordinator.head
    key = make_key("period", str(first), str(last))
    with rt.session() as s:
        # Drafted once: the reminder sent, or (with nobody to remind) the span in the register.
        done = (s.scalar(select(Delivery.id).where(Delivery.idempotency_key == key)) if head.email else
                s.scalar(select(IssuedDocument.id).where(IssuedDocument.kind == "period",
                                                         IssuedDocument.fingerprint.startswith(f"{first}~{last}~"))))
    if done:
        return []
    try:
        paths = write_period(rt, first, last)
    except ReportError as exc:  # no Chromium: the office gets the DOCX rather than no reminder at all
        log.error("period %s~%s: no PDF, the draft goes as DOCX alone: %s", first, last, exc)
        paths = write_period(rt, first, last, pdf=False)
    name = "全年" if first.month == 1 and last.month == 12 else "上半年"
    subject = f"【待报送】{first.year}年{name}政务舆情回应关切情况统计（请于{deadline}前审核报送）"
    body = (f"{head.name}：\n系统已生成{first.year}年{name}政务舆情回应关切情况统计初稿（见附件），"
            f"请审核后于{deadline}前按规定报送。\n{rt.profile.bureau.name}")
    if head.email:
        with rt.session() as s:
            create_delivery(s, purpose="digest", channel="email", target=head.email, subject=subject, body=body,
                            attachments=[Path(p) for p in paths], key=key)
    return paths
