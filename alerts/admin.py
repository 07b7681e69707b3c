"""系统告警 (administrator alerts): an unhealthy source (信源异常), a fault of the system, or a
message the platform could not bring to some of its recipients reaches the administrator.

One open alert per source (kind "source"); it repeats while the source stays unhealthy and
resolves itself when the source recovers (escalation.sweep).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from yuqing.clock import fmt
from yuqing.models import Alert, AlertStatus, AuditEntry, Delivery, DeliveryStatus, Source
from yuqing.runtime import Runtime

from .channels import mask_url
from .delivery import UNREACHED, create_delivery, make_key
from .grouping import send
from .notify import admin_targets

log = logging.getLogger(__name__)
OPEN = (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED, AlertStatus.CONFIRMED)


def source_unhealthy(rt: Runtime, source_id: int) -> int | None:
    """Open (or refresh) the source's admin alert and tell the administrator once."""
    now = rt.now()
    with rt.session() as s:
        source = s.get(Source, source_id)
        if source is None:
            log.info("source %s is gone; no admin alert", source_id)
            return None
        reasons = [f"连续失败 {source.consecutive_failures} 次" if source.consecutive_failures else "",
                   f"连续 {source.empty_runs} 次未采到内容" if source.empty_runs else "",
                   f"最近错误（{fmt(source.last_error_at, rt.settings.timezone)}）：{source.last_error[:300]}" if source.last_error else "",
                   f"上次成功：{fmt(source.last_success_at, rt.settings.timezone) or '从未'}"]
        reasons = [r for r in reasons if r]
        alert = s.scalar(select(Alert).where(Alert.kind == "source", Alert.source_id == source_id,
                                             Alert.status.in_(OPEN)))
        if alert is not None:
            alert.reasons, alert.updated_at = reasons, now
            return alert.id
        alert = Alert(kind="source", source_id=source_id, status=AlertStatus.FIRING, level="一般",
                      title=f"信源异常：{source.name}（{source.key}）", reasons=reasons, created_at=now,
                      updated_at=now, rung=0, rung_since=now, notify_count=0, notified_volume=0,
                      notified_level="", inhibited=False, last_notify_reason="")
        s.add(alert)
        s.flush()
        send(s, rt, alert, None, ["monitor"], "信源采集异常，请检查信源配置或网站变化")
        return alert.id


def system_fault(rt: Runtime, key: str, subject: str, body: str) -> int:
    """Tell the administrator of a fault of the system itself (the embedded Redis keeps dying).

    The deliveries are rows in the store first: with Redis down they wait and go out when the
    queue is back. Idempotent per ``key``; the number of deliveries made.
    """
    made = 0
    with rt.session() as s:
        for channel, to in admin_targets(rt.profile):
            made += create_delivery(s, purpose="system", channel=channel, target=to, subject=subject, body=body,
                                    key=make_key("system", key, channel, to)) is not None
    log.error("system fault: %s", subject)
    return made


# What a delivery was for, in the administrator's words.
PURPOSES = {"alert": "预警", "referral": "报送", "digest": "日报/专报", "deadline": "时限提醒", "breach": "超时提醒",
            "admin": "系统告警"}
CHANNEL_NAMES = {"wecom_app": "企业微信应用消息", "dingtalk_work": "钉钉工作通知", "zwdd_work": "浙政钉工作通知"}


def unreached(rt: Runtime, delivery_id: int) -> int:
    """A sent delivery some of whose recipients the platform could not reach: audited, and the
    administrator told who they were (once per delivery). The number of notices made."""
    with rt.session() as s:
        d = s.get(Delivery, delivery_id)
        if d is None or d.status != DeliveryStatus.SENT or not d.last_error.startswith(UNREACHED):
            return 0
        who = d.last_error[len(UNREACHED):]
        channel = CHANNEL_NAMES.get(d.channel, d.channel)
        if d.purpose == "system":  # a notice about a notice would only repeat itself
            return 0
        key = make_key("unreached", d.id)
        if s.scalar(select(AuditEntry.id).where(AuditEntry.action == "delivery.unreached",
                                                 AuditEntry.target_type == "delivery", AuditEntry.target_id == d.id)):
            return 0
        s.add(AuditEntry(at=rt.now(), actor="system", action="delivery.unreached", target_type="delivery",
                         target_id=d.id, detail={"channel": d.channel, "to": mask_url(d.target), "unreached": who,
                                                 "purpose": d.purpose, "ref_type": d.ref_type, "ref_id": d.ref_id}))
        subject = f"推送未送达部分接收人：{d.subject}"[:200]
        body = (f"“{d.subject}”（{PURPOSES.get(d.purpose, d.purpose)}）已通过{channel}发出，"
                f"但平台答复以下接收人未收到：{who}。\n"
                f"请核对渠道配置中的接收人账号（{mask_url(d.target)}）及应用的可见范围，并另行告知未收到的人员。")
        made = 0
        for target_channel, to in admin_targets(rt.profile):
            made += create_delivery(s, purpose="system", channel=target_channel, target=to, subject=subject,
                                    body=body, ref_type="delivery", ref_id=d.id,
                                    key=make_key(key, target_channel, to)) is not None
    log.warning("delivery %s: %s did not reach %s; administrator told (%d)", delivery_id, channel, who, made)
    return made
