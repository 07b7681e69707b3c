"""列表页 (listing): an HTML list page, its next pages, and the article pages it links to.

Settings under ``listing:`` in the source YAML:

- ``links`` (required): CSS/XPath for the article links, e.g. ``ul.news a::attr(href)``
  (an element selector such as ``ul.news a`` also works: its ``href`` is used).
- ``next``: CSS/XPath for the next list page's link; ``max_pages`` (default 5) list pages.
- ``allow``: a regular expression article URLs must match.
- ``title``, ``time``, ``author``, ``body``: article selectors (see ``article.py``);
  missing ones come from page metadata and trafilatura.
- ``headers``, ``cookies``: sent with every request (never logged).

Pages in GBK/GB2312/GB18030 are decoded by header, meta tag and detection
(:class:`yuqing.crawlers.middlewares.EncodingMiddleware`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..items import CrawledItem
from .article import extract_article
from .base import SourceSpider, select


def hrefs(response: Any, query: str) -> list[str]:
    """Link targets of a selection: attribute/text values, or the href of matched elements."""
    out = []
    for sel in select(response, query):
        root = sel.root
        value = root if isinstance(root, str) else (sel.attrib.get("href") or "")
        if value and value.strip():
            out.append(value.strip())
    return out


class ListingSpider(SourceSpider):
    kind = "listing"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow = re.compile(self.cfg["allow"]) if self.cfg.get("allow") else None
        self.max_pages = int(self.cfg.get("max_pages") or 5)

    def parse(self, response: Any, page: int = 1) -> Iterator[Any]:
        links = hrefs(response, self.cfg["links"])
        if not links:
            self.record_warning(response.url, f"列表页未找到文章链接（选择器 {self.cfg['links']}）")
        for href in links:
            yield from self.guarded(response.url, f"文章链接 {href[:100]!r} ", self._link(response, href))
        if self.cfg.get("next") and page < self.max_pages:
            nxt = hrefs(response, self.cfg["next"])
            if nxt:
                yield self.request(response.urljoin(nxt[0]), self.parse, cb_kwargs={"page": page + 1})

    def _link(self, response: Any, href: str) -> Iterator[Any]:
        url = response.urljoin(href)
        if not url.startswith(("http://", "https://")) or (self.allow and not self.allow.search(url)):
            return
        if self.wanted(url):
            yield self.request(url, self.parse_article, meta={"listing": response.url})

    def parse_article(self, response: Any) -> Iterator[CrawledItem]:
        art = extract_article(response, self.cfg, self.clock())
        if not art["title"] and not art["body"]:
            self.record_error(response.url, "文章页未提取到标题和正文（页面结构可能已改变）")
            return
        item = self.article_item(response, art)
        if item is not None:
            yield item
