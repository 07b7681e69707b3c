"""The grouping section of analysis (归并研判): the per-process folding/event index, brought up to
date from the store, and the decision taken under one Redis lock for every worker, so two
workers never create two events for one incident.

The lock is held for the decision only: the index brought up to date (the other holders'
decisions, handed over through Redis: :mod:`.handover`), ``assign``/``add``, the new events'
INSERT (for their ids) and the batch's decisions handed on. The window's sliding (eviction)
is done before it (:func:`evict_ahead`). Writing the items' events and
counting them into their events is :mod:`.counting`'s, after the lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yuqing.locks import kept_alive
from yuqing.models import Item
from yuqing.profile import Judgement

from . import batchstore, folding, handover, merging
from .batchstore import Record
from .events import Grouper, incident_keys

log = logging.getLogger(__name__)
LOCK_KEY = "yuqing:analysis:group"
_grouper: Grouper | None = None
SYNC_LAG = 5000  # ids
SYNC_CHUNK = 500  # ids per IN (…) of the sync (SQLite's limit on terms is far above)


def reset() -> None:
    """Forget the in-memory index (tests; a store swap)."""
    global _grouper
    _grouper = None


def grouper_synced(session: Session, redis: Redis, now: datetime, judgement: Judgement) -> Grouper:
    """This process's index, up to date: the other holders' decisions since it last held the
    lock, from the handover stream; rebuilt from the store (and the stream) when it starts or
    when it missed an entry."""
    global _grouper
    g = _grouper
    if g is not None and g.handed_upto is not None:
        decided, position, whole = handover.read(redis, g.handed_upto)
        if whole:
            _apply(g, decided)
            g.handed_upto = position
            g.evict(now)
            return g
        log.warning("analysis index: a handover entry was missed; rebuilding it from the store")
    _grouper = g = Grouper(judgement=judgement)
    _read_store(session, g, now)
    decided, g.handed_upto = handover.read_all(redis)
    _apply(g, _not_written(session, decided))
    g.evict(now)
    return g


def evict_ahead(now: datetime) -> None:
    """The window slid to ``now`` in this process's index, before the lock: the decision under
    it evicts again after the catch-up, which then finds the window's oldest items gone and
    stops at once. The same items leave either way (the eviction takes the oldest first, and
    what the catch-up appends comes after them), only no longer while every worker waits."""
    if _grouper is not None and _grouper.handed_upto is not None:
        _grouper.evict(now)


def _apply(g: Grouper, decided: list[handover.Decided | handover.Merged]) -> None:
    for d in decided:
        if isinstance(d, handover.Merged):  # the holder's index merged them: so does this one
            g.merge_events(d.kept, d.merged)
            g.just_evicted = {i: d.kept if e == d.merged else e for i, e in g.just_evicted.items()}
            continue
        gone = g.just_evicted.get(d.item_id)
        if gone is not None:  # evicted ahead of the lock, which would have evicted it after this
            if gone != d.event_id:
                g.rename_event(gone, d.event_id, [])
            continue
        held = g.decision(d.item_id)
        if held is None:
            g.add(d.item_id, d.at, d.event_id, d.minhash, d.signature, d.keys, d.duplicate_of)
        elif held[1] != d.event_id:  # its event was deleted meanwhile: it started a new one
            g.rename_event(held[1], d.event_id, [d.item_id])


def _not_written(session: Session, decided: list[handover.Decided | handover.Merged]) -> list[handover.Decided | handover.Merged]:
    """Those of the stream's items that are in the store without their event yet (decided, their
    job not done): the others the store gave already, or are of no item there (a stream older
    than the store). The merges all stay: the store's items are in their kept events already,
    a stream item not written yet may still name the merged one."""
    ids = [d.item_id for d in decided if isinstance(d, handover.Decided)]
    waiting: set[int] = set()
    for start in range(0, len(ids), SYNC_CHUNK):
        waiting |= set(session.scalars(select(Item.id).where(Item.id.in_(ids[start:start + SYNC_CHUNK]),
                                                             Item.event_id.is_(None))))
    return [d for d in decided if isinstance(d, handover.Merged) or d.item_id in waiting]


def _read_store(session: Session, g: Grouper, now: datetime) -> None:
    """The window's grouped items from the store, those above ``g.synced_upto``."""
    # Ids first: the rows this index already has (another worker's batch still open holds the
    # sync's start down, so they are met again) are not fetched and JSON-decoded again.
    # The scan starts at the window's first id, found by ix_items_fetched_at: by fetched_at alone
    # SQLite walked the primary key from id 1, every item ever stored, on each rebuild. ``id + 0``:
    # a bare min(id) is answered by walking the primary key up to the first row in the window.
    cutoff = now - g.window
    first = session.scalar(select(func.min(Item.id + 0)).where(Item.fetched_at >= cutoff))
    if first is None:  # nothing stored within the window
        first = g.synced_upto + 1
    fresh = [i for i in session.scalars(select(Item.id).where(
        Item.id >= max(first, g.synced_upto + 1), Item.event_id.is_not(None), Item.minhash.is_not(None),
        Item.fetched_at >= cutoff).order_by(Item.id)) if i not in g]
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
    # analysed by another worker: a later read starts below the first one not analysed yet
    # (at most SYNC_LAG ids back, so an item that never gets analysed cannot hold it down).
    pending = session.scalar(select(func.min(Item.id)).where(Item.id > g.synced_upto, Item.event_id.is_(None)))
    top = g.last_item_id
    g.synced_upto = max(g.synced_upto, top - SYNC_LAG, min(pending - 1, top) if pending else top)


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


