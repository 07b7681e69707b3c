"""The grouping section of analysis (归并研判): the per-process folding/event index, brought up to
date from the store, and the decision taken under one Redis lock for every worker, so two
workers never create two events for one incident.

The lock is held for the decision only: the index sync, ``assign``/``add``, the new events'
INSERT (for their ids) and each item's event and original (the next holder's sync reads them).
Counting the items into their events is :mod:`.counting`'s, after the lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yuqing.locks import kept_alive
from yuqing.models import Item
from yuqing.profile import Judgement

from . import batchstore, folding
from .batchstore import Record
from .events import Grouper, incident_keys

LOCK_KEY = "yuqing:analysis:group"
_grouper: Grouper | None = None
SYNC_LAG = 5000  # ids
SYNC_CHUNK = 500  # ids per IN (…) of the sync (SQLite's limit on terms is far above)


def reset() -> None:
    """Forget the in-memory index (tests; a store swap)."""
    global _grouper
    _grouper = None


def _grouper_synced(session: Session, now: datetime, judgement: Judgement) -> Grouper:
    global _grouper
    if _grouper is None:
        _grouper = Grouper(judgement=judgement)
    g = _grouper
    # Ids first: the rows this index already has (another worker's batch still open holds the
    # sync's start down, so they are met again) are not fetched and JSON-decoded again, which
    # was most of the grouping section's time under bench_load (bench/PROFILE.md).
    fresh = [i for i in session.scalars(select(Item.id).where(
        Item.id > g.synced_upto, Item.event_id.is_not(None), Item.minhash.is_not(None),
        Item.fetched_at >= now - g.window).order_by(Item.id)) if i not in g]
    for start in range(0, len(fresh), SYNC_CHUNK):
        rows = session.execute(
            select(Item.id, Item.fetched_at, Item.minhash, Item.signature, Item.event_id,
                   Item.duplicate_of_id, Item.places, Item.topics, Item.keywords, Item.flags)
            .where(Item.id.in_(fresh[start:start + SYNC_CHUNK])).order_by(Item.id))
        for r in rows:
            g.add(r.id, r.fetched_at, r.event_id, folding.from_bytes(r.minhash),
                  folding.from_bytes(r.signature), incident_keys(r.places, r.topics, r.keywords or [],
                                                              (r.flags or {}).get("outside") or []),
                  r.duplicate_of_id)
    # Workers take batches out of id order, so an item below the highest id seen may still be
    # analysed by another worker: the next sync starts below the first one not analysed yet
    # (at most SYNC_LAG ids back, so an item that never gets analysed cannot hold it down).
    pending = session.scalar(select(func.min(Item.id)).where(Item.id > g.synced_upto, Item.event_id.is_(None)))
    top = g.last_item_id
    g.synced_upto = max(g.synced_upto, top - SYNC_LAG, min(pending - 1, top) if pending else top)
    g.evict(now)
    return g


LOCK_TTL = 15  # a holder killed mid-batch holds up every other analysis job at most this long


@contextmanager
def group_lock(redis: Redis) -> Iterator[None]:
    """The grouping lock, kept alive every few seconds while its holder works (a batch can wait
    on a locked database for longer than the TTL); a SIGKILLed holder's lock lapses in LOCK_TTL s."""
    # redis-py polls a held lock every 0.1 s by default, longer than a batch holds it.
    # thread_local=False: the token must be visible to the renewing thread (yuqing.locks).
    lock = redis.lock(LOCK_KEY, timeout=LOCK_TTL, sleep=0.005, blocking_timeout=120, thread_local=False)
    if not lock.acquire():
        raise TimeoutError(f"analysis grouping lock {LOCK_KEY} still held after 120 s")
    with kept_alive(lock, "analysis-group"):
        yield


NEW_EVENT = 10**15  # stand-in ids for a batch's new events until one INSERT gives them real ones


def decide(s: Session, members: list[Record], now: datetime, judgement: Judgement) -> dict[int, list[Record]]:
    """Fold and group the scored batch, under the lock; ``{event id: the batch's items in it}``.

    The lock serialises every worker here, so only what the next holder's index needs is done
    under it: the batch's new events inserted (one INSERT, for their ids) and each item's event
    and original written (one UPDATE; the next holder's sync reads them). Counting the items into
    their events is :func:`account`'s, after the lock."""
    grouper = _grouper_synced(s, now, judgement)
    joined: dict[int, list[Record]] = {}
    fresh: dict[int, Record] = {}  # stand-in id -> new event
    assigned: set[int] = set()  # items given an event by this run (not a re-run's earlier one)
    for item in members:
        key = item.event_id
        if key is None:
            duplicate_of, key = grouper.assign(item.minhash_value, item.signature_value, item.keys, now)
            if key is None:  # stand-ins are above every real id, so ties still go to the newest
                key = NEW_EVENT + len(fresh)
                fresh[key] = batchstore.new_event(item, now)
            item.duplicate_of_id = duplicate_of
            grouper.add(item.id, item.fetched_at, key, item.minhash_value, item.signature_value, item.keys,
                        duplicate_of)
            assigned.add(item.id)
        joined.setdefault(key, []).append(item)
    known = [key for key in joined if key not in fresh]
    stored = batchstore.stored_events(s, known)
    for key in known:
        if key not in stored:  # deleted meanwhile: its new items start a new one, the others stay out
            moved = [it for it in joined.pop(key) if it.id in assigned]
            if moved:
                stand_in = NEW_EVENT + len(fresh)
                fresh[stand_in] = batchstore.new_event(moved[0], now)
                grouper.rename_event(key, stand_in, [it.id for it in moved])
                joined[stand_in] = moved
    batchstore.insert_events(s, list(fresh.values()))
    out: dict[int, list[Record]] = {}
    for key, ms in joined.items():
        event_id = fresh[key].id if key in fresh else key
        if key in fresh:
            grouper.rename_event(key, event_id, [it.id for it in ms])
        for it in ms:
            it.event_id = event_id
        out[event_id] = ms
    batchstore.write_events(s, members)
    return out
