"""Reports of a quake felt far from its epicentre (山西, 重庆, 内蒙古 on the day of 汶川) name only
their own province and cities: they join the day's quake as felt reports (震感), while a day's
fires or crashes in one province, or a quake report with an epicentre of its own, stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from yuqing.analysis import folding
from yuqing.analysis.events import Grouper, incident_keys

QUAKE_DAY = datetime(2008, 5, 12, 8, 30, tzinfo=UTC)
LATER = QUAKE_DAY + timedelta(hours=2)


def _keys(codes: list[str], words: list[str], topics: tuple[str, ...] = ("earthquake_geology",)) -> set:
    return incident_keys([{"code": c, "name": c} for c in codes], list(topics), words)


def _national_quake(g: Grouper, at: datetime = QUAKE_DAY) -> None:
    """The quake's reports: the epicentre (四川 汶川) and, in one, the provinces that felt it."""
    g.add(1, at, 100, folding.text_minhash("四川汶川发生7.8级地震"), None, _keys(["51", "513221"], ["地震"]), None)
    g.add(2, at, 100, folding.text_minhash("国家地震局启动一级预案，山西、河南、重庆等地有震感"), None,
          _keys(["51", "513221", "14", "41", "50"], ["地震", "震感"]), None)


def _assign(g: Grouper, text: str, keys: set, at: datetime = LATER) -> int | None:
    return g.assign(folding.text_minhash(text), None, keys, at)[1]


def test_a_felt_report_from_a_province_the_quake_was_felt_in_joins_it() -> None:
    g = Grouper()
    _national_quake(g)
    g.add(3, QUAKE_DAY, 200, folding.text_minhash("云南一地发生3.1级地震"), None, _keys(["53", "5301", "530102"], ["地震"]), None)
    g.add(4, QUAKE_DAY, 200, folding.text_minhash("昆明官渡区3.1级地震"), None, _keys(["53", "5301", "530102"], ["地震"]), None)
    shanxi = _keys(["14", "1401", "1410"], ["地震", "震感"])  # 山西：太原、临汾 有明显震感
    assert _assign(g, "山西：感到地震后很多人跑到户外", shanxi) == 100
    # 天津's 南开区 matched in a 重庆 report (南开中学) is no epicentre of the report's own
    chongqing = _keys(["50", "120104"], ["地震", "震感"])
    assert _assign(g, "重庆市区有明显震感，南开中学附近楼房轻微摇晃", chongqing) == 100


def test_a_felt_report_sharing_no_place_joins_the_days_most_reported_quake() -> None:
    g = Grouper()
    _national_quake(g)
    inner_mongolia = _keys(["15", "1501", "1502"], ["地震", "震感"])  # 内蒙古：呼和浩特、包头 有震感
    assert _assign(g, "内蒙古：人们感到地震后纷纷咨询", inner_mongolia) == 100
    # without 震感 it is a quake report of its own place; the next day, another quake
    assert _assign(g, "内蒙古发生地震", _keys(["15", "1501"], ["地震"])) is None
    assert _assign(g, "内蒙古有震感", inner_mongolia, QUAKE_DAY + timedelta(days=2)) is None


def test_a_felt_report_with_its_own_epicentre_is_its_own_quake() -> None:
    g = Grouper()
    _national_quake(g)
    # 河南 is among the provinces that felt 汶川, but 渑池县 is this report's own epicentre
    mianchi = _keys(["41", "4112", "411221"], ["地震", "震感"])
    assert _assign(g, "河南渑池发生3.5级地震，洛阳有震感", mianchi) is None
    assert _assign(g, "渑池县发生3.5级地震，有震感", _keys(["411221"], ["地震", "震感"])) is None
    # likewise outside a county bureau's jurisdiction, where places are known by name
    g.add(5, QUAKE_DAY, 300, folding.text_minhash("四川汶川发生7.8级地震"), None,
          incident_keys([], ["earthquake_geology"], ["地震"], ["四川省", "汶川县"]), None)
    g.add(6, QUAKE_DAY, 300, folding.text_minhash("汶川地震，河南有震感"), None,
          incident_keys([], ["earthquake_geology"], ["地震", "震感"], ["四川省", "汶川县", "河南省"]), None)
    by_name = incident_keys([], ["earthquake_geology"], ["地震", "震感"], ["河南省", "渑池县"])
    assert _assign(g, "河南渑池发生3.5级地震，洛阳有震感", by_name) is None
    felt = incident_keys([], ["earthquake_geology"], ["地震", "震感"], ["河南省", "郑州市"])
    assert _assign(g, "河南郑州有明显震感", felt) == 300


def test_a_felt_report_does_not_join_a_quake_reported_once() -> None:
    g = Grouper()
    g.add(1, QUAKE_DAY, 100, folding.text_minhash("云南一地发生3.1级地震"), None, _keys(["53", "5301"], ["地震"]), None)
    assert _assign(g, "内蒙古有震感", _keys(["15", "1501"], ["地震", "震感"])) is None


def test_a_province_and_a_hazard_on_one_day_do_not_join_two_fires() -> None:
    g = Grouper()
    topics = ("fire", "rescue")
    g.add(1, QUAKE_DAY, 100, folding.text_minhash("四川德阳一化工厂车间起火"), None,
          _keys(["51", "5106"], ["火灾"], topics), None)
    assert _assign(g, "四川宜宾城区一大厦发生火灾", _keys(["51", "5115"], ["火灾"], topics), QUAKE_DAY) is None
    assert _assign(g, "四川一商场起火", _keys(["51"], ["火灾"], topics), QUAKE_DAY) is None


def test_the_evaluation_orders_reports_by_day_or_by_minute() -> None:
    from yuqing.analysis.eval_events import _when

    assert _when("2008年05月12日16:25") == datetime(2008, 5, 12, tzinfo=UTC)
    assert _when("2008年05月12日16:25", by_minute=True) == datetime(2008, 5, 12, 16, 25, tzinfo=UTC)
    assert _when("2014-03-02T08:15", by_minute=True) == datetime(2014, 3, 2, 8, 15, tzinfo=UTC)
    assert _when("2008-5-13", by_minute=True) == datetime(2008, 5, 13, tzinfo=UTC)
