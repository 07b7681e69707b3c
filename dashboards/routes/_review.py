"""What a review (研判) sets going after the alerts workflow accepted it, shared by the
console's form and ``/api``: the event's open ticket, closed or kept as the monitor chose."""

from __future__ import annotations

from fastapi import Request

from yuqing.alerts.actions import TICKET_CHOICES, open_ticket_of
from yuqing.queue.tickets import close_dismissed
from yuqing.runtime import Runtime

from ..auth import audit


def settle_dismissed_ticket(rt: Runtime, request: Request, event_id: int | None, choice: str | None,
                            reason: str, by: str) -> str:
    """Close or keep the open ticket of a dismissed event; the workflow has already refused a
    dismissal without a choice and a reason. Returns the words for the flash message."""
    with rt.session() as s:
        ticket_id = open_ticket_of(s, event_id)
    if ticket_id is None:
        return ""
    if choice not in TICKET_CHOICES:
        # Opened after the workflow accepted the dismissal (it saw none): nobody chose its fate,
        # so it stays as it is and no 保留工单 is recorded in the monitor's name.
        return f"；另有回应工单 #{ticket_id}（研判后开立），仍按原状态办理"
    reason = reason.strip()
    if choice == "close":
        close_dismissed(rt, ticket_id, by, reason)
        audit(rt, request, by, "ticket.close", "ticket", ticket_id, reason=reason)
        return f"；工单 #{ticket_id} 已关闭"
    audit(rt, request, by, "ticket.keep", "ticket", ticket_id, reason=reason)
    return f"；工单 #{ticket_id} 保留办理"
