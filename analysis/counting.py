"""Counting a decided batch into its events (事件计数与证据合并), after the grouping lock.

The items counted are those the counting transaction itself marks analysed, so a re-run never
double-counts; each touched event is recomputed once per batch, its evidence merged from the
batch's items in id order.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import CompoundSelect, bindparam, exists, func, literal_column, select, union_all
from sqlalchemy.orm import Session

from yuqing.documents.current import FIGURE_KINDS, apply, source_names
from yuqing.levels import Level, max_level
from yuqing.models import Event, Item
from yuqing.profile import Judgement

from . import batchstore
from .batchstore import Record
from .scoring import _noisy_or, risk_level


def account(s: Session, joined: dict[int, list[Record]], now: datetime, judgement: Judgement) -> None:
    """Write the batch's items' events (decided under the lock, handed to the other workers
    through Redis) and count them into their events, merging their evidence and their account
    (after the lock).

    The items counted are those this transaction marks analysed (``analysed_at`` was NULL): a
    re-run, or a second worker given the same items, counts nothing twice, and an item whose
    event was decided but whose counting failed is counted by the next run. The events' rows
    are locked first (in id order: two batches touching one event take turns, none deadlocks);
    on SQLite the items' events are the first write and take the store's one write lock.

    An event another worker merged since the decision (``events.merged_into``) counts none of
    them: they go into the event it was merged into (``joined`` is changed so, for the steps after)."""
    _into_kept(s, joined)
    batchstore.lock_events(s, sorted(joined))
    batchstore.write_events(s, [it for ms in joined.values() for it in ms])
    counted = batchstore.mark_analysed(s, [it.id for ms in joined.values() for it in ms], now)
    events = batchstore.read_events(s, list(joined))
    added = {e: [it for it in ms if it.id in counted] for e, ms in joined.items() if e in events}
    # (event, source) pairs counted before: only events that already count items can have any
    reported = sources_reported(s, {e: its for e, its in added.items() if events[e].item_count})
    last_hour = _last_hour(s, list(events), now - timedelta(hours=1))
    for e, ms in joined.items():
        if e in events:  # deleted since the decision: nothing to count into
            update_event(events[e], ms, added[e], now, last_hour.get(e, 0), reported, judgement)
    names = source_names(s, (it for e, ms in joined.items() if e in events for it in ms))
    for e, ms in joined.items():  # the account every page, mail and document reads, and its title
        if e in events:
            apply(events[e], ms, names)
    batchstore.update_events(s, [events[e] for e in joined if e in events])
    batchstore.add_copies(s, Counter(it.duplicate_of_id for its in added.values() for it in its if it.duplicate_of_id))


def _into_kept(s: Session, joined: dict[int, list[Record]]) -> None:
    """The batch's items of events merged meanwhile moved, in ``joined``, to the events they went into."""
    kept: dict[int, int] = {e: k for e, k in s.execute(select(Event.id, Event.merged_into).where(
        Event.id.in_(list(joined)), Event.merged_into.is_not(None))).tuples() if k is not None} if joined else {}
    if not kept:
        return
    out: dict[int, list[Record]] = {}
    for e, ms in joined.items():
        target = kept.get(e, e)
        for it in ms:
            it.event_id = target
        out[target] = sorted(out.get(target, []) + ms, key=lambda it: it.id)
    joined.clear()
    joined.update(out)


