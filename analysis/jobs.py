"""RQ jobs of analysis (研判): score an item, fold it, group it into an event, hand on.

``analyse_item(item_id)`` is idempotent: scores are overwritten, an item keeps the event it was
given, and every event count is recomputed from the store, so a second run never double-counts.
The folding/event index is per process and brought up to date from the store at the start of
each job (only rows newer than those it has seen), under a Redis lock so two workers never
create two events for one incident.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select

from yuqing.levels import max_level
from yuqing.models import Event, Item
from yuqing.runtime import get_runtime

from . import folding, tokenize
from .events import QUIET_AFTER, Grouper, incident_keys
from .scoring import Scorer, _noisy_or, risk_level

log = logging.getLogger(__name__)
LOCK_KEY = "yuqing:analysis:group"
_scorers: dict[int, Scorer] = {}
_grouper: Grouper | None = None


def get_scorer(rt) -> Scorer:  # type: ignore[no-untyped-def]
    key = id(rt.profile)
    if key not in _scorers:
        _scorers[key] = Scorer(rt.profile, str(rt.settings.data_dir))
    return _scorers[key]


def preload() -> None:
    """Load jieba's dictionary and the models in the worker's parent process (before forks)."""
    rt = get_runtime()
    tokenize.warm(rt.profile)
    get_scorer(rt)


def reset() -> None:
    """Forget the in-memory index (tests; a store swap)."""
    global _grouper
    _grouper = None


def _grouper_synced(session, now: datetime) -> Grouper:  # type: ignore[no-untyped-def]
    global _grouper
    if _grouper is None:
        _grouper = Grouper()
    g = _grouper
    rows = session.execute(
        select(Item.id, Item.fetched_at, Item.minhash, Item.signature, Item.event_id,
               Item.duplicate_of_id, Item.places, Item.topics)
        .where(Item.id > g.last_item_id, Item.event_id.is_not(None), Item.minhash.is_not(None),
               Item.fetched_at >= now - g.window)
        .order_by(Item.id))
    for r in rows:
        if r.id not in g:
            g.add(r.id, r.fetched_at, r.event_id, folding.from_bytes(r.minhash),
                  folding.from_bytes(r.signature), incident_keys(r.places, r.topics), r.duplicate_of_id)
    g.evict(now)
    return g


def analyse_item(item_id: int) -> int | None:
    """Score, fold and group one item; enqueue alert evaluation and ticket consideration."""
    rt = get_runtime()
    scorer = get_scorer(rt)
    with rt.session() as s:
        item = s.get(Item, item_id)
        if item is None:
            log.warning("analyse_item: item %s is gone", item_id)
            return None
        record = {"id": item.id, "title": item.title, "text": item.text, "tier": item.tier,
                  "engagement": item.engagement}
    result = scorer.score(record)
    text = (record["title"] or "") + "。" + (record["text"] or "")
    minhash = folding.text_minhash(text)
    signature = folding.signature_minhash(folding.signature_tokens(
        tokenize.lcut(text), result["places"], result["keywords"]))
    keys = incident_keys(result["places"], result["topics"])
    now = rt.now()
    with rt.get_redis().lock(LOCK_KEY, timeout=120, blocking_timeout=120), rt.session() as s:
        item = s.get(Item, item_id)
        _write_scores(item, result, scorer.version, now, minhash, signature)
        grouper = _grouper_synced(s, now)
        if item.event_id is None:
            duplicate_of, event_id = grouper.assign(minhash, signature, keys, now)
            event = s.get(Event, event_id) if event_id else None
            if event is None:
                event = _new_event(item, now)
                s.add(event)
                s.flush()
            item.duplicate_of_id = duplicate_of
            item.event_id = event.id
            s.flush()
            grouper.add(item.id, item.fetched_at, event.id, minhash, signature, keys, duplicate_of)
        event = s.get(Event, item.event_id)
        _update_event(s, event, item, now)
        if item.duplicate_of_id:
            original = s.get(Item, item.duplicate_of_id)
            if original is not None:
                original.duplicate_count = s.scalar(
                    select(func.count()).where(Item.duplicate_of_id == original.id)) or 0
        event_id = event.id
    from yuqing.queue.dispatch import enqueue

    enqueue("notify", "yuqing.alerts.jobs.evaluate_event", event_id, job_id=f"evaluate-{event_id}-{item_id}")
    enqueue("respond", "yuqing.queue.tickets.consider_event", event_id, job_id=f"consider-{event_id}-{item_id}")
    return event_id


def _write_scores(item: Item, r: dict, version: str, now: datetime, minhash, signature) -> None:  # type: ignore[no-untyped-def]
    for field in ("remit", "in_remit", "relevance", "risk", "level", "rumor", "emotion",
                  "in_jurisdiction", "places", "categories", "topics", "reasons", "watch_words",
                  "flags", "keywords", "casualties"):
        setattr(item, field, r[field])
    item.model_version = version[:50]
    item.analysed_at = now
    item.minhash = folding.to_bytes(minhash)
    item.signature = folding.to_bytes(signature)


def _new_event(item: Item, now: datetime) -> Event:
    title = item.title or (item.text or "")[:60]
    return Event(title=title[:500], first_seen_at=item.fetched_at, last_seen_at=item.fetched_at,
                 updated_at=now, level="一般")


def _union(*lists) -> list:  # type: ignore[no-untyped-def]
    out: list = []
    for values in lists:
        for v in values or []:
            if v not in out:
                out.append(v)
    return out


def _update_event(s, event: Event, item: Item, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Recompute the event's counts from the store and merge the item's evidence (idempotent)."""
    if event.last_seen_at and item.fetched_at - event.last_seen_at > QUIET_AFTER or event.status == "quiet":
        if item.fetched_at > event.last_seen_at:
            event.status = "active"
            event.reopened_count += 1
            event.quiet_since = None
    members = Item.event_id == event.id
    agg = s.execute(select(func.count(), func.count(func.distinct(Item.source_id)),
                           func.min(Item.fetched_at), func.max(Item.fetched_at),
                           func.min(Item.published_at)).where(members)).one()
    event.item_count, event.source_count = agg[0], agg[1]
    event.first_seen_at, event.last_seen_at, event.first_published_at = agg[2], agg[3], agg[4]
    event.unique_count = s.scalar(select(func.count()).where(members, Item.duplicate_of_id.is_(None))) or 0
    hour_ago = now - timedelta(hours=1)
    event.velocity = float(s.scalar(select(func.count()).where(members, Item.fetched_at > hour_ago)) or 0)
    event.peak_velocity = max(event.peak_velocity or 0.0, event.velocity)
    earlier_hours = max(1.0, (hour_ago - event.first_seen_at).total_seconds() / 3600)
    event.baseline_velocity = max(0.0, event.item_count - event.velocity) / earlier_hours
    item_risk = _noisy_or([item.risk or 0.0, min(0.5, event.velocity / 40)])
    event.risk = max(event.risk or 0.0, item_risk)
    event.level = max_level(event.level, item.level, risk_level(event.risk)).value
    event.relevance = max(event.relevance or 0.0, item.relevance or 0.0)
    event.rumor = max(event.rumor or 0.0, item.rumor or 0.0)
    event.in_remit = bool(event.in_remit or item.in_remit)
    event.in_jurisdiction = bool(event.in_jurisdiction or item.in_jurisdiction)
    event.categories = _union(event.categories, item.categories)
    event.topics = _union(event.topics, item.topics)
    known = {p["code"] for p in event.places or []}
    event.places = list(event.places or []) + [p for p in item.places if p["code"] not in known]
    event.keywords = _union(event.keywords, item.keywords)[:30]
    event.watch_words = _union(event.watch_words, item.watch_words)
    flags = dict(event.flags or {})
    flags["accusation"] = sorted(set(flags.get("accusation", [])) | set(item.flags.get("accusation", [])))
    flags["complaint"] = bool(flags.get("complaint") or item.flags.get("complaint"))
    flags["mobilisation"] = bool(flags.get("mobilisation") or item.flags.get("mobilisation"))
    event.flags = flags
    event.updated_at = now


def mark_quiet_events() -> int:
    """Periodic: events without new items for QUIET_AFTER become quiet (a later item re-opens)."""
    rt = get_runtime()
    now = rt.now()
    with rt.session() as s:
        rows = s.scalars(select(Event).where(Event.status == "active",
                                             Event.last_seen_at < now - QUIET_AFTER)).all()
        for event in rows:
            event.status = "quiet"
            event.quiet_since = event.last_seen_at + QUIET_AFTER
        return len(rows)
