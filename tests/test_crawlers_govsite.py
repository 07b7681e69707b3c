"""Government site conventions (政府网站惯例) on pages in the real formats: a GB2312 TRS-style
county government column whose articles carry the 政府网站 meta tags, a one-paragraph article
inside ``div.TRS_Editor`` with breadcrumb, 发布时间/来源 line and 【字体：大 中 小】 around it,
and the bad cases (a charset declared wrong, PubDate empty, 0000-00-00 or 2099)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from testsite import Page, TestSite

from yuqing.crawlers.jobs import crawl_source
from yuqing.crawlers.middlewares import EncodingMiddleware
from yuqing.crawlers.sources import upsert_sources
from yuqing.crawlers.spiders.article import extract_article
from yuqing.crawlers.spiders.govsite import content_text, densest_block, strip_title
from yuqing.crawlers.spiders.listing import ListingSpider
from yuqing.models import Item, Source
from yuqing.runtime import Runtime

DATA = Path(__file__).parent / "data" / "crawlers"
NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
SHORT_BODY = "11月20日，泽州县应急管理局组织召开冬季安全生产工作推进会，要求各乡镇压实属地责任，开展拉网式隐患排查。"
BOILERPLATE = ("当前位置", "发布时间", "来源：", "字体", "分享到", "打印本页", "关闭窗口", "主办单位", "ICP", "浏览次数")


def _response(name: str, content_type: str = "text/html") -> HtmlResponse:
    url = f"http://www.zezhou.gov.cn/zwgk/zwdt/{name}"
    response = HtmlResponse(url, body=(DATA / name).read_bytes(), headers={"Content-Type": content_type},
                            request=Request(url))
    return EncodingMiddleware(get_crawler(ListingSpider, {}).stats).process_response(Request(url), response)


def _text(value: str) -> str:
    from yuqing.crawlers.normalise import clean_text

    return clean_text(value)


@pytest.mark.parametrize("cfg", [{}, {"body": ".TRS_Editor"}, {"body": "#zoom", "time": ".nothing::text"}],
                         ids=["no selectors", "body selector", "selectors that miss"])
def test_short_trs_article_reads_from_meta_tags_and_container(cfg: dict) -> None:
    art = extract_article(_response("trs_short.html"), cfg, NOW)
    assert art["title"] == "泽州县召开冬季安全生产工作推进会"  # ArticleTitle, not "…_政务动态_泽州县人民政府"
    assert art["time"] == "2026-11-20 16:30"
    assert art["source_unit"] == "泽州县应急管理局" and art["author"] == ""
    assert art["column"] == "政务动态" and art["site"] == "泽州县人民政府"
    text = _text(art["body"])
    assert SHORT_BODY in text
    if not cfg:  # what the page's furniture says is not the body
        assert not any(word in text for word in BOILERPLATE), text
        assert text == SHORT_BODY


def test_long_article_body_is_every_paragraph_and_nothing_else() -> None:
    text = _text(extract_article(_response("trs_long.html"), {}, NOW)["body"])
    assert text.startswith("为切实防范化解危险化学品领域安全风险") and text.endswith("依法依规严肃处理。")
    assert text.count("\n") == 2 and not any(word in text for word in BOILERPLATE)


@pytest.mark.parametrize(("name", "shown"), [("trs_nodate.html", "2026-11-18 10:00"),
                                             ("trs_zerodate.html", "2026-11-17 08:30"),
                                             ("trs_futuredate.html", "2026-11-16 15:00")])
def test_empty_or_absurd_pubdate_falls_back_to_the_pages_own_line(name: str, shown: str) -> None:
    art = extract_article(_response(name), {}, NOW)
    assert art["time"] == shown
    assert art["source_unit"] == "泽州县应急管理局"


def test_charset_declared_gb2312_but_utf8() -> None:
    art = extract_article(_response("trs_declared_gb_utf8.html", "text/html; charset=gb2312"), {}, NOW)
    assert art["title"] == "泽州县通报第三季度安全生产形势"
    assert "共发现隐患23处" in _text(art["body"])


def test_boilerplate_only_extraction_is_rejected() -> None:
    furniture = ("当前位置：首页 > 政务动态 > 正文\n发布时间：2026-11-20 16:30 来源：泽州县应急管理局\n"
                 "【字体：大 中 小】\n分享到：微信 微博\n【打印本页】【关闭窗口】")
    assert content_text(furniture) == ""
    assert content_text(furniture + "\n" + SHORT_BODY) == SHORT_BODY


def test_densest_block_when_no_container_is_known() -> None:
    html = ("<html><body><div class='nav'>首页 政务公开 政务服务 互动交流 首页 政务公开 政务服务 互动交流</div>"
            "<div class='crumb'>当前位置：首页 > 通知公告</div><div class='wrap'><div class='x1'>"
            f"<p>{SHORT_BODY}</p></div><div class='side'><a href='#'>相关链接</a></div></div>"
            "<div class='foot'>主办单位：泽州县人民政府办公室 版权所有</div></body></html>")
    response = HtmlResponse("http://x.gov.cn/a.html", body=html.encode(), encoding="utf-8")
    assert densest_block(response) == SHORT_BODY


@pytest.mark.parametrize(("title", "expected"), [
    ("泽州县召开推进会_政务动态_泽州县人民政府", "泽州县召开推进会"),
    ("泽州县召开推进会 - 晋城新闻网", "泽州县召开推进会"),
    ("泽州县人民政府 | 泽州县召开推进会", "泽州县召开推进会"),
    ("2026-2027年度供暖工作方案", "2026-2027年度供暖工作方案"),
    ("关于A_B的通知", "关于A_B的通知"),
])
def test_title_suffixes(title: str, expected: str) -> None:
    assert strip_title(title, "泽州县人民政府", "政务动态") == expected


@pytest.mark.slow
def test_trs_column_crawled_and_stored(runtime: Runtime) -> None:
    site = TestSite({"/robots.txt": Page("User-agent: *\n", content_type="text/plain")})
    site.routes["/zwdt/index.html"] = Page((DATA / "trs_list.html").read_bytes(), content_type="text/html")
    for path in DATA.glob("trs_*.html"):
        site.routes[f"/zwdt/{path.name}"] = Page(path.read_bytes(), content_type="text/html")
    site.start()
    try:
        upsert_sources(runtime, [
            {"key": "zezhou", "name": "泽州县人民政府", "kind": "listing", "tier": "government",
             "urls": [f"{site.url}/zwdt/index.html"], "listing": {"links": "ul.list a", "body": ".TRS_Editor"}}])
        with runtime.session() as s:
            source_id = s.scalars(select(Source.id)).one()
        assert crawl_source(source_id)["status"] == "ok"
    finally:
        site.stop()
    with runtime.session() as s:
        items = {i.url.rsplit("/", 1)[-1]: i for i in s.scalars(select(Item))}
    assert len(items) == 6
    short = items["trs_short.html"]
    assert short.title == "泽州县召开冬季安全生产工作推进会"
    assert short.text == SHORT_BODY
    assert short.source_unit == "泽州县应急管理局" and short.author == "" and short.column_name == "政务动态"
    assert short.published_at == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    assert items["trs_zerodate.html"].published_at == datetime(2026, 11, 17, 0, 30, tzinfo=UTC)
    assert items["trs_futuredate.html"].published_at == datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    assert all("_泽州县人民政府" not in i.title for i in items.values())
