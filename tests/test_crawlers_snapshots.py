"""Evidence snapshots (网页取证): each stored page's raw body kept compressed with its hash, fetch
time and headers; a later fetch finding the page gone (404/410, "内容已删除") or changed marks
the item 已删除 / 已修改 with a signal; a full snapshot store does not stop crawling."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from testsite import Page, TestSite

from yuqing.crawlers.jobs import crawl_source
from yuqing.crawlers.snapshots import SnapshotStore, snapshot_body
from yuqing.crawlers.sources import upsert_sources
from yuqing.models import CrawlSignal, Item, PageSnapshot, Source, SourceRun
from yuqing.runtime import Runtime, set_runtime
from yuqing.status import collect_status, health, render_status

pytestmark = pytest.mark.slow  # every test crawls a local site in child processes

GBK = "text/html; charset=gbk"


def _article(title: str, text: str) -> bytes:
    return (f"<html><head><meta charset='gbk'><meta name='ArticleTitle' content='{title}'>"
            f"<meta name='PubDate' content='2026-11-20 10:00'></head><body><div class='TRS_Editor'>"
            f"<p>{text}</p></div></body></html>").encode("gbk")


def _site() -> TestSite:
    links = "".join(f'<li><a href="/a/{n}.html">{n}</a></li>' for n in (1, 2, 3))
    return TestSite({
        "/robots.txt": Page("User-agent: *\n", content_type="text/plain"),
        "/list.html": Page(f"<ul class='list'>{links}</ul>"),
        "/a/1.html": Page(_article("巴公镇煤矿发生透水事故", "巴公镇一煤矿发生透水事故，3人被困，救援正在进行。"), content_type=GBK),
        "/a/2.html": Page(_article("网传高平市化工厂爆炸", "网传高平市一化工厂发生爆炸，现场浓烟滚滚。"), content_type=GBK),
        "/a/3.html": Page(_article("泽州县通报森林火情", "泽州县山河镇发生森林火情，过火面积约5亩。"), content_type=GBK),
    }).start()


def _source(rt: Runtime, site: TestSite) -> int:
    upsert_sources(rt, [{"key": "news", "name": "晋城新闻", "kind": "listing", "tier": "local", "item_changes": True,
                         "urls": [f"{site.url}/list.html"], "listing": {"links": "ul.list a"}}])
    with rt.session() as s:
        return s.scalars(select(Source.id)).one()


def test_snapshots_kept_and_deletions_and_edits_noticed(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site()
    try:
        source_id = _source(runtime, site)
        assert crawl_source(source_id)["status"] == "ok"
        with runtime.session() as s:
            snaps = {snap.url.rsplit("/", 1)[-1]: snap for snap in s.scalars(select(PageSnapshot))}
            assert set(snaps) == {"1.html", "2.html", "3.html"}
            first = snaps["1.html"]
            raw = snapshot_body(first)
            assert raw == site.routes["/a/1.html"].body  # the GBK bytes as served, not decoded text
            assert first.body_hash == hashlib.sha256(raw).hexdigest() and first.size == len(raw)
            assert first.headers["Content-Type"] == GBK and first.status == 200
            assert first.fetched_at == runtime.now() and first.expires_at == runtime.now() + timedelta(days=90)
            first_time = runtime.now()

        # Later: one page 404, one replaced by a deletion notice, one edited.
        clock.advance(hours=2)
        site.routes["/a/1.html"] = Page("<html><body>404 Not Found</body></html>", status=404)
        site.routes["/a/2.html"] = Page("<html><head><title>提示</title></head><body><div>抱歉，该内容已被删除</div>"
                                        "</body></html>")
        site.routes["/a/3.html"] = Page(_article("泽州县通报森林火情", "泽州县山河镇发生森林火情，明火已扑灭，无人员伤亡。"),
                                        content_type=GBK)
        result = crawl_source(source_id)
    finally:
        site.stop()
    assert result["status"] == "ok", result  # a page deleted is news, not a broken source
    with runtime.session() as s:
        items = {i.url.rsplit("/", 1)[-1]: i for i in s.scalars(select(Item))}
        assert items["1.html"].page_state == "deleted" and items["1.html"].page_state_at == runtime.now()
        assert items["2.html"].page_state == "deleted"
        assert items["2.html"].title == "网传高平市化工厂爆炸"  # what was published stays on record
        assert items["3.html"].page_state == "modified" and "明火已扑灭" in items["3.html"].text
        signals = {(sig.kind, sig.item_id) for sig in s.scalars(select(CrawlSignal))}
        assert signals == {("deleted", items["1.html"].id), ("deleted", items["2.html"].id),
                           ("modified", items["3.html"].id)}
        edited = list(s.scalars(select(PageSnapshot).where(PageSnapshot.item_id == items["3.html"].id)
                                .order_by(PageSnapshot.fetched_at)))
        assert [snap.fetched_at for snap in edited] == [first_time, runtime.now()]
        assert "明火已扑灭".encode("gbk") in snapshot_body(edited[1])
        gone = list(s.scalars(select(PageSnapshot).where(PageSnapshot.item_id == items["1.html"].id)))
        assert [snap.status for snap in sorted(gone, key=lambda x: x.id)] == [200, 404]  # the 404 is evidence too


def test_full_snapshot_store_crawls_on_and_says_so(runtime: Runtime) -> None:
    small = Runtime(settings=runtime.settings.model_copy(update={"snapshot_max_mb": 1}), profile=runtime.profile,
                    clock=runtime.clock, redis=runtime.redis)
    set_runtime(small)
    site = _site()
    filler = "<p>" + "泽州县安全生产工作持续推进。" * 20_000 + "</p>"  # ~0.8 MB per page in GBK
    for n in (1, 2, 3):
        body = site.routes[f"/a/{n}.html"].body.replace(b"</div>", filler.encode("gbk") + b"</div>")
        site.routes[f"/a/{n}.html"] = Page(body, content_type=GBK)
    try:
        result = crawl_source(_source(small, site))
    finally:
        site.stop()
    assert result["status"] == "ok"
    with small.session() as s:
        assert len(list(s.scalars(select(Item)))) == 3  # crawling went on
        assert len(list(s.scalars(select(PageSnapshot)))) == 1  # one fits in 1 MB
        run = s.scalars(select(SourceRun)).one()
        assert any("原文快照存储已满" in w["reason"] for w in run.warnings), run.warnings
        assert run.stats.get("yuqing/snapshots_full") is True
    report = collect_status(small)
    assert report["snapshots"]["full"] and report["snapshots"]["max_mb"] == 1
    shown = render_status(report)
    assert re.search(r"原文快照  已用 0\.\d MB / 上限 1 MB", shown), shown
    assert "提醒：原文快照存储已满或将满（已用 0." in shown and "可调大 snapshot_max_mb 或缩短 snapshot_days" in shown
    assert "原文快照" not in " ".join(report["problems"])  # a warning: the status itself stays as it is
    assert health(small)["warnings"] == ["原文快照存储已满，新网页不再保存快照"]


def test_status_says_nothing_of_a_store_with_room(runtime: Runtime) -> None:
    with runtime.session() as s:
        SnapshotStore(runtime).keep(s, _item(s), {"url": "https://x.cn/a", "body": b"<p>a</p>"}, runtime.now(), first=True)
    report = collect_status(runtime)
    assert report["snapshots"] == {"used_mb": 0.0, "max_mb": runtime.settings.snapshot_max_mb, "full": False}
    assert report["warnings"] == [] and "提醒" not in render_status(report)


def _item(s) -> int:  # type: ignore[no-untyped-def]
    item = Item(url="https://x.cn/a", url_hash=hashlib.sha256(b"a").hexdigest(), title="a", text="a",
                fetched_at=datetime(2026, 11, 21, tzinfo=UTC), content_hash="0" * 64)
    s.add(item)
    s.flush()
    return item.id


def test_expired_snapshots_go(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site()
    try:
        crawl_source(_source(runtime, site))
    finally:
        site.stop()
    with runtime.session() as s:
        assert SnapshotStore(runtime).measure(s, runtime.now()) > 0
    clock.advance(days=91)
    with runtime.session() as s:
        assert SnapshotStore(runtime).measure(s, runtime.now()) == 0
    with runtime.session() as s:
        assert not list(s.scalars(select(PageSnapshot)))
