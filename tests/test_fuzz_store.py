"""Hostile content end to end: a site on 127.0.0.1 serves a feed full of script tags, control
characters, NUL bytes, invalid UTF-8, a bidi override, a 1 MB post and broken links; a real
crawl child process stores it (SQLite, and PostgreSQL, which refuses NUL in text), a real RQ
worker analyses it, and the event pages show it escaped.

Every readable entry is stored whole and clean, every unreadable one is a recorded error, and
none costs the others (a NUL byte used to fail the whole batch on PostgreSQL).
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from dashboard_seed import PASSWORD, seed_users
from fastapi.testclient import TestClient
from sqlalchemy import select
from testsite import Page, TestSite

from yuqing.crawlers.jobs import crawl_source
from yuqing.crawlers.pipelines import MAX_TEXT_CHARS
from yuqing.crawlers.sources import upsert_sources
from yuqing.dashboards.app import create_app
from yuqing.models import Item, Source
from yuqing.runtime import Runtime

pytestmark = pytest.mark.slow  # property-based fuzzing

MINE = "泽州县巴公镇一煤矿发生透水事故，井下8名矿工被困，应急管理部门赶赴现场组织搜救。"
HUGE = MINE * 6_000  # about 250 KB of text, far beyond any excerpt on a page


def _feed(base: str) -> bytes:
    def item(n: int, title: bytes, body: bytes, link: bytes | None = None) -> bytes:
        link = link if link is not None else f"{base}/p/{n}.html".encode()
        return (b"<item><title>" + title + b"</title><link>" + link + b"</link><pubDate>"
                b"Sat, 21 Nov 2026 07:00:00 +0800</pubDate><description>" + body + b"</description></item>")

    return b"".join([
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>hostile</title>',
        item(1, "巴公镇煤矿透水".encode(), MINE.encode()),
        item(2, "&lt;script&gt;alert('xss')&lt;/script&gt;煤矿透水".encode(),
             f"<![CDATA[<p>{MINE}</p><script>alert('xss')</script><img src=x onerror=alert(1)>]]>".encode()),
        item(3, "控制字符\x01\x1b[31m煤矿\x7f透水&#x0;".encode(), f"{MINE}\x00\x08NUL 之后".encode()),
        item(4, b"\xff\xfe\xe6\xb3\xbd invalid \xc3\x28", MINE.encode() + b"\xa0\xa1\xff"),
        item(5, "\u202e反转标题 煤矿透水".encode(), MINE.encode()),
        item(6, "超长帖文 煤矿透水".encode(), HUGE.encode()),
        item(7, "坏链接".encode(), MINE.encode(), b"http://[::1"),
        item(8, "脚本链接".encode(), MINE.encode(), b"javascript:alert(1)"),
        b"</channel></rss>",
    ])


def _controls(text: str) -> list[str]:
    return [c for c in text if (unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\r\t")
            or 0x202A <= ord(c) <= 0x202E]


@pytest.mark.timeout(240)
def test_hostile_feed_is_stored_clean_capped_and_shown_escaped(store: Runtime, drain) -> None:  # type: ignore[no-untyped-def]
    site = TestSite()
    site.routes["/feed.xml"] = Page(_feed(site.url), content_type="application/rss+xml")
    site.start()
    try:
        upsert_sources(store, [{"key": "hostile", "name": "恶意订阅源", "kind": "feed", "tier": "social",
                                "urls": [f"{site.url}/feed.xml"]}])
        with store.session() as s:
            source_id = s.scalars(select(Source.id).where(Source.key == "hostile")).one()
        result = crawl_source(source_id)
    finally:
        site.stop()

    assert result["status"] == "partial" and result["new"] == 6, result
    with store.session() as s:
        items = {i.url.rsplit("/", 1)[-1]: i for i in s.scalars(select(Item))}
        src = s.get(Source, source_id)
        assert "Invalid IPv6" in src.last_error or "不是 http(s)" in src.last_error, src.last_error
    assert sorted(items) == [f"{n}.html" for n in range(1, 7)]  # the two bad links, and only they, are gone
    for item in items.values():
        for value in (item.url, item.title, item.text, item.author):
            assert not _controls(value), (item.url, value[:80])
        assert "alert(" not in item.text and "<" not in item.title
    assert "NUL 之后" in items["3.html"].text  # the text after the NUL byte is kept
    assert "\ufffd" in items["4.html"].title + items["4.html"].text  # undecodable bytes marked, not dropped
    # stored up to the documented cap (帖文正文上限), the start kept exactly; the page keeps the rest
    assert items["6.html"].text == HUGE[:MAX_TEXT_CHARS] and len(HUGE) > MAX_TEXT_CHARS

    drain(("analyse",))
    seed_users(store)
    with store.session() as s:
        events = {i.url.rsplit("/", 1)[-1]: i.event_id for i in s.scalars(select(Item))}
    assert all(events.values()), events
    with TestClient(create_app(store), follow_redirects=False) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        assert client.post("/login", data={"username": "monitor", "password": PASSWORD,
                                           "csrf_token": token}).status_code == 303
        for name, event_id in sorted(events.items()):
            r = client.get(f"/events/{event_id}")
            assert r.status_code == 200, (name, r.status_code)
            assert not _controls(r.text), (name, _controls(r.text)[:5])
            assert "alert('xss')" not in r.text and "onerror=alert" not in r.text
            assert len(r.content) < 500_000, (name, len(r.content))  # the 1 MB post is excerpted
        queue = client.get("/")
        assert queue.status_code == 200 and not _controls(queue.text)
