"""A level the monitor set by hand (人工研判) stands when the next report of the incident arrives:
analysis raises it again only on evidence graver than the level the monitor overrode."""

from __future__ import annotations

import hashlib

import pytest
from dashboard_seed import seed_users
from factories import alerted
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_dashboards_app import login

from yuqing.analysis import decision, jobs
from yuqing.dashboards.app import create_app
from yuqing.models import Alert, Event, Item

FIRST = "泽州县巴公镇一煤矿发生透水事故，已致3人死亡，另有5人失联，救援正在进行"
AGAIN = "泽州县巴公镇煤矿透水事故：3人死亡5人失联，当地正全力搜救"
GRAVER = "泽州县巴公镇煤矿透水事故死亡人数升至12人，仍有2人失联"


def _post(rt, text: str) -> int:  # type: ignore[no-untyped-def]
    digest = hashlib.sha256(text.encode()).hexdigest()
    with rt.session() as s:
        item = Item(url=f"https://news.example.cn/{digest[:16]}", url_hash=digest, title="", text=text,
                    tier="provincial", fetched_at=rt.now(), published_at=rt.now(), content_hash=digest)
        s.add(item)
        s.flush()
        return item.id


def _level(rt, event_id: int) -> str:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return s.get(Event, event_id).level


@pytest.mark.slow  # the pipeline, the console and three analyses: about 7 s
def test_a_level_lowered_by_hand_stands_until_graver_evidence_arrives(runtime, drain) -> None:  # type: ignore[no-untyped-def]
    seed_users(runtime)
    decision.reset()
    first = _post(runtime, FIRST)
    event_id = jobs.analyse_items([first])[first]
    computed = _level(runtime, event_id)
    assert computed in ("较大", "重大"), "3 dead: analysis grades it above 一般"
    alerted(runtime, event_id)
    drain()
    with runtime.session() as s:
        alert_id = s.scalar(select(Alert.id).where(Alert.event_id == event_id))
    assert alert_id is not None
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        token = login(client, "monitor")
        runtime.clock.advance(minutes=1)
        r = client.post(f"/alerts/{alert_id}/review", data={"action": "level", "level": "一般", "csrf_token": token})
        assert r.status_code == 303
    assert _level(runtime, event_id) == "一般"

    # the same facts again, from another outlet: the monitor's judgement stands
    runtime.clock.advance(minutes=10)
    again = _post(runtime, AGAIN)
    assert jobs.analyse_items([again])[again] == event_id
    with runtime.session() as s:
        event = s.get(Event, event_id)
        assert event.level == "一般", "a report of the same gravity does not undo the monitor's level"
        assert event.flags["manual_level"]["by"] == "monitor"

    # 12 dead: graver than what the monitor overrode, so analysis raises it
    runtime.clock.advance(minutes=10)
    graver = _post(runtime, GRAVER)
    assert jobs.analyse_items([graver])[graver] == event_id
    assert _level(runtime, event_id) in ("重大", "特别重大"), "12 dead is graver than the level overridden"
