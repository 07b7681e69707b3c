"""Folding, events (re-open after quiet, velocity), idempotent analyse_item with real Redis/RQ."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from cli_inproc import run_yuqing
from sqlalchemy import select

from yuqing.analysis import folding, jobs
from yuqing.analysis.events import Grouper, incident_keys, place_votes
from yuqing.models import Event, Item
from yuqing.profile import Judgement


@pytest.fixture(autouse=True)
def fresh_index():  # type: ignore[no-untyped-def]
    jobs.reset()
    yield
    jobs.reset()


def _item(rt, text: str, title: str = "", source_id=None, tier: str = "social") -> int:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        item = Item(url=f"https://example.test/{hashlib.sha1((title + text).encode()).hexdigest()}",
                    url_hash=hashlib.sha256((title + text + str(rt.now())).encode()).hexdigest(),
                    title=title, text=text, tier=tier, fetched_at=rt.now(), published_at=rt.now(),
                    content_hash=hashlib.sha256(text.encode()).hexdigest(), source_id=source_id)
        s.add(item)
        s.flush()
        return item.id


def test_near_duplicates_fold_and_keep_first_publisher() -> None:
    a = folding.text_minhash("泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，救援正在进行，愿平安！#泽州煤矿透水#")
    b = folding.text_minhash("转发：泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，救援正在进行，愿平安。#泽州煤矿透水#")
    c = folding.text_minhash("今晚这场比赛简直是一场事故！后卫连续失误送了两个球")
    g = Grouper()
    from datetime import UTC, datetime

    now = datetime(2026, 11, 21, tzinfo=UTC)
    sig = folding.signature_minhash({"x"})
    assert g.assign(a, sig, set(), now) == (None, None)
    g.add(1, now, 10, a, sig, set(), None)
    assert g.assign(b, sig, set(), now) == (1, 10)
    g.add(2, now, 10, b, sig, set(), 1)
    # a copy of a copy still names the first publisher
    assert g.folds.find(b) == 1
    assert g.assign(c, folding.signature_minhash({"比赛"}), set(), now) == (None, None)


def test_posts_without_salient_words_never_merge_by_signature() -> None:
    from datetime import UTC, datetime

    from yuqing.analysis import tokenize

    now = datetime(2026, 11, 21, tzinfo=UTC)
    g = Grouper()
    for n, text in enumerate(["转发微博", "哈哈哈，转发", "#NAME?", "转发有爱", "[哈哈]//@某某: 转发"], start=1):
        sig = folding.signature_minhash(folding.signature_tokens(tokenize.lcut(text), [], []))
        assert sig is None  # too few salient words for an incident signature
        duplicate_of, event = g.assign(folding.text_minhash(text), sig, set(), now)
        assert (duplicate_of, event) == (None, None), text  # each its own event, not one giant one
        g.add(n, now, n, folding.text_minhash(text), sig, set(), None)
    assert not g.sig


def test_same_incident_different_wording_one_event_and_index_lookup() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 21, tzinfo=UTC)
    g = Grouper()
    town = [{"name": "巴公镇", "code": "140525108"}]
    k = incident_keys(town, ["production_safety"])
    g.add(1, now, 7, folding.text_minhash("一煤矿透水 8人被困"), folding.signature_minhash({"煤矿", "透水"}), k, None)
    _, event = g.assign(folding.text_minhash("矿上说死了3个，是不是瞒报？家属聚集"),
                        folding.signature_minhash({"瞒报", "家属"}), k, now)
    assert event == 7
    # outside the window the event no longer takes items
    _, later = g.assign(folding.text_minhash("另一起透水"), folding.signature_minhash({"另一起"}), k,
                        now + timedelta(days=8))
    assert later is None


def test_analyse_item_is_idempotent_and_groups_the_story(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    from yuqing.tasks.dispatch import enqueue

    first = _item(runtime, "泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，应急管理部门组织搜救。",
                  "泽州县巴公镇一煤矿发生透水事故 8名矿工被困", tier="local")
    copy = _item(runtime, "转发：泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，应急管理部门组织搜救。",
                 "泽州县巴公镇一煤矿发生透水事故 8名矿工被困")
    angry = _item(runtime, "我爱人就在巴公镇那个煤矿井下！现在说死了3个，是不是瞒报？泽州县应急管理局为什么不公布？"
                           "家属们已经聚集在矿门口要说法！")
    football = _item(runtime, "今晚这场比赛简直是一场事故！后卫连续失误送了两个球，主教练必须下课。#中超#")
    for item_id in (first, copy, angry, football):
        enqueue("analyse", "yuqing.analysis.jobs.analyse_item", item_id)
    drain(("analyse",))
    # run everything again: nothing may be counted twice
    jobs.reset()
    for item_id in (first, copy, angry, football):
        enqueue("analyse", "yuqing.analysis.jobs.analyse_item", item_id, job_id=f"again-{item_id}")
    drain(("analyse",))
    with runtime.session() as s:
        items = {i.id: i for i in s.scalars(select(Item))}
        assert items[copy].duplicate_of_id == first
        assert items[first].duplicate_count == 1
        assert items[first].event_id == items[copy].event_id == items[angry].event_id
        assert items[football].event_id != items[first].event_id
        assert not items[football].in_remit
        event = s.get(Event, items[first].event_id)
        assert event.item_count == 3 and event.unique_count == 2
        assert event.level == "较大"
        assert event.flags["accusation"] == ["cover_up"] and event.flags["mobilisation"]
        assert event.first_seen_at == items[first].fetched_at
        assert event.velocity == 3.0 and event.peak_velocity == 3.0
        assert "production_safety" in event.topics
        assert {"name": "巴公镇", "code": "140525108"} in event.places
    from rq import Queue

    notify = Queue("notify", connection=runtime.get_redis())
    assert any(j.func_name == "yuqing.alerts.jobs.evaluate_events" for j in notify.jobs)


def test_event_reopens_after_quiet_spell(runtime, clock, drain) -> None:  # type: ignore[no-untyped-def]
    from yuqing.tasks.dispatch import enqueue

    a = _item(runtime, "泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下。")
    enqueue("analyse", "yuqing.analysis.jobs.analyse_item", a)
    drain(("analyse",))
    clock.advance(hours=20)
    assert jobs.mark_quiet_events() == 1
    b = _item(runtime, "巴公镇煤矿透水事故救援持续，泽州县通报最新进展：仍有矿工被困。")
    enqueue("analyse", "yuqing.analysis.jobs.analyse_item", b)
    drain(("analyse",))
    with runtime.session() as s:
        ia, ib = s.get(Item, a), s.get(Item, b)
        assert ia.event_id == ib.event_id
        event = s.get(Event, ia.event_id)
        assert event.status == "active" and event.reopened_count == 1 and event.item_count == 2
        assert event.velocity == 1.0


def test_index_rebuilds_from_the_store_in_a_new_process(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    from yuqing.tasks.dispatch import enqueue

    a = _item(runtime, "泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下。")
    enqueue("analyse", "yuqing.analysis.jobs.analyse_item", a)
    drain(("analyse",))
    jobs.reset()  # as a freshly started worker: nothing in memory
    b = _item(runtime, "泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下！")
    enqueue("analyse", "yuqing.analysis.jobs.analyse_item", b)
    drain(("analyse",))
    with runtime.session() as s:
        assert s.get(Item, b).duplicate_of_id == a


def test_score_cli_streams_and_reports_bad_lines(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": 1, "text": "泽州县巴公镇煤矿透水，3人死亡"}, ensure_ascii=False), "{not json",
             json.dumps({"id": 3}), json.dumps({"id": 4, "text": "今晚比赛太精彩"}, ensure_ascii=False)]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = run_yuqing(monkeypatch, "score", "--profile", "zezhou-emergency", "--input", str(src), "--output", str(out))
    assert done.returncode == 1
    assert "2 行无法研判" in done.stderr
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [1, None, 3, 4]
    assert rows[0]["level"] == "较大" and rows[0]["in_remit"]
    assert rows[1] == {"id": None, "error": rows[1]["error"], "line": 2}
    assert "第 2 行不是有效的 JSON" in rows[1]["error"]
    assert rows[2]["error"] == "第 3 行缺少 text 字段或 text 不是字符串"
    assert not rows[3]["in_remit"]


def test_grouping_lock_lives_while_its_holder_works_and_lapses_without_it(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Redis's own clock decides a lock's expiry, so this one waits real (short) time."""
    import time

    from yuqing.analysis import decision

    monkeypatch.setattr(decision, "LOCK_TTL", 0.3)
    with decision.group_lock(runtime.redis):
        time.sleep(1.0)  # three lifetimes: renewed, still held
        assert runtime.redis.exists(decision.LOCK_KEY)
    assert not runtime.redis.exists(decision.LOCK_KEY)
    # A holder that dies stops renewing: its lock lapses by itself (the SIGKILL drill checks the TTL).
    lock = runtime.redis.lock(decision.LOCK_KEY, timeout=0.3)
    assert lock.acquire(blocking=False)
    time.sleep(0.6)
    assert not runtime.redis.exists(decision.LOCK_KEY)


