"""JSON 接口 (json_api): a JSON endpoint, a JMESPath field mapping, and paging.

Settings under ``json_api:`` (keys of a ``preset`` fill in what is not given):

- ``preset``: ``weibo_search`` (m.weibo.cn container API) or ``message_board`` (留言板).
- ``items`` (required unless preset): JMESPath to the list of posts, e.g. ``posts``.
- Per post, JMESPath relative to it: ``id``, ``url``, ``title``, ``text``, ``author``,
  ``published_at``, ``reply`` (a reply object or text, appended to the text as 【回复】),
  and ``engagement``: {name: path}, e.g. {reposts: reposts, comments: comments, likes: likes}.
- ``url_template``: used when ``url`` gives nothing, formatted with ``{id}`` and ``{base}``
  (the source URL without its query); default ``{base}#id={id}``.
- ``paging``: {``param``: query parameter, ``start``: first page (1), ``max_pages`` (1)};
  paging stops early at a page without posts. Or ``next``: JMESPath to the next page's URL.
- ``params``: extra query parameters; ``headers``, ``cookies`` (never logged);
  ``platform``: stored on each item (e.g. ``weibo``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jmespath
from w3lib.url import add_or_replace_parameters

from ..items import CrawledItem
from .base import SourceSpider

PRESETS: dict[str, dict[str, Any]] = {
    # m.weibo.cn/api/container/getIndex?containerid=100103type=1&q=...: posts sit in
    # data.cards[].mblog, or one level down in card_group for grouped cards.
    "weibo_search": {
        "items": "[data.cards[].mblog, data.cards[].card_group[].mblog][]",
        "id": "id", "url_template": "https://m.weibo.cn/detail/{id}", "title": "", "text": "text",
        "author": "user.screen_name", "published_at": "created_at",
        "engagement": {"reposts": "reposts_count", "comments": "comments_count",
                       "likes": "attitudes_count"},
        "paging": {"param": "page", "start": 1, "max_pages": 3}, "platform": "weibo",
    },
    # 留言板: {"code": 0, "data": {"list": [{"id", "title", "content", "time", "user",
    #   "reply": {"org", "content", "time"} | "text" | null, "url"?}], "total": n}}
    "message_board": {
        "items": "data.list", "id": "id", "url": "url", "title": "title", "text": "content",
        "author": "user", "published_at": "time", "reply": "reply",
        "paging": {"param": "page", "start": 1, "max_pages": 2}, "platform": "message_board",
    },
}
FIELDS = ("id", "url", "title", "text", "author", "published_at", "reply")


def effective_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The preset's keys under the source's own."""
    base = dict(PRESETS.get(cfg.get("preset") or "", {}))
    base.update({k: v for k, v in cfg.items() if v is not None})
    return base


def _reply_text(reply: Any) -> str:
    if not reply:
        return ""
    if isinstance(reply, dict):
        who = reply.get("org") or reply.get("user") or ""
        when = reply.get("time") or ""
        head = " ".join(x for x in (who, when) if x)
        return f"【回复】{head}：{reply.get('content') or ''}" if head else f"【回复】{reply.get('content') or ''}"
    return f"【回复】{reply}"


class JsonApiSpider(SourceSpider):
    kind = "json_api"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cfg = effective_config(self.cfg)
        self.paths = {k: jmespath.compile(self.cfg[k]) for k in FIELDS if self.cfg.get(k)}
        self.items_path = jmespath.compile(self.cfg["items"])
        self.engagement = {k: jmespath.compile(v) for k, v in (self.cfg.get("engagement") or {}).items()}
        self.paging = self.cfg.get("paging") or {}

    def _page_url(self, url: str, page: int | None) -> str:
        params = {str(k): str(v) for k, v in (self.cfg.get("params") or {}).items()}
        if page is not None and self.paging.get("param"):
            params[self.paging["param"]] = str(page)
        return add_or_replace_parameters(url, params) if params else url

    async def start(self) -> Any:
        first = self.paging.get("start", 1) if self.paging.get("param") else None
        for url in self.source["urls"]:
            yield self.request(self._page_url(url, first), self.parse, dont_filter=True,
                               cb_kwargs={"base": url, "page": first, "count": 1})

    def parse(self, response: Any, base: str = "", page: int | None = None,
              count: int = 1) -> Iterator[Any]:
        try:
            data = json.loads(response.text)
        except ValueError as exc:
            self.record_error(response.url, f"JSON 格式错误：{exc}")
            return
        posts = self.items_path.search(data)
        if posts is None:
            posts = []
        if not isinstance(posts, list):
            self.record_error(response.url, f"字段映射 items（{self.cfg['items']}）未得到列表")
            return
        if not posts and count == 1:
            self.record_warning(response.url, "接口返回的列表为空")
        for post in posts:
            if isinstance(post, dict):
                yield from self.guarded(response.url, "接口条目", self._items(response, base or response.url, post))
        yield from self._next(response, data, base, page, count, bool(posts))

    def _next(self, response: Any, data: Any, base: str, page: int | None, count: int,
              had_posts: bool) -> Iterator[Any]:
        if not had_posts or count >= int(self.paging.get("max_pages", 1)):
            return
        kwargs = {"base": base, "count": count + 1}
        if self.cfg.get("next"):
            nxt = jmespath.search(self.cfg["next"], data)
            if isinstance(nxt, str) and nxt:
                yield self.request(response.urljoin(nxt), self.parse, cb_kwargs={**kwargs, "page": None})
        elif self.paging.get("param") and page is not None:
            yield self.request(self._page_url(base, page + 1), self.parse,
                               cb_kwargs={**kwargs, "page": page + 1})

    def _items(self, response: Any, base: str, post: dict[str, Any]) -> Iterator[CrawledItem]:
        item = self._item(response, base, post)
        if item is not None:
            yield item

    def _item(self, response: Any, base: str, post: dict[str, Any]) -> CrawledItem | None:
        got = {k: path.search(post) for k, path in self.paths.items()}
        url = got.get("url")
        if not url:
            if got.get("id") in (None, ""):
                self.record_warning(response.url, "条目既无链接也无 id，已跳过")
                return None
            parts = urlsplit(base)
            plain = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            url = self.cfg.get("url_template", "{base}#id={id}").format(id=got["id"], base=plain)
        url = response.urljoin(str(url))
        self.wanted(url)  # counted; the post itself costs no fetch, the store compares it
        text = got.get("text") or ""
        reply = _reply_text(got.get("reply"))
        if reply:
            text = f"{text}\n\n{reply}"
        engagement = {k: path.search(post) for k, path in self.engagement.items()}
        return CrawledItem(url=url, title=got.get("title") or "", text=text, author=got.get("author") or "",
                           published=got.get("published_at"), engagement=engagement,
                           platform=self.cfg.get("platform", ""), raw_ref=response.url)
