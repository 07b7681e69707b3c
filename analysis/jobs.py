"""RQ jobs of analysis (研判): score an item, fold it, group it into an event, hand on.

``analyse_item(item_id)`` is idempotent: scores are overwritten, an item keeps the event it was
given, and counts grow only by the items the counting transaction itself marks analysed, so a
second run never double-counts.
The folding/event index is per process and brought up to date from the store at the start of
each job (only rows newer than those it has seen), under a Redis lock so two workers never
create two events for one incident; the lock is held for that decision only, and the events'
counts are written after it, with their rows locked.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from sqlalchemy import exists, func, literal, select, union_all
from sqlalchemy.orm import Session

from yuqing.documents.current import update_accounts
from yuqing.levels import max_level
from yuqing.locks import kept_alive
from yuqing.models import Event, Item
from yuqing.profile import Judgement
from yuqing.runtime import Runtime, get_runtime
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

from . import batchstore, folding, tokenize
from .batchstore import Record
from .events import Grouper, incident_keys
from .scoring import Scorer, _noisy_or, risk_level
from .watches import active_watches, apply_watches

log = logging.getLogger(__name__)
LOCK_KEY = "yuqing:analysis:group"
_scorers: dict[int, Scorer] = {}
_grouper: Grouper | None = None
SYNC_LAG = 5000  # ids
SYNC_CHUNK = 500  # ids per IN (…) of the sync (SQLite's limit on terms is far above)


def get_scorer(rt: Runtime) -> Scorer:
    key = id(rt.profile)
    if key not in _scorers:
        _scorers[key] = Scorer(rt.profile, str(rt.settings.data_dir))
    return _scorers[key]


def preload() -> None:
    """Load jieba's dictionary and the models once, when a worker starts."""
    rt = get_runtime()
    tokenize.warm(rt.profile)
    get_scorer(rt)


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


def analyse_item(item_id: int) -> int | None:
    """Score, fold and group one item; enqueue alert evaluation and ticket consideration."""
    return analyse_items([item_id]).get(int(item_id))


def analyse_items(item_ids: list[int]) -> dict[int, int]:
    """Score, fold and group a batch of items (the crawl pipeline's batch); ``{item id: event id}``.
    Hands every event it changed on in one alert job and one ticket job (:func:`_hand_on`).

    Volume is why this exists: scoring is vectorised over the batch, the grouping lock is taken
    once and held only for the decision (:func:`_decide`), each touched event is recomputed once
    (:func:`_account`) and handed on once, however many of the batch's items joined it. Items are
    grouped in id order, as one at a time.
    """
    rt = get_runtime()
    scorer = get_scorer(rt)
    ids = sorted({int(i) for i in item_ids})
    with rt.session() as s:
        members = batchstore.read_items(s, ids)
    gone = set(ids) - {m.id for m in members}
    if gone:
        log.warning("analyse_items: items %s are gone", sorted(gone))
    if not members:
        return {}
    records = [{"id": m.id, "title": m.title, "text": m.text, "tier": m.tier, "engagement": m.engagement}
               for m in members]
    # scoring, hashing and writing the scores outside the lock: parallel workers overlap here
    tokens: list[list[str]] = []  # the scorer's, not cut a second time
    results = scorer.score_many(records, tokens_out=tokens)
    _temporary_watches(rt, records, results)
    for m, result, words in zip(members, results, tokens, strict=True):
        for field in batchstore.SCORE_FIELDS:
            setattr(m, field, result[field])
        m.minhash_value = folding.text_minhash((m.title or "") + "。" + (m.text or ""))
        m.signature_value = folding.signature_minhash(folding.signature_tokens(words, result["places"],
                                                                               result["keywords"]))
        m.keys = incident_keys(result["places"], result["topics"], result["keywords"], result["flags"]["outside"])
    now = rt.now()
    with rt.session() as s:
        batchstore.write_scores(s, members, scorer.version)
    try:  # under the lock only what decides: the index, the new events' ids, each item's event
        with _group_lock(rt.get_redis()), rt.session() as s:
            joined = _decide(s, members, now, rt.profile.judgement)
    except BaseException:  # the commit included: the index may hold what the store does not
        reset()  # rebuilt from the store by the next job
        raise
    with rt.session() as s:  # the events' counts and evidence, after the lock: workers overlap here
        _account(s, joined, now, rt.profile.judgement)
    with rt.session() as s:  # the title and figures every page, mail and document reads
        update_accounts(s, joined)
    _hand_on({event_id: max(it.id for it in members) for event_id, members in joined.items()})
    return {it.id: event_id for event_id, members in joined.items() for it in members}


