"""工单状态机 (ticket states) and 回应主体 (who answers): the rules, apart from the code that writes.

States: 新建 → 已分派 → 回应中 → 已回应 → 持续发布 → 已关闭, with 重新打开. Recording a response
moves a ticket to 已回应 (the first) or 持续发布 (the next); closing needs a recorded response
and the event quiet for the profile's cool-down. Every refusal is one Chinese sentence.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from yuqing.clock import fmt
from yuqing.levels import Level
from yuqing.models import Event, Ticket, TicketState
from yuqing.profile import Profile, Section
from yuqing.routing import sections_for

S = TicketState
ORDER = [S.NEW, S.ASSIGNED, S.RESPONDING, S.RESPONDED, S.FOLLOWING_UP, S.CLOSED]
# Changes a person may ask for with `transition`; closing and re-opening have their own rules.
ALLOWED: dict[TicketState, set[TicketState]] = {
    S.NEW: {S.ASSIGNED},
    S.ASSIGNED: {S.RESPONDING},
    S.RESPONDING: {S.RESPONDED},
    S.RESPONDED: {S.FOLLOWING_UP, S.CLOSED},
    S.FOLLOWING_UP: {S.CLOSED},
    S.CLOSED: set(),
}
SYSTEM = "系统"
# The closing reason of a ticket whose event the monitor dismissed (排除): its 终报 says so.
DISMISSED = "事件经研判排除："
# The closing reason of a ticket whose event was merged into another (one incident): 已合并.
MERGED = "已合并："


def closed_as_dismissed(ticket: Ticket) -> bool:
    """The ticket is closed, and its last closing was a dismissal (not a completed response)."""
    closings = [c for c in ticket.changes if c.to_state == S.CLOSED]
    return ticket.state == S.CLOSED and bool(closings) and closings[-1].reason.startswith(DISMISSED)


def close_blocker(ticket: Ticket, event: Event | None, has_response: bool, now: datetime,
                  cool_down_hours: float, zone: str) -> str | None:
    """Why ``ticket`` may not close now, or None."""
    if ticket.state == S.CLOSED:
        return f"工单 #{ticket.id} 已关闭"
    if not has_response:
        return f"工单 #{ticket.id} 不能关闭：须至少记录一次回应（渠道、链接或正文、时间）"
    if event is not None:
        until = event.last_seen_at + timedelta(hours=cool_down_hours)
        if now < until:
            return (f"工单 #{ticket.id} 不能关闭：事件仍在发酵，最近一条信息在 {fmt(event.last_seen_at, zone)}，"
                    f"须平静满 {cool_down_hours:g} 小时（{fmt(until, zone)} 之后）")
    return None


def transition_blocker(ticket: Ticket, to: TicketState, has_response: bool) -> str | None:
    """Why a manual change of ``ticket`` to ``to`` (other than closing) is refused, or None."""
    here = TicketState(ticket.state)
    if here == to:
        return f"工单 #{ticket.id} 已处于「{to.label}」状态"
    prefix = f"工单 #{ticket.id} 不能从「{here.label}」改为「{to.label}」："
    if here == S.CLOSED:
        return prefix + "已关闭的工单须先重新打开"
    if to == S.NEW:
        return prefix + "工单不能退回新建"
    if to not in ALLOWED[here]:
        if ORDER.index(to) < ORDER.index(here):
            return prefix + "不能退回之前的状态"
        step = min(ALLOWED[here], key=ORDER.index)
        return prefix + f"须按流程先改为「{step.label}」"
    if to == S.ASSIGNED and not ticket.section_key:
        return prefix + "须先指定回应主体（科室）"
    if to == S.RESPONDED and not has_response:
        return prefix + "须先记录至少一次回应（渠道、链接或正文、时间）"
    return None


def choose_section(profile: Profile, event: Event) -> tuple[Section, str, str]:
    """回应主体 by 谁主管谁发声: ``(section, reason, lead_leader)``."""
    topics = list(event.topics or [])
    names = {t.key: t.name for t in profile.remit.topics}
    keys = sections_for(profile, topics)
    office = profile.coordinator
    shown = "、".join(names.get(t, t) for t in topics)
    if len(keys) == 1:
        section = profile.section(keys[0])
        reason = f"事件话题「{shown}」属{section.name}职责（谁主管谁发声）"
    elif keys:
        section = office
        spans = "、".join(profile.section(k).name for k in keys)
        reason = f"事件涉及多个科室（{spans}），由{office.name}统筹协调"
    else:
        section = office
        reason = f"事件话题不在任何科室职责内，由{office.name}统筹协调"
    lead = lead_leader(profile, event.level)
    if lead:
        reason += f"；特别重大，由主要负责同志（{lead}）牵头"
    return section, reason, lead


def lead_leader(profile: Profile, level: str) -> str:
    if Level.parse(level) != Level.GRAVE:
        return ""
    p = profile.bureau.principal_leader
    return f"{p.title} {p.name}".strip()


def qualifies(profile: Profile, event: Event) -> bool:
    """Open a ticket at the profile's level (default 较大) or when any watch word matched."""
    return Level.parse(event.level) >= profile.clocks.ticket_min_level or bool(event.watch_words)
