"""The event page: buckets that fit the event's age, the platform from the source, places as
a township table with gazetteer codes."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from yuqing.dashboards.queries import bucket_format, event_stats, platform_of
from yuqing.models import Event, Item, Source


def _event(rt, spread: timedelta, n: int = 6):  # type: ignore[no-untyped-def]
    now = rt.now()
    with rt.session() as s:
        weibo = Source(key="weibo", name="泽州发布微博", kind="json_api", urls=["http://w.example/api"], tier="social",
                       created_at=now)
        news = Source(key="news", name="晋城新闻网", kind="listing", urls=["http://n.example/"], tier="local",
                      created_at=now)
        s.add_all([weibo, news])
        s.flush()
        event = Event(title="巴公镇煤矿透水", first_seen_at=now - spread, last_seen_at=now, updated_at=now)
        s.add(event)
        s.flush()
        for i in range(n):
            url = f"http://x.example/{i}"
            source = weibo if i % 2 else news
            s.add(Item(url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), content_hash=str(i),
                       fetched_at=now - spread * (i / max(1, n - 1)), event_id=event.id, source_id=source.id,
                       tier=source.tier, title=f"报道{i}",
                       places=[{"code": "140525108", "name": "巴公镇"}] if i < 4 else
                       [{"code": "140525", "name": "泽州县"}]))
        return event.id


def test_a_young_event_gets_ten_minute_buckets(runtime) -> None:  # type: ignore[no-untyped-def]
    event_id = _event(runtime, timedelta(minutes=50))
    with runtime.session() as s:
        stats = event_stats(s, event_id)
    assert stats["bucket_title"] == "每 10 分钟条数"
    assert len(stats["hours"]) >= 5, "a 50-minute event is more than one dot"
    assert all(label[-1] == "0" for label in stats["hours"])
    assert bucket_format(timedelta(days=2))[2] == "每小时条数" and bucket_format(timedelta(days=9))[2] == "每日条数"


def test_platform_comes_from_the_source_never_unknown(runtime) -> None:  # type: ignore[no-untyped-def]
    event_id = _event(runtime, timedelta(hours=2))
    with runtime.session() as s:
        stats = event_stats(s, event_id)
    assert dict(stats["platforms"]) == {"微博": 3, "新闻网站": 3}
    assert platform_of("", "government") == "政府网站" and platform_of("", "forum") == "论坛"
    assert platform_of("", None, "", "feed") == "新闻网站" and platform_of("", None) == "未知"


def test_places_are_a_township_table_with_codes(runtime) -> None:  # type: ignore[no-untyped-def]
    event_id = _event(runtime, timedelta(hours=2))
    with runtime.session() as s:
        rows = event_stats(s, event_id)["place_rows"]
    assert rows[0] == {"code": "140525108", "name": "巴公镇", "level": "town", "county": "泽州县", "count": 4}
    assert rows[1]["code"] == "140525" and rows[1]["count"] == 2