def hand_on_id(kind: str, last: dict[int, int]) -> str:
    """The id of the batch's hand-on job of ``kind`` (``evaluate``, ``consider``), from each event's
    last item in the batch: the same batch analysed again while its job still waits is not handed
    on twice, as when each event had its job ``{kind}-{event}-{item}``."""
    pairs = ",".join(f"{e}:{i}" for e, i in last.items())
    return f"{kind}-{next(iter(last))}-{len(last)}-{hashlib.sha1(pairs.encode()).hexdigest()[:16]}"


def _hand_on(last: dict[int, int]) -> None:
    """Alert evaluation and ticket consideration of every event the batch changed, one job per
    queue (``{event id: its last item in the batch}``): most items of a provincial feed start an
    event of their own, and a job per event was a fifth of the analysis job (bench/PROFILE.md).
    Each job gives every event the 300 s its own job had."""
    if not last:
        return
    events = list(last)
    timeout = 300 * len(events)
    enqueue("notify", registry.EVALUATE_EVENTS, events, job_id=hand_on_id("evaluate", last), timeout=timeout)
    enqueue("respond", registry.CONSIDER_EVENTS, events, job_id=hand_on_id("consider", last), timeout=timeout)


def _temporary_watches(rt: Runtime, records: list[dict], results: list[dict]) -> None:
    """临时关注: items about a policy in its watch after release carry its words (analysis/watches.py)."""
    with rt.session() as s:
        watches = active_watches(s, rt.now())
    if watches:
        texts = [(r["title"] or "") + "。" + (r["text"] or "") for r in records]
        apply_watches(results, texts, watches, rt.settings.timezone)


LOCK_TTL = 15  # a holder killed mid-batch holds up every other analysis job at most this long


@contextmanager
def _group_lock(redis: Redis) -> Iterator[None]:
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


def _decide(s: Session, members: list[Record], now: datetime, judgement: Judgement) -> dict[int, list[Record]]:
    """Fold and group the scored batch, under the lock; ``{event id: the batch's items in it}``.

    The lock serialises every worker here, so only what the next holder's index needs is done
    under it: the batch's new events inserted (one INSERT, for their ids) and each item's event
    and original written (one UPDATE; the next holder's sync reads them). Counting the items into
    their events is :func:`_account`'s, after the lock."""
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


def _account(s: Session, joined: dict[int, list[Record]], now: datetime, judgement: Judgement) -> None:
    """Count the batch's items into their events and merge their evidence (after the lock).

    The items counted are those this transaction marks analysed (``analysed_at`` was NULL): a
    re-run, or a second worker given the same items, counts nothing twice, and an item whose
    event was decided but whose counting failed is counted by the next run. The events' rows
    are locked first (in id order: two batches touching one event take turns, none deadlocks);
    on SQLite the marking is the first write and takes the store's one write lock."""
    batchstore.lock_events(s, sorted(joined))
    counted = batchstore.mark_analysed(s, [it.id for ms in joined.values() for it in ms], now)
    events = batchstore.read_events(s, list(joined))
    added = {e: [it for it in ms if it.id in counted] for e, ms in joined.items() if e in events}
    # (event, source) pairs counted before: only events that already count items can have any
    reported = _sources_reported(s, {e: its for e, its in added.items() if events[e].item_count})
    last_hour = _last_hour(s, list(events), now - timedelta(hours=1))
    for e, ms in joined.items():
        if e in events:  # deleted since the decision: nothing to count into
            _update_event(events[e], ms, added[e], now, last_hour.get(e, 0), reported, judgement)
    batchstore.update_events(s, [events[e] for e in joined if e in events])
    batchstore.add_copies(s, Counter(it.duplicate_of_id for its in added.values() for it in its if it.duplicate_of_id))


def _union(*lists: list[Any]) -> list[Any]:
    out: list = []
    for values in lists:
        for v in values or []:
            if v not in out:
                out.append(v)
    return out


