"""系统告警 (administrator alerts): an unhealthy source (信源异常) reaches the administrator.

One open alert per source (kind "source"); it repeats while the source stays unhealthy and
resolves itself when the source recovers (escalation.sweep).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from yuqing.clock import fmt
from yuqing.models import Alert, AlertStatus, Source
from yuqing.runtime import Runtime

from .delivery import create_delivery, make_key
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
                   f"最近错误（{fmt(source.last_error_at)}）：{source.last_error[:300]}" if source.last_error else "",
                   f"上次成功：{fmt(source.last_success_at) or '从未'}"]
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
