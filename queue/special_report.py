"""舆情专报 (special report, DOCX) that travels with each referral: summary, spread, key posts with
links, the bureau's assessment (研判意见) and a suggested response (处置建议)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from docx import Document
from docx.shared import Pt
from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.clock import fmt
from yuqing.levels import Category, Level, Tier
from yuqing.models import Deadline, DeadlineKind, Event, Item, Referral, Ticket
from yuqing.profile import Department, Profile

KEY_POSTS = 10
TIER_ORDER = {t.value: i for i, t in enumerate(Tier)}

SUGGESTIONS = {
    "宣传部": "请协调主流媒体及时转发权威信息，加强网上正面引导；我局将按时限发布权威信息并配合做好新闻发布。",
    "网信办": "请加强网上巡查与舆情研判，对不实信息依法依规处置，协助扩大权威信息传播。",
    "应急": "事件超出我局职责或涉及多个部门，请上级应急管理部门统筹协调相关部门共同回应。",
    "政务公开办": "请协调相关部门通过政府网站、政务新媒体及时发布权威信息，回应社会关切。",
    "公安": "疑似不实信息扰乱公共秩序，请核查信息来源，依法处置造谣传谣线索。",
    "纪检": "信息涉及对公职人员的违纪违法指控，请按程序核查处置。",
    "信访": "信息反映群众诉求与投诉，请按信访工作程序受理、转办并跟踪回复。",
    "其他": "请结合职责研判处置，并将处置情况反馈我局。",
}


def suggestion_for(department: Department, event: Event) -> str:
    """处置建议 for one department, by its kind and the event's grade."""
    text = SUGGESTIONS.get(department.kind, SUGGESTIONS["其他"])
    if Level.parse(event.level).is_major:
        text += "该事件为" + event.level + "级，须在 5 小时内发布权威信息、24 小时内举行新闻发布会（国办发〔2016〕80号、61号）。"
    return text


def _label(value: str, kind: type) -> str:
    try:
        return kind(value).label
    except ValueError:
        return value


def key_posts(s: Session, event_id: int, limit: int = KEY_POSTS) -> list[Item]:
    """Originals (not folded copies), most authoritative tier first, then the most engaged."""
    items = list(s.scalars(select(Item).where(Item.event_id == event_id, Item.duplicate_of_id.is_(None))))

    def engagement(item: Item) -> float:
        return float(sum(v for v in (item.engagement or {}).values() if isinstance(v, int | float)))

    items.sort(key=lambda i: (TIER_ORDER.get(i.tier, 99), -engagement(i) - i.duplicate_count,
                              i.published_at or i.fetched_at))
    return items[:limit]


def build(s: Session, profile: Profile, referral: Referral, ack_link: str, folder: Path, now, zone: str) -> Path:  # type: ignore[no-untyped-def]
    """Write the report for ``referral`` under ``folder`` and return its path."""
    event = s.get(Event, referral.event_id)
    assert event is not None
    department = profile.department(referral.department_key)
    doc = Document()
    style = doc.styles["Normal"]
    style.font.size = Pt(11)
    doc.add_heading("舆情专报", level=0)
    doc.add_paragraph(f"报送单位：{profile.bureau.name}　　报送时间：{fmt(now, zone)}")
    doc.add_paragraph(f"报送对象：{department.name}　　报送依据：{referral.route}")

    doc.add_heading("一、事件概要", level=1)
    doc.add_paragraph(f"事件：{event.title}")
    doc.add_paragraph(f"等级：{event.level}　　首次发现：{fmt(event.first_seen_at, zone)}"
                      + (f"　　最早发布：{fmt(event.first_published_at, zone)}" if event.first_published_at else ""))
    if event.summary:
        doc.add_paragraph(event.summary)
    places = "、".join(p.get("name", "") if isinstance(p, dict) else str(p) for p in event.places or [])
    if places:
        doc.add_paragraph(f"涉及地点：{places}")

    doc.add_heading("二、传播情况", level=1)
    tiers = Counter(s.scalars(select(Item.tier).where(Item.event_id == event.id)))
    spread = "，".join(f"{_label(t, Tier)} {n} 条" for t, n in sorted(tiers.items(), key=lambda x: TIER_ORDER.get(x[0], 99)))
    doc.add_paragraph(f"共监测到相关信息 {event.item_count} 条（去重后 {event.unique_count} 条），来自 {event.source_count} 个信源；"
                      f"近一小时 {event.velocity:g} 条，峰值每小时 {event.peak_velocity:g} 条；"
                      f"最近一条于 {fmt(event.last_seen_at, zone)}。")
    if spread:
        doc.add_paragraph(f"信源分布：{spread}。")

    doc.add_heading("三、重点信息", level=1)
    for n, item in enumerate(key_posts(s, event.id), 1):
        when = fmt(item.published_at or item.fetched_at, zone)
        title = item.title or item.text[:60]
        doc.add_paragraph(f"{n}. {title}（{_label(item.tier, Tier)}，{when}）")
        doc.add_paragraph(f"链接：{item.url}")

    doc.add_heading("四、研判意见", level=1)
    remit = "属本局职责范围" if event.in_remit else "超出本局职责范围"
    cats = "、".join(_label(c, Category) for c in event.categories or []) or "无"
    doc.add_paragraph(f"研判等级：{event.level}；风险值 {event.risk:.2f}；疑似不实信息概率 {event.rumor:.2f}；{remit}；"
                      f"类别：{cats}。")
    reasons: list[str] = []
    for item in key_posts(s, event.id):
        reasons += [str(r) for r in item.reasons or [] if str(r) not in reasons]
    for reason in reasons[:8]:
        doc.add_paragraph(reason, style="List Bullet")

    doc.add_heading("五、处置建议", level=1)
    doc.add_paragraph(referral.suggestion)
    ticket = s.scalar(select(Ticket).where(Ticket.event_id == event.id))
    if ticket is not None:
        doc.add_paragraph(f"我局回应主体：{ticket.section_name}" + (f"；牵头领导：{ticket.lead_leader}" if ticket.lead_leader else ""))
        for d in s.scalars(select(Deadline).where(Deadline.ticket_id == ticket.id).order_by(Deadline.due_at)):
            doc.add_paragraph(f"{DeadlineKind(d.kind).label}：{fmt(d.due_at, zone)} 前", style="List Bullet")

    doc.add_heading("签收", level=1)
    doc.add_paragraph(f"请打开以下链接签收（无需登录）：{ack_link}")

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"special-report-event{event.id}-{referral.department_key}-{referral.id}.docx"
    doc.save(str(path))
    return path
