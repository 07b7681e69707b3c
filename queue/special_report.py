"""舆情专报 / 续报 / 终报 (special reports) that travel with each referral (报送).

Gathered from the event's one current account (:func:`yuqing.documents.account.event_account`)
and the ticket, laid out by the core's document renderer (GB/T 9704-2012). Sections: 事件概况,
舆情态势 (volume, sources by tier, the spread chart, key posts with links), 研判 (level and why,
rumour with its evidence, the public's concerns), 处置建议 for that department (in a 终报,
后续工作: what the bureau keeps doing), 我局回应
(deadlines and what is done), 联系人, and 签收.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.alerts.rules import spike_floor
from yuqing.clock import local
from yuqing.documents import (
    Heading,
    Link,
    OfficialDocument,
    Paragraph,
    Picture,
    Unbroken,
    issue_number,
)
from yuqing.documents.account import EventAccount, event_account, key_posts, tier_label
from yuqing.documents.charts import spread_chart
from yuqing.documents.current import event_title
from yuqing.documents.dates import clock_words, cn_datetime, cn_short
from yuqing.documents.issued import write_files
from yuqing.documents.narrative import overview
from yuqing.documents.register import issue, reissue
from yuqing.documents.wording import clip, quoted_list
from yuqing.levels import Level, Tier
from yuqing.models import (
    Deadline,
    DeadlineKind,
    Delivery,
    DeliveryStatus,
    Event,
    IssuedDocument,
    Item,
    Referral,
    Ticket,
    TicketResponse,
)
from yuqing.profile import Clocks, Department, Profile

from .workflow import closed_as_dismissed

log = logging.getLogger(__name__)

SERIES = "舆情专报"
KINDS = {"special": "专报", "followup": "续报", "final": "终报"}

SUGGESTIONS = {
    "宣传部": "请协调主流媒体及时转发权威信息，加强网上正面引导；我局将按时限发布权威信息并配合做好新闻发布。",
    "网信办": "请加强网上巡查与舆情研判，对不实信息依法依规处置，协助扩大权威信息传播。",
    "应急": "事件超出我局职责或涉及多个部门，请上级应急管理部门统筹协调相关部门共同回应。",
    "政务公开办": "请协调相关部门通过政府网站、政务新媒体及时发布权威信息，回应社会关切。",
    "公安": "网上出现疑似不实信息，可能扰乱公共秩序，请核查信息来源，依法处置造谣传谣线索。",
    "纪检": "信息涉及对公职人员的违纪违法指控，请按程序核查处置。",
    "信访": "信息反映群众诉求与投诉，请按信访工作程序受理、转办并跟踪回复。",
    "其他": "请结合职责研判处置，并将处置情况反馈我局。",
}

# The 终报's 后续工作 in place of 处置建议: the event is closed, so nothing is asked of the
# department; the bureau says what it keeps doing.
FINAL_FOLLOW_UP = ("我局将继续跟踪监测该事件相关舆情，及时发布善后处置、调查处理等后续权威信息；"
                   "如舆情出现反复，将第一时间续报贵单位。")


def suggestion_for(department: Department, event: Event, clocks: Clocks) -> str:
    """处置建议 for one department, by its kind and the event's grade; the hours are the profile's clocks."""
    text = SUGGESTIONS.get(department.kind, SUGGESTIONS["其他"])
    if Level.parse(event.level).is_major:
        text += (f"该事件为{event.level}舆情，按国办发〔2016〕80号、61号文件要求，我局须在 "
                 f"{clocks.authoritative_info_hours:g} 小时内发布权威信息、"
                 f"{clocks.press_conference_hours:g} 小时内举行新闻发布会，恳请给予支持。")
    return text


@dataclass
class Issued:
    """A 专报 as written: the file, its 期号 and what it reported."""

    path: Path
    number: int
    year: int
    kind: str
    fingerprint: str
    title: str
    merged_from: int | None = None  # a 续报 telling a merge: the event the department's earlier 专报 was of
    tag: str = ""  # this sending's part of its deliveries' keys (:func:`sending_tag`)


def _hours(s: Session, event: Event, now: datetime, tz: str) -> list[tuple[datetime, int]]:
    """Items per local hour from the first report to now (at most two days, the latest)."""
    start = max(event.first_published_at or event.first_seen_at, now - timedelta(hours=48))
    first = local(start, tz).replace(minute=0, second=0, microsecond=0)
    buckets: dict[datetime, int] = {}
    hour = first
    while hour <= local(now, tz):
        buckets[hour] = 0
        hour += timedelta(hours=1)
    for when in s.scalars(select(Item.published_at).where(Item.event_id == event.id)):
        if when is None:
            continue
        key = local(when, tz).replace(minute=0, second=0, microsecond=0)
        if key in buckets:
            buckets[key] += 1
    return sorted(buckets.items())


def _spread(s: Session, event: Event, a: EventAccount, now: datetime, tz: str) -> list[Heading | Paragraph | Picture]:
    tiers = "，".join(f"{name} {n} 条" for name, n in a.tiers.items())
    # The busiest clock hour from the chart's own counts: the event's velocity fields are
    # smoothed rates, which printed as "近一小时新增 0.4 条" and "每小时最多 0 条".
    hours = _hours(s, event, now, tz)
    peak_at, peak = max(hours, key=lambda h: h[1], default=(now, 0))
    out: list[Heading | Paragraph | Picture] = [Paragraph.of(
        f"截至{cn_datetime(now, tz)}，共监测到相关信息 {a.item_count} 条（去除转载重复后 {a.unique_count} 条），"
        f"来自 {a.source_count} 个信息来源" + (f"，其中{tiers}" if tiers else "") + "。"
        + (f"{cn_short(peak_at, tz)}起的一小时内发布最多，达 {peak} 条；" if peak > 1 else "")
        + f"最近一条发布于{cn_short(event.last_seen_at, tz)}。")]
    out.append(Picture(spread_chart(hours, "传播走势（每小时信息条数）"), "图 1　传播走势"))
    out.append(Heading("重点信息", 2))
    for n, item in enumerate(key_posts(s, event.id), 1):
        title = clip(item.title or item.text, 40)
        out.append(Paragraph.of(f"{n}. ", Link(title, item.url),
                                f"（{tier_label(item.tier)}，{cn_short(item.published_at or item.fetched_at, tz)}）"))
    return out


_PATTERN = re.compile(r"未经证实的说法（(?P<claims>[^）]+)）并呼吁扩散（(?P<spread>[^）]+)）")


def _quoted(words: str) -> str:
    return quoted_list(words.split("、"))


def false_information_sentence(evidence: object) -> str:
    """The 疑似不实 paragraph of the 研判, from the evidence analysis kept on the event
    (``flags["false_information"]``): the authoritative item that refutes the claim, or the
    unverifiable claim with a call to spread. '' when there is none."""
    if not evidence:
        return ""
    if isinstance(evidence, dict) and evidence.get("basis") == "refuted":
        source = clip(str(evidence.get("source") or ""), 40)
        who = tier_label(str(evidence.get("tier") or ""))
        return (f"经研判，网上有关说法疑似不实：{who}已发布“{source}”，与网传内容不符。"
                "建议以该权威信息为依据澄清事实，对恶意编造、传播的依法依规处置。")
    detail = str(evidence.get("detail") or "") if isinstance(evidence, dict) else str(evidence)
    found = _PATTERN.search(detail)
    if found:
        basis = (f"有帖文以{_quoted(found['claims'])}等无法核实的说法为据，"
                 f"并呼吁{_quoted(found['spread'])}，目前尚无新闻媒体或权威部门证实")
    else:
        basis = "有帖文所述内容无法核实，目前尚无新闻媒体或权威部门证实"
    return f"经研判，网上有关说法疑似不实：{basis}。建议尽快核实并发布权威信息，以正视听。"


def _assessment(event: Event, a: EventAccount, profile: Profile, tz: str) -> list[Paragraph]:
    why = []
    if a.figures:
        why.append(a.casualty_sentence(tz))
    if event.in_jurisdiction:
        why.append("事发地在我局辖区")
    if event.in_remit:
        why.append("属我局职责范围")
    high = [t for t in (Tier.CENTRAL, Tier.PROVINCIAL) if tier_label(t) in a.tiers]
    if high:
        why.append(f"{'、'.join(tier_label(t) for t in high)}已报道，关注度高")
    # The alert rule's spike (profile.alerts.velocity_factor), so the 专报 and the alert agree.
    if event.peak_velocity and event.peak_velocity >= spike_floor(event) * profile.alerts.velocity_factor:
        why.append("传播速度明显加快")
    out = [Paragraph.of(f"综合研判，该事件为{event.level}舆情" + (f"：{'；'.join(why)}。" if why else "。"))]
    suspected = false_information_sentence((event.flags or {}).get("false_information"))
    if suspected:
        out.append(Paragraph.of(suspected))
    elif a.rumour_cues:
        cues = quoted_list(a.rumour_cues)
        out.append(Paragraph.of(f"网上出现{cues}等未经证实的说法（见重点信息），存在不实信息传播风险，需及时发布权威信息予以澄清。"))
    if a.concerns:
        grouped = "；".join(f"{c.label}（{c.count} 条）" for c in a.concerns)
        out.append(Paragraph.of(f"网民关切主要集中在：{grouped}。"))
    return out


def _our_response(s: Session, ticket: Ticket | None, now: datetime, tz: str) -> list[Paragraph]:
    if ticket is None:
        return [Paragraph.of("我局已安排专人跟踪监测，将按规定时限回应。")]
    lead = f"，由{ticket.lead_leader}牵头" if ticket.lead_leader else ""
    out = [Paragraph.of(f"我局已明确由{ticket.section_name or '办公室'}负责回应{lead}。")]
    for d in s.scalars(select(Deadline).where(Deadline.ticket_id == ticket.id, Deadline.cancelled_at.is_(None))
                       .order_by(Deadline.due_at)):
        label = DeadlineKind(d.kind).label if d.kind in DeadlineKind._value2member_map_ else "回应"
        out.append(Paragraph.of(f"{label}：{cn_short(d.due_at, tz)}前完成，{clock_words(d.due_at, d.met_at, now, tz)}。"))
    for r in s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == ticket.id)
                       .order_by(TicketResponse.responded_at)):
        text = clip(r.text, 60).rstrip("。．.；;，,") if r.text else "发布回应"  # the sentence ends below
        parts: list[str | Link] = [f"{cn_short(r.responded_at, tz)}，通过{r.channel}：{text}"]
        if r.link:
            parts += ["（", Link("原文", r.link), "）"]
        out.append(Paragraph(parts + ["。"]))
    return out


def _contact(profile: Profile) -> Paragraph:
    """联系人 line, flush left with the number and the address unbroken: justified, the line
    before the address was spread character by character ("张 主 任 （ 办 公 室 主 任 ）")."""
    c = profile.documents.contact or (profile.bureau.monitors[0] if profile.bureau.monitors else None)
    if c is None:
        return Paragraph.of(f"{profile.bureau.name}办公室。")
    parts: list[str | Link] = [f"{c.name}（{c.title}）"]
    for label, value in (("电话", c.phone), ("邮箱", c.email)):
        if value:
            parts += [f"，{label} ", Unbroken(value)]
    return Paragraph([*parts, "。"], ragged=True)


def title_of(a: EventAccount, kind: str) -> str:
    """关于“泽州县巴公镇煤矿透水事故……”相关舆情的专报（续报）."""
    label = {"special": "", "followup": "（续报）", "final": "（终报）"}[kind]
    return f"关于“{clip(a.title, 30)}”相关舆情的专报{label}"


def compose(s: Session, profile: Profile, referral: Referral, ack_link: str, now: datetime, tz: str, *,  # noqa: PLR0913
            kind: str = "special", others: Sequence[str] = (), record: IssuedDocument | None = None,
            merged_from: int | None = None, account: EventAccount | None = None) -> tuple[OfficialDocument, EventAccount]:
    """The 专报 (or 续报, 终报) for ``referral`` as a document record, with the account it tells.
    ``record``: its entry in the register, where registered (its 期号; a 续报's opening tells of
    the issue before it); ``merged_from``: the event the department's earlier
    issues told of, since merged into this one (a 续报 then opens with :func:`merge_notice`,
    which names this 续报's own 期号)."""
    event = s.get(Event, referral.event_id)
    assert event is not None
    a = account or event_account(s, event.id)
    department = profile.department(referral.department_key)
    ticket = s.scalar(select(Ticket).where(Ticket.event_id == event.id))
    blocks: list = [Heading("报送单位与对象"),
                    Paragraph.of(f"报送单位：{profile.bureau.name}。报送对象：{department.name}。"
                                 f"报送时间：{cn_datetime(now, tz)}。")]
    if kind == "followup" and merged_from is not None:  # in place of the usual opening, which names the other event
        number = issue_number(record.year, record.number) if record is not None else "本期"
        blocks.append(merge_notice(s, referral, merged_from, a, number, tz))
    elif kind == "followup":
        blocks.append(_followup_opening(s, referral, a, now, tz, before=record.id if record is not None else None))
    closed = ticket.closed_at if ticket and ticket.closed_at else now  # 终报 of a ticket not yet closed: now
    if kind == "final" and ticket is not None and closed_as_dismissed(ticket):
        blocks += _dismissal(s, referral, a, closed, tz)
    else:
        if kind == "final":
            blocks.append(Paragraph.of(f"该事件舆情已趋平息，我局回应工作于{cn_short(closed, tz)}完成，现将最终情况报告如下。"))
        blocks += [Heading("事件概况"), *overview(a, tz)]
        blocks += [Heading("舆情态势"), *_spread(s, event, a, now, tz)]
        blocks += [Heading("研判"), *_assessment(event, a, profile, tz)]
        blocks += _advice(referral, department, event, profile, kind)
        blocks += [Heading("我局回应"), *_our_response(s, ticket, now, tz)]
    blocks += [Heading("联系人"), _contact(profile)]
    blocks += [Heading("签收"), Paragraph.of("请打开以下链接签收（无需登录）：", Link("签收本期专报", ack_link))]
    level = Level.parse(event.level)
    doc = OfficialDocument(
        series=SERIES, issuer=profile.bureau.name, title=title_of(a, kind),
        number=record.number if record is not None else None,
        issued_at=now, blocks=blocks, secrecy=profile.documents.secrecy,
        urgency={Level.GRAVE: "特急", Level.MAJOR: "加急"}.get(level, "") if kind != "final" else "",
        signer=profile.documents.signer, addressee=department.name, cc=list(profile.documents.cc) + list(others),
        printer=profile.documents.printer or f"{profile.bureau.name}办公室", printed_at=now, timezone=tz)
    return doc, a


def last_told(s: Session, referral: Referral, before: int | None = None,
              event_id: int | None = None) -> IssuedDocument | None:
    """The last 专报 or 续报 the department had of the referral's event now (a referral moved from
    a merged event has told nothing of this one yet), or None; ``before``: registered before this
    entry (the 续报 being composed, registered first); ``event_id``: of that event instead (the
    merged one a merge notice names)."""
    query = select(IssuedDocument).where(
        IssuedDocument.referral_id == referral.id,
        IssuedDocument.event_id == (referral.event_id if event_id is None else event_id),
        IssuedDocument.kind.in_(["special", "followup"]))
    if before is not None:
        query = query.where(IssuedDocument.id < before)
    return s.scalar(query.order_by(IssuedDocument.id.desc()).limit(1))


def when_told(referral: Referral, record: IssuedDocument | None, tz: str) -> str:
    """When the department was told, as the opening of a 续报 or 终报 says it: ``于12月1日14时20分``
    from the register's entry (the sending that reached it: a 专报 that failed first is
    re-registered at the sending that went), else when its 专报 left (``sent_at``), else
    ``前期``. Never the referral's creation: that is when the referral was drawn up, which the
    register and the department's file do not show (it waited for the monitor, or failed)."""
    at = record.created_at if record is not None else referral.sent_at
    return f"于{cn_short(at, tz)}" if at is not None else "前期"


def _followup_opening(s: Session, referral: Referral, a: EventAccount, now: datetime, tz: str,
                      before: int | None = None) -> Paragraph:
    """The 续报's opening: the last issue this department had of the event and what changed since
    it (我局于12月1日14时20分报送〔2026〕第3期专报以来，事件等级由较大升为重大……)."""
    last = last_told(s, referral, before)
    if last is None:
        return Paragraph.of(f"我局已{when_told(referral, None, tz)}报送该事件舆情，现将最新情况续报如下。")
    # Dated and named from the register: a 专报 that failed and went again later was registered
    # anew at its sending (register.reissue), hours after the referral was made.
    told = issue_number(last.year, last.number) + KINDS.get(last.kind, "专报")
    changes = a.changes_since(last.fingerprint, tz, since=now)
    if not changes:
        return Paragraph.of(f"我局已{when_told(referral, last, tz)}报送{told}，现将最新情况续报如下。")
    return Paragraph.of(f"我局{when_told(referral, last, tz)}报送{told}以来，{'，'.join(changes)}。"
                        "现将最新情况续报如下。")


def _advice(referral: Referral, department: Department, event: Event, profile: Profile, kind: str) -> list:
    """处置建议 for the department; in a 终报, 后续工作 (what the bureau keeps doing) instead."""
    if kind == "final":
        return [Heading("后续工作"), Paragraph.of(FINAL_FOLLOW_UP)]
    return [Heading("处置建议"), Paragraph.of(referral.suggestion or suggestion_for(department, event, profile.clocks))]


def _dismissal(s: Session, referral: Referral, a: EventAccount, closed: datetime, tz: str) -> list:
    """The 终报's body for an event the monitor dismissed (排除): that it was dismissed and when,
    that nothing more is asked of the department, and which event it was. No 处置建议 (it would
    ask for what is no longer wanted); the monitor's reason is the record's, kept on the ticket.
    The 专报 it ends is named and dated from the register, as the department filed it (a 专报
    that failed first went hours after the referral was made)."""
    special = _special_of(s, referral)
    told = when_told(referral, special, tz) + (f"以{issue_number(special.year, special.number)}专报" if special else "")
    return [Paragraph.of(f"我局{told}报送的舆情事件，经我局核查研判，该事件已于"
                         f"{cn_short(closed, tz)}予以排除（不属实或与我局职责无关），现终止报送，"
                         "前期专报所提协助事项不再需要贵单位办理。特此报告。"),
            Heading("事件概况"), *overview(a, tz)]


def build(s: Session, profile: Profile, referral: Referral, ack_link: str, folder: Path, now: datetime, tz: str, *,
          kind: str = "special", others: Sequence[str] = ()) -> Issued:
    """Register, number and write the 专报 for ``referral`` under ``folder``; what was issued."""
    merged_from = merged_from_event(s, referral) if kind == "followup" else None
    account = event_account(s, referral.event_id)
    # Registered first, so the document is composed whole with its 期号 (a merge notice names it).
    # A 终报 once per closing: a ticket re-opened and closed again tells the departments again.
    closings = s.scalar(select(Ticket.reopen_count).where(Ticket.event_id == referral.event_id)) or 0
    fingerprint = account.fingerprint if kind != "final" else f"final-{closings}"
    title = title_of(account, kind)
    # A department has one 专报: a second is its first sent again where that failed, under its 期号;
    # a 续报 that never reached it is sent again the same way (under its number, as it now stands).
    failed = _special_of(s, referral) if kind == "special" else \
        _failed_followup(s, referral) if kind == "followup" else None
    record = reissue(s, failed, now=now, event_id=referral.event_id, fingerprint=fingerprint, title=title) \
        if failed is not None else \
        issue(s, series=SERIES, kind=kind, now=now, tz=tz, event_id=referral.event_id,
              department_key=referral.department_key, referral_id=referral.id, fingerprint=fingerprint,
              title=title)
    doc, account = compose(s, profile, referral, ack_link, now, tz, kind=kind, others=others, record=record,
                           merged_from=merged_from, account=account)
    doc.copy_no = record.id
    target = folder / f"referral-{referral.id}" / f"{record.kind}-{record.number}"
    target.mkdir(parents=True, exist_ok=True)
    path = write_files(s, doc, target / doc.file_name(record.year, "docx"))
    record.path = str(path)
    return Issued(path, record.number, record.year, kind, account.fingerprint, doc.title, merged_from,
                  sending_tag(record))


def _special_of(s: Session, referral: Referral) -> IssuedDocument | None:
    """The 专报 already registered for ``referral`` (its delivery failed, as :func:`build` is asked
    for a second only then), or None."""
    return s.scalar(select(IssuedDocument).where(IssuedDocument.referral_id == referral.id,
                                                 IssuedDocument.kind == "special")
                    .order_by(IssuedDocument.id.desc()).limit(1))


def sending_tag(record: IssuedDocument) -> str:
    """What tells one sending of a registered document from another (a delivery's key holds it):
    its 期号 and, for a 专报 or 续报, what it reported, so one sent again under its number where
    the first failed is delivered anew (``special3-2026-<fingerprint>``)."""
    tag = f"{record.kind}{record.number}-{record.year}"
    return tag + (f"-{record.fingerprint[:12]}" if record.kind in ("special", "followup") else "")


def undelivered(s: Session, referral: Referral, record: IssuedDocument) -> bool:
    """Every channel's delivery of ``record``'s last sending to the department failed (after the
    delivery's own retries): the department never had it."""
    prefix = f"referral:{referral.id}:{sending_tag(record)}:"
    statuses = set(s.scalars(select(Delivery.status).where(Delivery.idempotency_key.startswith(prefix))))
    return bool(statuses) and statuses <= {DeliveryStatus.FAILED}


def _failed_followup(s: Session, referral: Referral) -> IssuedDocument | None:
    """The referral's last 续报 of its event, where its sending failed (:func:`undelivered`), or None."""
    last = s.scalar(select(IssuedDocument).where(IssuedDocument.referral_id == referral.id,
                                                 IssuedDocument.event_id == referral.event_id,
                                                 IssuedDocument.kind == "followup")
                    .order_by(IssuedDocument.id.desc()).limit(1))
    return last if last is not None and undelivered(s, referral, last) else None


def merged_from_event(s: Session, referral: Referral) -> int | None:
    """The event this referral's 专报 and 续报 told of before a merge moved it to its event now
    (analysis/merging.py), while nothing was yet sent of its event now; None otherwise. The
    department was referred for the merged event alone: its next 续报 says the two are one."""
    told = select(IssuedDocument.event_id).where(IssuedDocument.referral_id == referral.id,
                                                IssuedDocument.kind.in_(["special", "followup"]))
    if s.scalar(told.where(IssuedDocument.event_id == referral.event_id).limit(1)) is not None:
        return None
    return s.scalar(told.where(IssuedDocument.event_id.is_not(None), IssuedDocument.event_id != referral.event_id)
                    .order_by(IssuedDocument.id.desc()).limit(1))


def merge_notice(s: Session, referral: Referral, merged_from: int, a: EventAccount, number: str,
                 tz: str) -> Paragraph:
    """The 续报's opening where the department's 专报 was of an event since merged into this one:
    which event it had, that the two are one, and which 期 later reports follow (``number``:
    this 续报's own, :func:`issue_number`)."""
    gone = s.get(Event, merged_from)
    was = clip(event_title(s, gone), 30) if gone is not None else "前期报送的事件"
    told = last_told(s, referral, event_id=merged_from)  # the register's last issue of that event to it
    return Paragraph.of(f"我局已{when_told(referral, told, tz)}报送“{was}”相关舆情。经核实，该事件已与"
                        f"“{clip(a.title, 30)}”合并，系同一事件，后续报送以{number}为准。现将合并后的最新情况续报如下。")
