"""`yuqing sources try URL` (试采): fetch one URL, say what kind of source it is, show what
would be extracted from it and from two of its articles, suggest selectors, and write the
source entry, so an administrator adds a 信源 without reading the code."""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx
import jmespath

from .middlewares import best_encoding
from .normalise import SHANGHAI, clean_line, clean_text, parse_time, title_from_text

MIN_LINK_TEXT = 6  # characters of an article link's text (navigation links are shorter)
PREVIEW = 100


@dataclass
class Trial:
    """What trying a URL found: the kind, the source entry, previews and remarks."""

    url: str
    kind: str = ""
    entry: dict[str, Any] = field(default_factory=dict)
    previews: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


MAX_REDIRECTS = 5


def fetch(url: str, settings: Any, public_only: bool = False) -> Any:
    """The URL as a Scrapy response (decoded as the crawler would), read up to
    ``crawl_max_bytes`` within ``crawl_timeout``.

    ``public_only`` (the admin page's 试采): the server fetches what a browser asked for, so
    a loopback, private, link-local or reserved address is refused (SSRF: the Redis port, a
    cloud metadata address, the intranet), before connecting and again at every redirect.
    The address actually connected to is checked too, so a name that resolves differently
    the second time (DNS rebinding) is caught before the body is read.
    """
    headers = {"User-Agent": settings.crawl_user_agent}
    with httpx.Client(timeout=settings.crawl_timeout, follow_redirects=False, headers=headers,
                      proxy=settings.crawl_proxy or None) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            if public_only:
                refuse_private(url)
            with client.stream("GET", url) as got:
                if public_only and not settings.crawl_proxy:
                    _refuse_private_peer(got, url)
                if got.is_redirect and got.headers.get("location"):
                    url = urljoin(url, got.headers["location"])
                    continue
                if got.status_code >= 400:
                    raise TrialError(f"服务器返回 HTTP {got.status_code}：{url}")
                body = _read_capped(got, settings.crawl_max_bytes, url)
                return _as_response(str(got.url), got.headers.get("content-type", ""), body)
    raise TrialError(f"重定向超过 {MAX_REDIRECTS} 次：{url}")


def _read_capped(got: Any, limit: int, url: str) -> bytes:
    chunks, size = [], 0
    for chunk in got.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise TrialError(f"响应超过 {limit:,} 字节的上限（设置项 crawl_max_bytes），未读完：{url}")
        chunks.append(chunk)
    return b"".join(chunks)


