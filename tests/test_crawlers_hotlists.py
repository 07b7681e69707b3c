"""Hot lists (热榜) in the real formats: the Weibo hot search JSON (an ad among the entries),
the Baidu hot search board page (its embedded s-data JSON), the Toutiao hot board JSON. Ranks
are recorded over time; an entry naming an event's place and keyword adds NEW / RISING /
FALLING / GONE to the event; a list that changed its format turns the run red and records
nothing wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse
from sqlalchemy import select
from testsite import Page, TestSite

from yuqing.alerts import rules
from yuqing.alerts.rules import HotMention
from yuqing.crawlers.jobs import crawl_source
from yuqing.crawlers.sources import upsert_sources
from yuqing.crawlers.spiders.hotlist import HotlistFormatError, effective_config, read_entries
from yuqing.models import Alert, CrawlSignal, Event, HotlistEntry, HotlistRank, Source
from yuqing.runtime import Runtime

DATA = Path(__file__).parent / "data" / "crawlers"
COAL = "泽州县巴公镇煤矿透水事故救援进展"


def _entries(name: str, preset: str) -> list[dict]:
    body = (DATA / name).read_bytes()
    cls = HtmlResponse if name.endswith(".html") else TextResponse
    response = cls(f"https://list.example/{name}", body=body, encoding="utf-8")
    return read_entries(response, effective_config({"preset": preset}))


def test_weibo_hot_search_skips_the_ad() -> None:
    entries = _entries("weibo_hot.json", "weibo_hot")
    assert [e["rank"] for e in entries] == list(range(1, 11))
    assert entries[0] == {"rank": 1, "title": COAL, "heat": 5_000_000,
                          "url": "https://s.weibo.com/weibo?q=%23%E6%B3%BD%E5%B7%9E%E5%8E%BF%E5%B7%B4%E5%85%AC%E9%95%87"
                                 "%E7%85%A4%E7%9F%BF%E9%80%8F%E6%B0%B4%E4%BA%8B%E6%95%85%E6%95%91%E6%8F%B4%E8%BF%9B%E5%B1%95%23"}
    assert "品牌冬季大促" not in [e["title"] for e in entries]
    assert entries[4]["title"] == "某明星官宣结婚"  # the ad took no place


def test_baidu_board_page_embedded_json() -> None:
    entries = _entries("baidu_hot.html", "baidu_hot")
    assert len(entries) == 10
    assert entries[0]["title"] == "晋城暴雪致多条道路封闭" and entries[0]["heat"] == 4_900_000
    assert entries[1]["title"] == COAL and entries[1]["url"].startswith("https://www.baidu.com/s?wd=")


def test_toutiao_hot_board() -> None:
    entries = _entries("toutiao_hot.json", "toutiao_hot")
    assert len(entries) == 10 and entries[0]["title"] == COAL and entries[0]["heat"] == 30_000_000
    assert entries[2]["url"].startswith("https://www.toutiao.com/trending/")
    assert "学习贯彻全会精神" not in [e["title"] for e in entries]  # the pinned entry is not ranked


@pytest.mark.parametrize("body", ['{"ok": -100, "url": "https://passport.weibo.com/visitor"}',
                                  '{"ok": 1, "data": {"realtime": [{"note": "字段改名了"}]}}',
                                  "<html><body>请登录</body></html>"])
def test_changed_format_is_an_error(body: str) -> None:
    response = TextResponse("https://list.example/x", body=body.encode(), encoding="utf-8")
    with pytest.raises(HotlistFormatError):
        read_entries(response, effective_config({"preset": "weibo_hot"}))


def _moved(rank: int | None) -> str:
    """The Weibo fixture with the coal-mine entry moved to ``rank`` (None: off the list)."""
    data = json.loads((DATA / "weibo_hot.json").read_text(encoding="utf-8"))
    rows = data["data"]["realtime"]
    coal = rows.pop(0)
    if rank is not None:
        rows.insert(rank - 1 + sum(1 for r in rows[:rank - 1] if r.get("is_ad")), coal)
    return json.dumps(data, ensure_ascii=False)


@pytest.mark.slow  # crawls in child processes, once per poll
def test_ranks_over_time_and_event_signals(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    now = runtime.now()
    with runtime.session() as s:
        event = Event(title="巴公镇煤矿透水", first_seen_at=now, last_seen_at=now, updated_at=now,
                      places=[{"name": "巴公镇", "code": "140525100"}], keywords=["煤矿", "透水"])
        other = Event(title="巴公镇停电", first_seen_at=now, last_seen_at=now, updated_at=now,
                      places=[{"name": "巴公镇", "code": "140525100"}], keywords=["停电"])
        s.add_all([event, other])
        s.flush()
        event_id = event.id
    site = TestSite({"/robots.txt": Page("User-agent: *\n", content_type="text/plain"),
                     "/hot.json": Page(_moved(1), content_type="application/json")}).start()
    try:
        upsert_sources(runtime, [{"key": "weibo-hot", "name": "微博热搜", "kind": "hotlist", "tier": "social",
                                  "urls": [f"{site.url}/hot.json"], "hotlist": {"preset": "weibo_hot"}}])
        with runtime.session() as s:
            source_id = s.scalars(select(Source.id)).one()
        polls = []
        for body in (_moved(1), _moved(2), _moved(9), _moved(2), None, '{"ok": -100}'):
            clock.advance(minutes=10)
            if body is None:
                site.routes["/hot.json"] = Page(_moved(None), content_type="application/json")
            else:
                site.routes["/hot.json"] = Page(body, content_type="application/json")
            polls.append(crawl_source(source_id))
    finally:
        site.stop()
    assert [p["status"] for p in polls] == ["ok", "ok", "ok", "ok", "ok", "failed"]
    assert "热榜无法读取" in polls[-1]["reason"]
    with runtime.session() as s:
        coal = s.scalars(select(HotlistEntry).where(HotlistEntry.title == COAL)).one()
        ranks = [r.rank for r in s.scalars(select(HotlistRank).where(HotlistRank.entry_id == coal.id)
                                           .order_by(HotlistRank.at))]
        assert ranks == [1, 2, 9, 2]
        assert coal.rank is None and coal.gone_at is not None and coal.best_rank == 1  # GONE, not re-read by the bad poll
        assert coal.event_id == event_id
        signals = [(sig.kind, sig.rank) for sig in s.scalars(select(CrawlSignal).where(CrawlSignal.event_id == event_id)
                                                              .order_by(CrawlSignal.id))]
        assert signals == [("hot_new", 1), ("hot_falling", 9), ("hot_rising", 2), ("hot_gone", None)]
        assert not list(s.scalars(select(CrawlSignal).where(CrawlSignal.event_id == other.id)))
        entries = list(s.scalars(select(HotlistEntry)))
        assert len(entries) == 10 and sum(e.rank is not None for e in entries) == 9  # the bad poll changed nothing
        source = s.get(Source, source_id)
        assert source.last_status == "failed" and "热榜" in source.last_error


@pytest.mark.slow  # polls a local hot list and analyses what it finds: 10 s on the 2-core machine
def test_an_event_on_a_hot_list_alerts_with_its_rank(runtime: Runtime, drain) -> None:  # type: ignore[no-untyped-def]
    """Entering the Weibo hot search is a spread signal: the poll has the event evaluated, and
    the alert says 「登上微博热搜第N位」 although no other rule holds (relevance 0, one item)."""
    now = runtime.now()
    with runtime.session() as s:
        event = Event(title="巴公镇煤矿透水", first_seen_at=now, last_seen_at=now, updated_at=now,
                      places=[{"name": "巴公镇", "code": "140525100"}], keywords=["煤矿", "透水"])
        s.add(event)
        s.flush()
        event_id = event.id
    site = TestSite({"/robots.txt": Page("User-agent: *\n", content_type="text/plain"),
                     "/hot.json": Page(_moved(3), content_type="application/json")}).start()
    try:
        upsert_sources(runtime, [{"key": "weibo-hot", "name": "微博热搜", "kind": "hotlist", "tier": "social",
                                  "urls": [f"{site.url}/hot.json"], "hotlist": {"preset": "weibo_hot"}}])
        with runtime.session() as s:
            source_id = s.scalars(select(Source.id)).one()
        assert crawl_source(source_id)["status"] == "ok"
    finally:
        site.stop()
    drain()
    with runtime.session() as s:
        alert = s.scalars(select(Alert).where(Alert.event_id == event_id)).one()
    assert alert.reasons == ["登上微博热搜第3位"]


def test_the_profile_sets_how_high_on_a_list_alerts(runtime: Runtime) -> None:
    now = runtime.now()
    event = Event(title="巴公镇煤矿透水", first_seen_at=now, last_seen_at=now, updated_at=now, relevance=0.0,
                  velocity=0.0, baseline_velocity=0.0, level="一般", in_remit=False)
    hot = [HotMention("百度热搜", 8), HotMention("微博热搜", 31), HotMention("百度热搜", 15)]
    profile = runtime.profile
    assert rules.evaluate(event, [], profile, hot) == ["登上百度热搜第8位"]  # default top 20; 31 is too low
    wider = profile.model_copy(update={"alerts": profile.alerts.model_copy(update={"hotlist_rank": 50})})
    assert rules.evaluate(event, [], wider, hot) == ["登上百度热搜第8位、微博热搜第31位"]
    off = profile.model_copy(update={"alerts": profile.alerts.model_copy(update={"hotlist_rank": 0})})
    assert rules.evaluate(event, [], off, hot) == []
