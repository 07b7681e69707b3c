"""Merging stored events (事件合并): a later report shows two events to be one incident.

The decision is the index's (:meth:`.events.Grouper.merges`), taken under the grouping lock
(:func:`.decision.decide`): the newer event goes into the older. Here is what the store keeps
of it: under the lock, the merged event's items move to the kept one and ``events.merged_into``
names it (:func:`record`); after the lock, the kept event's counts, evidence and account are
recomputed with the merged one's, its referrals moved (:func:`settle`), and the merged event's
alert and ticket are settled by the ``merged_event`` job (queue/jobs.py: resolved, closed
「已并入事件 #N」).
A batch counted by another worker into an event merged meanwhile counts into the kept one
(:func:`.counting.account`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yuqing.documents.current import refresh_account
from yuqing.models import Event, Item, Referral, Ticket
from yuqing.profile import Judgement
from yuqing.store import after_commit
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

from .counting import merge_event


def record(s: Session, merged: dict[int, int]) -> None:
    """``{merged: kept}`` in the store: the merged events' items are the kept ones', and each
    merged event (and any merged into it before) names the kept one."""
    for gone, kept in sorted(merged.items()):
        s.execute(update(Item).where(Item.event_id == gone).values(event_id=kept)
                  .execution_options(synchronize_session=False))
        s.execute(update(Event).where((Event.id == gone) | (Event.merged_into == gone)).values(merged_into=kept)
                  .execution_options(synchronize_session=False))


def _move_referrals(s: Session, gone: int, kept: int) -> None:
    """The departments the merged event was referred to are the kept event's referrals from now
    on (its 续报 and 终报, its reminders while unsigned), unless the kept event was referred to
    them too: that referral already covers the incident. None is sent a 专报 again."""
    theirs = select(Referral.department_key).where(Referral.event_id == kept)
    ticket = s.scalar(select(Ticket.id).where(Ticket.event_id == kept))
    s.execute(update(Referral).where(Referral.event_id == gone, Referral.department_key.not_in(theirs))
              .values(event_id=kept, ticket_id=ticket).execution_options(synchronize_session=False))


def settle(s: Session, merged: dict[int, int], now: datetime, judgement: Judgement) -> None:
    """The kept events with the merged ones' counts and evidence, and their account recounted
    from all their items (the figures every page and document reads); then the merged events'
    alert and ticket are settled in a worker."""
    for gone, kept in sorted(merged.items()):
        event, other = s.get(Event, kept), s.get(Event, gone)
        if event is None or other is None:
            continue
        sources = s.scalar(select(func.count(func.distinct(Item.source_id))).where(Item.event_id == kept)) or 0
        last_hour = s.scalar(select(func.count()).where(Item.event_id == kept,
                                                        Item.fetched_at > now - timedelta(hours=1))) or 0
        merge_event(event, other, sources, last_hour, now, judgement)
        refresh_account(s, event)
        other.updated_at = now
        _move_referrals(s, gone, kept)
    after_commit(s, lambda: [enqueue("respond", registry.MERGED_EVENT, gone, kept, job_id=f"merged-{gone}-into-{kept}")
                             for gone, kept in sorted(merged.items())])