def _as_response(url: str, content_type: str, body: bytes) -> Any:
    # local: Scrapy is heavy, and the web app imports this module for its admin page
    from scrapy.http import HtmlResponse, TextResponse, XmlResponse

    cls = (XmlResponse if "xml" in content_type or body.lstrip()[:5] in (b"<?xml", b"<rss ", b"<feed")
           else HtmlResponse if "html" in content_type or body.lstrip()[:1] == b"<" else TextResponse)
    response = cls(url, body=body, headers={"Content-Type": content_type})
    if cls is HtmlResponse and not body.isascii():
        fixed = best_encoding(body, response._declared_encoding() or None)
        if fixed:
            response = response.replace(encoding=fixed)
    return response


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def refuse_private(url: str) -> None:
    """Raise :class:`TrialError` unless every address ``url``'s host resolves to is public."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise TrialError(f"网址须以 http:// 或 https:// 开头并含主机名：{url}")
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TrialError(f"无法解析域名 {host}：{url}") from None
    for info in infos:
        address = str(info[4][0])
        if _not_public(address):
            raise TrialError(f"出于安全考虑，试采不访问内网、本机或保留地址：{host}（{address}）")


def _refuse_private_peer(got: Any, url: str) -> None:
    stream = got.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer and _not_public(str(peer[0])):
        raise TrialError(f"出于安全考虑，试采不访问内网、本机或保留地址：{urlsplit(url).hostname}（{peer[0]}）")


class TrialError(ValueError):
    """The URL could not be tried (said in Chinese, naming the URL)."""


def _key_for(url: str) -> str:
    host = urlsplit(url).hostname or "source"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", host.removeprefix("www."))[:60]


def _preview(art: dict[str, str], url: str) -> dict[str, str]:
    return {"url": url, "title": art.get("title", ""), "time": art.get("time", ""),
            "source_unit": art.get("source_unit", ""), "text": clean_text(art.get("body", ""))[:PREVIEW]}


def _as_stored(preview: dict[str, str], now: datetime) -> dict[str, str]:
    """A preview as the crawl would store it: plain text, a title for a post without one (its
    first sentence or #话题#), the publish time read and shown in Beijing time."""
    text = clean_text(preview.get("text", ""))
    title = clean_line(preview.get("title", "")) or title_from_text(text)
    when = parse_time(preview.get("time") or None, now)
    shown = when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if when else ""
    return {**preview, "title": title, "text": text[:PREVIEW], "time": shown}


def _json_kind(response: Any, trial: Trial) -> None:
    # local: Scrapy is heavy, and the web app imports this module for its admin page
    from .spiders import hotlist, json_api

    for preset in hotlist.PRESETS:
        try:
            entries = hotlist.read_entries(response, hotlist.effective_config({"preset": preset}))
        except Exception:  # noqa: BLE001 - this preset does not fit; try the next
            continue
        trial.kind, trial.entry["hotlist"] = "hotlist", {"preset": preset}
        trial.previews = [{"url": e["url"], "title": f"第{e['rank']}名 {e['title']}", "time": "", "source_unit": "",
                           "text": f"热度 {e['heat']}" if e["heat"] is not None else ""} for e in entries[:2]]
        return

    try:
        data = json.loads(response.text)
    except ValueError as exc:
        raise TrialError(f"返回内容既不是网页也不是有效 JSON（{exc}）：{trial.url}") from None

    for preset, cfg in json_api.PRESETS.items():
        posts = jmespath.search(cfg["items"], data)
        if isinstance(posts, list) and posts:
            trial.kind, trial.entry["json_api"] = "json_api", {"preset": preset}
            trial.previews = [{"url": "", "title": "", "time": str(jmespath.search(cfg["published_at"], p) or ""),
                               "source_unit": "", "text": str(jmespath.search(cfg["text"], p) or "")}
                              for p in posts[:2] if isinstance(p, dict)]
            return
    path = _longest_list(data)
    trial.kind = "json_api"
    trial.entry["json_api"] = {"items": path or "（请填写帖文列表的 JMESPath）"}
    trial.notes.append(f"未匹配内置预设；帖文列表可能在 {path}，请补充 title、text、url、published_at 的字段映射"
                       if path else "JSON 中没有找到对象列表，请确认接口地址")


def _longest_list(data: Any, path: str = "") -> str:
    best, best_len = "", 0
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data[:5]):
        return path or "@"
    if isinstance(data, dict):
        for key, value in data.items():
            sub = f"{path}.{key}" if path else key
            if isinstance(value, list) and value and isinstance(value[0], dict) and len(value) > best_len:
                best, best_len = sub, len(value)
            elif isinstance(value, dict):
                found = _longest_list(value, sub)
                if found and not best:
                    best = found
    return best


def _feed_kind(response: Any, trial: Trial) -> bool:
    parsed = feedparser.parse(response.body)
    text = response.text[:2000]
    if "<urlset" in text or "<sitemapindex" in text:
        trial.kind, trial.entry["sitemap"] = "sitemap", {}
        trial.notes.append("站点地图：文章页字段来自页面元数据与正文抽取")
        return True
    if parsed.get("entries"):
        trial.kind = "feed"
        trial.previews = [{"url": e.get("link", ""), "title": e.get("title", ""), "time": e.get("published", ""),
                           "source_unit": "", "text": re.sub(r"<[^>]+>", "", e.get("summary", ""))[:PREVIEW]}
                          for e in parsed["entries"][:2]]
        return True
    return False


def _container(a: Any) -> str:
    """A CSS selector for the nearest list-like ancestor of a link."""
    node = a.getparent()
    while node is not None and node.tag not in ("ul", "ol", "table", "div", "section", "dl"):
        node = node.getparent()
    if node is None:
        return "a"
    classes = (node.get("class") or "").split()
    if node.get("id"):
        return f"{node.tag}#{node.get('id')}"
    return f"{node.tag}.{classes[0]}" if classes else node.tag