def test_the_minhashes_are_datasketchs_own_values() -> None:
    """Stored MinHashes and the folds they decide depend on the exact values: the faster
    hashing must give what datasketch's update_batch gives."""
    from datasketch import MinHash

    texts = ["泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下", "转发：高平市一化工厂凌晨起火", "哈", "",
             "今晚这场比赛简直是一场事故！后卫连续失误送了两个球 #中超#" * 20, "😀\u00e9 mixed English words 123"]
    for text in texts:
        norm = folding.normalise(text)
        grams = [g.encode() for g in {norm[i:i + 3] for i in range(max(1, len(norm) - 2))}]
        reference = MinHash(num_perm=folding.NUM_PERM, seed=1)
        reference.update_batch(grams)
        assert (folding.text_minhash(text).hashvalues == reference.hashvalues).all()
        words = set(text[i:i + 2] for i in range(0, len(text), 2)) | {"140525", "透水", "被困"}
        signature = MinHash(num_perm=folding.NUM_PERM, seed=1)
        signature.update_batch([w.encode() for w in sorted(words)])
        assert (folding.signature_minhash(words).hashvalues == signature.hashvalues).all()


def test_compact_index_finds_what_it_holds_and_forgets_what_it_drops() -> None:
    """The LSH's buckets go from one id to a list and back, and the hash rows are reused after
    eviction: a look-up still finds every item held, in id order, and none removed."""
    texts = [f"某县某镇化工厂爆炸事故现场通报第{k}次，伤员已送医救治" for k in range(3)] + ["小区停水三天无人管，居民反映强烈"]
    hashes = [folding.text_minhash(t) for t in texts]
    lsh = folding.BandIndex(0.3)
    rows = folding.HashRows()
    for item_id, m in enumerate(hashes, start=1):
        lsh.insert(item_id, m.hashvalues)
        rows.add(item_id, m.hashvalues)
    assert lsh.query(hashes[0].hashvalues)[:3] == [1, 2, 3]
    assert 4 not in lsh.query(hashes[0].hashvalues) and lsh.query(hashes[3].hashvalues) == [4]
    assert rows.jaccards([1, 4], hashes[0]).tolist()[0] == 1.0 and rows.jaccards([4], hashes[0])[0] < 0.5
    lsh.remove(2, rows.pop(2))
    lsh.remove(3, rows.pop(3))
    assert lsh.query(hashes[1].hashvalues) == [1] and len(lsh) == 2 and len(rows) == 2 and 2 not in rows
    rows.add(5, hashes[3].hashvalues)  # takes a freed row, not a new one
    assert rows.jaccards([5, 4], hashes[3]).tolist() == [1.0, 1.0] and max(rows.rows.values()) == 3


