"""A seeded story for the document tests: tests/dashboard_seed.py's day, plus a provincial paper whose
toll rises (3 dead at 14:14, then 12 dead at 16:16) on the mine flooding, its ticket and referrals."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dashboard_seed import seed_story

from yuqing.documents.current import refresh_account
from yuqing.models import Deadline, Event, Item, Referral, Source, Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def toll_story(rt) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    ids = seed_story(rt)
    now = rt.now()
    day = now.astimezone(SHANGHAI).date()
    at_1414 = datetime(day.year, day.month, day.day, 14, 14, tzinfo=SHANGHAI)
    at_1616 = datetime(day.year, day.month, day.day, 16, 16, tzinfo=SHANGHAI)
    with rt.session() as s:
        paper = Source(key="sxrb", name="山西日报", kind="feed", urls=["http://sxrb.example/rss"], tier="provincial",
                       created_at=now - timedelta(days=30))
        s.add(paper)
        s.flush()
        flood = s.get(Event, ids["flood"])
        for n, (when, deaths, missing, title) in enumerate((
                (at_1414, 3, 5, "泽州县巴公镇煤矿透水事故已致3人死亡"),
                (at_1616, 12, 2, "泽州县巴公镇煤矿透水事故死亡人数升至12人"))):
            url = f"http://sxrb.example/{n}.html"
            s.add(Item(source_id=paper.id, url=url, url_hash=_h(url), title=title,
                       text=f"{title}，另有{missing}人失联，家属质疑瞒报，要求公开救援进展。", author="山西日报",
                       tier="provincial", platform="网站", published_at=when, fetched_at=when + timedelta(minutes=3),
                       content_hash=_h(title), event_id=flood.id, emotion=0.7,
                       casualties={"deaths": deaths, "missing": missing},
                       places=[{"code": "140525101", "name": "巴公镇"}]))
        flood.item_count += 2
        flood.unique_count += 2
        flood.source_count += 1
        flood.places = [{"code": "140525", "name": "泽州县"}, {"code": "140525101", "name": "巴公镇"}]
        s.flush()
        refresh_account(s, flood)  # as analysis keeps it for items it groups
        ticket = Ticket(event_id=flood.id, state="assigned", level="重大", title=flood.title,
                        opened_at=flood.first_seen_at, detected_at=flood.first_seen_at, section_key="safety",
                        section_name="安全生产综合协调科", updated_at=now)
        s.add(ticket)
        s.flush()
        s.add_all([Deadline(ticket_id=ticket.id, kind="authoritative_info", due_at=flood.first_seen_at + timedelta(hours=5)),
                   Deadline(ticket_id=ticket.id, kind="press_conference", due_at=flood.first_seen_at + timedelta(hours=24)),
                   Deadline(ticket_id=ticket.id, kind="first_response", due_at=flood.first_seen_at + timedelta(hours=48))])
        ref = Referral(event_id=flood.id, ticket_id=ticket.id, department_key="propaganda",
                       department_name="中共泽州县委宣传部", level="重大", status="sent", created_at=now, route="r",
                       suggestion="")
        s.add(ref)
        s.flush()
        ids.update(flood_ticket=ticket.id, flood_referral=ref.id)
    return ids
