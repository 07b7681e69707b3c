"""Messages the response workflow sends (推送): Delivery rows plus a ``deliver`` job, by contract.

The alerts subsystem owns sending (``yuqing.alerts.jobs.deliver``); this module only writes
the Delivery row (unique idempotency key: the same warning, breach or referral is never
recorded twice, even by two workers at once) and enqueues its job once the row is committed.
If Redis is down the row stays pending and the alerts sweep re-enqueues it from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yuqing.models import Delivery, DeliveryStatus

log = logging.getLogger(__name__)

DELIVER_JOB = "yuqing.alerts.jobs.deliver"
_AFTER = "yuqing.queue.after_commit"


def after_commit(session: Session, fn: Callable[[], object]) -> None:
    """Run ``fn`` once ``session`` commits (a job enqueued earlier could miss the row)."""
    pending = session.info.setdefault(_AFTER, [])
    if not pending:
        def run(sess: Session) -> None:
            for job in sess.info.pop(_AFTER, []):
                try:
                    job()
                except Exception as exc:  # noqa: BLE001 - Redis down: the sweeps recover from the database
                    log.warning("after-commit step failed (%s); the sweep will recover it", exc)

        sa_event.listen(session, "after_commit", run, once=True)
        sa_event.listen(session, "after_soft_rollback",
                        lambda sess, prev: sess.info.pop(_AFTER, None), once=True)
    pending.append(fn)


def enqueue_delivery(delivery_id: int) -> None:
    from yuqing.queue.dispatch import enqueue

    enqueue("notify", DELIVER_JOB, delivery_id, job_id=f"deliver-{delivery_id}")


def add_delivery(session: Session, *, key: str, purpose: str, channel: str, target: str, subject: str,
                 body: str, now, ref_type: str = "", ref_id: int | None = None,  # type: ignore[no-untyped-def]
                 attachments: Iterable[str | Path] = (), callback: str = "") -> int | None:
    """Record one message and enqueue its delivery after commit; None if ``key`` was recorded before."""
    if session.scalar(select(Delivery.id).where(Delivery.idempotency_key == key)) is not None:
        return None
    row = Delivery(idempotency_key=key, purpose=purpose, ref_type=ref_type, ref_id=ref_id, channel=channel,
                   target=target, subject=subject, body=body, html="", attachments=[str(a) for a in attachments],
                   callback=callback, status=DeliveryStatus.PENDING, attempts=0, last_error="", created_at=now,
                   parts_total=0, parts_sent=0)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker recorded the same message a moment ago
        return None
    delivery_id = row.id
    after_commit(session, lambda: enqueue_delivery(delivery_id))
    return delivery_id