def test_compact_index_merges_without_changing_what_it_finds(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Inserts wait in a dict and removals in a set until a merge sorts them into the arrays: with
    merges every few items, look-ups give what a plain dict of buckets gives, an item removed
    and inserted again included."""
    monkeypatch.setattr(folding.BandIndex, "MERGE_MIN", 3)
    texts = [f"某县第{k % 7}镇化工厂爆炸事故现场通报第{k % 3}次，伤员已送医救治" for k in range(40)]
    hashes = {k: folding.text_minhash(t).hashvalues for k, t in enumerate(texts, start=1)}
    lsh = folding.BandIndex(0.5)
    plain: dict[tuple[int, bytes], set[int]] = {}
    held: set[int] = set()

    def bands(values):  # type: ignore[no-untyped-def]
        return [(t, values[t * lsh.r:(t + 1) * lsh.r].tobytes()) for t in range(lsh.b)]

    def expect(values):  # type: ignore[no-untyped-def]
        return sorted(set().union(*(plain.get(band, set()) for band in bands(values))) & held)

    steps = [("add", k) for k in range(1, 31)] + [("drop", k) for k in range(1, 20, 2)] \
        + [("add", k) for k in (3, 5, *range(31, 41))] + [("drop", k) for k in (2, 4, 3, 33)]
    for step, k in steps:
        if step == "add":
            lsh.insert(k, hashes[k])
            held.add(k)
            for band in bands(hashes[k]):
                plain.setdefault(band, set()).add(k)
        else:
            lsh.remove(k, hashes[k])
            held.discard(k)
        assert len(lsh) == len(held)
        for values in hashes.values():
            assert lsh.query(values) == expect(values)
    assert lsh.items > 0 and lsh.fresh < 12  # merged along the way


def test_quiet_spell_comes_from_the_profile(runtime, clock, drain, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from yuqing.tasks.dispatch import enqueue

    a = _item(runtime, "泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下。")
    enqueue("analyse", "yuqing.analysis.jobs.analyse_item", a)
    drain(("analyse",))
    clock.advance(hours=20)
    patient = runtime.profile.model_copy(update={"judgement": Judgement(quiet_after_hours=24)})
    monkeypatch.setattr(runtime, "profile", patient)
    assert jobs.mark_quiet_events() == 0  # 20 h without news is not quiet for this bureau
    clock.advance(hours=5)
    assert jobs.mark_quiet_events() == 1


def _keys(codes: list[str], topics: list[str], words: list[str], abroad: tuple[str, ...] = ()) -> set:
    return incident_keys([{"code": c, "name": c} for c in codes], topics, words, abroad)


def test_a_province_and_its_topics_never_join_two_fires_of_two_cities() -> None:
    now = datetime(2014, 4, 30, 12, tzinfo=UTC)
    g = Grouper()
    topics = ["fire", "rescue", "production_safety"]
    g.add(1, now, 100, folding.text_minhash("四川德阳一化工厂车间起火"), None, _keys(["51", "5106"], topics, ["火灾"]), None)
    other_city = g.assign(folding.text_minhash("宜宾城区一大厦发生火灾"), None, _keys(["51", "5115"], topics, ["火灾"]), now)[1]
    same_city = g.assign(folding.text_minhash("德阳化工厂火灾已扑灭"), None, _keys(["51", "5106"], topics, ["火灾"]), now)[1]
    assert (other_city, same_city) == (None, 100)


def test_a_city_named_with_its_province_is_one_place_not_two() -> None:
    now = datetime(2014, 3, 2, 12, tzinfo=UTC)
    g = Grouper()
    g.add(1, now, 100, folding.text_minhash("昆明火车站发生暴力事件"), None, _keys(["53", "5301"], ["rescue"], []), None)
    # the city and its province are one vote; without the same hazard or a second place, apart
    assert g.assign(folding.text_minhash("昆明一商场促销引发踩踏"), None, _keys(["53", "5301"], ["rescue"], []), now)[1] is None
    assert place_votes({"53", "5301"}) == place_votes({"5301"}) == 1.0
    assert place_votes({"@印度尼西亚", "@爪哇"}) == 1.0 and place_votes({"@智利", "@美国"}) == 2.0


def test_two_fires_in_one_city_stay_apart_by_day_and_by_district() -> None:
    """Same city + same hazard joined two 广州 fires into one event: a join on an area alone holds
    within a day, and not across two districts of it; the same district on the same day joins."""
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    topics = ["fire", "rescue"]
    g = Grouper()
    g.add(1, now, 100, folding.text_minhash("广州天河区一商场起火"), None, _keys(["44", "4401", "440106"], topics, ["起火"]), None)
    # three days on, a fire in 广州 with no district: another fire, not the 天河 one
    later = g.assign(folding.text_minhash("广州一仓库发生火灾"), None, _keys(["44", "4401"], topics, ["火灾"]),
                     now + timedelta(days=3))[1]
    # the same day, another district of 广州: another fire
    elsewhere = g.assign(folding.text_minhash("白云区一工厂着火"), None, _keys(["44", "4401", "440111"], topics, ["着火"]),
                         now + timedelta(hours=2))[1]
    # the same day, the city alone or the same district: the 天河 fire's reports
    city = g.assign(folding.text_minhash("广州大火已扑灭"), None, _keys(["44", "4401"], topics, ["大火"]),
                    now + timedelta(hours=3))[1]
    district = g.assign(folding.text_minhash("天河火灾致2人受伤"), None, _keys(["44", "4401", "440106"], topics, ["火灾"]),
                        now + timedelta(hours=5))[1]
    assert (later, elsewhere, city, district) == (None, None, 100, 100)


def test_felt_reports_still_join_the_quake_a_day_on() -> None:
    """The area rule leaves the felt-report join alone: a 山西 felt report joins the 汶川 quake."""
    now = datetime(2008, 5, 12, 15, tzinfo=UTC)
    g = Grouper()
    quake = _keys(["51", "5132", "513221"], ["earthquake"], ["地震"])
    g.add(1, now, 100, folding.text_minhash("四川汶川发生7.8级地震"), None, quake, None)
    g.add(2, now, 100, folding.text_minhash("汶川地震伤亡人数上升"), None, quake, None)
    felt = g.assign(folding.text_minhash("山西：感到震感后很多人跑到户外"), None,
                    _keys(["14", "1401"], ["earthquake"], ["震感"]), now + timedelta(hours=20))[1]
    assert felt == 100
