"""One place, one name: another name of a country or city abroad (印尼, 南韩, 海参崴) or a Chinese
region's short form (山东) is that place, named once in the reason and keyed once for events."""

from __future__ import annotations

import pytest

from yuqing.analysis.events import incident_keys, place_votes
from yuqing.analysis.places import OutsideMatcher, describe_outside, foreign_names, foreign_places
from yuqing.analysis.scoring import Scorer
from yuqing.profile import load_profile


@pytest.fixture(scope="module")
def matcher() -> OutsideMatcher:
    return OutsideMatcher(load_profile("zezhou-emergency"))


@pytest.mark.parametrize(("alias", "name"), [
    ("印尼", "印度尼西亚"), ("孟加拉", "孟加拉国"), ("沙特", "沙特阿拉伯"), ("阿拉伯联合酋长国", "阿联酋"),
    ("美利坚", "美国"), ("南韩", "韩国"), ("北韩", "朝鲜"), ("寮国", "老挝"), ("俄国", "俄罗斯"),
    ("澳洲", "澳大利亚"), ("海参崴", "符拉迪沃斯托克"), ("汉城", "首尔"),
    ("加州", "加利福尼亚"),
])
def test_another_name_is_the_same_place(alias: str, name: str) -> None:
    assert foreign_names()[alias] == name
    assert foreign_places()[alias] == foreign_places()[name]


def test_every_country_and_every_one_name_is_in_the_list_once() -> None:
    names, countries = foreign_names(), foreign_places()
    for name, one in names.items():
        assert names[one] == one, f"{name} → {one}, which is itself another name"
        assert names[countries[name]] == countries[name], f"{name}'s country {countries[name]} is not its one name"
    # a country's parts and territories are places in it, not countries of their own
    for part, country in (("苏格兰", "英国"), ("夏威夷", "美国"), ("关岛", "美国"), ("格陵兰", "丹麦"), ("缅北", "缅甸")):
        assert countries[part] == country


@pytest.mark.parametrize(("text", "places", "shown"), [
    ("印尼地震：印度尼西亚爪哇岛发生6.2级地震", ["印度尼西亚", "爪哇"], "印度尼西亚（爪哇）"),
    ("南韩首尔一仓库起火，韩国消防部门称", ["韩国", "首尔"], "韩国（首尔）"),
    ("美利坚合众国加州山火蔓延，美国西部", ["美国", "加利福尼亚"], "美国（加利福尼亚）"),
    ("海参崴港口爆炸，符拉迪沃斯托克市政府", ["符拉迪沃斯托克"], "俄罗斯（符拉迪沃斯托克）"),
    ("山东一化工厂爆炸，山东省应急管理厅通报", ["山东省"], "山东省"),
])
def test_a_place_is_found_and_shown_once(matcher: OutsideMatcher, text: str, places: list[str], shown: str) -> None:
    found = matcher.find(text)
    assert [o.name for o in found] == places
    assert describe_outside(found) == shown


def test_a_name_shared_with_a_chinese_place_is_not_an_alias() -> None:
    assert "西贡" not in foreign_names()  # 香港西贡 (Sai Kung), not the old name of 胡志明市


def test_words_that_hold_a_city_name_are_no_place(matcher: OutsideMatcher) -> None:
    assert matcher.find("午饭吃了汉堡包，视频打了马赛克，内容包罗万象，重温加勒比海盗") == []
    assert [o.name for o in matcher.find("德国汉堡港一仓库起火")] == ["德国", "汉堡"]


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_profile("zezhou-emergency"))


def test_the_reason_names_the_country_once(scorer: Scorer) -> None:
    out = scorer.score({"id": 1, "text": "印尼苏门答腊发生7.3级地震，印度尼西亚气象局称已致20人死亡", "tier": "social"})
    assert not out["in_jurisdiction"]
    where = [r for r in out["reasons"] if r.startswith("事发地：")]
    assert where == ["事发地：印度尼西亚（苏门答腊），不在本局辖区"], out["reasons"]
    assert sorted(out["flags"]["outside"]) == ["印度尼西亚", "苏门答腊"]


def test_reports_by_either_name_share_the_incident_key(scorer: Scorer) -> None:
    a, b = (scorer.score({"id": n, "text": t, "tier": "local"}) for n, t in
            enumerate(["印尼发生6.4级地震，多栋房屋倒塌", "印度尼西亚发生强烈地震，当地房屋倒塌"]))
    keys = [incident_keys(r["places"], r["topics"], r["keywords"], r["flags"]["outside"]) for r in (a, b)]
    shared = {k[0] for k in keys[0] & keys[1] if k[0] != "~"}
    assert shared == {"@印度尼西亚"} and place_votes(shared) == 1.0
