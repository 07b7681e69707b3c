"""Nothing stored and forgotten: items whose analysis was never enqueued (Redis away during
the crawl) are enqueued by the periodic sweep after a minute, in batches, once; `yuqing crawl`
without Redis says in one line that analysis waits for the workers, and `--wait` exits 1."""

from __future__ import annotations

import socket

import pytest
from rq import Queue
from sqlalchemy import func, select
from testsite import Page, TestSite
from typer.testing import CliRunner

from yuqing.crawlers.jobs import ANALYSE_AFTER, SWEEP_BATCH, child_env, enqueue_unanalysed
from yuqing.crawlers.normalise import content_hash, url_hash
from yuqing.crawlers.pipelines import store_items
from yuqing.crawlers.sources import upsert_sources
from yuqing.models import Item, Source
from yuqing.runtime import Runtime
from yuqing.tasks.scheduler import periodic_jobs


def _store(rt: Runtime, count: int, start: int = 0) -> list[int]:
    upsert_sources(rt, [{"key": "s", "name": "s", "kind": "feed", "tier": "local", "urls": ["http://x.cn/f"]}])
    with rt.session() as s:
        source = {"id": s.scalars(select(Source.id)).one(), "settings": {}}
    batch = []
    for n in range(start, start + count):
        url = f"http://x.cn/{n}"
        title, text = f"泽州县第{n}条消息", f"泽州县巴公镇发生第{n}起事件。"
        batch.append({"url": url, "url_hash": url_hash(url), "title": title, "text": text, "author": "",
                      "source_unit": "", "column_name": "", "published_at": rt.now(), "fetched_at": rt.now(),
                      "engagement": {}, "platform": "", "raw_ref": url, "content_hash": content_hash(title, text)})
    new, _ = store_items(rt, source, batch)
    return new


def test_sweep_is_registered() -> None:
    assert ("analyse", "yuqing.crawlers.jobs.enqueue_unanalysed", 60) in periodic_jobs(15, 60)


def test_unanalysed_items_enqueued_after_a_minute_once_and_analysed(runtime: Runtime, clock, drain) -> None:  # type: ignore[no-untyped-def]
    ids = _store(runtime, 5)
    analyse = Queue("analyse", connection=runtime.redis)
    assert enqueue_unanalysed() == 0  # just stored: the crawl's own enqueue may still come
    clock.advance(seconds=ANALYSE_AFTER.total_seconds() + 1)
    assert enqueue_unanalysed() == 1
    assert enqueue_unanalysed() == 0  # its job still waits: not doubled
    assert analyse.count == 1 and sorted(analyse.jobs[0].args[0]) == ids
    drain(("analyse",))
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(Item).where(Item.analysed_at.is_(None))) == 0
    clock.advance(minutes=5)
    assert enqueue_unanalysed() == 0  # nothing left to do


def test_sweep_batches_by_id_bucket(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    ids = _store(runtime, 2 * SWEEP_BATCH + 10)
    clock.advance(minutes=2)
    jobs = enqueue_unanalysed()
    buckets = {i // SWEEP_BATCH for i in ids}
    assert jobs == len(buckets) == 3
    analyse = Queue("analyse", connection=runtime.redis)
    queued = sorted(i for job in analyse.jobs for i in job.args[0])
    assert queued == sorted(ids) and all(len(job.args[0]) <= SWEEP_BATCH for job in analyse.jobs)
    assert enqueue_unanalysed() == 0


@pytest.fixture
def no_redis_env(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key, value in child_env(runtime.settings).items():
        if key.startswith("YUQING_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("YUQING_REDIS_URL", f"redis://127.0.0.1:{port}/0")
    return runtime


@pytest.mark.slow
def test_crawl_without_redis_says_analysis_waits(no_redis_env: Runtime) -> None:
    from yuqing.cli import app

    site = TestSite({"/f.xml": Page('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                                    '<item><title>泽州县召开会议</title><link>http://x.cn/1</link></item>'
                                    '</channel></rss>', content_type="application/rss+xml")}).start()
    runner = CliRunner()
    try:
        upsert_sources(no_redis_env, [{"key": "f", "name": "订阅", "kind": "feed", "tier": "local",
                                       "urls": [f"{site.url}/f.xml"]}])
        out = runner.invoke(app, ["crawl"])
        waited = runner.invoke(app, ["crawl", "--wait"])
    finally:
        site.stop()
    assert out.exit_code == 0, out.output
    assert "正常" in out.output and "新增 1" in out.output and "入队失败" not in out.output
    line = next(line for line in out.output.splitlines() if line.startswith("分析任务未能入队"))
    assert "1 条" in line and "启动后自动分析" in line
    assert waited.exit_code == 1
    with no_redis_env.session() as s:
        item = s.scalars(select(Item)).one()
        assert item.analysed_at is None  # stored, waiting for the sweep
