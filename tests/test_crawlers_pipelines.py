"""The store pipeline loses nothing it could keep: a row the store refuses costs only itself, and
items not stored (the database away) keep the feed's cache from advancing, so the next run
fetches them again."""

from __future__ import annotations

import hashlib
from collections import Counter
from types import SimpleNamespace

from rq import Queue
from scrapy.settings import Settings
from sqlalchemy import select

from yuqing.crawlers.health import judge
from yuqing.crawlers.pipelines import StorePipeline
from yuqing.models import Item, Source
from yuqing.runtime import Runtime, set_runtime


def _crawler(source: dict) -> tuple[SimpleNamespace, list[tuple[str, str]], Counter]:
    """Scrapy's crawler as the pipeline sees it: the spider's source and error log, the stats."""
    errors: list[tuple[str, str]] = []
    stats: Counter = Counter()
    spider = SimpleNamespace(source=source, record_error=lambda url, reason: errors.append((url, reason)))
    return SimpleNamespace(spider=spider, settings=Settings(),
                           stats=SimpleNamespace(inc_value=lambda k, n=1: stats.update({k: n}))), errors, stats


def _source(rt: Runtime) -> dict:
    with rt.session() as s:
        src = Source(key="pipe", name="管道测试源", kind="feed", urls=[], tier="local", created_at=rt.now())
        s.add(src)
        s.flush()
        return {"id": src.id, "tier": "local", "settings": {}}


def _item(rt: Runtime, n: int) -> dict:
    url = f"https://news.example/{n}"
    text = f"泽州县第{n}条消息：巴公镇防汛检查"
    return {"url": url, "url_hash": hashlib.sha256(url.encode()).hexdigest(), "title": f"标题{n}", "text": text,
            "author": "", "published_at": rt.now(), "fetched_at": rt.now(), "engagement": {}, "platform": "网站",
            "raw_ref": url, "content_hash": hashlib.sha256(text.encode()).hexdigest()}


def test_a_row_the_store_refuses_costs_only_itself(runtime: Runtime) -> None:
    source = _source(runtime)
    crawler, errors, stats = _crawler(source)
    pipeline = StorePipeline(crawler)
    batch = [_item(runtime, n) for n in range(5)]
    batch[2]["url_hash"] = None  # NOT NULL: the store refuses this row
    for item in batch:
        pipeline.process_item(item)
    pipeline.close_spider()
    with runtime.session() as s:
        stored = sorted(s.scalars(select(Item.url)))
    assert stored == sorted(i["url"] for n, i in enumerate(batch) if n != 2)
    assert [url for url, _ in errors] == ["https://news.example/2"]
    assert "条目入库失败" in errors[0][1]
    assert stats["yuqing/items_new"] == 4 and stats["yuqing/items_not_stored"] == 1
    assert stats["yuqing/items_unchanged"] == 0
    assert Queue("analyse", connection=runtime.redis).count == 1  # one analysis job for the four


def test_with_the_store_away_the_batch_waits_for_the_next_run(runtime: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = _source(runtime)
    (tmp_path / "gone.db").mkdir()  # a folder where the database file should be: cannot be opened
    away = Runtime(settings=runtime.settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'gone.db'}"}),
        profile=runtime.profile, clock=runtime.clock, redis=runtime.redis)
    set_runtime(away)
    try:
        crawler, errors, stats = _crawler(source)
        pipeline = StorePipeline(crawler)
        for n in range(3):
            pipeline.process_item(_item(runtime, n))
        pipeline.close_spider()
    finally:
        set_runtime(runtime)
        away.engine.dispose()
    assert len(errors) == 1 and "入库失败（3 条，下次采集重试）" in errors[0][1]  # one error, not one per row
    assert stats["yuqing/items_not_stored"] == 3 and stats["yuqing/items_new"] == 0

    cache = {"yuqing/http_cache": {"https://news.example/feed": {"etag": '"v2"'}}}
    logged = {"yuqing/errors": [{"url": url, "reason": reason} for url, reason in errors]}
    kept = judge({"ok": True, "stats": {"yuqing/found": 3, **cache, **logged, **dict(stats)}})
    assert kept.http_cache == {}  # the old ETag stays: the feed answers in full next time, not 304
    assert kept.status == "partial"
    assert judge({"ok": True, "stats": {"yuqing/found": 3, **cache}}).http_cache == cache["yuqing/http_cache"]