def _last_hour(s: Session, event_ids: list[int], hour_ago: datetime) -> dict[int, int]:
    """Each event's items fetched in the last hour (the batch's included: written by the decision)."""
    if not event_ids:
        return {}
    rows = s.execute(select(Item.event_id, func.count()).where(
        Item.event_id.in_(event_ids), Item.fetched_at > hour_ago).group_by(Item.event_id)).all()
    return {event_id: n for event_id, n in rows if event_id is not None}  # in_() lets no NULL through


def _sources_reported(s: Session, added: dict[int, list[Record]]) -> set[tuple[int, int]]:
    """Which ``(event id, source id)`` of the items being counted an item counted before has
    (analysed, and not one of these: a batch decided but not yet counted by another worker is
    not a report yet). One index look-up per pair (a row-value IN made SQLite scan the whole index)."""
    own: dict[tuple[int, int], list[int]] = {}
    for event_id, items in added.items():
        for it in items:
            if it.source_id is not None:
                own.setdefault((event_id, it.source_id), []).append(it.id)
    pairs = sorted(own)
    found: set[tuple[int, int]] = set()
    for start in range(0, len(pairs), REPORTED_CHUNK):
        chunk = pairs[start:start + REPORTED_CHUNK]
        chunk += chunk[-1:] * (_padded(len(chunk)) - len(chunk))  # repeats answer alike; the set drops them
        query = union_all(*[select(literal(e), literal(src)).where(exists().where(
            Item.event_id == e, Item.source_id == src, Item.analysed_at.is_not(None), Item.id.not_in(own[e, src])))
            for e, src in chunk])
        found |= {(r[0], r[1]) for r in s.execute(query)}
    return found


REPORTED_CHUNK = 256  # SQLite allows 500 terms in one compound SELECT


def _padded(n: int) -> int:
    """The number of terms a compound SELECT of ``n`` pairs is given: the next power of two.
    SQLAlchemy keeps each shape of statement it compiled (up to 500), ~18 KB per term here, so
    one shape per count of pairs (1 to 200) could grow each worker by hundreds of MB over a
    long run; powers of two keep it to nine shapes, at most twice the look-ups of one batch."""
    return 1 << max(0, n - 1).bit_length()


def _update_event(event: Event | Record, members: list[Record], added: list[Record], now: datetime, last_hour: int,  # noqa: PLR0913
                  reported: set[tuple[int, int]], judgement: Judgement) -> None:
    """Count the items ``added`` to the event by this run, and merge the evidence of all the
    batch's ``members`` (idempotent: a re-run adds nothing, as its items already had the event).

    Counts are added up, not recounted from the store: a recount read every item of the event
    per batch, so a big event made analysis ever slower. ``last_hour``: the event's items fetched
    in the last hour; ``reported``: (event, source) pairs already in the store."""
    last_seen = event.last_seen_at
    for item in members:  # in id order, as if they had come one at a time
        if last_seen and item.fetched_at - last_seen > judgement.quiet_after or event.status == "quiet":
            if item.fetched_at > last_seen:
                event.status = "active"
                event.reopened_count += 1
                event.quiet_since = None
        last_seen = max(last_seen, item.fetched_at) if last_seen else item.fetched_at
    if added:
        event.item_count = (event.item_count or 0) + len(added)
        event.unique_count = (event.unique_count or 0) + sum(it.duplicate_of_id is None for it in added)
        sources = {it.source_id for it in added if it.source_id is not None}
        event.source_count = (event.source_count or 0) + len({x for x in sources if (event.id, x) not in reported})
        fetched = [it.fetched_at for it in added]
        event.first_seen_at = min(fetched + [t for t in (event.first_seen_at,) if t])
        event.last_seen_at = max(fetched + [t for t in (event.last_seen_at,) if t])
        published = [it.published_at for it in added if it.published_at]
        event.first_published_at = min(published + [t for t in (event.first_published_at,) if t], default=None)
    hour_ago = now - timedelta(hours=1)
    event.velocity = float(last_hour)
    event.peak_velocity = max(event.peak_velocity or 0.0, event.velocity)
    earlier_hours = max(1.0, (hour_ago - event.first_seen_at).total_seconds() / 3600)
    event.baseline_velocity = max(0.0, event.item_count - event.velocity) / earlier_hours
    for item in members:
        _merge_item(event, item, judgement)
    _false_information(event, judgement)
    event.updated_at = now


