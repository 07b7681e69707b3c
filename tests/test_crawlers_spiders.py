"""The four spiders against fixture sites on 127.0.0.1, each crawl in its real child process:
items asserted field by field, every bad case recorded against its source, and a second run
that stores nothing twice, notices edits and engagement changes and honours ETags."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq import Queue
from sqlalchemy import func, select
from testsite import Page, TestSite, hang, huge, redirect_to

from yuqing.crawlers.jobs import crawl_source
from yuqing.crawlers.sources import upsert_sources
from yuqing.models import Item, Source, SourceRun
from yuqing.runtime import Runtime, set_runtime

pytestmark = pytest.mark.slow  # real crawls of a local site

DATA = Path(__file__).parent / "data" / "crawlers"
GBK_HTML = "text/html"  # no charset in the header: the meta tag or detection must decide
ARTICLE = ("<html><head><title>{t} - 晋城新闻网</title></head><body><div class='nav'>首页 | 新闻</div>"
           "<h1>{t}</h1><p class='meta'>2026-11-20 16:30 来源：晋城新闻网</p><article>"
           + "<p>{t}。泽州县应急管理局组织开展安全生产大检查，检查组深入企业一线，查找隐患并督促整改落实。</p>" * 4
           + "</article><div class='footer'>版权所有</div></body></html>")


def _data(name: str, base: str) -> str:
    return (DATA / name).read_text(encoding="utf-8").replace("{base}", base)


def _routes(site: TestSite) -> dict:
    base = site.url
    r: dict = {
        "/robots.txt": Page("User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
        # GBK government site: gb2312 in the meta tag, no charset, and a wrong utf-8 charset.
        "/gov/list.html": Page((DATA / "gbk_list.html").read_bytes(), content_type=GBK_HTML),
        "/gov/gbk_article.html": Page((DATA / "gbk_article.html").read_bytes(), content_type=GBK_HTML),
        "/gov/nocharset_article.html": Page((DATA / "nocharset_article.html").read_bytes(), content_type=GBK_HTML),
        "/gov/wrongcharset_article.html": Page((DATA / "wrongcharset_article.html").read_bytes(),
                                               content_type="text/html; charset=utf-8"),
        # Paged news list, no article selectors (trafilatura), and every way an article can fail.
        "/news/p1.html": Page('<ul class="news"><li><a href="/news/a1.html?spm=1.2&utm_medium=x">一</a></li>'
                              '<li><a href="/news/missing.html">404</a></li><li><a href="/news/error.html">500</a></li>'
                              '<li><a href="/news/loop.html">loop</a></li><li><a href="/news/hang.html">hang</a></li>'
                              '<li><a href="/news/huge.html">huge</a></li><li><a href="/news/broken.html">broken</a></li>'
                              '</ul><a class="next" href="/news/p2.html">下一页</a>'),
        "/news/p2.html": Page('<ul class="news"><li><a href="/news/a2.html">二</a></li></ul>'
                              '<a class="next" href="/news/p3.html">下一页</a>'),
        "/news/p3.html": Page('<ul class="news"><li><a href="/news/a3.html">三</a></li></ul>'),
        "/news/a1.html": Page(ARTICLE.format(t="巴公镇开展安全生产大检查")),
        "/news/a2.html": Page(ARTICLE.format(t="高平市部署冬季防火工作")),
        "/news/a3.html": Page(ARTICLE.format(t="第三页不应被抓取")),
        "/news/error.html": Page("error", status=500),
        "/news/loop.html": redirect_to("/news/loop2.html"),
        "/news/loop2.html": redirect_to("/news/loop.html"),
        "/news/hang.html": hang(site),
        "/news/huge.html": huge(50),
        "/news/broken.html": Page("<html><body><div><p><b>未闭合的<i>标签 <h1>残缺页面标题</h1>"
                                  "<div class='x'>残缺页面的正文内容，依然可以读出。"),
        # Feeds.
        "/rss.xml": Page(_data("rss2.xml", base), content_type="application/rss+xml; charset=utf-8"),
        "/atom.xml": Page(_data("atom.xml", base), content_type="application/atom+xml", etag='"v1"'),
        "/atom/1.html": Page("<html><body><h1>泽州县通报一起交通事故</h1><div class='content'>"
                             "<p>全文：事故造成1人受伤。</p></div></body></html>"),
        "/broken.xml": Page(_data("broken.xml", base), content_type="application/rss+xml"),
        "/empty.xml": Page(_data("empty_feed.xml", base), content_type="application/rss+xml"),
        "/down.xml": Page("down", status=503),
        # Sitemaps.
        "/sitemap.xml": Page(_data("sitemap_index.xml", base), content_type="application/xml"),
        "/sitemap-news.xml": Page(_data("news_sitemap.xml", base), content_type="application/xml"),
        "/sm/1.html": Page("<html><body><h1>页面上的标题</h1><div class='c'><p>推进会要求压实安全责任。</p></div></body></html>"),
        "/sm/2.html": Page("<html><head><meta name='PubDate' content='2026-11-21 07:00'></head><body>"
                           "<h1>泽州县发布寒潮预警</h1><div class='c'><p>预计未来三天气温明显下降。</p></div></body></html>"),
        # JSON APIs.
        "/weibo?containerid=100103&page=1": Page(_data("weibo_search_p1.json", base), content_type="application/json"),
        "/weibo?containerid=100103&page=2": Page(_data("weibo_search_p2.json", base), content_type="application/json"),
        "/board?page=1": Page(_data("message_board_p1.json", base), content_type="application/json"),
        "/board?page=2": Page(_data("message_board_p2.json", base), content_type="application/json"),
        "/posts.json": Page(json.dumps({"posts": [{"url": "/p/1", "title": "", "text": "山上起火了 浓烟很大",
                                                   "author": "网友甲", "published_at": "2026-11-21T07:30:00+08:00",
                                                   "reposts": 1, "comments": 2, "likes": 3}]}, ensure_ascii=False),
                            content_type="application/json"),
        "/bad.json": Page("{not json", content_type="application/json"),
        "/private/list.html": Page('<ul class="news"><li><a href="/private/a.html">内部</a></li></ul>'),
        "/private/a.html": Page("<html><body><h1>本单位内部通知</h1><div class='c'>内部正文</div></body></html>"),
    }
    return r


def _sources(base: str) -> list[dict]:
    art = {"title": "h1::text", "body": ".c"}
    return [
        {"key": "gov-gbk", "name": "泽州县政府", "kind": "listing", "tier": "government", "urls": [f"{base}/gov/list.html"],
         "listing": {"links": "ul.list a::attr(href)", "title": ".title::text", "time": ".info::text", "body": "#zoom"}},
        {"key": "news", "name": "晋城新闻网", "kind": "listing", "tier": "local", "urls": [f"{base}/news/p1.html"],
         "listing": {"links": "ul.news a", "next": "a.next::attr(href)", "max_pages": 2}},
        {"key": "rss", "name": "山西日报", "kind": "feed", "tier": "provincial", "urls": [f"{base}/rss.xml"]},
        {"key": "atom", "name": "晋城日报", "kind": "feed", "tier": "local", "urls": [f"{base}/atom.xml"],
         "feed": {"follow": True, "body": ".content"}},
        {"key": "broken-feed", "name": "坏订阅源", "kind": "feed", "tier": "local", "urls": [f"{base}/broken.xml"]},
        {"key": "empty-feed", "name": "空订阅源", "kind": "feed", "tier": "local", "urls": [f"{base}/empty.xml"]},
        {"key": "down-feed", "name": "宕机订阅源", "kind": "feed", "tier": "local", "urls": [f"{base}/down.xml"]},
        {"key": "sitemap", "name": "站点地图", "kind": "sitemap", "tier": "local", "urls": [f"{base}/sitemap.xml"],
         "sitemap": art},
        {"key": "weibo", "name": "微博搜索", "kind": "json_api", "tier": "social", "item_changes": True,
         "urls": [f"{base}/weibo?containerid=100103"],
         "json_api": {"preset": "weibo_search", "url_template": base + "/status/{id}",
                      "headers": {"X-Token": "tok-123"}, "cookies": {"SUB": "secret-cookie-value"}}},
        {"key": "board", "name": "留言板", "kind": "json_api", "tier": "government", "urls": [f"{base}/board"],
         "json_api": {"preset": "message_board"}},
        {"key": "posts", "name": "社交 JSON", "kind": "json_api", "tier": "social", "urls": [f"{base}/posts.json"],
         "json_api": {"items": "posts", "url": "url", "title": "title", "text": "text", "author": "author",
                      "published_at": "published_at",
                      "engagement": {"reposts": "reposts", "comments": "comments", "likes": "likes"}}},
        {"key": "bad-json", "name": "坏 JSON", "kind": "json_api", "tier": "social", "urls": [f"{base}/bad.json"],
         "json_api": {"items": "posts"}},
        {"key": "robots", "name": "受 robots 限制", "kind": "listing", "tier": "local",
         "urls": [f"{base}/private/list.html"], "listing": {"links": "ul.news a::attr(href)", **art}},
        {"key": "own-site", "name": "本单位网站", "kind": "listing", "tier": "government", "obey_robots": False,
         "urls": [f"{base}/private/list.html"], "listing": {"links": "ul.news a::attr(href)", **art}},
    ]


@pytest.fixture
def site():  # type: ignore[no-untyped-def]
    s = TestSite()
    s.routes.update(_routes(s))
    s.start()
    yield s
    s.stop()


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    """Short request timeout so the hanging endpoint costs seconds, not minutes."""
    fast = Runtime(settings=runtime.settings.model_copy(update={"crawl_timeout": 2}), profile=runtime.profile,
                   clock=runtime.clock, redis=runtime.redis)
    set_runtime(fast)
    return fast


def _crawl_all(rt: Runtime) -> dict[str, dict]:
    with rt.session() as s:
        ids = {src.key: src.id for src in s.scalars(select(Source))}
    with ThreadPoolExecutor(7) as pool:
        results = dict(zip(ids, pool.map(crawl_source, ids.values()), strict=True))
    return results


def _items(rt: Runtime, key: str) -> dict[str, Item]:
    with rt.session() as s:
        src = s.scalars(select(Source).where(Source.key == key)).one()
        return {i.url.rsplit("/", 1)[-1]: i for i in s.scalars(select(Item).where(Item.source_id == src.id))}


def _run(rt: Runtime, key: str) -> SourceRun:
    with rt.session() as s:
        src = s.scalars(select(Source).where(Source.key == key)).one()
        return s.scalars(select(SourceRun).where(SourceRun.source_id == src.id).order_by(SourceRun.id.desc())).first()


def _reasons(run: SourceRun) -> list[str]:
    return [e["reason"] for e in run.errors]


def test_every_kind_and_every_bad_case(rt: Runtime, site: TestSite) -> None:
    base = site.url
    upsert_sources(rt, _sources(base))
    results = _crawl_all(rt)

    # GBK government pages: meta charset, no charset, wrong charset: all read without mojibake.
    gov = _items(rt, "gov-gbk")
    assert set(gov) == {"gbk_article.html", "nocharset_article.html", "wrongcharset_article.html"}
    a = gov["gbk_article.html"]
    assert a.title == "关于做好冬季安全生产工作的通知"
    assert a.text == ("各乡镇人民政府：\n为切实做好冬季安全生产工作，防范煤矿、危化品等领域事故，现将有关事项通知如下。\n"
                      "镕（GBK 才有的字）")
    assert a.published_at == datetime(2020, 9, 17, 6, 5, tzinfo=UTC)
    assert a.tier == "government" and a.url == f"{base}/gov/gbk_article.html"
    assert a.fetched_at == rt.now() and a.content_hash and a.raw_ref == a.url
    assert gov["nocharset_article.html"].text == "9月18日，巴公镇组织开展防汛应急演练，200余人参加。"
    assert gov["nocharset_article.html"].published_at == datetime(2020, 9, 18, 1, 30, tzinfo=UTC)
    wrong = gov["wrongcharset_article.html"]
    assert wrong.title == "泽州县应急管理局召开会议"
    assert wrong.published_at == datetime(2026, 11, 20, 4, 30, tzinfo=UTC)  # 昨天 12:30 in Shanghai
    assert results["gov-gbk"]["status"] == "ok"

    # Paged list: two pages, tracking parameters stripped, trafilatura for the body, bad articles recorded.
    news = _items(rt, "news")
    assert set(news) == {"a1.html", "a2.html", "broken.html"}
    a1 = news["a1.html"]
    assert a1.url == f"{base}/news/a1.html"
    assert a1.title == "巴公镇开展安全生产大检查"
    assert "检查组深入企业一线" in a1.text and "版权所有" not in a1.text
    assert "残缺页面的正文内容" in news["broken.html"].text
    assert site.hits["/news/p3.html"] == 0 and site.hits["/news/a3.html"] == 0
    run = _run(rt, "news")
    assert run.status == "partial"
    reasons = _reasons(run)
    assert "服务器返回 HTTP 404" in reasons
    assert "服务器返回 HTTP 500" in reasons
    assert any("重定向" in r for r in reasons)
    assert "请求超时（2 秒内无响应）" in reasons
    assert "响应超过大小上限，已放弃下载（crawl_max_bytes）" in reasons
    assert site.hits["/news/error.html"] == 3  # retried twice

    # RSS: HTML stripped, full-width space folded, entry without link skipped, entry without date kept.
    rss = _items(rt, "rss")
    assert set(rss) == {"1.html?id=1", "3.html"}
    r1 = rss["1.html?id=1"]
    assert (r1.title, r1.text, r1.author) == ("晋城市召开安全生产会议", "会议强调 安全生产。", "山西日报记者")
    assert r1.published_at == datetime(2020, 9, 17, 6, 5, tzinfo=UTC)
    assert rss["3.html"].published_at is None and rss["3.html"].text == "无日期正文"
    warnings = [w["reason"] for w in _run(rt, "rss").warnings]
    assert "条目缺少链接，已跳过：《没有链接的条目》" in warnings
    assert "条目缺少发布时间：《没有日期的条目》" in warnings

    # Atom with follow: the article page's full text replaces the summary.
    atom = _items(rt, "atom")["1.html"]
    assert atom.text == "全文：事故造成1人受伤。" and atom.author == "晋城日报"
    assert atom.published_at == datetime(2020, 9, 17, 2, 0, tzinfo=UTC)

    assert results["broken-feed"]["status"] == "failed"
    assert _run(rt, "broken-feed").reason.startswith("订阅源格式错误，无法解析")
    assert results["empty-feed"]["status"] == "empty"
    assert _run(rt, "empty-feed").reason == "订阅源没有任何条目"
    assert results["down-feed"] == {**results["down-feed"], "status": "failed", "reason": "服务器返回 HTTP 503"}

    # Sitemap index → news sitemap: news title and date used, the old entry skipped.
    sm = _items(rt, "sitemap")
    assert set(sm) == {"1.html", "2.html"} and site.hits["/sm/old.html"] == 0
    assert sm["1.html"].title == "泽州县巴公镇召开安全生产推进会"
    assert sm["1.html"].published_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert sm["2.html"].title == "泽州县发布寒潮预警" and sm["2.html"].text == "预计未来三天气温明显下降。"

    # Weibo preset: nested card groups, HTML text stripped, counts parsed, relative time, headers/cookies sent.
    wb = _items(rt, "weibo")
    assert set(wb) == {"4551234567890123", "4551234567890124"}
    w1 = wb["4551234567890123"]
    assert w1.text == "泽州县巴公镇煤矿@某某透水，有人被困"
    assert w1.author == "巴公镇小李" and w1.platform == "weibo" and w1.tier == "social"
    assert w1.engagement == {"reposts": 120, "comments": 12000, "likes": 100000}
    assert w1.published_at == datetime(2020, 9, 17, 6, 5, tzinfo=UTC)
    assert wb["4551234567890124"].published_at == datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # 3小时前
    weibo_req = [h for p, h in site.requests if p.startswith("/weibo")]
    assert weibo_req and all(h.get("x-token") == "tok-123" for h in weibo_req)
    assert all("SUB=secret-cookie-value" in h.get("cookie", "") for h in weibo_req)
    assert site.hits["/weibo?containerid=100103&page=2"] == 1

    # Message board preset: the reply is kept with the post.
    board = _items(rt, "board")
    b1 = board["board#id=1001"]
    assert b1.title == "巴公镇某路段路灯不亮" and b1.author == "网友***"
    assert b1.text.endswith("【回复】泽州县住建局 2020-09-18：已安排维修，预计本周内修复。")
    assert b1.published_at == datetime(2020, 9, 17, 6, 5, tzinfo=UTC)
    assert board["board#id=1002"].published_at == rt.now()  # 刚刚

    posts = _items(rt, "posts")["1"]
    assert posts.url == f"{base}/p/1" and posts.engagement == {"reposts": 1, "comments": 2, "likes": 3}
    assert posts.published_at == datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert results["bad-json"]["status"] == "failed" and _run(rt, "bad-json").reason.startswith("JSON 格式错误")

    # robots.txt obeyed by default; the bureau's own site opts out.
    assert results["robots"]["status"] == "failed"
    assert _run(rt, "robots").reason.startswith("robots.txt 禁止抓取")
    assert set(_items(rt, "own-site")) == {"a.html"}

    # Every new item waits for analysis, once, in its stored batch's job.
    analyse = Queue("analyse", connection=rt.redis)
    with rt.session() as s:
        all_ids = sorted(s.scalars(select(Item.id)))
    assert sorted(i for job in analyse.jobs for i in job.args[0]) == all_ids
    assert {job.func_name for job in analyse.jobs} == {"yuqing.analysis.jobs.analyse_items"}

    analyse.empty()  # as if analysed

    # Second run: nothing stored twice, known articles not fetched again, edits and engagement noticed.
    site.routes["/rss.xml"] = Page(_data("rss2.xml", base).replace("会议强调", "会议再次强调"),
                                   content_type="application/rss+xml")
    site.routes["/weibo?containerid=100103&page=1"] = Page(
        _data("weibo_search_p1.json", base).replace('"reposts_count": 120', '"reposts_count": 999'),
        content_type="application/json")
    rt.clock.advance(hours=1)
    again = _crawl_all(rt)
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == len(all_ids)
    assert site.hits["/gov/gbk_article.html"] == 1 and site.hits["/news/a1.html?spm=1.2&utm_medium=x"] == 1
    assert again["gov-gbk"] == {**again["gov-gbk"], "status": "ok", "found": 3, "new": 0}
    assert again["rss"]["updated"] == 1 and _items(rt, "rss")["1.html?id=1"].text == "会议再次强调 安全生产。"
    assert _items(rt, "rss")["1.html?id=1"].updated_at == rt.now()
    assert again["weibo"]["updated"] == 1
    assert _items(rt, "weibo")["4551234567890123"].engagement["reposts"] == 999
    assert again["atom"]["status"] == "ok" and _run(rt, "atom").reason == "订阅源未更新（304）"
    atom_requests = [h for p, h in site.requests if p == "/atom.xml"]
    assert atom_requests[-1].get("if-none-match") == '"v1"'
    with rt.session() as s:
        broken = s.scalars(select(Source).where(Source.key == "broken-feed")).one()
        assert broken.consecutive_failures == 2 and broken.healthy
        assert broken.last_error.startswith("订阅源格式错误")
        assert broken.next_run_at == rt.now() + timedelta(minutes=30)
    changed = {_items(rt, "rss")["1.html?id=1"].id, _items(rt, "weibo")["4551234567890123"].id}
    assert sorted(i for job in analyse.jobs for i in job.args[0]) == sorted(changed)
