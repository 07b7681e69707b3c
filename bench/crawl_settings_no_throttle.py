"""The crawlers' Scrapy settings with AutoThrottle off, for bench/bench_crawl.py: with it on,
both crawls wait on the same throttle and the ratio says nothing about our per-page cost."""

from yuqing.crawlers.settings import *  # noqa: F403 - the same settings, one changed

AUTOTHROTTLE_ENABLED = False
