"""The crawl child process: ``python -m yuqing.crawlers.run SOURCE_ID --now ISO --report FILE``.

A Twisted reactor cannot restart inside a long-lived RQ worker, so every crawl runs here, in
its own process, with the installation's settings passed by environment (``YUQING_*``). It
writes a JSON report (the Scrapy stats that judge the crawl) for the parent to record;
``scrapy crawl`` would exit 0 even when every callback failed.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from scrapy.crawler import CrawlerProcess
from scrapy.utils.misc import load_object
from scrapy.utils.project import get_project_settings
from sqlalchemy import select

from yuqing.models import Item, Source
from yuqing.profile import load_profile
from yuqing.runtime import Runtime, set_runtime
from yuqing.settings import load_settings
from yuqing.tasks.connection import embedded_folder

from .settings import crawl_settings

log = logging.getLogger(__name__)

GC_THRESHOLD = 10_000  # allocations between young collections in a crawl child (Python's default 700)

SPIDERS = {
    "feed": "yuqing.crawlers.spiders.feed.FeedSpider",
    "listing": "yuqing.crawlers.spiders.listing.ListingSpider",
    "sitemap": "yuqing.crawlers.spiders.sitemap.SitemapSpider",
    "json_api": "yuqing.crawlers.spiders.json_api.JsonApiSpider",
    "hotlist": "yuqing.crawlers.spiders.hotlist.HotlistSpider",
}
DUPEFILTER_TTL = 24 * 3600


class RunClock:
    """The parent's 'now' (the runtime clock, perhaps a test's manual clock), held for the run:
    relative times ("3小时前") and fetched_at count from the moment the run started."""

    def __init__(self, start: datetime) -> None:
        self.start = start.astimezone(UTC)

    def now(self) -> datetime:
        return self.start


def load_source(rt: Any, source_id: int) -> tuple[dict[str, Any], list[str]]:
    """The source as a dict, and the URL hashes already stored for it."""
    with rt.session() as s:
        src = s.get(Source, source_id)
        if src is None:
            raise LookupError(f"信源 {source_id} 不存在")
        data = {"id": src.id, "key": src.key, "name": src.name, "kind": src.kind, "urls": list(src.urls),
                "tier": src.tier, "settings": dict(src.settings or {}), "http_cache": dict(src.http_cache or {})}
        known = list(s.scalars(select(Item.url_hash).where(Item.source_id == source_id)))
    return data, known


def _jsonable(stats: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in stats.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        try:
            json.dumps(value)
        except TypeError:
            value = str(value)
        out[key] = value
    return out


def _quiet_collector() -> None:
    """What is set up before the crawl (modules, settings, the known URLs) lives as long as the
    process: frozen, the cyclic collector no longer walks it; and Scrapy's Deferreds make
    garbage fast enough that the default threshold (700) ran ~1,000 collections a crawl of 3,000
    pages, 0.6 ms a page (bench/bench_crawl.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)


def crawl(rt: Any, source: dict[str, Any], known: list[str], clock: RunClock,
          distributed: bool = False, stay: bool = False) -> dict[str, Any]:
    """Run one source's spider to the end in this process; return its stats."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "yuqing.crawlers.settings")
    settings = get_project_settings()
    obey = bool(source["settings"].get("obey_robots", True))
    redis_url = rt.settings.redis_url
    if distributed and not redis_url:
        redis_url = f"unix://{(embedded_folder(rt.settings) / 'redis.sock').resolve()}?db=0"
    settings.setdict(crawl_settings(rt.settings, obey_robots=obey, distributed=distributed,
                                    redis_url=redis_url, stay=stay), priority="cmdline")
    process = CrawlerProcess(settings)
    spider_cls = load_object(SPIDERS[source["kind"]])
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, source=source, known=known, clock=clock.now)
    _quiet_collector()
    process.start()
    stats = _jsonable(crawler.stats.get_stats())
    if distributed:
        key = f"yuqing:crawl:{source['kind']}-{source['key']}:dupefilter"
        Redis.from_url(redis_url).expire(key, DUPEFILTER_TTL)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yuqing.crawlers.run")
    parser.add_argument("source_id", type=int)
    parser.add_argument("--now", help="ISO time the parent's clock shows (default: wall clock)")
    parser.add_argument("--report", help="write the JSON report here (default: stdout)")
    parser.add_argument("--distributed", action="store_true")
    parser.add_argument("--stay", action="store_true",
                        help="with --distributed: wait on the shared queue until told to stop")
    args = parser.parse_args(argv)

    settings = load_settings()
    clock = RunClock(datetime.fromisoformat(args.now) if args.now else datetime.now(UTC))
    rt = Runtime(settings=settings, profile=load_profile(settings.profile), clock=clock)
    set_runtime(rt)
    report: dict[str, Any]
    try:
        source, known = load_source(rt, args.source_id)
        report = {"ok": True, "stats": crawl(rt, source, known, clock, args.distributed,
                                                      args.stay)}
    except Exception as exc:  # noqa: BLE001 - reported to the parent as the run's failure
        log.exception("crawl of source %s failed", args.source_id)
        report = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "stats": {}}
    text = json.dumps(report, ensure_ascii=False)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text + "\n")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
