"""RQ jobs of the alerts subsystem: plain functions taking ids, each loading the runtime.

Named in yuqing/tasks/registry.py and enqueued on the ``notify`` queue: ``evaluate_event`` (by
the hot lists, by grouping's wake-up; ``evaluate_events`` for analysis's batch), ``deliver`` (by anyone who creates a Delivery), ``source_unhealthy`` (by the
crawlers), ``send_major_digest`` (by evaluate_event); periodic (yuqing/tasks/scheduler.py):
``sweep_alerts`` and ``send_due_digests``.
"""

from __future__ import annotations

import logging

from rq import get_current_job

from yuqing.runtime import get_runtime
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue, run_each

from . import admin, delivery, digests, escalation, grouping

log = logging.getLogger(__name__)


def evaluate_event(event_id: int, then_consider: bool = False) -> int | None:
    """Rules, grouping, silences, inhibition and notification for one event; the alert id.

    ``then_consider``: the event's evaluation failed inside an analysis batch (``evaluate_events``
    handed it on as this job), so the batch's tickets' job left it out; this job hands it on to the
    tickets' job (``consider_event``: ticket, referrals) after its own evaluation, so no department
    hears of the event before the alert is made (grouping.monitor_pending finds no alert and would
    let the referral go). Should the evaluation fail for good (no retry left), the ticket is still
    considered: its clock and its referrals are not lost with the alert."""
    try:
        alert = grouping.evaluate(get_runtime(), int(event_id))
    except Exception:
        job = get_current_job()
        if then_consider and not (job is not None and job.should_retry):
            _consider_after(int(event_id))
        raise
    if then_consider:
        _consider_after(int(event_id))
    return alert.id if alert else None


def _consider_after(event_id: int) -> None:
    job = get_current_job()
    enqueue("respond", registry.CONSIDER_EVENT, event_id,
            job_id=f"consider-{event_id}-after-{job.id}" if job else None)


def evaluate_events(event_ids: list[int]) -> dict[int, int | None]:
    """:func:`evaluate_event` for each event an analysis batch changed, in the batch's order;
    ``{event id: alert id}``. An event that fails is handed on as its own ``evaluate_event`` job,
    which then hands it on to the tickets' job itself.

    Then the batch goes on to the response workflow (``consider_events``: tickets, referrals):
    after its alerts were evaluated, so a referral finds the monitor's notice sent or held
    (grouping.monitor_pending), never an alert not made yet, and does not go first. Not the events
    handed on (their own job may run after this one's tickets' job, or wait for a retry), and
    nothing when the batch fails (RQ runs it again whole, hand-on included)."""
    ids = [int(e) for e in event_ids]
    ran = run_each("notify", registry.EVALUATE_EVENT, ids, evaluate_event, True)
    evaluated = [e for e in ids if e not in ran.handed_on]
    if evaluated:
        batch = get_current_job()
        enqueue("respond", registry.CONSIDER_EVENTS, evaluated, timeout=300 * len(evaluated),
                job_id=f"consider-after-{batch.id}" if batch else None)
    return ran.done


def deliver(delivery_id: int) -> str:
    """Send one Delivery through its channel (idempotent); sent|failed|retry|skipped. Recipients
    the platform said it could not reach are recorded and the administrator told."""
    rt = get_runtime()
    outcome = delivery.run(rt, int(delivery_id))
    if outcome == "sent":
        admin.unreached(rt, int(delivery_id))
    return outcome


def sweep_alerts() -> dict[str, int]:
    """Periodic: silence expiry, escalation ladder, repeats, and due delivery retries."""
    rt = get_runtime()
    counts = escalation.sweep(rt)
    counts["deliveries_requeued"] = delivery.retry_due(rt)
    return counts


def send_due_digests() -> list[str]:
    """Periodic (every minute): the 舆情日报 whose time has come today, once per slot."""
    return digests.send_due(get_runtime())


def send_major_digest(event_id: int) -> str | None:
    """要情专报 for an event that reached 重大 (once per event and level)."""
    return digests.send_major(get_runtime(), int(event_id))


def source_unhealthy(source_id: int) -> int | None:
    """Admin alert for an unhealthy source and a delivery to the administrator channel."""
    return admin.source_unhealthy(get_runtime(), int(source_id))
