"""What Chinese government and news sites do (政府网站惯例), for :mod:`.article`.

- The 政府网站 meta tags (``ArticleTitle``, ``PubDate``, ``ContentSource``, ``SiteName``,
  ``ColumnName``, ``Keywords``, ``Description``), which most CMSs (TRS WCM, 海云, 大汉, 开普云)
  write on every article page.
- The content containers of those CMSs (``div.TRS_Editor``, ``#zoom``, ``#UCAP-CONTENT`` …),
  tried before any generic extractor.
- Boilerplate (面包屑, the 发布时间/来源 line, 【字体：大 中 小】, 分享到, 打印本页, 关闭窗口):
  an extraction that is nothing else is rejected, and the densest text block is read instead.
- ``<title>`` suffixes: "标题_政务动态_泽州县人民政府" is the title "标题".
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from lxml import html as lxml_html

from ..normalise import clean_line, clean_text, parse_time

# name -> the field it gives; the first name with a usable value wins.
META_TITLE = ("ArticleTitle", "articletitle", "og:title")
META_TIME = ("PubDate", "pubdate", "article:published_time", "publishdate", "publish_date",
             "firstpublishedtime", "og:release_date", "weibo:article:create_at", "date")
META_SOURCE_UNIT = ("ContentSource", "contentsource", "source")
META_AUTHOR = ("author", "Author", "article:author")
META_SITE = ("SiteName", "sitename", "og:site_name")
META_COLUMN = ("ColumnName", "columnname")
META_DESCRIPTION = ("Description", "description", "og:description")

# Content containers of the common government CMSs, most specific first.
CMS_CONTAINERS = (
    ".TRS_UEDITOR", ".TRS_Editor", "#UCAP-CONTENT", "#zoom", "#Zoom", ".pages_content",
    ".article-content", ".article_content", ".Custom_UnionStyle", "#fontzoom", "#BodyLabel",
    ".wzcon", ".content_text", ".news_content", ".xl_content", ".zw",
)

MIN_CONTENT = 15  # characters of real text an extraction must have, boilerplate aside
_BOILERPLATE_LINE = 120  # a longer line is prose, whatever words it contains
_BOILERPLATE = re.compile(
    r"当前位置|您的位置|您现在的位置|所在位置|^首页\s*[>›»/＞]|[>›»＞]\s*正文$"
    r"|发布时间|发布日期|发文日期|信息来源|文章来源|^来源[：:]|^作者[：:]|责任编辑|浏览次数|点击数|阅读次数|访问量"
    r"|字体[：:]?\s*[【\[]?\s*大|字号[：:]|【\s*大\s*中\s*小\s*】|^\s*[【\[]?\s*大\s*中\s*小\s*[】\]]?\s*$"
    r"|分享到|打印本页|【打印】|\[打印\]|打印此页|关闭窗口|【关闭】|\[关闭\]|收藏本页|扫一扫|用手机看"
    r"|^上一篇|^下一篇|^相关链接|^相关阅读|网站地图|版权所有|ICP备|主办单位|承办单位|网站标识码|政府网站找错")
_SEPARATORS = re.compile(r"(\s*(?:_|\||｜|——|--|\s-\s|\s—\s|\s–\s)\s*)")
_SITE_LIKE = re.compile(r"(人民政府|政府网|门户网站?|网站|新闻网|频道|官网|网)$")
_SOURCE_IN_TEXT = re.compile(r"(?:信息来源|文章来源|来源)\s*[：:]\s*([^\s　|｜<>【】\[\]]{2,40})")
_TIME_IN_TEXT = re.compile(r"(?:发布时间|发布日期|发文日期|时间|日期)\s*[：:]\s*"
                           r"(\d{4}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}\s*日?(?:\s*\d{1,2}[:：]\d{1,2}(?:[:：]\d{1,2})?)?)")
_NOT_SOURCE = re.compile(r"(发布时间|作者|浏览|点击|字体|阅读)")
_BLOCKS = ("div", "td", "article", "section", "main")
_INLINE = frozenset({"p", "span", "font", "strong", "b", "em", "i", "u", "br", "a", "img", "center"})
_NAV = re.compile(r"nav|menu|foot|header|crumb|banner|sidebar|share|copyright|links?$", re.I)


def metas(response: Any) -> dict[str, str]:
    """Every ``<meta name|property=… content=…>`` of the page, read once per response."""
    cached = getattr(response, "_yuqing_metas", None)
    if cached is None:
        cached = {}
        root = response.selector.root  # the parsed tree's elements, without a Selector for each
        for node in root.iter("meta") if hasattr(root, "iter") else ():
            name = node.get("name") or node.get("property")
            value = (node.get("content") or "").strip()
            if name and value and name not in cached:
                cached[name] = value
        try:
            response._yuqing_metas = cached
        except AttributeError:  # a response type that takes no attributes: read again next time
            pass
    return cached


def meta(response: Any, names: tuple[str, ...]) -> str:
    """The first non-empty ``<meta name|property=… content=…>`` of ``names``."""
    found = metas(response)
    return next((found[name] for name in names if found.get(name)), "")


def usable_time(value: str, now: datetime) -> str:
    """``value`` when it reads as a publish time (not empty, not 0000-00-00, not 2099)."""
    return value if value and parse_time(value, now) is not None else ""


def is_boilerplate(line: str) -> bool:
    return len(line) <= _BOILERPLATE_LINE and bool(_BOILERPLATE.search(line))


def content_text(html_or_text: str, title: str = "") -> str:
    """Plain text without its boilerplate lines; "" when what is left is not an article body
    (fewer than :data:`MIN_CONTENT` characters, or only the title again)."""
    lines = [line for line in clean_text(html_or_text).split("\n") if not is_boilerplate(line.strip())]
    text = "\n".join(lines).strip()
    bare = re.sub(r"\s+", "", text)
    if len(bare) < MIN_CONTENT or (title and bare == re.sub(r"\s+", "", title)):
        return ""
    return re.sub(r"\n{3,}", "\n\n", text)


def strip_title(title: str, site: str = "", column: str = "") -> str:
    """The article's own title from ``<title>``: site and column suffixes (or a site prefix) go;
    a separator inside the title itself ("关于A_B的通知", "2026-2027年") stays."""
    title = clean_line(title)
    pieces = _SEPARATORS.split(title)  # with the capture group: text, separator, text, ...
    parts, seps = pieces[0::2], pieces[1::2]
    known = {clean_line(site), clean_line(column)} - {""}

    def named(part: str) -> bool:
        return part in known or bool(_SITE_LIKE.search(part))

    dropped = False
    while len(parts) > 1 and named(parts[-1]):
        parts.pop(), seps.pop()
        dropped = True
    if dropped and len(parts) > 1 and len(parts[-1]) <= 8:  # 标题_栏目_站点: the 栏目 goes too
        parts.pop(), seps.pop()
    while len(parts) > 1 and named(parts[0]):
        parts.pop(0), seps.pop(0)
    out = parts[0]
    for sep, part in zip(seps, parts[1:], strict=True):
        out += sep + part
    return out.strip() or title


def cms_container(response: Any, title: str = "") -> str:
    """The body text of the first CMS content container holding a real article body."""
    for query in CMS_CONTAINERS:
        best = ""
        for html in response.css(query).getall():
            text = content_text(html, title)
            if len(text) > len(best):
                best = text
        if best:
            return best
    return ""


def _own_text(element: Any) -> str:
    """Text an element holds itself: its text nodes and inline children, not nested blocks."""
    parts = [element.text or ""]
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag.lower() in _INLINE:
            parts.append("\n" + child.text_content() if tag.lower() == "p" else child.text_content())
        parts.append(child.tail or "")
    return "".join(parts)


def densest_block(response: Any, title: str = "") -> str:
    """The text of the block element holding the most prose of its own (its paragraphs and
    text, boilerplate lines not counted): where the article is when no container is known."""
    try:
        tree = lxml_html.fromstring(response.text)
    except (ValueError, TypeError, lxml_html.etree.ParserError):
        return ""
    best, best_len = "", 0
    for element in tree.iter(*_BLOCKS):
        marks = f"{element.get('class') or ''} {element.get('id') or ''}"
        if _NAV.search(marks):
            continue
        text = content_text(_own_text(element), title)
        if len(text) > best_len:
            best, best_len = text, len(text)
    return best


def source_unit_in_text(text: str) -> str:
    """来源 written on the page (the 发布时间/来源 line), when no meta tag says it."""
    match = _SOURCE_IN_TEXT.search(text[:5000])
    if not match:
        return ""
    value = _NOT_SOURCE.split(match.group(1))[0]
    return value.strip("：:，, ")


def time_in_text(text: str) -> str:
    match = _TIME_IN_TEXT.search(text[:5000])
    return match.group(1) if match else ""
