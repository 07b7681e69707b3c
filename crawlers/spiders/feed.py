"""订阅源 (feed): RSS 0.9x/1.0/2.0 and Atom through feedparser, with conditional GET.

The source's ``http_cache`` ({url: {etag, last_modified}}) is sent as If-None-Match /
If-Modified-Since; a 304 means nothing new. The new validators are reported in the stats
(``yuqing/http_cache``) and stored by the runner's parent, not by the spider.

Settings under ``feed:`` (all optional):

- ``follow`` (default false): fetch each entry's link for the full article text;
  ``title``, ``time``, ``author``, ``body`` selectors for those pages (else trafilatura).
- ``headers``, ``cookies``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser

from ..items import CrawledItem
from ..normalise import clean_text
from ..snapshots import raw_of
from .article import extract_article
from .base import SourceSpider

_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _valid_char_refs(body: bytes) -> bytes:
    """Character references to no character (``&#xD800;``, ``&#99999999;``) become U+FFFD:
    feedparser's loose parser raises on them and would lose the whole feed."""
    def fix(m: re.Match[bytes]) -> bytes:
        digits = m.group(1) or m.group(2)
        code = -1 if len(digits) > 8 else int(digits, 16) if m.group(1) else int(digits)
        return m.group() if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else b"&#xFFFD;"

    return _CHAR_REF.sub(fix, body)


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.I)


def _readable(body: bytes, content_type: str) -> bytes:
    """A feed that says UTF-8 (or nothing, which means UTF-8) as valid UTF-8. feedparser reads
    the whole feed as windows-1252 when one byte is not UTF-8, turning every entry into
    mojibake: a few stray bytes become U+FFFD instead, and a GB18030 feed that does not say so
    is transcoded."""
    m = _XML_ENCODING.match(body[:300])
    declared = m.group(1).decode("ascii") if m else ((_CHARSET.search(content_type) or [None, ""])[1])
    if declared and declared.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return body  # a declared GBK or other charset: feedparser decodes it
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        pass
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad * 4 <= sum(1 for ch in text if ord(ch) > 127) - bad:  # mostly good UTF-8, a few stray bytes
        return text.encode("utf-8")
    try:
        return body.decode("gb18030").encode("utf-8")
    except UnicodeDecodeError:
        return body


def _entry_time(entry: Any) -> Any:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (ValueError, OverflowError, OSError):  # feedparser reads "0000-00-00" as year -1
                continue
    return entry.get("published") or entry.get("updated") or ""


def _entry_link(entry: Any) -> str:
    link = entry.get("link") or ""
    if not link:
        guid = entry.get("id") or ""
        if guid.startswith(("http://", "https://")):
            link = guid
    return link


def _entry_text(entry: Any) -> str:
    """The entry's fullest text: ``content:encoded`` and the description both, whichever says
    more (an ill-formed feed's content may be an image or blank beside a full description)."""
    candidates = [c.get("value") or "" for c in entry.get("content") or []]
    candidates += [entry.get("summary") or "", entry.get("description") or ""]
    return max(candidates, key=lambda value: len(clean_text(value)))


class FeedSpider(SourceSpider):
    kind = "feed"

    def request(self, url: str, callback: Any, **kwargs: Any) -> Any:
        if callback == self.parse:
            cached = (self.source.get("http_cache") or {}).get(url) or {}
            headers = {}
            if cached.get("etag"):
                headers["If-None-Match"] = cached["etag"]
            if cached.get("last_modified"):
                headers["If-Modified-Since"] = cached["last_modified"]
            kwargs["headers"] = headers
            kwargs["meta"] = {"handle_httpstatus_list": [304]}
        return super().request(url, callback, **kwargs)

    def _remember_validators(self, response: Any) -> None:
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        if not (etag or modified):
            return
        url = response.meta.get("redirect_urls", [response.url])[0]
        cache = dict(self.crawler.stats.get_value("yuqing/http_cache") or {})
        cache[url] = {"etag": etag.decode("latin-1") if etag else "",
                      "last_modified": modified.decode("latin-1") if modified else ""}
        self.crawler.stats.set_value("yuqing/http_cache", cache)

    def parse(self, response: Any) -> Iterator[Any]:
        if response.status == 304:
            self.crawler.stats.inc_value("yuqing/not_modified")
            return
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        try:
            parsed = feedparser.parse(_valid_char_refs(_readable(response.body, content_type)),
                                      response_headers={"content-type": content_type})
        except Exception as exc:  # noqa: BLE001 - feedparser's loose parser has its own crashes
            self.record_error(response.url, f"订阅源无法解析：{type(exc).__name__}: {str(exc)[:200]}")
            return
        entries = parsed.get("entries") or []
        if parsed.get("bozo") and not entries:
            self.record_error(response.url, f"订阅源格式错误，无法解析：{parsed.get('bozo_exception')}")
            return
        self._remember_validators(response)
        if parsed.get("bozo"):
            self.record_warning(response.url, f"订阅源格式不规范（已尽量解析）：{parsed.get('bozo_exception')}")
        if not entries:
            self.record_warning(response.url, "订阅源没有任何条目")
        for entry in entries:
            yield from self.guarded(response.url, "订阅源条目", self._entry(response, entry))

    def _entry(self, response: Any, entry: Any) -> Iterator[Any]:
        title = entry.get("title") or ""
        link = _entry_link(entry)
        if not link:
            self.record_warning(response.url, f"条目缺少链接，已跳过：《{title[:40]}》")
            return
        link = response.urljoin(link)
        published = _entry_time(entry)
        if not published:
            self.record_warning(link, f"条目缺少发布时间：《{title[:40]}》")
        fetch = self.wanted(link)  # a known entry's own text still goes to the store: edits show there
        item = CrawledItem(url=link, title=title, text=_entry_text(entry), author=entry.get("author") or "",
                           published=published, engagement={}, raw_ref=response.url)
        if self.cfg.get("follow"):
            if not fetch:
                return
            yield self.request(link, self.parse_article, errback=self.follow_failed, meta={"item": item})
        else:
            yield item

    def parse_article(self, response: Any) -> Iterator[CrawledItem]:
        item = response.meta["item"]
        art = extract_article(response, self.cfg, self.clock())
        if art["body"]:
            item["text"] = art["body"]
            item["raw_ref"] = response.url
            item["raw"] = raw_of(response)
        item["title"] = item.get("title") or art["title"]
        item["author"] = item.get("author") or art["author"]
        item["published"] = item.get("published") or art["time"]
        item["source_unit"] = art["source_unit"]
        item["column"] = art["column"]
        yield item

    def follow_failed(self, failure: Any) -> Iterator[CrawledItem]:
        """The article page failed: keep the entry's own summary rather than lose the item."""
        gone = self.failed(failure)
        yield from gone or [failure.request.meta["item"]]
