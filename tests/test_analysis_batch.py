"""analyse_items: a batch groups exactly as its items would one at a time, hands each touched
event on once, and a second worker's out-of-order batch still reaches the first one's index."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select

from yuqing.analysis import counting, decision, handover, jobs
from yuqing.models import Alert, Event, Item

STORY = [
    ("泽州县巴公镇一煤矿发生透水事故 8名矿工被困", "泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，应急管理部门组织搜救。"),
    ("泽州县巴公镇一煤矿发生透水事故 8名矿工被困", "转发：泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，应急管理部门组织搜救。"),
    ("", "我爱人就在巴公镇那个煤矿井下！现在说死了3个，是不是瞒报？泽州县应急管理局为什么不公布？家属们已经聚集在矿门口要说法！"),
    ("", "今晚这场比赛简直是一场事故！后卫连续失误送了两个球，主教练必须下课。#中超#"),
    ("", "高平市一化工厂凌晨起火，消防正在处置，暂无人员伤亡报告。"),
    ("", "转发：高平市一化工厂凌晨起火，消防正在处置，暂无人员伤亡报告！"),
]


@pytest.fixture(autouse=True)
def fresh_index():  # type: ignore[no-untyped-def]
    jobs.reset()
    yield
    jobs.reset()


def _items(rt, story=STORY, tag: str = "") -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    with rt.session() as s:
        for n, (title, text) in enumerate(story):
            url = f"https://example.test/{tag}{n}"
            item = Item(url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), title=title, text=text,
                        tier="social", fetched_at=rt.now(), published_at=rt.now(),
                        content_hash=hashlib.sha256(text.encode()).hexdigest())
            s.add(item)
            s.flush()
            ids.append(item.id)
    return ids


def _grouping(rt, ids: list[int]) -> list[tuple[int | None, int | None]]:  # type: ignore[no-untyped-def]
    """Each item as (index of the first item of its event, index of its original)."""
    with rt.session() as s:
        items = [s.get(Item, i) for i in ids]
        first = {}
        for n, it in enumerate(items):
            first.setdefault(it.event_id, n)
        return [(first[it.event_id], ids.index(it.duplicate_of_id) if it.duplicate_of_id else None) for it in items]


def test_a_batch_groups_as_one_at_a_time_and_hands_each_event_on_once(runtime) -> None:  # type: ignore[no-untyped-def]
    single = _items(runtime, tag="a")
    for item_id in single:
        jobs.analyse_item(item_id)
    runtime.get_redis().flushall()
    jobs.reset()
    runtime.clock.advance(days=30)  # out of the first story's window: it must group on its own
    batch = _items(runtime, tag="b")
    assigned = jobs.analyse_items(list(reversed(batch)))  # the order given does not matter
    assert _grouping(runtime, batch) == _grouping(runtime, single)
    assert _grouping(runtime, batch) == [(0, None), (0, 0), (0, None), (3, None), (4, None), (4, 4)]
    assert set(assigned) == set(batch)
    with runtime.session() as s:
        mine = {s.get(Item, i).event_id for i in batch}
        assert not mine & {s.get(Item, i).event_id for i in single}
        mine_story = s.get(Event, assigned[batch[0]])
        assert mine_story.item_count == 3 and mine_story.unique_count == 2 and mine_story.level == "较大"
        assert s.get(Item, batch[0]).duplicate_count == 1
    # one job for the batch, naming each event once (not once per item); the tickets' job comes
    # after the alerts were evaluated (the monitor hears before any department)
    [evaluate] = Queue("notify", connection=runtime.get_redis()).jobs
    assert Queue("respond", connection=runtime.get_redis()).jobs == []
    assert evaluate.func_name == "yuqing.alerts.jobs.evaluate_events"
    assert sorted(evaluate.args[0]) == sorted(mine)
    assert evaluate.timeout == 300 * len(mine)  # each event keeps the time its own job had
    evaluate.perform()
    [consider] = Queue("respond", connection=runtime.get_redis()).jobs
    assert consider.func_name == "yuqing.queue.jobs.consider_events"
    assert sorted(consider.args[0]) == sorted(mine) and consider.timeout == 300 * len(mine)


def test_running_a_batch_again_counts_nothing_twice(runtime) -> None:  # type: ignore[no-untyped-def]
    ids = _items(runtime)
    first = jobs.analyse_items(ids)
    jobs.reset()
    assert jobs.analyse_items(ids) == first
    with runtime.session() as s:
        assert s.scalar(select(Event.item_count).where(Event.id == first[ids[0]])) == 3
        assert len(s.scalars(select(Event)).all()) == 3
    # its hand-on job still waits: the second run's is the same job, not enqueued again
    assert [len(Queue(q, connection=runtime.get_redis()).jobs) for q in ("notify", "respond")] == [1, 0]


def test_an_event_failing_in_the_batchs_hand_on_is_retried_alone(runtime, drain, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from yuqing.alerts import grouping

    events = list(dict.fromkeys(jobs.analyse_items(_items(runtime)).values()))
    assert len(events) == 3
    seen: list[int] = []
    real = grouping.evaluate

    def evaluate(rt, event_id):  # type: ignore[no-untyped-def]
        seen.append(event_id)
        if event_id == events[0] and seen.count(event_id) == 1:
            raise RuntimeError("the store went away for this event")
        return real(rt, event_id)

    monkeypatch.setattr(grouping, "evaluate", evaluate)
    drain(("notify",))
    # the batch went on past the failure, and the failed event ran again as its own job
    assert seen == [events[0], events[1], events[2], events[0]]
    with runtime.session() as s:
        assert events[0] in set(s.scalars(select(Alert.event_id)))  # the 较大 story's alert, after the retry


def test_an_out_of_order_batch_from_another_worker_reaches_the_index(runtime) -> None:  # type: ignore[no-untyped-def]
    early = _items(runtime, STORY[:1], tag="early")  # its job is slow: another worker goes first
    later = _items(runtime, STORY[3:4], tag="later")
    jobs.analyse_items(later)  # this worker has now seen a higher id than `early`
    jobs.analyse_items(_items(runtime, STORY[4:5], tag="other"))  # and synced past it
    mine = decision._grouper
    decision._grouper = None  # the other worker's process, with its own index
    jobs.analyse_items(early)
    decision._grouper = mine
    copy = _items(runtime, STORY[1:2], tag="copy")
    jobs.analyse_items(copy)
    with runtime.session() as s:
        assert s.get(Item, copy[0]).duplicate_of_id == early[0]
        assert s.get(Item, copy[0]).event_id == s.get(Item, early[0]).event_id


def test_the_index_forgets_what_left_the_window() -> None:
    """Memory stays flat on a long stream: nothing of an item or its event outlives the window."""
    from datetime import UTC, datetime, timedelta

    from yuqing.analysis import folding
    from yuqing.analysis.events import Grouper, incident_keys

    g = Grouper(window=timedelta(hours=1))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    town = incident_keys([{"code": "140525108", "name": "巴公镇"}], ["fire"])
    for n in range(1, 3001):  # one item a minute, each its own event (a stand-in id as jobs uses)
        at = start + timedelta(minutes=n)
        mh = folding.text_minhash(f"第{n}条 互不相干的帖文 {n * 7919}")
        sig = folding.signature_minhash({f"词{n}", f"字{n * 3}", f"句{n * 5}"})
        event = 10**15 + n
        g.add(n, at, event, mh, sig, town if n % 10 == 0 else set(), None)
        g.rename_event(event, n, [n])
        g.evict(at)
    assert len(g.entries) <= 61 and len(g.folds.hashes) <= 61 and len(g.sig) <= 61
    assert len(g.event_seen) <= 61
    assert all(len(ids) <= 7 for ids in g.by_key.values())


def test_an_events_place_keys_leave_the_index_with_the_items_that_named_them() -> None:
    """An event reported for longer than the window, each item from another town: the towns of
    items that left the window leave the index (they stayed for good while the event lived on)."""
    from datetime import UTC, datetime, timedelta

    from yuqing.analysis import folding
    from yuqing.analysis.events import Grouper, incident_keys

    g = Grouper(window=timedelta(hours=1))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(1, 181):  # one event, an item a minute for three hours, each from another town
        at = start + timedelta(minutes=n)
        keys = incident_keys([{"code": f"140525{n:03d}", "name": f"镇{n}"}], ["fire"])
        g.add(n, at, 7, folding.text_minhash(f"第{n}条 {n * 7919}"), None, keys, None)
        g.evict(at)
        assert len(g.by_key) <= 61  # only the towns of the items still in the window
    _, event = g.assign(folding.text_minhash("又一条"), None, keys, start + timedelta(minutes=181))
    assert event == 7  # the latest town still finds the live event
    g.evict(start + timedelta(hours=5))  # the event went quiet and left the window
    assert not g.by_key and not g.event_seen and not g.entries


def _recount(s, event_id: int) -> tuple:  # type: ignore[no-untyped-def]
    """The event's counts as the store has them, counted from scratch."""
    items = s.scalars(select(Item).where(Item.event_id == event_id)).all()
    published = [it.published_at for it in items if it.published_at]
    return (len(items), len({it.source_id for it in items if it.source_id}), sum(not it.duplicate_of_id for it in items),
            min(it.fetched_at for it in items), max(it.fetched_at for it in items), min(published) if published else None)


