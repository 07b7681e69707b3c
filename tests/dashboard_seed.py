"""Sample records for the web app's tests, screenshots and bench/bench_web.py, inserted through the models.

:func:`seed_story` writes one small, realistic day (a mine flooding growing into a major
event, a hill fire, an open ticket with one clock amber and one breached, referrals, a
digest); :func:`seed_bulk` writes a large store (100,000 items, 2,000 events) quickly.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from yuqing.dashboards.auth import create_user
from yuqing.models import (
    Alert,
    Deadline,
    Digest,
    Event,
    Item,
    Referral,
    Source,
    Ticket,
    TicketChange,
)
from yuqing.runtime import Runtime

PASSWORD = "correct-horse-1"
HOSTILE = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def seed_users(rt: Runtime) -> dict[str, str]:
    users = {"monitor": ("monitor", "赵值班", ""), "leader": ("leader", "李红梅", ""),
             "xcb": ("liaison", "宣传部舆情科", "propaganda"), "wxb": ("liaison", "网信办处置组", "cyberspace"),
             "admin": ("admin", "系统管理员", "")}
    for name, (role, display, dept) in users.items():
        create_user(rt, name, PASSWORD, role, display, dept, by="seed")
    return {name: PASSWORD for name in users}


def seed_story(rt: Runtime) -> dict[str, Any]:
    """One day's story; returns the ids the tests need."""
    now = rt.now()
    ids: dict[str, Any] = {}
    with rt.session() as s:
        sources = [
            Source(key="zezhou-news", name="泽州新闻网", kind="feed", urls=["http://news.example/rss"], tier="local",
                   created_at=now - timedelta(days=30), last_success_at=now - timedelta(minutes=10), total_items=120),
            Source(key="weibo-local", name="本地微博", kind="json_api", urls=["http://weibo.example/api"], tier="social",
                   created_at=now - timedelta(days=30), last_success_at=now - timedelta(minutes=5), total_items=800),
            Source(key="forum-broken", name="城区论坛", kind="listing", urls=["http://forum.example/"], tier="forum",
                   created_at=now - timedelta(days=30), healthy=False, consecutive_failures=6,
                   last_error="HTTP 503 服务不可用", last_error_at=now - timedelta(minutes=20)),
        ]
        s.add_all(sources)
        s.flush()
        flood = Event(title="泽州县某煤矿发生透水事故 多人被困", summary="网传泽州县一煤矿井下透水，十余人被困，家属聚集。",
                      level="重大", first_seen_at=now - timedelta(hours=3), first_published_at=now - timedelta(hours=3, minutes=40),
                      last_seen_at=now - timedelta(minutes=5), item_count=14, unique_count=6, source_count=2, velocity=6,
                      risk=0.86, relevance=0.93, in_remit=True, in_jurisdiction=True, categories=["emergency"],
                      topics=["production_safety"], places=[{"code": "140525", "name": "泽州县"}], updated_at=now)
        fire = Event(title="山上冒烟疑似山火", summary="网友称山上冒烟。", level="较大",
                     first_seen_at=now - timedelta(hours=1), last_seen_at=now - timedelta(minutes=30),
                     item_count=2, unique_count=2, source_count=1, updated_at=now)
        old = Event(title="暴雨致城区道路积水", summary="多处道路积水，市民质疑排水不力。", level="较大",
                    first_seen_at=now - timedelta(hours=44), first_published_at=now - timedelta(hours=45),
                    last_seen_at=now - timedelta(hours=2), item_count=30, unique_count=12, source_count=2,
                    places=[{"code": "140525", "name": "泽州县"}], updated_at=now)
        s.add_all([flood, fire, old])
        s.flush()
        items = _story_items(now, flood, fire, old, sources)
        s.add_all(items)
        s.flush()
        original = items[0]
        for copy in items[1:4]:
            copy.duplicate_of_id = original.id
        original.duplicate_count = 3
        alerts = [Alert(event_id=flood.id, level="重大", title=flood.title, created_at=now - timedelta(hours=2, minutes=50),
                        updated_at=now, reasons=["伤亡：十余人被困（重大）", {"text": "辖区：泽州县"}, "声量：每小时 6 条，基线的 4 倍"]),
                  Alert(event_id=fire.id, level="较大", title=fire.title, created_at=now - timedelta(minutes=50),
                        updated_at=now, reasons=["关注词：山火"]),
                  Alert(event_id=old.id, level="较大", title=old.title, status="confirmed", created_at=now - timedelta(hours=43),
                        updated_at=now - timedelta(hours=40), reasons=["群众切身利益"], inhibited=True)]
        s.add_all(alerts)
        ticket = Ticket(event_id=old.id, state="assigned", level="较大", title=old.title, opened_at=now - timedelta(hours=43),
                        detected_at=old.first_seen_at, section_key="flood_fire", section_name="防汛抗旱与防火科",
                        assignee="王科长", updated_at=now)
        s.add(ticket)
        s.flush()
        clocks = rt.profile.clocks  # the hours the profile runs, as tickets.open_ticket would set them
        s.add_all([
            *(Deadline(ticket_id=ticket.id, kind=kind, due_at=old.first_seen_at + timedelta(hours=clocks.hours_for(kind)))
              for kind in ("first_response", "authoritative_info")),
            TicketChange(ticket_id=ticket.id, at=now - timedelta(hours=43), by="system", from_state="", to_state="new",
                         reason="较大舆情自动开单"),
            TicketChange(ticket_id=ticket.id, at=now - timedelta(hours=42), by="monitor", from_state="new",
                         to_state="assigned", reason="防汛科负责"),
        ])
        refs = [Referral(event_id=old.id, ticket_id=ticket.id, department_key="propaganda", department_name="县委宣传部",
                         level="较大", status="delivered", suggestion="建议由县应急管理局发布排水抢险进展。",
                         created_at=now - timedelta(hours=42), sent_at=now - timedelta(hours=42)),
                Referral(event_id=old.id, ticket_id=ticket.id, department_key="cyberspace", department_name="县委网信办",
                         level="较大", status="delivered", created_at=now - timedelta(hours=42),
                         sent_at=now - timedelta(hours=42))]
        s.add_all(refs)
        s.add(Digest(kind="daily", key=f"daily:{now.date()}", title="舆情日报（11月21日）", period_start=now - timedelta(days=1),
                     period_end=now, created_at=now - timedelta(hours=1), html="<h1>舆情日报</h1><p>平稳。</p>"))
        s.flush()
        ids.update(flood=flood.id, fire=fire.id, old=old.id, ticket=ticket.id, alert_flood=alerts[0].id,
                   alert_fire=alerts[1].id, alert_old=alerts[2].id, referral=refs[0].id, referral_other=refs[1].id,
                   hostile_item=items[-1].id, sources=[x.id for x in sources])
    return ids


