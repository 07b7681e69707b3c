"""Scrapy settings of the yuqing crawlers (``SCRAPY_SETTINGS_MODULE=yuqing.crawlers.settings``).

The module-level names are the static defaults Scrapy reads. :func:`crawl_settings` layers
the installation's settings (user agent, proxy, timeouts, size cap) and the source's own
choices (robots.txt, distributed mode) on top for one crawl.
"""

from __future__ import annotations

from typing import Any

BOT_NAME = "yuqing"
SPIDER_MODULES = ["yuqing.crawlers.spiders"]
NEWSPIDER_MODULE = "yuqing.crawlers.spiders"

ROBOTSTXT_OBEY = True  # a source may opt out (obey_robots: false) for the bureau's own sites
USER_AGENT = "Mozilla/5.0 (compatible; yuqing/0.1; +https://example.invalid/yuqing)"
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Scrapy starts this many asyncio tasks for every callback's output, whatever it holds: an
# article page yields one item, and the pipelines are synchronous, so 100 (the default) only
# cost 100 task creations per page (the largest single cost in the crawl's profile).
CONCURRENT_ITEMS = 8
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = True
COOKIES_DEBUG = False  # never log cookies: sources may carry login cookies
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

DOWNLOADER_MIDDLEWARES = {
    "yuqing.crawlers.middlewares.ProxyMiddleware": 100,
    "yuqing.crawlers.middlewares.EncodingMiddleware": 560,
}
ITEM_PIPELINES = {
    "yuqing.crawlers.pipelines.NormalisePipeline": 100,
    "yuqing.crawlers.hotlists.HotlistPipeline": 800,
    "yuqing.crawlers.pipelines.StorePipeline": 900,
}

# Distributed mode (--distributed): scrapy-redis shares the request queue and the duplicate
# filter of each source through the one Redis. Persisted so one crawler finishing first does
# not wipe the queue under another; the dupefilter expires after a day (see run.py). Nodes
# join and leave a running crawl, and a killed node's requests go to the others: distributed.py.
DISTRIBUTED = {
    "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
    "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
    "SCHEDULER_PERSIST": True,
    "SCHEDULER_QUEUE_KEY": "yuqing:crawl:%(spider)s:requests",
    "SCHEDULER_DUPEFILTER_KEY": "yuqing:crawl:%(spider)s:dupefilter",
    "SCHEDULER_QUEUE_CLASS": "yuqing.crawlers.distributed.ReliableQueue",
    "YUQING_DISTRIBUTED": True,
    "YUQING_STORE_BATCH": 1,  # a request is done when its items are stored (distributed.py)
    "EXTENSIONS": {"yuqing.crawlers.distributed.NodeExtension": 500},
    "SPIDER_MIDDLEWARES": {"yuqing.crawlers.distributed.AckMiddleware": 50},
}


def crawl_settings(settings: Any, *, obey_robots: bool = True, distributed: bool = False,
                   redis_url: str = "", stay: bool = False) -> dict[str, Any]:
    """Scrapy settings for one crawl from yuqing :class:`~yuqing.settings.Settings`."""
    out: dict[str, Any] = {
        "USER_AGENT": settings.crawl_user_agent,
        "DOWNLOAD_TIMEOUT": settings.crawl_timeout,
        "DOWNLOAD_MAXSIZE": settings.crawl_max_bytes,
        "ROBOTSTXT_OBEY": obey_robots,
        "LOG_LEVEL": settings.log_level,
        "YUQING_PROXY": settings.crawl_proxy,
    }
    if distributed:
        out.update(DISTRIBUTED)
        out["REDIS_URL"] = redis_url
        out["YUQING_STAY"] = stay  # wait on the shared queue until told to stop
    return out
