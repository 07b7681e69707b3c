"""Merging stored events (事件合并): a later report shows two events to be one incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from yuqing.analysis import folding
from yuqing.analysis.events import Grouper, incident_keys


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


def test_a_chain_of_merges_goes_into_the_oldest_event() -> None:
    now = datetime(2008, 5, 12, 7, tzinfo=UTC)
    g = Grouper()
    _add(g, 1, now, 50, "山西：感到震感", _keys(["14", "1401"], ["earthquake"], ["震感"]))
    _add(g, 2, now + timedelta(minutes=1), 51, "重庆：有震感", _keys(["50"], ["earthquake"], ["震感"]))
    quake = _keys(*QUAKE)
    _add(g, 3, now + timedelta(minutes=20), 52, "四川汶川发生7.8级地震", quake)
    _add(g, 4, now + timedelta(minutes=30), 52, "汶川地震", quake)
    assert g.merges([52]) == {51: 50, 52: 50}