def _story_items(now: datetime, flood: Event, fire: Event, old: Event, sources: list[Source]) -> list[Item]:
    out = []

    def item(event: Event, n: int, title: str, text: str, author: str, src: Source, minutes: int, **kw: Any) -> Item:
        url = f"http://example.test/{event.id}/{n}"
        return Item(source_id=src.id, url=url, url_hash=_h(url), title=title, text=text, author=author,
                    platform="微博" if src.kind == "json_api" else "网站", tier=src.tier,
                    published_at=now - timedelta(minutes=minutes), fetched_at=now - timedelta(minutes=minutes - 2),
                    content_hash=_h(text), event_id=event.id, emotion=kw.pop("emotion", 0.6),
                    places=[{"code": "140525", "name": "泽州县"}], **kw)

    out.append(item(flood, 0, "泽州一煤矿透水 十余名矿工被困", "泽州县某煤矿井下发生透水事故，目前十余名矿工被困，救援正在进行。",
                    "泽州新闻网", sources[0], 220, risk=0.9, emotion=0.7))
    for n in range(1, 4):
        out.append(item(flood, n, "转：泽州一煤矿透水 十余名矿工被困", "泽州县某煤矿井下发生透水事故，目前十余名矿工被困。",
                        f"网友{n}", sources[1], 200 - n * 10))
    for n in range(4, 8):
        out.append(item(flood, n, "", f"家属在矿口等消息，透水事故已经过去{n}个小时了，救援进展如何？",
                        f"矿工家属{n}", sources[1], 150 - n * 15, emotion=0.8 + n / 100))
    out.append(item(fire, 8, "山上冒烟", "山上好像在冒烟，是不是着火了", "路人甲", sources[1], 55))
    out.append(item(fire, 9, "山火？", "看到有烟", "路人乙", sources[1], 40))
    for n in range(10, 14):
        out.append(item(old, n, f"城区积水严重 第{n}报", "暴雨后多处道路积水，排水不畅，市民质疑。", "泽州新闻网", sources[0],
                        60 * (44 - (n - 10) * 8)))
    out.append(item(flood, 14, HOSTILE + "矿难内幕", HOSTILE + " 网传矿难内幕，透水事故另有隐情", "<b>匿名</b>", sources[1], 30))
    return out


