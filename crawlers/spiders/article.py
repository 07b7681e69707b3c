"""Article pages (稿件页面): configured selectors first, a main-text extractor (trafilatura)
for whatever no selector gives. Shared by the listing, feed (follow) and sitemap spiders.

Selector keys (all optional): ``title``, ``time``, ``author``, ``body``. A selector is CSS
(``h1::text``, ``.content``) or XPath (starting with ``/`` or ``(``). A body selector that
matches elements keeps their HTML; the pipeline turns it into plain text.
"""

from __future__ import annotations

from typing import Any

from .base import select

ARTICLE_KEYS = ("title", "time", "author", "body")
# Meta tags Chinese news and government sites use for the publish time.
_TIME_META = ("article:published_time", "PubDate", "pubdate", "publishdate", "publish_date",
              "firstpublishedtime", "og:release_date", "weibo:article:create_at", "date")
_AUTHOR_META = ("author", "article:author", "Author", "ContentSource", "source")


def _texts(sel: Any) -> str:
    """Strings of a selection: text nodes as they are, elements as their HTML."""
    return "\n".join(s.strip() for s in sel.getall() if s and s.strip())


def _meta(response: Any, names: tuple[str, ...]) -> str:
    for name in names:
        value = response.xpath(f'//meta[@name="{name}" or @property="{name}"]/@content').get()
        if value and value.strip():
            return value.strip()
    return ""


def _trafilatura(response: Any) -> dict[str, str]:
    import trafilatura
    from lxml import etree

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


def extract_article(response: Any, cfg: dict[str, Any]) -> dict[str, str]:
    """Title, time, author and body (text or HTML) of an article page."""
    out = {key: _texts(select(response, cfg[key])) if cfg.get(key) else "" for key in ARTICLE_KEYS}
    if not out["time"]:
        out["time"] = _meta(response, _TIME_META)
    if not out["author"]:
        out["author"] = _meta(response, _AUTHOR_META)
    if not out["title"]:
        out["title"] = _meta(response, ("og:title",)) or (response.css("title::text").get() or "").strip()
    if not out["body"]:
        extracted = _trafilatura(response)
        out["body"] = extracted.get("text", "")
        out["time"] = out["time"] or extracted.get("time", "")
        out["author"] = out["author"] or extracted.get("author", "")
        if extracted.get("title") and not cfg.get("title"):
            out["title"] = extracted["title"]
    # A title selector such as "h1::text" may match several nodes; keep the first line.
    out["title"] = out["title"].split("\n")[0]
    return out