def test_counts_added_batch_by_batch_equal_a_recount_from_the_store(store) -> None:  # type: ignore[no-untyped-def]
    from yuqing.models import Source

    runtime = store
    with runtime.session() as s:
        sources = [Source(key=f"s{n}", name=f"信源{n}", kind="feed", urls=[], tier="local", created_at=runtime.now())
                   for n in range(3)]
        s.add_all(sources)
        s.flush()
        source_ids = [src.id for src in sources]
    batches = []
    for round_ in range(4):  # the same story from several sources, an hour apart, in batches
        ids = _items(runtime, STORY, tag=f"r{round_}-")
        with runtime.session() as s:
            for n, item_id in enumerate(ids):
                item = s.get(Item, item_id)
                item.source_id = source_ids[(n + round_) % 3] if n % 4 else None
                item.published_at = runtime.now() - timedelta(minutes=10 * n + round_)
        batches.append(ids)
        jobs.analyse_items(ids[:3])
        jobs.analyse_items(ids[3:])
        jobs.analyse_items(ids[1:4])  # a retried job: nothing counted twice
        runtime.clock.advance(minutes=40)
    jobs.reset()
    jobs.analyse_items(batches[0] + batches[-1])  # and after a restart
    with runtime.session() as s:
        events = s.scalars(select(Event)).all()
        assert any(e.item_count >= 8 and e.source_count == 3 for e in events)  # the story grew across batches
        for e in events:
            assert (e.item_count, e.source_count, e.unique_count, e.first_seen_at, e.last_seen_at,
                    e.first_published_at) == _recount(s, e.id), e.title
            hour_ago = runtime.now() - timedelta(hours=1)
            in_last_hour = s.scalars(select(Item).where(Item.event_id == e.id, Item.fetched_at > hour_ago)).all()
            if e.updated_at == runtime.now():  # touched by the last run: its velocity is current
                assert e.velocity == len(in_last_hour)
        for original in s.scalars(select(Item).where(Item.duplicate_count > 0)):
            copies = s.scalars(select(Item).where(Item.duplicate_of_id == original.id)).all()
            assert original.duplicate_count == len(copies)