def seed_bulk(rt: Runtime, items: int = 100_000, events: int = 2_000, seed: int = 7) -> None:
    """A large store for the benchmark: ``events`` events with alerts, a ticket for every
    fifth event with its clocks, and ``items`` items spread over them."""
    rnd = random.Random(seed)
    now = rt.now()
    words = ["透水", "山火", "暴雨", "积水", "救援", "矿工", "塌方", "停电", "燃气", "泄漏", "火灾", "地震"]
    with rt.engine.begin() as conn:
        conn.execute(insert(Source), [{"key": f"bulk-{i}", "name": f"信源{i}", "kind": "feed", "urls": [], "tier": "local",
                                       "created_at": now, "healthy": i % 17 != 0} for i in range(50)])
        levels = ["一般", "较大", "重大", "特别重大"]
        conn.execute(insert(Event), [{
            "id": e + 1, "title": f"{rnd.choice(words)}{rnd.choice(words)}事件 {e}", "summary": "摘要",
            "level": levels[rnd.randrange(4) if e % 10 == 0 else rnd.randrange(2)],
            "first_seen_at": now - timedelta(hours=rnd.randrange(1, 200)), "last_seen_at": now,
            "item_count": items // events, "unique_count": items // events // 2, "source_count": 5,
            "updated_at": now, "places": [{"code": "140525", "name": "泽州县"}]} for e in range(events)])
        conn.execute(insert(Alert), [{
            "event_id": e + 1, "level": levels[rnd.randrange(3)], "title": f"预警 {e}", "reasons": ["声量上升", "关注词"],
            "status": rnd.choice(["firing", "acknowledged", "confirmed", "dismissed", "resolved"]),
            "created_at": now - timedelta(minutes=rnd.randrange(10_000)), "updated_at": now} for e in range(events)])
        rows = []
        for n in range(items):
            ev = n % events + 1
            url = f"http://bulk.example/{n}"
            rows.append({"source_id": n % 50 + 1, "url": url, "url_hash": _h(url), "title": f"{rnd.choice(words)} 帖文 {n}",
                         "text": f"{rnd.choice(words)}{rnd.choice(words)} 正文 {n}", "author": f"作者{n % 997}",
                         "platform": rnd.choice(["微博", "网站", "论坛"]), "tier": "local",
                         "published_at": now - timedelta(minutes=rnd.randrange(12_000)), "fetched_at": now,
                         "content_hash": _h(url), "event_id": ev, "emotion": rnd.random(),
                         "duplicate_count": 0, "places": [{"code": "140525", "name": "泽州县"}]})
            if len(rows) == 10_000:
                conn.execute(insert(Item), rows)
                rows = []
        if rows:
            conn.execute(insert(Item), rows)
        tickets: list[dict[str, Any]] = [{"id": t + 1, "event_id": t * 5 + 1, "state": rnd.choice(["new", "assigned", "responding", "responded"]),
                    "level": "较大", "title": f"工单 {t}", "opened_at": now - timedelta(hours=10),
                    "detected_at": now - timedelta(hours=rnd.randrange(1, 60)), "updated_at": now}
                   for t in range(events // 5)]
        conn.execute(insert(Ticket), tickets)
        first = timedelta(hours=rt.profile.clocks.first_response_hours)
        conn.execute(insert(Deadline), [{"ticket_id": t["id"], "kind": "first_response", "seq": 0,
                                         "due_at": t["detected_at"] + first} for t in tickets])