def _merge_item(event: Event | Record, item: Item | Record, judgement: Judgement) -> None:
    item_risk = _noisy_or([item.risk or 0.0, min(0.5, event.velocity / 40)])
    if (item.flags or {}).get("outside"):
        item_risk = item.risk or 0.0  # an incident elsewhere: its spread is not our response pressure
    event.risk = max(event.risk or 0.0, item_risk)
    event.level = max_level(event.level, item.level, risk_level(event.risk, judgement)).value
    event.relevance = max(event.relevance or 0.0, item.relevance or 0.0)
    event.rumor = max(event.rumor or 0.0, item.rumor or 0.0)
    event.in_remit = bool(event.in_remit or item.in_remit)
    event.in_jurisdiction = bool(event.in_jurisdiction or item.in_jurisdiction)
    # 疑似不实信息 is the event's judgement (_false_information), not any one item's
    event.categories = _union(event.categories, [c for c in item.categories if c != "false_information"])
    event.topics = _union(event.topics, item.topics)
    known = {p["code"] for p in event.places or []}
    event.places = list(event.places or []) + [p for p in item.places if p["code"] not in known]
    event.keywords = _union(event.keywords, item.keywords)[:30]
    event.watch_words = _union(event.watch_words, item.watch_words)
    flags = dict(event.flags or {})
    flags["accusation"] = sorted(set(flags.get("accusation", [])) | set(item.flags.get("accusation", [])))
    flags["complaint"] = bool(flags.get("complaint") or item.flags.get("complaint"))
    flags["mobilisation"] = bool(flags.get("mobilisation") or item.flags.get("mobilisation"))
    if item.flags.get("rumor_evidence") and (item.rumor or 0.0) >= judgement.rumor_threshold:
        flags["rumor_evidence"] = item.flags["rumor_evidence"]
    if item.flags.get("debunk"):
        flags["debunked_by"] = item.title or item.text[:40]
        flags["debunked_tier"] = item.tier
    elif item.tier in CONFIRMING_TIERS and item.in_remit:
        flags["confirmed_by"] = item.title or item.text[:40]
    if item.rumor and item.rumor >= judgement.rumor_threshold and not item.flags.get("debunk"):
        flags["rumor_item"] = max(float(flags.get("rumor_item") or 0.0), float(item.rumor))
    event.flags = flags


CONFIRMING_TIERS = ("central", "provincial", "government", "local")  # news that reports the incident


def _false_information(event: Event | Record, judgement: Judgement) -> None:
    """疑似不实信息 needs a rumour score at the threshold *and* evidence: an authoritative item of
    the same event refuting it, or the rumour pattern (unverifiable claim + call to spread) while
    no news source in the event reports the incident as fact. A score alone never refers anything
    to 公安. The evidence is kept in ``flags["false_information"]`` for the 专报:
    ``{"basis": "refuted", "source": title, "tier": tier}`` or ``{"basis": "pattern", "detail": …}``."""
    flags = dict(event.flags or {})
    evidence: dict[str, str] = {}
    if flags.get("debunked_by") and float(flags.get("rumor_item") or 0.0) >= judgement.rumor_threshold:
        evidence = {"basis": "refuted", "source": str(flags["debunked_by"]),
                    "tier": str(flags.get("debunked_tier") or "government")}
    elif flags.get("rumor_evidence") and not flags.get("confirmed_by"):
        # the pattern, while no news source has confirmed the incident
        evidence = {"basis": "pattern", "detail": str(flags["rumor_evidence"])}
    if evidence:
        flags["false_information"] = evidence
        event.categories = _union(event.categories, ["false_information"])
    else:
        flags.pop("false_information", None)
        event.categories = [c for c in event.categories or [] if c != "false_information"]
    event.flags = flags


def mark_quiet_events() -> int:
    """Periodic: events without new items for ``judgement.quiet_after_hours`` become quiet (a
    later item re-opens)."""
    rt = get_runtime()
    now = rt.now()
    quiet_after = rt.profile.judgement.quiet_after
    with rt.session() as s:
        rows = s.scalars(select(Event).where(Event.status == "active",
                                             Event.last_seen_at < now - quiet_after)).all()
        for event in rows:
            event.status = "quiet"
            event.quiet_since = event.last_seen_at + quiet_after
        return len(rows)