def test_a_url_stored_meanwhile_by_another_crawl_is_not_inserted_twice(runtime: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The bulk INSERT skips a URL another crawl stored between this batch's read and its
    write (ON CONFLICT DO NOTHING): that row is then treated as stored (an edit marks it
    已修改), the batch's other rows are inserted, and nothing fails."""
    from yuqing.crawlers import pipelines
    from yuqing.crawlers.snapshots import SnapshotStore
    from yuqing.models import PageSnapshot

    source = _source(runtime)
    first = _item(runtime, 1)
    (stored_id,), _ = pipelines.store_items(runtime, source, [first])
    edited = {**_item(runtime, 1), "text": "泽州县第1条消息（更新）", "content_hash": "0" * 64,
              "raw": {"url": first["url"], "status": 200, "headers": {}, "body": "<p>更新</p>".encode()}}
    fresh = {**_item(runtime, 2), "raw": {"url": "https://news.example/2", "status": 200, "headers": {},
                                          "body": "<p>二</p>".encode()}}
    real = pipelines._stored
    calls = []

    def late(s, hashes):  # type: ignore[no-untyped-def]  # the first read misses the other crawl's row
        calls.append(hashes)
        return {} if len(calls) == 1 else real(s, hashes)

    monkeypatch.setattr(pipelines, "_stored", late)
    new, changed = pipelines.store_items(runtime, source, [edited, fresh], SnapshotStore(runtime))
    assert changed == [stored_id] and len(new) == 1 and new[0] != stored_id
    with runtime.session() as s:
        rows = {it.url: it for it in s.scalars(select(Item))}
        snaps = {sn.item_id: sn for sn in s.scalars(select(PageSnapshot))}
    assert sorted(rows) == ["https://news.example/1", "https://news.example/2"]
    assert rows["https://news.example/1"].page_state == "modified"
    assert rows["https://news.example/2"].id == new[0] and rows["https://news.example/2"].source_id == source["id"]
    assert snaps[new[0]].body_hash == hashlib.sha256("<p>二</p>".encode()).hexdigest()
    assert snaps[stored_id].raw() == "<p>更新</p>".encode()


def test_another_source_with_the_same_url_does_not_mark_it_modified(runtime: Runtime) -> None:
    """Two feeds carrying one article (one with a summary) used to mark it 已修改 at every crawl
    of either; its own source's changed text still does."""
    from yuqing.crawlers import pipelines

    own = _source(runtime)
    other = {**own}
    with runtime.session() as s:
        src = Source(key="pipe2", name="另一信源", kind="feed", urls=[], tier="local", created_at=runtime.now())
        s.add(src)
        s.flush()
        other["id"] = src.id
    (item_id,), _ = pipelines.store_items(runtime, own, [_item(runtime, 1)])
    summary = {**_item(runtime, 1), "text": "摘要", "content_hash": "1" * 64}
    assert pipelines.store_items(runtime, other, [summary]) == ([], [])
    with runtime.session() as s:
        assert s.get(Item, item_id).page_state == ""
    assert pipelines.store_items(runtime, own, [summary]) == ([], [item_id])
    with runtime.session() as s:
        assert s.get(Item, item_id).page_state == "modified"


def test_a_url_twice_in_one_batch_is_one_new_item(runtime: Runtime) -> None:
    """A listing that links one article twice (two columns) brings the same URL twice in a batch:
    one item, one id handed to analysis, one first snapshot."""
    from yuqing.crawlers import pipelines
    from yuqing.crawlers.snapshots import SnapshotStore
    from yuqing.models import PageSnapshot

    source = _source(runtime)
    item = {**_item(runtime, 1), "raw": {"url": "https://news.example.cn/1.html", "status": 200, "headers": {},
                                          "body": "<html>泽州县某煤矿透水</html>".encode()}}
    new, changed = pipelines.store_items(runtime, source, [item, dict(item)], SnapshotStore(runtime))
    assert len(new) == 1 and changed == []
    with runtime.session() as s:
        assert s.query(Item).count() == 1
        assert s.query(PageSnapshot).count() == 1
