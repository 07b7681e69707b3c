"""Items are complete: an ill-formed RSS entry keeps its description, a post gets a title,
and `yuqing export items` writes the documented fields of analysed items of every kind (a
government listing, RSS, Weibo search JSON, a sitemap), never raw bytes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from testsite import Page, TestSite

from yuqing.analysis.jobs import analyse_items
from yuqing.crawlers.jobs import crawl_source
from yuqing.crawlers.normalise import title_from_text
from yuqing.crawlers.sources import upsert_sources
from yuqing.export import ITEM_FIELDS, export_jsonl
from yuqing.models import Item, Source
from yuqing.runtime import Runtime

DATA = Path(__file__).parent / "data" / "crawlers"
README = Path(__file__).parent.parent / "README.md"


def _data(name: str, base: str) -> str:
    return (DATA / name).read_text(encoding="utf-8").replace("{base}", base)


@pytest.mark.parametrize(("text", "title"), [
    ("泽州县巴公镇煤矿透水，有人被困。现场已有救援队伍。", "泽州县巴公镇煤矿透水，有人被困"),
    ("#泽州煤矿透水#现场视频，大家注意安全", "#泽州煤矿透水#"),
    ("求证：泽州县是不是有煤矿出事了？", "求证：泽州县是不是有煤矿出事了"),
    ("太吓人了！#晋城暴雨# 街上全是水", "太吓人了"),
    ("啊！#晋城暴雨# 街上全是水", "#晋城暴雨#"),
    ("很长" * 40, "很长" * 20 + "…"),
])
def test_title_from_text(text: str, title: str) -> None:
    assert title_from_text(text) == title


@pytest.fixture
def site() -> TestSite:  # type: ignore[misc]
    s = TestSite({"/robots.txt": Page("User-agent: *\n", content_type="text/plain")})
    base = s.url
    s.routes.update({
        "/zwdt/index.html": Page((DATA / "trs_list.html").read_bytes(), content_type="text/html"),
        "/rss.xml": Page(_data("illformed_rss.xml", base), content_type="application/rss+xml"),
        "/weibo?containerid=100103&page=1": Page(_data("weibo_search_p1.json", base), content_type="application/json"),
        "/weibo?containerid=100103&page=2": Page(_data("weibo_search_p2.json", base), content_type="application/json"),
        "/sitemap.xml": Page(_data("news_sitemap.xml", base), content_type="application/xml"),
        "/sm/1.html": Page("<html><body><h1>页面上的标题</h1><div class='c'><p>推进会要求压实安全责任。</p></div></body></html>"),
        "/sm/2.html": Page("<html><head><meta name='PubDate' content='2026-11-21 07:00'></head><body>"
                           "<h1>泽州县发布寒潮预警</h1><div class='c'><p>预计未来三天气温明显下降。</p></div></body></html>"),
    })
    for path in DATA.glob("trs_*.html"):
        s.routes[f"/zwdt/{path.name}"] = Page(path.read_bytes(), content_type="text/html")
    s.start()
    yield s
    s.stop()


def _crawl(rt: Runtime, site: TestSite) -> None:
    base = site.url
    upsert_sources(rt, [
        {"key": "zezhou", "name": "泽州县人民政府", "kind": "listing", "tier": "government",
         "urls": [f"{base}/zwdt/index.html"], "listing": {"links": "ul.list a"}},
        {"key": "rss", "name": "山西日报", "kind": "feed", "tier": "provincial", "urls": [f"{base}/rss.xml"]},
        {"key": "weibo", "name": "微博搜索", "kind": "json_api", "tier": "social",
         "urls": [f"{base}/weibo?containerid=100103"],
         "json_api": {"preset": "weibo_search", "url_template": base + "/status/{id}"}},
        {"key": "sitemap", "name": "站点地图", "kind": "sitemap", "tier": "local", "urls": [f"{base}/sitemap.xml"]},
    ])
    with rt.session() as s:
        ids = list(s.scalars(select(Source.id)))
    for source_id in ids:
        assert crawl_source(source_id)["status"] in ("ok", "partial")


@pytest.mark.slow  # whole CLI runs: a minute or more on the 2-core machine
def test_export_analysed_items_of_every_kind(runtime: Runtime, site: TestSite) -> None:
    _crawl(runtime, site)
    with runtime.session() as s:
        items = list(s.scalars(select(Item).order_by(Item.id)))
    kinds = {i.source_id for i in items}
    assert len(kinds) == 4
    # Every item has a title: posts get their first sentence, ill-formed RSS entries keep their text.
    assert all(i.title for i in items), [i.url for i in items if not i.title]
    weibo = [i for i in items if "/status/" in i.url]
    assert weibo and all(i.title and len(i.title) <= 41 for i in weibo)
    assert any(i.title == "求证：泽州县是不是有煤矿出事了" for i in weibo)
    rss = {i.url.rsplit("/", 1)[-1]: i for i in items if "/rss/" in i.url}
    assert rss["2.html"].text == "未转义的正文：泽州县今日召开防汛会议\n部署防汛工作。"
    assert rss["1.html?id=1"].text == "会议强调 安全生产责任重于泰山。"
    assert rss["3.html"].text == "实体未定义的正文—高平市开展应急演练…"
    assert rss["4.html"].text == "陵川县交警大队通报：11月19日，一辆货车与客车相撞，造成2人受伤。"  # not the <img> content

    analyse_items([i.id for i in items])
    out = io.StringIO()
    assert export_jsonl(runtime, "items", out) == len(items)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all(list(row) == list(ITEM_FIELDS) for row in rows)
    assert all(row["analysed_at"] and row["level"] and row["relevance"] is not None for row in rows)
    assert {row["source_key"] for row in rows} == {"zezhou", "rss", "weibo", "sitemap"}
    gov = next(row for row in rows if row["url"].endswith("trs_short.html"))
    assert gov["source_unit"] == "泽州县应急管理局" and gov["column_name"] == "政务动态"
    assert gov["source_name"] == "泽州县人民政府" and gov["tier"] == "government"
    assert gov["published_at"] == "2026-11-20T08:30:00+00:00"
    assert "signature" not in rows[0] and "minhash" not in rows[0]


def test_readme_lists_every_exported_field() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### What `yuqing export items` writes"):]
    section = section[:section.index("\n## ")]
    listed = set(re.findall(r"`([a-z_]+)`", section))
    assert set(ITEM_FIELDS) <= listed, set(ITEM_FIELDS) - listed