def decide(s: Session, redis: Redis, members: list[Record], now: datetime,
           judgement: Judgement) -> tuple[dict[int, list[Record]], list[Record], dict[int, int]]:
    """Fold and group the scored batch, under the lock: ``{event id: the batch's items in it}``,
    the items this run decided (for :func:`hand_over`, after the commit) and the stored events
    it merged (``{merged: kept}``: :func:`_merge`).

    The lock serialises every worker here, so only what the next holder's index needs is done
    under it: the batch's new events inserted (one INSERT, for their ids). The items' events are
    handed to the next holder through Redis (:mod:`.handover`) and written with their counts,
    after the lock (:func:`.counting.account`). An item the index holds but the store does not
    yet (its job failed after the lock and runs again) keeps the decision the index holds."""
    grouper = grouper_synced(s, redis, now, judgement)
    joined: dict[int, list[Record]] = {}
    fresh: dict[int, Record] = {}  # stand-in id -> new event
    assigned: set[int] = set()  # items given an event by this run (not a re-run's earlier one)
    for item in members:
        key = item.event_id
        held = grouper.decision(item.id) if key is None else None
        if held is not None:
            item.duplicate_of_id, key = held
            assigned.add(item.id)
        elif key is None:
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
    merged = _merge(s, grouper, joined, fresh)
    batchstore.insert_events(s, list(fresh.values()))
    out: dict[int, list[Record]] = {}
    for key, ms in joined.items():
        event_id = fresh[key].id if key in fresh else key
        if key in fresh:
            grouper.rename_event(key, event_id, [it.id for it in ms])
        for it in ms:
            it.event_id = event_id
        out[event_id] = ms
    return out, [it for ms in out.values() for it in ms if it.id in assigned], merged


def _merge(s: Session, grouper: Grouper, joined: dict[int, list[Record]], fresh: dict[int, Record]) -> dict[int, int]:
    """The events the batch shows to be one incident, merged into the oldest of each group, in the
    index and in ``joined`` (a new event of the batch is then never stored); the stored ones
    recorded in the store (:func:`.merging.record`). ``{merged stored event: kept}``."""
    found = grouper.merges(joined)
    stored = batchstore.stored_events(s, [e for pair in found.items() for e in pair if e not in fresh])
    merged: dict[int, int] = {}
    for gone, kept in sorted(found.items()):
        if any(e not in fresh and e not in stored for e in (gone, kept)):
            continue  # deleted meanwhile: nothing to merge into or out of
        grouper.merge_events(kept, gone)
        joined[kept] = sorted(joined.get(kept, []) + joined.pop(gone, []), key=lambda it: it.id)
        if gone in fresh:
            del fresh[gone]  # the batch's own new event: its items go into the kept one unstored
        else:
            merged[gone] = kept
    merging.record(s, merged)
    return merged


def hand_over(redis: Redis, decided: list[Record], merged: dict[int, int] | None = None) -> None:
    """The batch's decisions (and merges) to the next holder, after the new events' commit and
    before the lock is let go (an entry naming an event a failed commit left out would join items to it)."""
    global _grouper
    if (decided or merged) and _grouper is not None:
        _grouper.handed_upto = handover.publish(redis, sorted(decided, key=lambda it: it.id),
                                                _grouper.handed_upto or handover.START, merged)
