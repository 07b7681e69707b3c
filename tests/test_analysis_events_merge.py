"""Merging stored events (事件合并): a later report shows two events to be one incident."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dashboard_seed import seed_users
from factories import alerted, touch_event
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from test_dashboards_app import login

from yuqing.alerts.digests import major_key, major_made
from yuqing.alerts.silences import silencing
from yuqing.analysis import decision, folding, handover, jobs
from yuqing.analysis.counting import merge_event
from yuqing.analysis.events import Grouper, incident_keys
from yuqing.dashboards.app import create_app
from yuqing.dashboards.queries import leader_stats
from yuqing.dashboards.timeline import event_timeline
from yuqing.models import (
    Alert,
    AlertStatus,
    AuditEntry,
    Delivery,
    Digest,
    Event,
    Item,
    Referral,
    Silence,
    Ticket,
    TicketState,
)
from yuqing.profile import Judgement
from yuqing.queue import jobs as jobs_queue
from yuqing.queue.tickets import merged_closing
from yuqing.store import engine_for, migrate, session_scope

# Chromium's print stood in for: these tests read no PDF (tests/conftest.py); the merge test
# issued ten 专报 and 续报 prints, about 19 s of its 24.
pytestmark = pytest.mark.usefixtures("print_stand_in")


def _keys(codes: list[str], topics: list[str], words: list[str]) -> set:
    return incident_keys([{"code": c, "name": c} for c in codes], topics, words)


QUAKE = (["51", "5132", "513221"], ["earthquake"], ["地震"])  # 四川 阿坝州 汶川县


def _add(g: Grouper, item_id: int, at: datetime, event_id: int, text: str, keys: set) -> None:
    g.add(item_id, at, event_id, folding.text_minhash(text), None, keys, None)


def test_a_felt_report_filed_before_the_quake_is_merged_into_it_once_the_quake_is_reported() -> None:
    """A felt report (震感) from 山西 came first and started an event; the quake's own reports then
    started another. The second report of the quake shows the felt report's event is of it: the two
    are merged, into the older (the felt report's), and the merged one leaves the index."""
    now = datetime(2008, 5, 12, 7, tzinfo=UTC)
    g = Grouper()
    felt = _keys(["14", "1401"], ["earthquake"], ["震感"])
    _add(g, 1, now, 10, "山西：感到震感后很多人跑到户外", felt)
    quake = _keys(*QUAKE)
    _add(g, 2, now + timedelta(minutes=20), 11, "四川汶川发生7.8级地震", quake)
    assert g.merges([11]) == {}  # one report of a quake: not yet the quake a felt report is of
    _add(g, 3, now + timedelta(minutes=40), 11, "汶川地震伤亡人数上升", quake)
    assert g.merges([11]) == {11: 10}
    g.merge_events(10, 11)
    assert {g.entries[i].event_id for i in (1, 2, 3)} == {10}
    assert 11 not in g.members and 11 not in g.event_keys and 11 not in g.event_seen
    assert all(11 not in events for events in g.by_key.values())
    # a later report joins the kept event
    assert g.assign(folding.text_minhash("汶川地震救援进展"), None, quake, now + timedelta(hours=2))[1] == 10


def test_an_early_report_and_the_main_report_of_one_incident_are_merged() -> None:
    """An early report naming the county only, and the main report naming the town: the later
    reports naming both show them one incident."""
    now = datetime(2026, 11, 21, 1, tzinfo=UTC)
    g = Grouper()
    _add(g, 1, now, 20, "泽州一煤矿发生透水", _keys(["14", "1405", "140525"], ["production_safety"], ["透水"]))
    town = _keys(["14", "1405", "140525", "140525108"], ["production_safety"], ["透水"])
    # the main report, filed apart (a worker's batch that had not seen the early one)
    _add(g, 2, now + timedelta(minutes=30), 21, "巴公镇煤矿透水8人被困", town)
    assert g.merges([21]) == {21: 20}


def test_two_incidents_in_one_county_on_one_day_are_not_merged() -> None:
    """A coal-mine flood in 巴公镇 and a chemical-plant explosion in 南村镇, both in 泽州县 on one
    day: the county and the day are shared, the town and the hazard are not."""
    now = datetime(2026, 11, 21, 1, tzinfo=UTC)
    g = Grouper()
    mine = _keys(["14", "1405", "140525", "140525108"], ["production_safety"], ["透水"])
    plant = _keys(["14", "1405", "140525", "140525104"], ["production_safety"], ["爆炸"])
    _add(g, 1, now, 30, "泽州县巴公镇一煤矿透水", mine)
    _add(g, 2, now + timedelta(minutes=5), 30, "巴公镇煤矿透水8人被困", mine)
    _add(g, 3, now + timedelta(hours=1), 31, "泽州县南村镇一化工厂爆炸5人死亡", plant)
    _add(g, 4, now + timedelta(hours=2), 31, "南村镇化工厂爆炸事故", plant)
    assert g.merges([30, 31]) == {}
    # two fires in two towns of the county on one day: the county and the hazard vote enough, the towns part them
    fire = _keys(["14", "1405", "140525", "140525108"], ["fire"], ["火灾"])
    _add(g, 5, now, 32, "巴公镇一民房火灾", fire)
    _add(g, 6, now + timedelta(hours=1), 33, "南村镇一仓库火灾", _keys(["14", "1405", "140525", "140525104"], ["fire"], ["火灾"]))
    assert 32 in g._merge_candidates(33) and g.merges([33]) == {}
    # two fires a week apart in one county, no town named: apart too (the area rule holds a day)
    g2 = Grouper()
    county = _keys(["14", "1405", "140525"], ["fire"], ["火灾"])
    _add(g2, 1, now, 40, "泽州县一民房发生火灾", county)
    _add(g2, 2, now + timedelta(days=5), 41, "泽州县一仓库火灾", county)
    assert g2.merges([41]) == {}


def test_a_felt_report_merged_into_its_quake_glues_no_other_quake_of_the_day_to_it() -> None:
    """Tried again once in its quake, a felt report would pick the day's most reported quake:
    it stays with its own, and a second quake the same day (印尼) stays another event."""
    now = datetime(2008, 5, 12, 7, tzinfo=UTC)
    g = Grouper()
    _add(g, 1, now, 60, "山西：感到震感", _keys(["14", "1401"], ["earthquake"], ["震感"]))
    quake = _keys(*QUAKE)
    _add(g, 2, now + timedelta(minutes=20), 61, "四川汶川发生7.8级地震", quake)
    _add(g, 3, now + timedelta(minutes=30), 61, "汶川地震", quake)
    assert g.merges([61]) == {61: 60}
    g.merge_events(60, 61)
    abroad = incident_keys([], ["earthquake"], ["地震"], ["印度尼西亚"])
    for n in range(4, 8):
        _add(g, n, now + timedelta(hours=1, minutes=n), 62, "印尼发生6.2级地震", abroad)
    assert g.merges([62]) == {} and g.merges([60]) == {}


def test_events_abroad_sharing_only_a_country_named_in_passing_are_not_merged() -> None:
    """Two quakes a sea apart whose reports both cite 美国 (its survey's magnitude): a country and
    the hazard join a new report on the day, but a stored event is never merged on a place known
    by name only (outside the jurisdiction), where the places inside it cannot be compared."""
    now = datetime(2026, 1, 19, 2, tzinfo=UTC)
    g = Grouper()
    _add(g, 1, now, 70, "新喀里多尼亚发生6.8级地震", incident_keys([], ["earthquake"], ["地震"], ["新喀里多尼亚", "美国"]))
    _add(g, 2, now + timedelta(minutes=5), 71, "印尼中爪哇省地震", incident_keys([], ["earthquake"], ["地震"], ["印度尼西亚"]))
    _add(g, 3, now + timedelta(minutes=9), 71, "印尼地震 美国地质勘探局测定6.2级",
         incident_keys([], ["earthquake"], ["地震"], ["印度尼西亚", "美国"]))
    assert g.merges([71]) == {}


def test_a_chain_of_merges_goes_into_the_oldest_event() -> None:
    now = datetime(2008, 5, 12, 7, tzinfo=UTC)
    g = Grouper()
    _add(g, 1, now, 50, "山西：感到震感", _keys(["14", "1401"], ["earthquake"], ["震感"]))
    _add(g, 2, now + timedelta(minutes=1), 51, "重庆：有震感", _keys(["50"], ["earthquake"], ["震感"]))
    quake = _keys(*QUAKE)
    _add(g, 3, now + timedelta(minutes=20), 52, "四川汶川发生7.8级地震", quake)
    _add(g, 4, now + timedelta(minutes=30), 52, "汶川地震", quake)
    assert g.merges([52]) == {51: 50, 52: 50}


def _judged_event(level: str, by: str | None = None, risk: float = 0.0) -> Event:
    now = datetime(2026, 11, 21, 2, tzinfo=UTC)
    flags = {"manual_level": {"level": level, "from": "一般", "by": by, "at": now.isoformat()}} if by else {}
    return Event(title="巴公镇煤矿透水", first_seen_at=now, last_seen_at=now, updated_at=now, level=level, risk=risk,
                 flags=flags, item_count=1, unique_count=1, status="active")


@pytest.mark.parametrize(("kept", "gone", "level", "judge"), [
    # the monitor lowered the kept event by hand: the other's level and risk do not raise it
    (("较大", "值班员甲"), ("重大", None), "较大", "值班员甲"),
    # the monitor judged the merged event alone: its level counts, with who judged it
    (("较大", None), ("重大", "值班员乙"), "重大", "值班员乙"),
    # ... but never lowers the kept event's
    (("重大", None), ("一般", "值班员乙"), "重大", None),
    # both judged by hand: the higher judgement, whichever event it was on
    (("较大", "值班员甲"), ("特别重大", "值班员乙"), "特别重大", "值班员乙"),
    (("重大", "值班员甲"), ("较大", "值班员乙"), "重大", "值班员甲"),
    # neither: the graver of the two, as before
    (("一般", None), ("重大", None), "重大", None),
])
def test_a_merge_keeps_the_monitors_level_and_never_lowers_the_kept_events(
        kept: tuple[str, str | None], gone: tuple[str, str | None], level: str, judge: str | None) -> None:
    event, other = _judged_event(*kept), _judged_event(*gone, risk=0.99)  # a risk that alone gives 重大 or more
    merge_event(event, other, sources=2, last_hour=2, now=event.first_seen_at + timedelta(minutes=30),
                judgement=Judgement())
    assert event.level == level
    judged = (event.flags or {}).get("manual_level")
    assert (judged or {}).get("by") == judge
    if judged:
        assert judged["level"] in (kept[0], gone[0])


# -- the store and the pipeline ---------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("pg_server").url
    with engine_for(url).begin() as conn:  # a clean schema for each test
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    return url


def test_the_migration_keeps_the_event_a_merged_one_went_into(store_url: str) -> None:
    """Migration 0010: ``events.merged_into`` names the kept event, indexed, and a kept event
    deleted leaves the merged one pointing nowhere rather than failing or vanishing."""
    migrate(store_url)
    engine = engine_for(store_url)
    columns = {c["name"]: c for c in inspect(engine).get_columns("events")}
    assert columns["merged_into"]["nullable"]
    assert "ix_events_merged_into" in {i["name"] for i in inspect(engine).get_indexes("events")}
    now = datetime(2026, 11, 21, 2, tzinfo=UTC)
    with session_scope(engine) as s:
        kept = Event(title="巴公镇煤矿透水", first_seen_at=now, last_seen_at=now, updated_at=now)
        s.add(kept)
        s.flush()
        s.add(Event(title="泽州一煤矿透水", first_seen_at=now, last_seen_at=now, updated_at=now, merged_into=kept.id))
        kept_id = kept.id
    with session_scope(engine) as s:
        merged = s.scalar(select(Event).where(Event.merged_into == kept_id))
        assert merged is not None and merged.id != kept_id
        merged_id = merged.id
        s.execute(text("DELETE FROM events WHERE id = :id"), {"id": kept_id})
    with session_scope(engine) as s:
        assert s.get(Event, merged_id).merged_into is None  # type: ignore[union-attr]
    with pytest.raises(IntegrityError), session_scope(engine) as s:  # it names a stored event or none
        s.add(Event(title="x", first_seen_at=now, last_seen_at=now, updated_at=now, merged_into=10**6))
        s.flush()


EARLY = "泽州县一煤矿发生透水事故，救援正在进行"  # the county, the hazard
AFAR = "巴公镇一煤矿出事了，多人被困井下，家属在矿口等消息"  # the town, no hazard word: another event
MAIN = "泽州县巴公镇煤矿透水事故最新进展：8名矿工被困"  # the town, the county and the hazard: both are it


def _post(rt, text: str, tier: str = "local") -> int:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        item = Item(url=f"https://news.example.cn/{hashlib.sha1(text.encode()).hexdigest()}",
                    url_hash=hashlib.sha256(text.encode()).hexdigest(), title="", text=text, tier=tier,
                    fetched_at=rt.now(), published_at=rt.now(), content_hash=hashlib.sha256(text.encode()).hexdigest())
        s.add(item)
        s.flush()
        return item.id


def _deliveries_of(rt, subject: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return sorted((d.target, d.subject) for d in s.scalars(select(Delivery).where(Delivery.subject.startswith(subject))))


@pytest.mark.slow  # three analyses, a referral round and the merge
def test_a_merged_events_alert_and_ticket_close_with_the_reason_and_nothing_is_referred_twice(  # noqa: PLR0915
        runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    """The early report and a villager's post start two events; the second, raised to 重大, is
    alerted, gets its ticket and its 专报 to 宣传部 and 网信办. The main report shows both to be one
    incident: the newer goes into the older, whose counts and account take it in; the merged
    event's alert is resolved and its ticket closed 「已并入事件 #N」, its referrals are the kept
    event's, and when the kept event is considered and alerted no department gets a second 专报."""
    decision.reset()
    first = jobs.analyse_items([_post(runtime, EARLY)])
    runtime.clock.advance(minutes=10)
    second = jobs.analyse_items([_post(runtime, AFAR, tier="social")])
    kept, merged = next(iter(first.values())), next(iter(second.values()))
    assert kept < merged
    touch_event(runtime, merged, level="重大", relevance=0.9, in_remit=True, in_jurisdiction=True)
    alerted(runtime, merged)
    jobs_queue.consider_event(merged)
    drain()
    referred = _deliveries_of(runtime, "【舆情专报】")
    with runtime.session() as s:
        departments = {r.department_key for r in s.scalars(select(Referral).where(Referral.event_id == merged))}
        ticket_id = s.scalar(select(Ticket.id).where(Ticket.event_id == merged))
        assert s.scalar(select(Alert.status).where(Alert.event_id == merged)) in (AlertStatus.FIRING,
                                                                                AlertStatus.ACKNOWLEDGED)
    assert {"propaganda", "cyberspace"} <= departments and len(referred) >= len(departments)
    assert ticket_id is not None

    runtime.clock.advance(minutes=10)
    third_id = _post(runtime, MAIN)
    assert jobs.analyse_items([third_id]) == {third_id: kept}
    drain()
    with runtime.session() as s:
        gone, event = s.get(Event, merged), s.get(Event, kept)
        assert gone.merged_into == kept and event.merged_into is None
        assert set(s.scalars(select(Item.event_id))) == {kept}
        assert (event.item_count, event.unique_count) == (3, 3)
        assert event.level == "重大"  # the graver of the two
        assert event.first_seen_at == min(i.fetched_at for i in s.scalars(select(Item)))
        assert sum(int(f[-1]["value"]) for f in event.account["figures"].values()) == 8  # 8名矿工被困, counted again
        alert = s.scalar(select(Alert).where(Alert.event_id == merged))
        assert alert.status == AlertStatus.RESOLVED
        audit = s.scalar(select(AuditEntry).where(AuditEntry.action == "alert.merged", AuditEntry.target_id == alert.id))
        assert audit.detail["reason"] == f"已并入事件 #{kept}"
        ticket = s.get(Ticket, ticket_id)
        assert ticket.state == TicketState.CLOSED and ticket.closed_at == runtime.now()
        kept_ticket = s.scalar(select(Ticket.id).where(Ticket.event_id == kept))  # opened for the merged one's work
        assert ticket.changes[-1].reason == merged_closing(kept, kept_ticket) and ticket.changes[-1].by == "系统"
        assert all(d.cancelled_at is not None or d.met_at is not None for d in ticket.deadlines)
        # the departments referred for the merged event are the kept event's referrals now
        assert {r.department_key for r in s.scalars(select(Referral).where(Referral.event_id == kept))} == departments
        timeline = [e.title + " " + e.detail for e in event_timeline(s, gone, ticket)]
    assert any(f"预警解除：已并入事件 #{kept}" in t for t in timeline)
    assert any(f"已并入事件 #{kept}" in t and "已关闭" in t for t in timeline)
    # the merged event is out of the index, here and in the handover to the other workers
    grouper = decision._grouper
    assert grouper is not None and merged not in grouper.members and merged not in grouper.event_keys
    entries = handover.read_all(runtime.redis)[0]
    assert handover.Merged(merged, kept) in entries
    other = Grouper()
    decision._apply(other, entries)
    assert merged not in other.members and {other.entries[i].event_id for i in other.entries} == {kept}

    # the kept event is alerted and considered: its referrals are those already made, no 专报 again
    alerted(runtime, kept)
    jobs_queue.consider_event(kept)
    drain()
    assert _deliveries_of(runtime, "【舆情专报】") == referred
    with runtime.session() as s:
        assert s.scalar(select(func.count(Referral.id))) == len(departments)
        assert s.scalar(select(Ticket.state).where(Ticket.event_id == kept)) != TicketState.CLOSED
        assert s.scalar(select(Ticket.state).where(Ticket.event_id == merged)) == TicketState.CLOSED
    assert not [m for m in smtp.messages if "终报" in str(m["Subject"])]  # the incident is not over
    # a later consideration of the merged event opens nothing and re-opens nothing
    assert jobs_queue.consider_event(merged) is None


def test_the_merged_events_page_points_to_the_kept_one_and_lists_leave_it_out(runtime) -> None:  # type: ignore[no-untyped-def]
    seed_users(runtime)
    now = runtime.now()
    with runtime.session() as s:
        kept = Event(title="巴公镇煤矿透水", first_seen_at=now, last_seen_at=now, updated_at=now, level="重大")
        s.add(kept)
        s.flush()
        merged = Event(title="泽州一煤矿透水", first_seen_at=now, last_seen_at=now, updated_at=now, level="重大",
                       merged_into=kept.id)
        s.add(merged)
        s.flush()
        ids = kept.id, merged.id
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        login(client, "monitor")
        page = client.get(f"/events/{ids[1]}")
        assert page.status_code == 200
        assert f'本事件已并入<a href="/events/{ids[0]}">事件 #{ids[0]}</a>' in page.text
        assert "本事件已并入" not in client.get(f"/events/{ids[0]}").text
        assert client.get(f"/api/events/{ids[1]}").json()["merged_into"] == ids[0]
    with runtime.session() as s:
        majors = [e.id for e, _t in leader_stats(s, now)["majors"]]
    assert majors == [ids[0]]


def _two_events(rt, level: str = "较大") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A kept event and one merged into it, as analysis leaves them before the merged_event job."""
    now = rt.now()
    with rt.session() as s:
        kept = Event(title="巴公镇煤矿透水", first_seen_at=now - timedelta(hours=2), last_seen_at=now,
                     updated_at=now, level=level)
        s.add(kept)
        s.flush()
        gone = Event(title="泽州一煤矿出事", first_seen_at=now - timedelta(hours=1), last_seen_at=now,
                     updated_at=now, level=level, merged_into=kept.id)
        s.add(gone)
        s.flush()
        return kept.id, gone.id


def test_the_merged_events_silences_and_digests_move_to_the_kept_event(runtime) -> None:  # type: ignore[no-untyped-def]
    """The monitor muted the merged event, and a 日报 and a 要情专报 listed it: the silence mutes
    the kept event now (its alert shows it), the digests list the kept event once, the 要情专报
    made at 重大 counts as the kept event's (no second one at that level), and each is audited."""
    now = runtime.now()
    kept, gone = _two_events(runtime, level="重大")
    with runtime.session() as s:
        alert = Alert(event_id=kept, title="巴公镇煤矿透水", level="重大", created_at=now, updated_at=now)
        other = Event(title="南村镇化工厂爆炸", first_seen_at=now, last_seen_at=now, updated_at=now)
        s.add_all([alert, other])
        s.flush()
        muted = Silence(event_id=gone, starts_at=now, ends_at=now + timedelta(hours=4), created_by="monitor",
                        comment="同一事件，先静默")
        past = Silence(event_id=gone, starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=2),
                       created_by="monitor", comment="已结束")
        unrelated = Silence(event_id=other.id, starts_at=now, ends_at=now + timedelta(hours=4),
                            created_by="monitor", comment="另一事件")
        daily = Digest(kind="daily", key="daily:test", title="舆情日报", period_start=now - timedelta(days=1),
                       period_end=now, created_at=now, event_ids=[kept, gone, other.id])
        major = Digest(kind="major", key=major_key(gone, "重大"), title="要情专报", period_start=now - timedelta(days=1),
                       period_end=now, created_at=now, event_ids=[gone])
        old = Digest(kind="daily", key="daily:old", title="舆情日报", period_start=now - timedelta(days=9),
                     period_end=now - timedelta(days=8), created_at=now, event_ids=[other.id])
        s.add_all([muted, past, unrelated, daily, major, old])
        s.flush()
        ids = {"muted": muted.id, "past": past.id, "unrelated": unrelated.id, "daily": daily.id,
               "major": major.id, "old": old.id, "other": other.id}
    result = jobs_queue.merged_event(gone, kept)
    assert (result["silences"], result["digests"]) == (2, 2)
    with runtime.session() as s:
        assert s.get(Silence, ids["muted"]).event_id == kept and s.get(Silence, ids["past"]).event_id == kept
        assert s.get(Silence, ids["unrelated"]).event_id == ids["other"]
        assert s.scalar(select(Alert.silence_id).where(Alert.event_id == kept)) == ids["muted"]
        event = s.get(Event, kept)
        assert silencing(s, event, runtime.now()).id == ids["muted"]
        assert s.get(Digest, ids["daily"]).event_ids == [kept, ids["other"]]
        assert s.get(Digest, ids["major"]).event_ids == [kept]
        assert s.get(Digest, ids["old"]).event_ids == [ids["other"]]
        assert major_made(s, kept, "重大") and not major_made(s, gone, "重大")
        audited = {(a.action, a.target_id) for a in s.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(["silence.merged", "digest.merged"])))}
        assert audited == {("silence.merged", ids["muted"]), ("silence.merged", ids["past"]),
                           ("digest.merged", ids["daily"]), ("digest.merged", ids["major"])}
    # the job again (a retry): nothing more moves, nothing is audited twice
    assert jobs_queue.merged_event(gone, kept)["silences"] == 0
