"""研判 with its consequence for the response ticket (回应工单), in one transaction.

排除 (dismissing) an event with an open ticket closes or keeps the ticket as the monitor chose;
the alerts workflow checks the choice and the reason, the response workflow closes the ticket.
Both happen in the one transaction here, so a closing that fails leaves the alert undismissed
too: after a person acts, the console never shows a dismissed alert beside its open ticket."""

from __future__ import annotations

from dataclasses import dataclass

from yuqing.alerts.actions import open_ticket_of, review_in
from yuqing.models import Alert, AuditEntry
from yuqing.runtime import Runtime

from .tickets import close_dismissed


@dataclass(frozen=True)
class Reviewed:
    """The reviewed alert, and the event's open ticket with the monitor's choice for it."""

    alert: Alert
    ticket_id: int | None = None
    choice: str | None = None  # "close" (关闭工单) or "keep" (保留工单)


def review_and_settle(rt: Runtime, alert_id: int, action: str, by: str, level: str | None = None,
                      ticket: str | None = None, reason: str = "", ip: str = "") -> Reviewed:
    """研判 (confirm, dismiss, level) and, on 排除, the open ticket's fate, all or nothing.

    The workflow refuses (Refused, 422) a dismissal of an event with an open ticket without
    ``ticket`` and ``reason``; both checks and the settling see the same transaction, so a
    ticket opened meanwhile cannot be left unexplained."""
    with rt.session() as s:
        alert = review_in(s, rt, alert_id, action, by, level=level, ticket=ticket, reason=reason, ip=ip)
        ticket_id = open_ticket_of(s, alert.event_id) if action == "dismiss" else None
        if ticket_id is None or ticket is None:
            return Reviewed(alert)
        now, reason = rt.now(), reason.strip()
        if ticket == "close":
            close_dismissed(s, ticket_id, by, reason, now)
        s.add(AuditEntry(at=now, actor=by, action=f"ticket.{ticket}", target_type="ticket",
                         target_id=ticket_id, detail={"reason": reason}, ip=ip))
        return Reviewed(alert, ticket_id, ticket)
