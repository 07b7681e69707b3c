"""原文快照 on the item page and in the post-event report (issue 19, item 4): the captured body
is read as text under a sandbox (a crawled script never runs in the app's origin), downloaded
byte for byte with the hash shown, and cited in the report by capture time and hash."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from dashboard_seed import PASSWORD
from docx import Document
from fastapi.testclient import TestClient

from yuqing.crawlers.snapshots import SnapshotStore, mark
from yuqing.dashboards import reports
from yuqing.dashboards.app import create_app
from yuqing.documents.account import key_posts
from yuqing.documents.dates import cn_short
from yuqing.documents.keep import unjoined
from yuqing.documents.wording import machine_text
from yuqing.models import Item, Ticket

PAGE = ("<html><head><meta charset='gb2312'><title>巴公镇通报</title>"
        "<script>document.title='pwned';fetch('/admin')</script></head>"
        "<body><h1>关于巴公镇煤矿透水事故的情况通报</h1><p>救援正在进行。</p></body></html>").encode("gb2312")


@pytest.fixture
def captured(runtime, story):  # type: ignore[no-untyped-def]
    """The ticket's event's first key post, its page captured when first seen, then deleted."""
    with runtime.session() as s:
        item = key_posts(s, s.get(Ticket, story["ticket"]).event_id)[0]
        raw = {"url": item.url, "status": 200, "body": PAGE,
               "headers": {"Content-Type": "text/html; charset=gb2312", "Server": "TRS WCM"}}
        assert SnapshotStore(runtime).keep(s, item.id, raw, runtime.now() - timedelta(hours=2), first=True) == "kept"
        mark(s, s.get(Item, item.id), "deleted", runtime.now() - timedelta(minutes=30))
        return item.id


def _client(runtime, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(create_app(runtime), follow_redirects=False)
    token = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 303
    return c


def test_the_item_page_shows_the_capture_and_serves_it_as_inert_text(runtime, captured) -> None:  # type: ignore[no-untyped-def]
    digest = hashlib.sha256(PAGE).hexdigest()
    c = _client(runtime, "monitor")
    page = c.get(f"/items/{captured}")
    assert page.status_code == 200
    assert digest in page.text and "原文快照（网页取证）" in page.text and "原网页已删除" in page.text
    link = re.search(rf'href="(/items/{captured}/snapshots/\d+)"', page.text).group(1)
    with runtime.session() as s:
        event_id = s.get(Item, captured).event_id
    assert f'href="/items/{captured}"' in c.get(f"/events/{event_id}").text

    shown = c.get(link)
    assert shown.status_code == 200 and shown.headers["content-type"] == "text/plain; charset=utf-8"
    assert "sandbox" in shown.headers["content-security-policy"]
    assert "default-src 'none'" in shown.headers["content-security-policy"]
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert "<script>document.title='pwned'" in shown.text  # shown as markup, never run
    assert "关于巴公镇煤矿透水事故的情况通报" in shown.text  # GB2312 read as the site declared it

    raw = c.get(link + "/raw")
    assert raw.headers["content-type"] == "application/octet-stream"
    assert raw.headers["content-disposition"].startswith("attachment;")
    assert hashlib.sha256(raw.content).hexdigest() == digest == raw.headers["x-body-sha256"]

    assert c.get(f"/items/{captured + 1}/snapshots/{link.rsplit('/', 1)[1]}").status_code == 404
    assert _client(runtime, "xcb").get(link).status_code == 403  # a liaison sees referrals, not the store


def test_the_report_cites_the_capture_time_and_hash(runtime, story, captured) -> None:  # type: ignore[no-untyped-def]
    data = reports.collect(runtime, story["ticket"])
    doc = Document(io.BytesIO(reports.render_docx(runtime, data)))
    text = unjoined("\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells]))
    tz = runtime.settings.timezone
    assert "重点帖文中有 1 篇在采集时留存了原文快照（网页取证），其中 1 篇的原网页其后已被删除或修改，以快照为准。" in text
    assert hashlib.sha256(PAGE).hexdigest()[:16] in text
    assert cn_short(runtime.now() - timedelta(hours=2), tz) in text
    assert f"已删除（{cn_short(runtime.now() - timedelta(minutes=30), tz)}）" in text
    with runtime.session() as s:
        quoted = [p for row in s.query(Item.title, Item.text, Item.author).all() for p in row if p]
    assert machine_text(text, quoted) == []
    assert "SHA-256 摘要的前 16 位" in reports.render_html(runtime, data)
