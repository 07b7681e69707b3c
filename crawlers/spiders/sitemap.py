"""站点地图 (sitemap): regular and Google News sitemaps, sitemap indexes, robots.txt sitemaps,
through Scrapy's SitemapSpider (gzip, size cap, robots.txt ``Sitemap:`` lines).

Scrapy's own parser flattens ``<news:news>`` away, so url sets are read here to keep the
news title and publication date as hints for the article page.

Settings under ``sitemap:`` (all optional):

- ``since_days``: skip entries whose lastmod/publication date is older (default 3).
- ``max_items``: at most this many article pages per run (default 200).
- ``allow``: a regular expression article URLs must match.
- ``title``, ``time``, ``author``, ``body``: article selectors (else metadata/trafilatura).
- ``headers``, ``cookies``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

from lxml import etree
from scrapy.spiders import SitemapSpider as ScrapySitemapSpider

from ..items import CrawledItem
from ..normalise import parse_time
from .article import extract_article
from .base import SourceSpider


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el: Any, *path: str) -> str:
    for name in path:
        el = next((c for c in el if _local(c.tag) == name), None)
        if el is None:
            return ""
    return (el.text or "").strip()


class SitemapSpider(SourceSpider, ScrapySitemapSpider):
    kind = "sitemap"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sitemap_urls = list(self.source["urls"])
        self.allow = re.compile(self.cfg["allow"]) if self.cfg.get("allow") else None
        self.max_items = int(self.cfg.get("max_items") or 200)
        self.since = self.clock() - timedelta(days=float(self.cfg.get("since_days") or 3))
        self.queued = 0

    async def start(self) -> AsyncIterator[Any]:
        for url in self.sitemap_urls:
            yield self.request(url, self._parse_sitemap, dont_filter=True)

    def _parse_sitemap(self, response: Any) -> Iterator[Any]:
        if response.url.endswith("/robots.txt"):
            for req in super()._parse_sitemap(response):
                yield self.request(req.url, self._parse_sitemap)
            return
        body = self._get_sitemap_body(response)
        if body is None:
            self.record_error(response.url, "不是有效的站点地图（既非 XML 也非 gzip）")
            return
        parser = etree.XMLParser(recover=True, remove_comments=True, resolve_entities=False,
                                 no_network=True, huge_tree=False)
        try:
            root = etree.fromstring(body, parser=parser)
        except etree.XMLSyntaxError:  # even the recovering parser gives up (an empty document)
            root = None
        if root is None:
            self.record_error(response.url, "站点地图 XML 无法解析")
            return
        kind = _local(root.tag)
        if kind == "sitemapindex":
            for el in root:
                loc = _child(el, "loc")
                if loc:
                    yield self.request(response.urljoin(loc), self._parse_sitemap)
        elif kind == "urlset":
            yield from self._urlset(response, root)
        else:
            self.record_error(response.url, f"站点地图根元素应为 urlset 或 sitemapindex，实际为 {kind or '空'}")

    def _urlset(self, response: Any, root: Any) -> Iterator[Any]:
        entries = 0
        for el in root:
            loc = _child(el, "loc")
            if not loc:
                continue
            entries += 1
            yield from self.guarded(response.url, f"站点地图条目 {loc[:100]!r} ", self._url(response, el, loc))
        if not entries:
            self.record_warning(response.url, "站点地图没有任何 URL")

    def _url(self, response: Any, el: Any, loc: str) -> Iterator[Any]:
        url = response.urljoin(loc)
        if self.allow and not self.allow.search(url):
            return
        date = _child(el, "news", "publication_date") or _child(el, "lastmod")
        when = parse_time(date, self.clock()) if date else None
        if when is not None and when < self.since:
            return
        if self.queued >= self.max_items or not self.wanted(url):
            return
        self.queued += 1
        hint = {"title": _child(el, "news", "title"), "time": date}
        yield self.request(url, self.parse_article, meta={"hint": hint})

    def parse_article(self, response: Any) -> Iterator[CrawledItem]:
        hint = response.meta.get("hint") or {}
        art = extract_article(response, self.cfg, self.clock())
        title = hint.get("title") or art["title"]
        if not title and not art["body"]:
            self.record_error(response.url, "文章页未提取到标题和正文（页面结构可能已改变）")
            return
        item = self.article_item(response, art, title=title, published=hint.get("time") or art["time"])
        if item is not None:
            yield item
