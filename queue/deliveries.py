"""Messages the response workflow sends (推送): Delivery rows plus a ``deliver`` job, by contract.

The alerts subsystem owns sending (``yuqing.alerts.jobs.deliver``) and the one way Delivery rows
are written (``create_delivery``: unique idempotency key, so the same warning, breach or referral
is never recorded twice, even by two workers at once, and its job enqueued once committed).
If Redis is down the row stays pending and the alerts sweep re-enqueues it from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

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


def add_delivery(session: Session, *, key: str, purpose: str, channel: str, target: str, subject: str,
                 body: str, ref_type: str = "", ref_id: int | None = None,
                 attachments: Iterable[str | Path] = (), callback: str = "", html: str = "") -> int | None:
    """Record one message and enqueue its delivery after commit; None if ``key`` was recorded before.

    The alerts subsystem's public ``create_delivery`` does the work, so every Delivery row is
    written (and its job enqueued) one way.
    """
    from yuqing.alerts.delivery import create_delivery

    row = create_delivery(session, purpose=purpose, channel=channel, target=target, subject=subject,
                          body=body, html=html, attachments=attachments, ref_type=ref_type, ref_id=ref_id,
                          callback=callback, key=key)
    return row.id if row is not None else None
