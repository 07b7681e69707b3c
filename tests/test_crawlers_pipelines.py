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
