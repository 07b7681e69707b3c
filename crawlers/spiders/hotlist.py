"""热榜 (hotlist): a ranked list (微博热搜, 百度热搜, 头条热榜, a city's 同城榜) polled for each
entry's rank over time. Entries are not items: :mod:`..hotlists` records their ranks and the
NEW / RISING / FALLING / GONE signals on the events they match.

Settings under ``hotlist:`` (keys of a ``preset`` fill in what is not given):

- ``preset``: ``weibo_hot`` (weibo.com/ajax/side/hotSearch), ``baidu_hot`` (top.baidu.com
  board page, its embedded ``<!--s-data:…-->`` JSON, or its api/board JSON), ``toutiao_hot``
  (toutiao.com/hot-event/hot-board).
- ``format``: ``json`` (default) or ``html``.
- JSON: ``items`` (JMESPath to the list), per entry ``title``, ``url``, ``heat``, ``skip``
  (an entry for which this JMESPath is true is left out: ads); ``url_template`` with
  ``{title}`` (URL-quoted) when ``url`` gives nothing; ``embedded``: a regular expression whose
  first group is the JSON inside an HTML page.
- HTML: ``items`` (CSS/XPath of one entry), ``title``, ``url``, ``heat`` relative to it.
- ``min_entries`` (default 5): a list shorter than this is a changed format, not a list.

Rank is the entry's position in the list as served (1 = top), ads left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import jmespath
import scrapy

from ..normalise import clean_line, parse_count
from .base import SourceSpider, select

PRESETS: dict[str, dict[str, Any]] = {
    # {"ok": 1, "data": {"realtime": [{"word", "num", "realpos", "label_name", "is_ad"?}, ...]}}
    "weibo_hot": {"format": "json", "items": "data.realtime", "title": "word", "heat": "num",
                  "skip": "is_ad", "url_template": "https://s.weibo.com/weibo?q=%23{title}%23"},
    # top.baidu.com/board?tab=realtime: <!--s-data:{"data": {"cards": [{"content": [{"word",
    # "hotScore", "url", "index"}]}]}}-->; api/board returns the same object as JSON.
    "baidu_hot": {"format": "json", "items": "data.cards[0].content", "title": "word", "url": "url",
                  "heat": "hotScore", "embedded": r"<!--s-data:(.*?)-->"},
    # {"data": [{"Title", "HotValue", "Url", "ClusterIdStr", "Label"}], "fixed_top_data": [...]}
    "toutiao_hot": {"format": "json", "items": "data", "title": "Title", "url": "Url", "heat": "HotValue"},
}


class HotEntry(scrapy.Item):
    """One entry of a hot list at one poll."""

    list_url = scrapy.Field()
    rank = scrapy.Field()  # 1 = top
    title = scrapy.Field()
    url = scrapy.Field()
    heat = scrapy.Field()  # 热度, a count, or None


class HotlistFormatError(ValueError):
    """The list is not where the source says (the site changed its format)."""


def effective_config(cfg: dict[str, Any]) -> dict[str, Any]:
    base = dict(PRESETS.get(cfg.get("preset") or "", {}))
    base.update({k: v for k, v in cfg.items() if v is not None})
    return base


def _json_entries(text: str, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    if cfg.get("embedded"):
        match = re.search(cfg["embedded"], text, re.S)
        if match:
            text = match.group(1)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise HotlistFormatError(f"不是 JSON（{exc}）") from None
    entries = jmespath.search(cfg["items"], data)
    if not isinstance(entries, list):
        raise HotlistFormatError(f"items（{cfg['items']}）未得到列表")
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or (cfg.get("skip") and jmespath.search(cfg["skip"], entry)):
            continue
        out.append({"title": jmespath.search(cfg["title"], entry),
                    "url": jmespath.search(cfg["url"], entry) if cfg.get("url") else None,
                    "heat": jmespath.search(cfg["heat"], entry) if cfg.get("heat") else None})
    return out


def _html_entries(response: Any, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for sel in select(response, cfg["items"]):
        def first(key: str, node: Any = sel) -> str | None:
            return " ".join(select(node, cfg[key]).getall()) if cfg.get(key) else None

        out.append({"title": first("title"), "url": first("url"), "heat": first("heat")})
    return out


def read_entries(response: Any, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """The list's entries in rank order: ``{rank, title, url, heat}``. Raises
    :class:`HotlistFormatError` when the page is not a list of the configured format."""
    raw = _html_entries(response, cfg) if cfg.get("format") == "html" else _json_entries(response.text, cfg)
    entries: list[dict[str, Any]] = []
    for entry in raw:
        title = clean_line(entry.get("title") if isinstance(entry.get("title"), str) else "")
        if not title:
            continue
        url = entry.get("url") if isinstance(entry.get("url"), str) else ""
        if not url and cfg.get("url_template"):
            url = cfg["url_template"].format(title=quote(title))
        entries.append({"rank": len(entries) + 1, "title": title[:300], "url": response.urljoin(url) if url else "",
                        "heat": parse_count(entry.get("heat"))})
    minimum = int(cfg.get("min_entries", 5))
    if len(entries) < minimum:
        raise HotlistFormatError(f"只读到 {len(entries)} 条（少于 {minimum} 条），榜单格式可能已改变")
    return entries


class HotlistSpider(SourceSpider):
    kind = "hotlist"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cfg = effective_config(self.cfg)

    def parse(self, response: Any) -> Iterator[Any]:
        try:
            entries = read_entries(response, self.cfg)
        except HotlistFormatError as exc:
            self.record_error(response.url, f"热榜无法读取，本次未记录任何名次：{exc}")
            return
        except Exception as exc:  # noqa: BLE001 - a mapping that does not fit this page
            self.record_error(response.url, f"热榜无法读取，本次未记录任何名次：{type(exc).__name__}: {exc}")
            return
        self.crawler.stats.inc_value("yuqing/found", len(entries))
        for entry in entries:
            yield HotEntry(list_url=response.url, **entry)
