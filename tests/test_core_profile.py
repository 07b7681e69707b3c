from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from yuqing.exceptions import ProfileError
from yuqing.gazetteer import load_gazetteer
from yuqing.levels import Level
from yuqing.profile import builtin_profiles, load_profile

REPO = Path(__file__).resolve().parent.parent


def _zezhou() -> dict:
    return yaml.safe_load((REPO / "profiles" / "zezhou-emergency.yaml").read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "bureau.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_builtin_profiles_load() -> None:
    assert {"zezhou-emergency", "nanning-meteorological"} <= set(builtin_profiles())
    zz = load_profile("zezhou-emergency")
    assert zz.bureau.name == "泽州县应急管理局"
    towns = {d.name for d in zz.places}
    assert {"泽州县", "巴公镇", "南村镇"} <= towns
    assert {s.name for s in zz.sections} >= {"办公室", "防汛抗旱和火灾防治管理科", "救援协调和预案管理科",
                                            "减灾救灾科", "地震地质和灾害救援科", "信息宣传科"}
    assert {d.kind for d in zz.departments} == {"宣传部", "网信办", "应急", "政务公开办", "公安", "纪检", "信访"}
    assert zz.coordinator.name == "办公室"
    assert zz.clocks.first_response_hours == 48 and zz.clocks.authoritative_info_hours == 5
    assert zz.clocks.ticket_min_level == Level.LARGER
    nn = load_profile("nanning-meteorological")
    assert nn.bureau.kind == "meteorological"
    assert any(d.name == "青秀区" for d in nn.places)


def test_load_by_path(tmp_path: Path) -> None:
    assert load_profile(_write(tmp_path, _zezhou())).bureau.name == "泽州县应急管理局"


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["bureau"].pop("level"), "字段 bureau.level: 缺少必填字段"),
    (lambda d: d["bureau"].update(level="village"),
     "字段 bureau.level: 应为 'national', 'province', 'city', 'county' 或 'town'"),
    (lambda d: d.update(colour="red"), "字段 colour: 未知字段（拼写错误？）"),
    (lambda d: d["jurisdiction"].update(codes=["999999"]),
     "字段 jurisdiction.codes[0]: 区划代码 '999999' 不在区划表中"),
    (lambda d: d["sections"][1].update(remits=["floods"]),
     "字段 sections[1].remits[0]: 未知的职责话题 'floods'，应为 remit.topics 中的 key: "
     "disaster_relief, earthquake_geology, fire, flood_drought, production_safety, rescue, traffic_accident"),
    (lambda d: d["routing"]["routes"][0].update(receivers=["xuanchuan"]),
     "字段 routing.routes[0].receivers[0]: 未知的部门 'xuanchuan'，应为 departments 中的 key: "
     "cyberspace, discipline, emergency_hq, open_gov, petitions, police, propaganda"),
    (lambda d: d["clocks"].update(first_response_hours="两天"), "字段 clocks.first_response_hours: 应为数字"),
    (lambda d: d["departments"][0]["contacts"][0].update(email="not-an-address"),
     "字段 departments[0].contacts[0].email: 不是有效的电子邮件地址: 'not-an-address'"),
    (lambda d: d["documents"].update(calm_hours=0), "字段 documents.calm_hours: 应大于 0"),
    (lambda d: d["documents"].update(calm_negative=1.5), "字段 documents.calm_negative: 应不大于 1"),
    (lambda d: d["digests"].update(daily_at=["8:30am"]), "字段 digests.daily_at: 时间应为 HH:MM，而不是 '8:30am'"),
    (lambda d: d.update(departments=[x for x in d["departments"] if x["kind"] != "网信办"]),
     "字段 departments: 缺少 网信办：重大舆情须报送宣传部和网信办"),
])
def test_bad_profile_names_file_field_and_expectation(tmp_path: Path, mutate, message: str) -> None:
    data = _zezhou()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value) == f"{path}: {message}"


def test_missing_propaganda_department_is_refused(tmp_path: Path) -> None:
    data = _zezhou()
    data["departments"] = [x for x in data["departments"] if x["kind"] != "宣传部"]
    data["routing"] = {"receivers": [], "routes": []}
    path = _write(tmp_path, data)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value) == f"{path}: 字段 departments: 缺少 宣传部：重大舆情须报送宣传部和网信办"


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("bureau:\n  name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value).startswith(f"{path}: YAML 语法错误 第 3 行")


def test_unknown_builtin_lists_choices() -> None:
    with pytest.raises(ProfileError) as err:
        load_profile("atlantis")
    assert "没有这个内置画像" in str(err.value) and "zezhou-emergency" in str(err.value)


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value) == f"{path}: 画像文件应为 YAML 映射（键: 值），而不是 list"


def test_gazetteer_short_forms_and_placeholders() -> None:
    gaz = load_gazetteer()
    assert gaz.get("140525").short == "泽州"
    assert gaz.get("1405").name == "晋城市"
    assert all(d.name != "市辖区" for d in gaz.by_code.values())
    chengguan = gaz.by_name("城关镇")
    assert len(chengguan) > 50 and all(d.short == "" for d in chengguan)
    # A county directly under a province (placeholder city filtered) still finds its province.
    assert [a.name for a in gaz.ancestors("140525")] == ["晋城市", "山西省"]
