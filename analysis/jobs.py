"""RQ jobs of analysis (研判): score an item, fold it, group it into an event, hand on.

``analyse_item(item_id)`` is idempotent: scores are overwritten, an item keeps the event it was
given, and counts grow only by the items the counting transaction itself marks analysed, so a
second run never double-counts.
The folding/event index is per process and brought up to date from the store at the start of
each job (only rows newer than those it has seen), under a Redis lock so two workers never
create two events for one incident (:mod:`.decision`); the lock is held for that decision only,
and the events' counts are written after it, with their rows locked (:mod:`.counting`).
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select

from yuqing.models import Event
from yuqing.runtime import Runtime, get_runtime
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

from . import batchstore, decision, folding, merging, tokenize
from .counting import account
from .events import incident_keys
from .modelstore import load
from .scoring import Scorer
from .watches import active_watches, apply_watches

log = logging.getLogger(__name__)

SCORERS_KEPT = 4  # scorers a process keeps (a worker has one; tests and trials build a few)
_scorers: dict[tuple[str, tuple[int, ...]], Scorer] = {}


def get_scorer(rt: Runtime) -> Scorer:
    """The process's Scorer for the runtime's profile and active models (its place matchers take
    about 0.3 s of a core to build). Keyed by what it is built from: the profile's content and
    the model objects active now (modelstore keeps one object per file, and a kept Scorer holds
    its own alive, so an equal id is the same model). Not by ``id(rt.profile)``: every
    load_profile gives a new object with the same content, and an id is reused by a different
    profile once the first is gone. A model promoted by another process gives a new Scorer."""
    profile, data_dir = rt.profile, str(rt.settings.data_dir)
    models = {name: load(name, data_dir) for name in (profile.remit.model, "emotion", "rumor", "risk")}
    key = (profile.model_dump_json(), tuple(id(m) for m in models.values()))
    scorer = _scorers.pop(key, None) or Scorer(profile.model_copy(deep=True), data_dir, models=models)
    _scorers[key] = scorer  # the latest last: the oldest goes first
    while len(_scorers) > SCORERS_KEPT:
        del _scorers[next(iter(_scorers))]
    return scorer


def preload() -> None:
    """Load jieba's dictionary and the models once, when a worker starts."""
    rt = get_runtime()
    tokenize.warm(rt.profile)
    get_scorer(rt)


def reset() -> None:
    """Forget the in-memory index (tests; a store swap)."""
    decision.reset()


def analyse_item(item_id: int) -> int | None:
    """Score, fold and group one item; enqueue alert evaluation and ticket consideration."""
    return analyse_items([item_id]).get(int(item_id))


def analyse_items(item_ids: list[int]) -> dict[int, int]:
    """Score, fold and group a batch of items (the crawl pipeline's batch); ``{item id: event id}``.
    Hands every event it changed on in one alert job and one ticket job (:func:`_hand_on`).

    Volume is why this exists: scoring is vectorised over the batch, the grouping lock is taken
    once and held only for the decision (:func:`.decision.decide`), each touched event is recomputed once
    (:func:`.counting.account`) and handed on once, however many of the batch's items joined it. Items are
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
    redis = rt.get_redis()
    decision.evict_ahead(now)  # the window slid: done before the lock, as the decision would do it
    try:  # under the lock only what decides: the index, the new events' ids, the handover
        with decision.group_lock(redis):
            with rt.session() as s:
                joined, decided, merged = decision.decide(s, redis, members, now, rt.profile.judgement)
            decision.hand_over(redis, decided, merged)
    except BaseException:  # the commit included: the index may hold what the store does not
        reset()  # rebuilt from the store by the next job
        raise
    with rt.session() as s:  # the items' events, counts, evidence and account, after the lock: workers overlap here
        account(s, joined, now, rt.profile.judgement)  # an event merged meanwhile: its items move to the kept one
    if merged:
        with rt.session() as s:  # the kept events with the merged ones' counts, evidence and account
            merging.settle(s, merged, now, rt.profile.judgement)
        for kept in merged.values():
            joined.setdefault(kept, [])
    _hand_on({event_id: max((it.id for it in members), default=0) for event_id, members in joined.items()})
    return {it.id: event_id for event_id, members in joined.items() for it in members}


def hand_on_id(kind: str, last: dict[int, int]) -> str:
    """The id of the batch's hand-on job of ``kind`` (``evaluate``, ``consider``), from each event's
    last item in the batch: the same batch analysed again while its job still waits is not handed
    on twice, as when each event had its job ``{kind}-{event}-{item}``."""
    pairs = ",".join(f"{e}:{i}" for e, i in last.items())
    return f"{kind}-{next(iter(last))}-{len(last)}-{hashlib.sha1(pairs.encode()).hexdigest()[:16]}"


def _hand_on(last: dict[int, int]) -> None:
    """Alert evaluation of every event the batch changed, one job (``{event id: its last item in
    the batch}``), which hands the batch on to ticket consideration: most items of a provincial
    feed start an event of their own, and a job per event was a fifth of the analysis job
    (bench/PROFILE.md). Each job gives every event the 300 s its own job had."""
    if not last:
        return
    events = list(last)
    timeout = 300 * len(events)
    # The alerts' job hands the batch on to the tickets' (consider_events) once they are evaluated:
    # the monitor hears of an event before any department (alerts/grouping.py, monitor_pending).
    enqueue("notify", registry.EVALUATE_EVENTS, events, job_id=hand_on_id("evaluate", last), timeout=timeout)


def _temporary_watches(rt: Runtime, records: list[dict], results: list[dict]) -> None:
    """临时关注: items about a policy in its watch after release carry its words (analysis/watches.py)."""
    with rt.session() as s:
        watches = active_watches(s, rt.now())
    if watches:
        texts = [(r["title"] or "") + "。" + (r["text"] or "") for r in records]
        apply_watches(results, texts, watches, rt.settings.timezone)


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