def merge_event(event: Event, other: Event, sources: int, last_hour: int, now: datetime,  # noqa: PLR0913
                judgement: Judgement) -> None:
    """The kept ``event`` with the counts and evidence of ``other``, merged into it (its items
    moved already): counts add up (``sources``: the kept event's sources counted again over all
    its items; ``last_hour``: its items of the last hour), times span both, the judgements are
    the graver of the two, but for the level (:func:`merged_level`: never over the monitor's)."""
    event.item_count = (event.item_count or 0) + (other.item_count or 0)
    event.unique_count = (event.unique_count or 0) + (other.unique_count or 0)
    event.source_count = sources
    event.first_seen_at = min(event.first_seen_at, other.first_seen_at)
    event.last_seen_at = max(event.last_seen_at, other.last_seen_at)
    published = [t for t in (event.first_published_at, other.first_published_at) if t]
    event.first_published_at = min(published, default=None)
    if other.status == "active" and event.status != "active":
        event.status, event.quiet_since = "active", None
    event.velocity = float(last_hour)
    event.peak_velocity = max(event.peak_velocity or 0.0, other.peak_velocity or 0.0, event.velocity)
    earlier_hours = max(1.0, (now - timedelta(hours=1) - event.first_seen_at).total_seconds() / 3600)
    event.baseline_velocity = max(0.0, event.item_count - event.velocity) / earlier_hours
    event.risk = max(event.risk or 0.0, other.risk or 0.0)
    level, judged = merged_level(event, other, risk_level(event.risk, judgement))
    event.level = level.value
    event.relevance = max(event.relevance or 0.0, other.relevance or 0.0)
    event.rumor = max(event.rumor or 0.0, other.rumor or 0.0)
    event.in_remit = bool(event.in_remit or other.in_remit)
    event.in_jurisdiction = bool(event.in_jurisdiction or other.in_jurisdiction)
    event.categories = _union(event.categories, [c for c in other.categories or [] if c != "false_information"])
    event.topics = _union(event.topics, other.topics)
    known = {p["code"] for p in event.places or []}
    event.places = list(event.places or []) + [p for p in other.places or [] if p["code"] not in known]
    event.keywords = _union(event.keywords, other.keywords)[:30]
    event.watch_words = _union(event.watch_words, other.watch_words)
    flags, theirs = dict(event.flags or {}), dict(other.flags or {})
    theirs.pop("manual_level", None)
    flags.pop("manual_level", None)
    if judged is not None:  # the monitor's judgement the merged level stands on
        flags["manual_level"] = judged
    flags["accusation"] = sorted(set(flags.get("accusation", [])) | set(theirs.get("accusation", [])))
    for key in ("complaint", "mobilisation"):
        flags[key] = bool(flags.get(key) or theirs.get(key))
    flags["rumor_item"] = max(float(flags.get("rumor_item") or 0.0), float(theirs.get("rumor_item") or 0.0)) or None
    event.flags = {**theirs, **{k: v for k, v in flags.items() if v is not None}}
    false_information(event, judgement)
    event.updated_at = now


def _judged(event: Event | Record) -> dict[str, Any] | None:
    """The monitor's judgement of ``event``'s level (人工研判, ``flags["manual_level"]``), if any."""
    judged = (event.flags or {}).get("manual_level")
    return judged if isinstance(judged, dict) else None


def merged_level(event: Event, other: Event, by_risk: Level) -> tuple[Level, dict[str, Any] | None]:
    """The kept ``event``'s level once ``other`` is merged into it, and the monitor's judgement it
    stands on (None: analysis's own). A merge never overrides a level the monitor set by hand and
    never lowers the kept event's level: a judged level on the kept event stays as it is (the
    other's level and the merged risk do not raise it: the monitor looked at the incident and
    judged it); a judged level on the other event alone counts beside the kept one's (the higher
    of the two); judged on both, the higher judgement. Without any, the graver of the two and of
    the merged risk, as a new item would count. An event's level where it was judged is its
    level now: the monitor's, or what later evidence raised it to since (:func:`merge_item`)."""
    mine, theirs = _judged(event), _judged(other)
    kept, gone = Level.parse(event.level), Level.parse(other.level)
    if mine is not None and theirs is not None:
        return (gone, theirs) if gone > kept else (kept, mine)
    if mine is not None:
        return kept, mine
    if theirs is not None:
        return (gone, theirs) if gone >= kept else (kept, None)
    return max_level(kept, gone, by_risk), None


def item_level(event: Event | Record, item: Item | Record, by_risk: Level) -> Level:
    """The event's level once ``item`` joins it. Analysis keeps the highest level so far; where
    the monitor set the level by hand (人工研判), it stands until the evidence is graver than what
    the monitor overrode (``manual_level["from"]``, the level analysis had given): a further
    report of the same gravity does not undo a person's judgement, a report of more deaths does.
    """
    evidence = max_level(item.level, by_risk)
    judged = _judged(event)
    if judged is not None and evidence <= max_level(judged.get("from"), judged.get("level")):
        return Level.parse(event.level)
    return max_level(event.level, evidence)


