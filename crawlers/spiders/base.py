"""What every source spider shares: its source (as data), incremental skipping, and errors
recorded against the source with a clear Chinese reason instead of a traceback in a log.

Spiders never touch Redis or the database: the runner hands them the source as a dict and
the hashes of URLs already stored; the last pipeline stores.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Self

import scrapy
from scrapy import exceptions as ex
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as terr

from ..distributed import ack
from ..items import CrawledItem
from ..normalise import url_hash
from ..snapshots import GONE_STATUSES, looks_deleted, raw_of

log = logging.getLogger(__name__)

MAX_RECORDED = 50  # errors/warnings kept per run; the count goes on


def select(response: Any, query: str) -> Any:
    """A CSS selector, or XPath when the query starts with ``/`` or ``(``."""
    query = query.strip()
    if query.startswith(("/", "(")):
        return response.xpath(query)
    return response.css(query)


def describe_failure(failure: Any, timeout: int | None = None) -> str:
    """One clear line for a failed request."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"服务器返回 HTTP {exc.response.status}"
    if isinstance(exc, ex.DownloadTimeoutError | terr.TimeoutError | terr.TCPTimedOutError):
        return f"请求超时（{timeout or '?'} 秒内无响应）"
    if isinstance(exc, ex.DownloadCancelledError):
        return "响应超过大小上限，已放弃下载（crawl_max_bytes）"
    if isinstance(exc, ex.DownloadConnectionRefusedError | terr.ConnectionRefusedError):
        return "连接被拒绝"
    if isinstance(exc, ex.CannotResolveHostError | terr.DNSLookupError):
        return "域名无法解析"
    if isinstance(exc, ex.ResponseDataLossError):
        return "响应数据不完整（连接中断）"
    if isinstance(exc, IgnoreRequest):
        text = str(exc)
        if "robots" in text.lower():
            return "robots.txt 禁止抓取（本单位网站可设置 obey_robots: false）"
        if "redirect" in text.lower():
            return "重定向次数过多（疑似重定向循环）"
        return f"请求被忽略：{text}"
    return f"请求失败：{type(exc).__name__}: {exc}"


class SourceSpider(scrapy.Spider):
    """Base of the four kinds. ``source`` is the stored source as a dict (see sources.py)."""

    kind = ""

    def __init__(self, source: dict[str, Any], known: list[str] | None = None,
                 clock: Callable[[], datetime] | None = None, **kwargs: Any) -> None:
        super().__init__(name=f"{self.kind}-{source['key']}", **kwargs)
        self.source = source
        self.cfg: dict[str, Any] = (source.get("settings") or {}).get(self.kind) or {}
        self.known = set(known or ())
        self.item_changes = bool((source.get("settings") or {}).get("item_changes"))
        self.clock = clock or (lambda: datetime.now(UTC))

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._dropped, signal=signals.request_dropped)
        return spider

    # -- requests -----------------------------------------------------------------------
    def request(self, url: str, callback: Callable[..., Any], **kwargs: Any) -> scrapy.Request:
        headers = {**(self.cfg.get("headers") or {}), **kwargs.pop("headers", {})}
        return scrapy.Request(url, callback=callback, errback=kwargs.pop("errback", self.failed),
                              headers=headers or None, cookies=self.cfg.get("cookies") or None,
                              **kwargs)

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source["urls"]:
            # Entry pages are fetched every run, also in distributed mode (shared dupefilter).
            yield self.request(url, self.parse, dont_filter=True)

    def wanted(self, url: str) -> bool:
        """Count a found item; False when fetching it again is not needed: it is stored
        already and the source does not say its items change."""
        self.crawler.stats.inc_value("yuqing/found")
        if not self.item_changes and url_hash(url) in self.known:
            self.crawler.stats.inc_value("yuqing/skipped_known")
            return False
        return True

    # -- what went wrong ----------------------------------------------------------------
    def _append(self, key: str, url: str, reason: str) -> None:
        stats = self.crawler.stats
        stats.inc_value(f"{key}_count")
        entries = list(stats.get_value(key) or [])
        if len(entries) < MAX_RECORDED:
            entries.append({"url": url, "reason": reason})
            stats.set_value(key, entries)
        log.warning("%s: %s (%s)", self.source["key"], reason, url)

    def record_error(self, url: str, reason: str) -> None:
        """A fetch or parse that failed: counts against the source's health."""
        self._append("yuqing/errors", url, reason)

    def record_warning(self, url: str, reason: str) -> None:
        """Something odd but survivable (an entry without a date, an empty page)."""
        self._append("yuqing/warnings", url, reason)

    def guarded(self, url: str, what: str, produce: Iterator[Any]) -> Iterator[Any]:
        """What one entry of a page produces. An entry that cannot be read (a link such as
        ``http://[::1``, a date in year 0) is recorded against the source and skipped, so the
        page's other entries are not lost with it."""
        try:
            yield from produce
        except Exception as exc:  # noqa: BLE001 - recorded, with the entry's page, as a source error
            self.record_error(url, f"{what}无法解析，已跳过：{type(exc).__name__}: {str(exc)[:200]}")

    def failed(self, failure: Any) -> list[Any]:
        request = failure.request
        ack(self, request)  # distributed: done with it, off this node's processing list
        response = getattr(failure.value, "response", None)
        url = request.meta.get("redirect_urls", [request.url])[0]
        if response is not None and response.status in GONE_STATUSES and url_hash(url) in self.known:
            # A page stored before answers 404/410: 删帖, a signal, not a source error.
            self.crawler.stats.inc_value("yuqing/pages_gone")
            return [CrawledItem(url=url, gone=True, raw=raw_of(response))]
        timeout = self.crawler.settings.getint("DOWNLOAD_TIMEOUT")
        self.record_error(request.url, describe_failure(failure, timeout))
        return []

    def article_item(self, response: Any, art: dict[str, str], **fields: Any) -> CrawledItem | None:
        """The item of an article page, its raw page for the snapshot; a stored page that now
        shows a deletion notice (内容已删除) is a deletion mark instead; a new one is nothing."""
        url = response.meta.get("redirect_urls", [response.url])[0]
        raw = raw_of(response)
        page = art["body"] or " ".join(  # read only when nothing was extracted: the common case costs nothing
            response.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall())
        if looks_deleted(art["title"], page):
            if url_hash(url) in self.known:
                self.crawler.stats.inc_value("yuqing/pages_gone")
                return CrawledItem(url=url, gone=True, raw=raw)
            self.record_warning(url, "页面显示内容已删除，未入库")
            return None
        return CrawledItem(url=url, title=fields.pop("title", art["title"]), text=art["body"], author=art["author"],
                           source_unit=art["source_unit"], column=art["column"],
                           published=fields.pop("published", art["time"]), engagement={},
                           raw_ref=response.url, raw=raw, **fields)

    def _dropped(self, request: scrapy.Request, spider: Any = None) -> None:
        # A redirect back to a URL already seen is dropped by the dupefilter without an errback.
        if request.meta.get("redirect_times"):
            self.record_error(request.meta.get("redirect_urls", [request.url])[0],
                              "重定向循环（跳转回已访问的地址）")
