"""Downloader middlewares: the configured proxy, and decoding that never leaves mojibake.

The response size cap is Scrapy's own ``DOWNLOAD_MAXSIZE`` (set from ``crawl_max_bytes`` in
:func:`yuqing.crawlers.settings.crawl_settings`): the download handler cancels a response
as soon as it passes the cap, and the spider's errback records the reason.
"""

from __future__ import annotations

import logging
from typing import Any

from charset_normalizer import from_bytes
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse

log = logging.getLogger(__name__)

# Chinese sites that do not say their charset are nearly always UTF-8 or GBK/GB2312/GB18030
# (GB18030 decodes both of the latter). Western single-byte guesses are wrong for them.
_PREFERRED = ("utf-8", "gb18030")
_WESTERN = {"ascii", "cp1252", "latin-1", "latin1", "iso-8859-1", "windows-1252", "us-ascii"}


class ProxyMiddleware:
    """Send every request through ``crawl_proxy`` when one is configured."""

    def __init__(self, proxy: str) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Any) -> ProxyMiddleware:
        proxy = crawler.settings.get("YUQING_PROXY", "")
        if not proxy:
            raise NotConfigured  # no message: Scrapy would log a warning for every crawl
        return cls(proxy)

    def process_request(self, request: Request) -> None:
        request.meta.setdefault("proxy", self.proxy)


def _strict(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def best_encoding(body: bytes, declared: str | None) -> str | None:
    """The encoding to read ``body`` with: the declared one if it decodes cleanly, else UTF-8,
    else GB18030, else what charset-normalizer finds. None when the declared one is fine."""
    if declared and declared.lower() not in _WESTERN and _strict(body, declared):
        return None
    for candidate in _PREFERRED:
        if _strict(body, candidate):
            return candidate if candidate != (declared or "").lower() else None

    match = from_bytes(body[:200_000]).best()
    return match.encoding if match else None


class EncodingMiddleware:
    """Decode by header, then meta tag, then detection; re-read pages whose declared or guessed
    charset is wrong (a GBK page served as UTF-8, or no charset at all)."""

    def __init__(self, stats: Any) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> EncodingMiddleware:
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, TextResponse) or isinstance(response, XmlResponse):
            return response  # feeds and sitemaps: the XML parser reads the declaration itself
        body = response.body
        if not body or body.isascii():
            return response
        declared = (response._declared_encoding() or "") if isinstance(response, HtmlResponse) \
            else (response._headers_encoding() or "")
        fixed = best_encoding(body, declared or None)
        if fixed is None or fixed == response.encoding:
            return response
        self.stats.inc_value("yuqing/encoding_fixed")
        log.debug("decoding %s as %s (declared %r)", response.url, fixed, declared)
        return response.replace(encoding=fixed)