def note_suggestion(event: Event | Record, item: Item | Record, by_risk: Level) -> None:
    """系统研判建议: where the monitor set the level by hand and ``item``'s evidence is graver than
    that level but not than the level overridden (:func:`item_level` keeps the monitor's), the
    computed level is kept beside the judgement (``manual_level["suggested"]``: level, the evidence
    in words, the item, when) for the monitor's notice and 恢复自动研判 (alerts.actions). Once per
    rise: a further report at the level suggested changes nothing, a graver one suggests again;
    once the event's level reaches the suggestion (graver evidence, or the monitor), it goes."""
    judged = _judged(event)
    if judged is None:
        return
    current = Level.parse(event.level)
    evidence = max_level(item.level, by_risk)
    held = judged.get("suggested")
    held_level = Level.parse(held["level"]) if isinstance(held, dict) and held.get("level") else None
    suggested: dict[str, Any] | None = held if held_level is not None and held_level > current else None
    if evidence > current and (suggested is None or evidence > Level.parse(suggested["level"])):
        fetched = item.fetched_at
        suggested = {"level": evidence.value, "evidence": evidence_words(item, evidence), "item": item.id,
                     "at": fetched.isoformat() if fetched else None}
    if suggested is held:
        return
    judged = {k: v for k, v in judged.items() if k != "suggested"}
    if suggested is not None:
        judged["suggested"] = suggested
    event.flags = {**(event.flags or {}), "manual_level": judged}


def evidence_words(item: Item | Record, level: Level) -> str:
    """What the monitor reads as the evidence of a suggested level: the casualties the item
    reports where they grade it, else the event's risk; with the item's own words, quoted."""
    said = " ".join(((item.title or "").strip() or (item.text or "").strip()).split())
    quote = f"（“{said[:40]}{'…' if len(said) > 40 else ''}”）" if said else ""
    counts = item.casualties or {}
    parts = [f"{label} {int(counts.get(key) or 0)} 人" for key, label in FIGURE_KINDS if counts.get(key)]
    if parts and max_level(item.level) >= level:
        return f"新信息称{'、'.join(parts)}{quote}"
    return f"事件风险研判已达{level.value}{quote}"


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


def sources_reported(s: Session, added: dict[int, list[Record]]) -> set[tuple[int, int]]:
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
        params: dict[str, Any] = {}
        for k, (e, src) in enumerate(chunk):
            params.update({f"e{k}": e, f"s{k}": src, f"i{k}": own[e, src]})
        found |= {chunk[r[0]] for r in s.execute(_reported_query(len(chunk)), params)}
    return found


REPORTED_CHUNK = 256  # SQLite allows 500 terms in one compound SELECT


def _padded(n: int) -> int:
    """The number of terms a compound SELECT of ``n`` pairs is given: the next power of two.
    SQLAlchemy keeps each shape of statement it compiled (up to 500), ~18 KB per term here, so
    one shape per count of pairs (1 to 200) could grow each worker by hundreds of MB over a
    long run; powers of two keep it to nine shapes, at most twice the look-ups of one batch."""
    return 1 << max(0, n - 1).bit_length()


@cache
def _reported_query(n: int) -> CompoundSelect:
    """The look-up of ``n`` pairs, built once per shape (building it was half its cost): term
    ``k`` answers its position if an analysed item other than the batch's ``i{k}`` has event
    ``e{k}`` and source ``s{k}``."""
    return union_all(*[select(literal_column(str(k))).where(exists().where(
        Item.event_id == bindparam(f"e{k}"), Item.source_id == bindparam(f"s{k}"), Item.analysed_at.is_not(None),
        Item.id.not_in(bindparam(f"i{k}", expanding=True)))) for k in range(n)])


def update_event(event: Event | Record, members: list[Record], added: list[Record], now: datetime, last_hour: int,  # noqa: PLR0913
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
        merge_item(event, item, judgement)
    false_information(event, judgement)
    event.updated_at = now


def merge_item(event: Event | Record, item: Item | Record, judgement: Judgement) -> None:
    item_risk = _noisy_or([item.risk or 0.0, min(0.5, event.velocity / 40)])
    if (item.flags or {}).get("outside"):
        item_risk = item.risk or 0.0  # an incident elsewhere: its spread is not our response pressure
    event.risk = max(event.risk or 0.0, item_risk)
    by_risk = risk_level(event.risk, judgement)
    event.level = item_level(event, item, by_risk).value
    note_suggestion(event, item, by_risk)
    event.relevance = max(event.relevance or 0.0, item.relevance or 0.0)
    event.rumor = max(event.rumor or 0.0, item.rumor or 0.0)
    event.in_remit = bool(event.in_remit or item.in_remit)
    event.in_jurisdiction = bool(event.in_jurisdiction or item.in_jurisdiction)
    # 疑似不实信息 is the event's judgement (false_information), not any one item's
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


def false_information(event: Event | Record, judgement: Judgement) -> None:
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