def _sourced(runtime, story, tag: str, source_id: int) -> list[int]:  # type: ignore[no-untyped-def]
    ids = _items(runtime, story, tag=tag)
    with runtime.session() as s:
        for item_id in ids:
            s.get(Item, item_id).source_id = source_id
    return ids


def test_batches_counted_out_of_their_decisions_order_count_each_item_and_source_once(store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The counting runs after the grouping lock: a later batch joining the same event may be
    counted first, and a batch whose counting failed is counted by its next run."""
    from yuqing.models import Source

    runtime = store
    with runtime.session() as s:
        s.add(Source(key="s", name="信源", kind="feed", urls=[], tier="local", created_at=runtime.now()))
        s.flush()
        source_id = s.scalar(select(Source.id))
    first = _sourced(runtime, STORY[:1], "first", source_id)
    later = _sourced(runtime, STORY[1:3], "later", source_id)  # the same story, the same source
    held: list[tuple] = []
    real = jobs.account
    monkeypatch.setattr(jobs, "account", lambda *args: held.append(args))
    jobs.analyse_items(first)  # decided, its counting held back (another worker's slow batch)
    monkeypatch.setattr(jobs, "account", real)
    jobs.analyse_items(later)  # joins the first batch's event and is counted before it
    with runtime.session() as s:
        assert s.get(Item, first[0]).analysed_at is None  # not counted yet: the sweep would hand it on again
        real(s, *held[0][1:])
    with runtime.session() as s:
        event = s.get(Event, s.get(Item, first[0]).event_id)
        assert {s.get(Item, i).event_id for i in later} == {event.id}
        assert (event.item_count, event.source_count, event.unique_count) == (3, 1, 2)
        assert (event.item_count, event.source_count, event.unique_count, event.first_seen_at, event.last_seen_at,
                event.first_published_at) == _recount(s, event.id)
        assert s.get(Item, first[0]).duplicate_count == 1

    # a batch decided whose counting failed: the next run counts it, once
    again = _sourced(runtime, STORY[4:6], "again", source_id)

    def fail(*_args) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("the store went away after the decision")

    monkeypatch.setattr(jobs, "account", fail)
    with pytest.raises(RuntimeError):
        jobs.analyse_items(again)
    monkeypatch.setattr(jobs, "account", real)
    jobs.analyse_items(again)
    jobs.analyse_items(again)  # and a third run counts nothing
    with runtime.session() as s:
        event = s.get(Event, s.get(Item, again[0]).event_id)
        assert (event.item_count, event.source_count, event.unique_count) == (2, 1, 1) == _recount(s, event.id)[:3]
        assert s.get(Item, again[0]).duplicate_count == 1


def _index_of(g) -> dict[int, tuple]:  # type: ignore[no-untyped-def]
    return {i: (g.decision(i), sorted(e.keys), e.at) for i, e in g.entries.items()}


def test_the_next_holder_takes_the_other_workers_decisions_from_redis_not_the_store(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each worker's index follows the others' through the handover stream; it reads the store
    only to start, or when it missed an entry."""
    jobs.analyse_items(_items(runtime, STORY[:1], tag="mine"))
    mine = decision._grouper
    decision._grouper = None  # the other worker's process, with its own index
    other = _items(runtime, STORY[4:5], tag="other")
    jobs.analyse_items(other)
    theirs = decision._grouper
    reads: list[int] = []
    real_read = decision._read_store
    monkeypatch.setattr(decision, "_read_store", lambda *args: reads.append(1) or real_read(*args))
    decision._grouper = mine
    copies = _items(runtime, [STORY[1], STORY[5]], tag="copies")  # of this worker's item and of the other's
    jobs.analyse_items(copies)
    assert reads == []  # the other worker's item came from Redis
    with runtime.session() as s:
        assert s.get(Item, copies[1]).duplicate_of_id == other[0]
        assert s.get(Item, copies[1]).event_id == s.get(Item, other[0]).event_id
    assert mine is decision._grouper
    decision._grouper = theirs  # and the other worker catches up on this one's batch
    jobs.analyse_items(_items(runtime, STORY[2:3], tag="relative"))
    assert reads == []
    assert _index_of(theirs) == _index_of(mine) | _index_of(theirs)
    decision.reset()  # a worker that starts now: the store and the stream give the same index
    with runtime.session() as s:
        rebuilt = decision.grouper_synced(s, runtime.redis, runtime.now(), runtime.profile.judgement)
    assert reads == [1]
    assert _index_of(rebuilt) == _index_of(theirs)


def test_a_worker_that_missed_a_handover_entry_rebuilds_its_index_from_the_store(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    jobs.analyse_items(_items(runtime, STORY[:1], tag="first"))
    mine = decision._grouper
    decision._grouper = None
    other = _items(runtime, STORY[4:5], tag="other")
    jobs.analyse_items(other)
    runtime.redis.delete(handover.STREAM_KEY)  # trimmed, or Redis restarted: the entry is gone
    decision._grouper = None
    jobs.analyse_items(_items(runtime, STORY[3:4], tag="third"))  # its entry names one this worker never saw
    decision._grouper = mine
    copy = _items(runtime, STORY[5:6], tag="copy")
    jobs.analyse_items(copy)
    assert decision._grouper is not mine  # rebuilt
    with runtime.session() as s:
        assert s.get(Item, copy[0]).duplicate_of_id == other[0]


def test_an_item_decided_but_not_written_keeps_its_decision_when_its_job_runs_again(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The items' events are written after the lock: a job that failed there runs again and
    writes what the index (this worker's, or another's from the stream) decided."""
    first = _items(runtime, STORY[:1], tag="first")
    jobs.analyse_items(first)
    copy = _items(runtime, STORY[1:2], tag="copy")
    monkeypatch.setattr(jobs, "account", lambda *args: (_ for _ in ()).throw(RuntimeError("the store went away")))
    with pytest.raises(RuntimeError):
        jobs.analyse_items(copy)
    monkeypatch.undo()
    with runtime.session() as s:
        assert s.get(Item, copy[0]).event_id is None
    events = runtime.redis.xlen(handover.STREAM_KEY)
    decision._grouper = None  # taken by another worker, which has the decision from the stream
    jobs.analyse_items(copy)
    assert runtime.redis.xlen(handover.STREAM_KEY) == events + 1
    with runtime.session() as s:
        item = s.get(Item, copy[0])
        assert (item.duplicate_of_id, item.event_id) == (first[0], s.get(Item, first[0]).event_id)
        assert s.get(Event, item.event_id).item_count == 2


def test_the_sources_look_up_leaves_few_statements_in_sqlalchemys_cache(store) -> None:  # type: ignore[no-untyped-def]
    """SQLAlchemy keeps every shape of statement it compiled: one shape per count of (event,
    source) pairs grew a worker by megabytes over a long run (bench/PROFILE.md)."""
    from yuqing.analysis.batchstore import Record

    with store.session() as s:
        cache = s.get_bind()._compiled_cache
        before = len(cache)
        for n in range(1, 41):
            added = {e: [Record(id=10**9 + e, source_id=1)] for e in range(1, n + 1)}
            assert counting.sources_reported(s, added) == set()
        assert len(cache) - before <= 7  # 1, 2, 4 … 64 pairs, not 40 shapes


def test_evicting_ahead_of_the_lock_leaves_the_index_the_lock_would() -> None:
    """The window slides before the lock (decision.evict_ahead), then again after the catch-up
    under it: the same index as the catch-up then the eviction, the other worker's decisions on
    old items (a job run again) included."""
    from datetime import UTC, datetime

    from yuqing.analysis import folding
    from yuqing.analysis.events import Grouper, incident_keys

    start = datetime(2026, 1, 1, tzinfo=UTC)
    town = incident_keys([{"code": "140525108", "name": "巴公镇"}], ["fire"])

    def item(n: int, event: int) -> handover.Decided:
        mh = folding.Hashes(folding.text_minhash(f"第{n % 40}条 帖文 {n % 40 * 7919}").hashvalues)
        sig = folding.signature_minhash({f"词{n % 30}", f"字{n % 30 * 3}", f"句{n}"})
        return handover.Decided(n, start + timedelta(minutes=n), event, None, mh,
                                None if sig is None else folding.Hashes(sig.hashvalues), town if n % 3 else set())

    def filled() -> Grouper:
        g = Grouper(window=timedelta(hours=1))
        for n in range(1, 121):
            d = item(n, 1000 + n // 7)
            g.add(d.item_id, d.at, d.event_id, d.minhash, d.signature, d.keys, d.duplicate_of)
        return g

    now = start + timedelta(minutes=150)
    # the other worker's batch: new items, an old one decided again as it was (a re-run), and
    # an old one whose event was deleted meanwhile (it started a new one)
    decided = [item(n, 1000 + n // 7) for n in range(121, 141)] + [item(20, 1000 + 20 // 7), item(40, 5000)]
    under_lock, ahead = filled(), filled()
    decision._apply(under_lock, decided)
    under_lock.evict(now)
    ahead.evict(now)
    assert len(ahead.entries) < 120  # the window slid ahead of the lock
    decision._apply(ahead, decided)
    ahead.evict(now)
    assert _index_of(ahead) == _index_of(under_lock)
    assert ahead.by_key == under_lock.by_key and ahead.event_keys == under_lock.event_keys
    assert ahead.folds.root == under_lock.folds.root and len(ahead.signatures) == len(under_lock.signatures)
    fresh = item(141, 0)
    assert ahead.assign(fresh.minhash, fresh.signature, fresh.keys, now) == \
        under_lock.assign(fresh.minhash, fresh.signature, fresh.keys, now)
