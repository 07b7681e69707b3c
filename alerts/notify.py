"""通知 (notifications) of an alert: who each rung of the ladder is, and what they receive.

Rungs (``profile.alerts.escalation``): monitor (值班监测员: the alert channels and the monitors'
mail), section head (科室负责人: the head of the section whose remit covers the event, else the
office), supervising leader (分管领导), principal leader (主要负责同志). Contacts are reached by
e-mail, and by SMS too when the profile has an SMS gateway.
"""

from __future__ import annotations

import html as html_lib
import re

from sqlalchemy.orm import Session

from yuqing.documents.account import figures_line, key_posts
from yuqing.documents.current import event_title
from yuqing.documents.dates import cn_datetime
from yuqing.levels import Tier
from yuqing.models import Alert, Event, Item
from yuqing.profile import Contact, Profile
from yuqing.runtime import Runtime
from yuqing.sanitise import html_links, link_target, plain

from .delivery import create_delivery, make_key

ROLE_LABELS = {"monitor": "值班监测员", "section_head": "科室负责人",
               "supervising_leader": "分管领导", "principal_leader": "主要负责同志"}


def _has_sms(profile: Profile) -> bool:
    return any(c.type == "sms" for c in profile.alerts.channels)


def contact_targets(contact: Contact, profile: Profile) -> list[tuple[str, str]]:
    out = [("email", contact.email)] if contact.email else []
    if contact.phone and _has_sms(profile):
        out.append(("sms", contact.phone))
    return out


def admin_targets(profile: Profile) -> list[tuple[str, str]]:
    """The administrator's channel: the profile's alert channels, or else the monitors."""
    if profile.alerts.channels:
        return [(c.type, c.to) for c in profile.alerts.channels]
    return [t for m in profile.bureau.monitors for t in contact_targets(m, profile)]


def rung_targets(profile: Profile, role: str, event: Event | None) -> list[tuple[str, str]]:
    if role == "monitor":
        return admin_targets(profile) + [t for m in profile.bureau.monitors if profile.alerts.channels
                                         for t in contact_targets(m, profile)]
    if role == "section_head":
        topics = set(event.topics or []) if event else set()
        heads = [s.head for s in profile.sections if topics & set(s.remits)] or [profile.coordinator.head]
        return [t for h in heads for t in contact_targets(h, profile)]
    if role == "supervising_leader":
        return contact_targets(profile.bureau.supervising_leader, profile)
    if role == "principal_leader":
        return contact_targets(profile.bureau.principal_leader, profile)
    raise ValueError(f"unknown rung role {role!r}")


EVIDENCE = 3  # an alert quotes the first three 重点帖文, the same posts the 专报 and the event page lead with


def evidence(session: Session, event_id: int, limit: int = EVIDENCE) -> list[Item]:
    """The stored items an alert rests on: the first of the event's 重点帖文 (one choice, shared)."""
    return key_posts(session, event_id, limit)


def compose(rt: Runtime, alert: Alert, event: Event | None, items: list[Item], why: str,
            update: bool = False, title: str | None = None, figures: str = "") -> tuple[str, str, str]:
    """Subject, markdown-ish text (read as-is by mail, WeCom and DingTalk) and HTML; an update
    of an alert already sent says so in its subject (更新), so it reads as news of the same event.
    ``title``: the event account's (the most authoritative recent report), as the 专报 names it;
    ``figures``: the account's latest figures with source and time, as the 专报 gives them."""
    link = f"{rt.settings.base_url.rstrip('/')}/alerts/{alert.id}"
    if event is None:
        subject = f"【系统告警】{alert.title}"
        lines = [f"**通知原因**：{why}", *[f"- {r}" for r in alert.reasons], f"**处理**：{link}"]
    else:
        subject = f"【舆情预警·{alert.level}】{'更新：' if update else ''}{plain(title or event.title)}"
        lines = [
            f"**等级**：{alert.level}",  # no scores in what people read
            f"**传播**：{event.item_count} 条（{event.source_count} 个来源），近 1 小时 {event.velocity:g} 条",
            *([f"**伤亡**：{plain(figures)}"] if figures else []),
            f"**首次发现**：{cn_datetime(event.first_seen_at, rt.settings.timezone)}",
            f"**通知原因**：{why}",
            "**预警依据**：", *[f"- {plain(r)}" for r in alert.reasons],
        ]
        if items:
            lines.append("**代表性报道**：")
            lines += [f"- [{plain(i.title or i.url)}]({link_target(i.url)})"
                      f"（{Tier(i.tier).label if i.tier in Tier._value2member_map_ else i.tier}）" for i in items]
        lines.append(f"**确认与处理**：{link}")
    text = "\n".join(lines)
    allowed = {link, *(link_target(i.url) for i in items)}
    page = html_lib.escape(link)
    # The alert's page as a working link (the login page returns to it after signing in).
    html = markdown_to_html(subject, text, allowed).replace(f"{page}</p>", f'<a href="{page}">{page}</a></p>')
    return subject, text, html


def markdown_to_html(title: str, text: str, allowed: set[str] | None = None) -> str:
    """The small markdown subset our messages use (bold, links, bullets) as escaped HTML.

    Crawled text reaches here already made inert (:func:`yuqing.sanitise.plain`); as a second
    guard a link is made only to a URL in ``allowed`` (the app and the items' own sources).
    """
    out = [f"<h2>{html_lib.escape(title)}</h2>"]
    in_list = False
    for line in text.splitlines():
        body = html_lib.escape(line.removeprefix("- "))
        body = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", body)
        body = html_links(body, allowed)
        if line.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{body}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        out.append(f"<p>{body}</p>")
    if in_list:
        out.append("</ul>")
    return "<html><body>" + "".join(out) + "</body></html>"


def notify(session: Session, rt: Runtime, alert: Alert, event: Event | None, *, roles: list[str],
           why: str, tag: str, purpose: str = "alert", update: bool = False) -> int:
    """Create one delivery per target of these rungs; ``tag`` makes the keys unique per round."""
    items = evidence(session, event.id) if event else []
    title = event_title(session, event) if event else None
    figures = figures_line(session, event, rt.settings.timezone) if event else ""
    subject, text, html = compose(rt, alert, event, items, why, update, title, figures)
    seen: set[tuple[str, str]] = set()
    count = 0
    for role in roles:
        for channel, to in rung_targets(rt.profile, role, event) if event else admin_targets(rt.profile):
            if (channel, to) in seen:
                continue
            seen.add((channel, to))
            made = create_delivery(session, purpose=purpose, channel=channel, target=to, subject=subject,
                                   body=text, html=html, ref_type="alert", ref_id=alert.id,
                                   key=make_key("alert", alert.id, tag, channel, to))
            count += made is not None
    return count
