"""重点帖文 chosen once (yuqing.documents.account.key_posts): the 专报, the event page and the alert
mail list the same posts, in the same order."""

from __future__ import annotations

import hashlib
import re

import pytest
from factories import make_reported_event
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_dashboards_app import login

from yuqing.alerts.notify import evidence
from yuqing.dashboards.app import create_app
from yuqing.documents import Heading, Link, Paragraph
from yuqing.documents.account import KEY_POSTS, key_posts
from yuqing.models import Event, Item, Referral
from yuqing.queue import jobs, special_report

# Chromium's print stood in for: these tests read no PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


# (tier, copies folded into it, reposts) for twelve originals, and one copy of the first.
POSTS = [("social", 40, 900), ("local", 0, 5), ("central", 0, 0), ("social", 0, 3), ("government", 2, 0),
         ("provincial", 0, 50), ("local", 9, 0), ("forum", 0, 0), ("provincial", 0, 1), ("local", 0, 300),
         ("social", 1, 0), ("local", 0, 0)]


def _event(rt) -> int:  # type: ignore[no-untyped-def]
    event_id = make_reported_event(rt, level="重大", items=0)
    now = rt.now()
    with rt.session() as s:
        event = s.get(Event, event_id)
        for n, (tier, copies, reposts) in enumerate(POSTS):
            url = f"https://news.example/{event_id}/k{n}"
            s.add(Item(url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), title=f"煤矿透水 帖文{n}",
                       text="泽州县巴公镇一煤矿发生透水事故。", tier=tier, published_at=now, fetched_at=now,
                       content_hash=f"k{n}", event_id=event_id, duplicate_count=copies, risk=n / 12,
                       engagement={"reposts": reposts, "verified": True}))
        s.flush()
        first = s.scalar(select(Item).where(Item.url == f"https://news.example/{event_id}/k0"))
        copy = f"https://news.example/{event_id}/copy"
        s.add(Item(url=copy, url_hash=hashlib.sha256(copy.encode()).hexdigest(), title="转载", text="转载",
                   tier="central", published_at=now, fetched_at=now, content_hash="copy", event_id=event_id,
                   duplicate_of_id=first.id))
        event.item_count = event.unique_count = len(POSTS) + 1
    return event_id


def _report_links(rt, event_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        referral = s.scalars(select(Referral).where(Referral.event_id == event_id)).first()
        doc, _ = special_report.compose(s, rt.profile, referral, "http://127.0.0.1:8000/ack/x", rt.now(),
                                        rt.settings.timezone)
    start = next(n for n, b in enumerate(doc.blocks) if isinstance(b, Heading) and b.text == "重点信息")
    links = []
    for block in doc.blocks[start + 1:]:
        if isinstance(block, Heading):
            break
        assert isinstance(block, Paragraph)
        links += [p.url for p in block.parts if isinstance(p, Link)]
    return links


def test_the_report_the_event_page_and_the_alert_list_the_same_posts(runtime, story) -> None:  # type: ignore[no-untyped-def]
    event_id = _event(runtime)
    jobs.consider_event(event_id)
    in_report = _report_links(runtime, event_id)
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        login(client, "monitor")
        page = client.get(f"/events/{event_id}")
    assert page.status_code == 200
    section = page.text.split('<ol class="items">', 1)[1].split("</ol>", 1)[0]
    on_page = re.findall(r'<a href="(http[^"]+)" rel="noopener', section)  # each post's own link (not /items/N)
    assert len(in_report) == KEY_POSTS and on_page == in_report
    with runtime.session() as s:
        assert [i.url for i in evidence(s, event_id)] == in_report[:3]  # the alert mail leads with the same
        chosen = key_posts(s, event_id, limit=len(POSTS) + 1)
    order = [int(i.url.rsplit("/k", 1)[1]) for i in chosen]
    # authority first (中央媒体, 政府网站, 省级, 地方, 社交, 论坛), then the most spread, and no copy
    assert order == [2, 4, 5, 8, 9, 6, 1, 11, 0, 3, 10, 7]
