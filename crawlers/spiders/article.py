"""Article pages (稿件页面): configured selectors first, then what the page says of itself
(the 政府网站 meta tags), the government CMS content containers, a main-text extractor
(trafilatura), and the densest text block. Shared by the listing, feed (follow) and sitemap
spiders.

Selector keys (all optional): ``title``, ``time``, ``author``, ``source_unit`` (来源),
``body``. A selector is CSS (``h1::text``, ``.content``) or XPath (starting with ``/`` or
``(``). A body selector that matches elements keeps their HTML; the pipeline turns it into
plain text. Whatever no selector gives comes from the page, with or without selectors:

- title: ``ArticleTitle`` / ``og:title`` meta, trafilatura, ``<title>`` without its
  site and column suffixes;
- time: ``PubDate`` and the other time metas when they read as a time (not empty, not
  0000-00-00, not in the future), the page's 发布时间 line, trafilatura;
- source unit (来源单位): ``ContentSource`` meta, the page's 来源 line; never the author;
- column (栏目): ``ColumnName`` meta;
- body: CMS containers (:data:`.govsite.CMS_CONTAINERS`), trafilatura, the densest block;
  an extraction that is only boilerplate is rejected, the ``Description`` meta is the last
  resort.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lxml import etree

from . import govsite
from .base import select

ARTICLE_KEYS = ("title", "time", "author", "source_unit", "body")


def _texts(sel: Any) -> str:
    """Strings of a selection: text nodes as they are, elements as their HTML."""
    return "\n".join(s.strip() for s in sel.getall() if s and s.strip())


def _trafilatura(response: Any) -> dict[str, str]:
    import trafilatura  # local: heavy (its models and lxml set-up), loaded by the crawl child only

    tree = trafilatura.load_html(response.text)
    if tree is None:
        return {}
    # trafilatura drops scripts from the body but reads the title from the raw tree, where
    # <h1>标题<script>…</script></h1> gives the script's code as part of the title.
    etree.strip_elements(tree, "script", "style", "noscript", "template", with_tail=False)
    doc = trafilatura.bare_extraction(tree, url=response.url, with_metadata=True,
                                      include_comments=False, favor_precision=True)
    if doc is None:
        return {}
    get = doc.get if isinstance(doc, dict) else (lambda k: getattr(doc, k, None))
    return {"title": get("title") or "", "text": get("text") or "", "author": get("author") or "",
            "time": get("date") or ""}


def _page_text(response: Any) -> str:
    return " ".join(response.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall())


def extract_article(response: Any, cfg: dict[str, Any], now: datetime | None = None) -> dict[str, str]:
    """Title, time, author, source unit, column and body (text or HTML) of an article page.
    ``now`` (the run's clock) tells a publish time from an absurd one."""
    now = now or datetime.now(UTC)
    out = {key: _texts(select(response, cfg[key])) if cfg.get(key) else "" for key in ARTICLE_KEYS}
    site, column = govsite.meta(response, govsite.META_SITE), govsite.meta(response, govsite.META_COLUMN)
    out["column"], out["site"] = column, site
    out["title"] = out["title"] or govsite.meta(response, govsite.META_TITLE)
    out["time"] = out["time"] or next(
        (t for name in govsite.META_TIME if (t := govsite.usable_time(govsite.meta(response, (name,)), now))), "")
    out["source_unit"] = out["source_unit"] or govsite.meta(response, govsite.META_SOURCE_UNIT)
    out["author"] = out["author"] or govsite.meta(response, govsite.META_AUTHOR)
    page = response.text  # Scrapy works its encoding out again at every read of .text

    def page_title() -> str:  # <title> without its suffixes: read only when a title is missing
        return govsite.strip_title(response.css("title::text").get() or "", site, column)

    wanted = (not out["time"] and ("时间" in page or "日期" in page)) or (not out["source_unit"] and "来源" in page)
    if wanted:  # the page's own 发布时间/来源 line (read only when the page has one)
        text = _page_text(response)
        out["time"] = out["time"] or govsite.usable_time(govsite.time_in_text(text), now)
        out["source_unit"] = out["source_unit"] or govsite.source_unit_in_text(text)
    if not out["body"]:
        out["body"] = govsite.cms_container(response, out["title"] or page_title())
    if not out["body"] or not out["title"] or not out["time"]:  # trafilatura only where it is needed
        extracted = _trafilatura(response)
        if not out["body"]:
            out["body"] = govsite.content_text(extracted.get("text", ""), out["title"] or page_title())
        out["time"] = out["time"] or govsite.usable_time(extracted.get("time", ""), now)
        out["author"] = out["author"] or extracted.get("author", "")
        if not out["title"] and extracted.get("title"):
            out["title"] = govsite.strip_title(extracted["title"], site, column)
    if not out["body"]:
        out["body"] = govsite.densest_block(response, out["title"] or page_title())
    out["body"] = out["body"] or govsite.meta(response, govsite.META_DESCRIPTION)
    # A title selector such as "h1::text" may match several nodes; keep the first line.
    out["title"] = (out["title"] or page_title()).split("\n")[0]
    if out["author"] == out["source_unit"]:
        out["author"] = ""  # trafilatura reads 来源 as the author: it is the unit, said once
    return out