def suggest_links(response: Any) -> tuple[str, list[str]]:
    """The link selector of the page's article list and the links it gives (same site, long
    link texts, the container holding most of them)."""
    host = urlsplit(response.url).hostname
    groups: Counter[str] = Counter()
    links: dict[str, list[str]] = {}
    for a in response.xpath("//a[@href]"):
        root = a.root
        text = " ".join(root.text_content().split())
        href = response.urljoin(root.get("href"))
        if len(text) < MIN_LINK_TEXT or urlsplit(href).hostname != host or href == response.url:
            continue
        selector = f"{_container(root)} a"
        groups[selector] += 1
        links.setdefault(selector, []).append(href)
    if not groups:
        return "", []
    selector, _ = groups.most_common(1)[0]
    return selector, links[selector]


def _html_kind(response: Any, trial: Trial, settings: Any, now: datetime, public_only: bool) -> None:
    # local: Scrapy is heavy, and the web app imports this module for its admin page
    from .spiders.article import extract_article

    feed = response.xpath('//link[@rel="alternate"][contains(@type, "rss") or contains(@type, "atom")]/@href').get()
    if feed:
        trial.notes.append(f"页面声明了订阅源：{response.urljoin(feed)}（可改用 kind: feed）")
    if "<!--s-data:" in response.text:  # the Baidu board page: a hot list inside HTML
        try:
            _json_kind(response, trial)
        except TrialError:
            trial.kind = ""
        if trial.kind == "hotlist":
            return
        trial.entry.pop("json_api", None)
        trial.kind, trial.notes, trial.previews = "", [], []
    selector, links = suggest_links(response)
    if not links:
        art = extract_article(response, {}, now)
        trial.kind = "listing"
        trial.entry["listing"] = {"links": "（请填写文章链接的选择器）"}
        trial.previews = [_preview(art, response.url)]
        trial.notes.append("页面上没有找到文章列表：这可能是一篇文章页，请给出栏目（列表）页的地址")
        return
    trial.kind = "listing"
    trial.entry["listing"] = {"links": selector}
    for url in links[:2]:
        try:
            art = extract_article(fetch(url, settings, public_only), {}, now)
        except Exception as exc:  # noqa: BLE001 - shown as this article's failure, the trial goes on
            trial.notes.append(f"文章页抓取失败：{url}（{exc}）")
            continue
        trial.previews.append(_preview(art, url))
        if not art.get("body"):
            trial.notes.append(f"文章页未抽取到正文：{url}，请补充 body 选择器（如 .TRS_Editor、#zoom）")
        if not art.get("time"):
            trial.notes.append(f"文章页未找到发布时间：{url}，请补充 time 选择器")


def try_url(url: str, settings: Any, now: datetime, key: str = "", name: str = "",
            public_only: bool = False) -> Trial:
    """Try ``url``; ``public_only`` for the admin page (see :func:`fetch`)."""
    if not url.startswith(("http://", "https://")):
        raise TrialError(f"网址须以 http:// 或 https:// 开头：{url}")
    trial = Trial(url=url)
    try:
        response = fetch(url, settings, public_only)
    except TrialError:
        raise
    except Exception as exc:  # noqa: BLE001 - any network failure: one line naming the URL
        raise TrialError(f"无法抓取 {url}：{type(exc).__name__}: {exc}") from None
    # local: Scrapy is heavy, and the web app imports this module for its admin page
    from scrapy.http import HtmlResponse, XmlResponse

    if isinstance(response, XmlResponse) or (not isinstance(response, HtmlResponse)
                                             and response.text.lstrip()[:1] == "<"):
        if not _feed_kind(response, trial):
            raise TrialError(f"XML 内容既不是订阅源也不是站点地图：{url}")
    elif isinstance(response, HtmlResponse):
        _html_kind(response, trial, settings, now, public_only)
    else:
        _json_kind(response, trial)
    trial.previews = [_as_stored(p, now) for p in trial.previews]
    trial.entry = {"key": key or _key_for(url), "name": name or (urlsplit(url).hostname or url), "kind": trial.kind,
                   "tier": "local", "urls": [url], **trial.entry}
    return trial
