"""The analysis batch's writes to the store (研判结果入库), in bulk, with SQLAlchemy Core.

A batch is written in a few statements whatever its size, and nothing is tracked per row:
the scores in one ``executemany`` UPDATE before the grouping lock is taken (another worker
groups meanwhile); under the lock one INSERT of the batch's new events; after it, with the
events' rows locked, one UPDATE of the items' events, one marking the items analysed,
one of every event the batch touched (its counts, evidence and account) and one of the
originals' copy counts. Grouping works on :class:`Record` objects (plain attributes), not ORM instances: the
ORM's unit of work and identity map cost a quarter of a worker's time under bench_load
(bench/PROFILE.md).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from yuqing.models import Event, Item

from . import folding

ITEMS: Table = Item.__table__  # type: ignore[assignment]  # a mapped class's table is a Table
EVENTS: Table = Event.__table__  # type: ignore[assignment]
SCORE_FIELDS = ("remit", "in_remit", "relevance", "risk", "level", "rumor", "emotion", "in_jurisdiction", "places",
                "categories", "topics", "reasons", "watch_words", "flags", "keywords", "casualties")
# What grouping reads of an item besides its scores (author, platform: who reported, for the account).
ITEM_FIELDS = ("id", "title", "text", "tier", "engagement", "source_id", "fetched_at", "published_at", "event_id",
               "duplicate_of_id", "author", "platform")
# What grouping may change on an event (update_event, merge_item, false_information; the account
# and the title it gives: yuqing.documents.current.apply).
EVENT_FIELDS = ("title", "account", "status", "reopened_count", "quiet_since", "item_count", "unique_count", "source_count",
                "first_seen_at", "last_seen_at", "first_published_at", "velocity", "peak_velocity",
                "baseline_velocity", "risk", "level", "relevance", "rumor", "in_remit", "in_jurisdiction",
                "categories", "topics", "places", "keywords", "watch_words", "flags", "updated_at")


class Record:
    """A row as plain attributes: an item of the batch, or an event it touches."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # for the type checker: every column is an attribute
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value


def read_items(s: Session, ids: list[int]) -> list[Record]:
    rows = s.execute(select(*(ITEMS.c[f] for f in ITEM_FIELDS)).where(ITEMS.c.id.in_(ids)).order_by(ITEMS.c.id))
    return [Record(**row._mapping) for row in rows]


def write_scores(s: Session, members: list[Record], version: str) -> None:
    """The scores and both MinHashes of the batch, one statement. ``analysed_at`` is left for
    :func:`write_events` (with the event), so an item whose grouping failed is still NULL there
    and the sweep enqueues it again."""
    stmt = (update(ITEMS).where(ITEMS.c.id == bindparam("b_id"))
            .values(**{f: bindparam("v_" + f) for f in (*SCORE_FIELDS, "model_version", "minhash", "signature")}))
    s.connection().execute(stmt, [
        {"b_id": m.id, **{"v_" + f: getattr(m, f) for f in SCORE_FIELDS}, "v_model_version": version[:50],
         "v_minhash": folding.to_bytes(m.minhash_value), "v_signature": folding.to_bytes(m.signature_value)}
        for m in members])


def new_event(item: Record, now: datetime) -> Record:
    """An event as a new item starts it (the columns' defaults, which Core's INSERT also gives)."""
    title = item.title or (item.text or "")[:60]
    return Record(id=None, title=title[:500], first_seen_at=item.fetched_at, last_seen_at=item.fetched_at,
                  first_published_at=None, updated_at=now, level="一般", status="active", reopened_count=0,
                  quiet_since=None, item_count=0, unique_count=0, source_count=0, velocity=0.0, peak_velocity=0.0,
                  baseline_velocity=0.0, risk=0.0, relevance=0.0, rumor=0.0, in_remit=False, in_jurisdiction=False,
                  categories=[], topics=[], places=[], keywords=[], watch_words=[], flags={})


def insert_events(s: Session, fresh: list[Record]) -> None:
    """One INSERT … RETURNING for the batch's new events; their ids are set on the records."""
    if not fresh:
        return
    stmt = insert(EVENTS).returning(EVENTS.c.id, sort_by_parameter_order=True)
    rows = s.connection().execute(stmt, [{"title": e.title, "first_seen_at": e.first_seen_at,
                                          "last_seen_at": e.last_seen_at, "updated_at": e.updated_at,
                                          "level": e.level} for e in fresh])
    for event, row in zip(fresh, rows, strict=True):
        event.id = row.id


def read_events(s: Session, ids: list[int]) -> dict[int, Record]:
    if not ids:
        return {}
    rows = s.execute(select(EVENTS.c.id, *(EVENTS.c[f] for f in EVENT_FIELDS)).where(EVENTS.c.id.in_(ids)))
    return {row.id: Record(**row._mapping) for row in rows}


def stored_events(s: Session, ids: list[int]) -> set[int]:
    """Which of these events are still stored (one may have been deleted meanwhile)."""
    if not ids:
        return set()
    return set(s.scalars(select(EVENTS.c.id).where(EVENTS.c.id.in_(ids))))


def write_events(s: Session, members: list[Record]) -> None:
    """Every item of the batch: its event and the original it copies (one statement), after the
    lock, in the transaction that counts them (:func:`mark_analysed`)."""
    stmt = (update(ITEMS).where(ITEMS.c.id == bindparam("b_id"))
            .values(event_id=bindparam("v_event_id"), duplicate_of_id=bindparam("v_duplicate_of_id")))
    s.connection().execute(stmt, [{"b_id": m.id, "v_event_id": m.event_id, "v_duplicate_of_id": m.duplicate_of_id}
                                  for m in members])


def lock_events(s: Session, ids: list[int]) -> None:
    """Lock the events' rows until the transaction ends, in id order (so two transactions wait,
    never deadlock). SQLite has no row locks: there the transaction's first write takes the
    store's one write lock (:func:`mark_analysed`)."""
    if ids and s.connection().dialect.name != "sqlite":
        s.execute(select(EVENTS.c.id).where(EVENTS.c.id.in_(ids)).order_by(EVENTS.c.id).with_for_update())


def mark_analysed(s: Session, ids: list[int], now: datetime) -> set[int]:
    """``analysed_at`` for those of these items that had none; their ids (the items this
    transaction counts: another transaction that marked one first counted it)."""
    stmt = (update(ITEMS).where(ITEMS.c.id.in_(ids), ITEMS.c.analysed_at.is_(None))
            .values(analysed_at=now).returning(ITEMS.c.id))
    return set(s.scalars(stmt))


def update_events(s: Session, events: list[Record]) -> None:
    """Every event the batch touched, one statement."""
    if not events:
        return
    stmt = update(EVENTS).where(EVENTS.c.id == bindparam("b_id")).values(**{f: bindparam("v_" + f) for f in EVENT_FIELDS})
    s.connection().execute(stmt, [{"b_id": e.id, **{"v_" + f: getattr(e, f) for f in EVENT_FIELDS}} for e in events])


def add_copies(s: Session, copies: Counter[int]) -> None:
    """The originals' copy counts grow by the batch's copies of them, one statement."""
    if not copies:
        return
    stmt = (update(ITEMS).where(ITEMS.c.id == bindparam("b_id"))
            .values(duplicate_count=func.coalesce(ITEMS.c.duplicate_count, 0) + bindparam("n")))
    s.connection().execute(stmt, [{"b_id": original, "n": n} for original, n in copies.items()])
