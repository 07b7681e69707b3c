"""Referral routing: the zezhou defaults, Alertmanager's first-match with `continue`, and the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from yuqing.profile import Route
from yuqing.routing import Facts, route, walk

# Chromium's print stood in for: these tests read no PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


def _keys(profile, **facts) -> list[str]:  # type: ignore[no-untyped-def]
    return [k for k, _ in route(profile, Facts(**facts))]


def test_zezhou_defaults(profile) -> None:
    assert _keys(profile, level="较大") == []
    assert _keys(profile, level="重大") == ["propaganda", "cyberspace"]
    assert _keys(profile, level="较大", in_remit=False) == ["emergency_hq", "open_gov"]
    assert _keys(profile, level="特别重大", spans_sections=True) == ["propaganda", "cyberspace", "emergency_hq",
                                                                      "open_gov"]
    assert _keys(profile, level="一般", category=["false_information"]) == ["police", "cyberspace"]
    assert _keys(profile, level="一般", accusation=["corruption"], complaint=True) == ["discipline", "petitions"]
    described = dict(route(profile, Facts(level="重大", complaint=True)))
    assert described["propaganda"].description == "routing.routes[0] {level: 重大|特别重大}（continue）"
    assert described["petitions"].description == "routing.routes[5] {complaint: true}"


def _tree(data: dict):  # type: ignore[no-untyped-def]
    return Route.model_validate(data)


def test_first_match_stops_without_continue_and_children_win() -> None:
    tree = _tree({"routes": [
        {"match": {"level": ["重大"]}, "receivers": ["a"], "routes": [
            {"match": {"tier": ["central"]}, "receivers": ["child"]},
        ]},
        {"match": {"level": ["重大"]}, "receivers": ["never"]},
        {"match": {"place": ["1405"]}, "receivers": ["place"], "continue": True},
    ]})
    leaves = walk(tree, Facts(level="重大", tier=["central", "local"]))
    assert [(m.path, m.receivers) for m in leaves] == [("routing.routes[0].routes[0]", ["child"])]
    leaves = walk(tree, Facts(level="重大", tier=["local"]))
    assert [m.receivers for m in leaves] == [["a"]]  # no child matched: the parent itself
    leaves = walk(tree, Facts(level="一般", place=["140525101"]))
    assert [m.receivers for m in leaves] == [["place"]]  # a code prefix matches the places below it
    assert [m.path for m in walk(tree, Facts(level="一般"))] == ["routing"]  # the root catches the rest


def test_continue_reaches_later_siblings() -> None:
    tree = _tree({"routes": [
        {"match": {"watch_word": ["true"]}, "receivers": ["w"], "continue": True},
        {"match": {"rumor": ["true"]}, "receivers": ["r"], "continue": False},
        {"match": {"rumor": ["true"]}, "receivers": ["after"]},
    ]})
    assert [m.receivers for m in walk(tree, Facts(watch_word=["瞒报"], rumor=True))] == [["w"], ["r"]]
    assert [m.receivers for m in walk(tree, Facts(rumor=True))] == [["r"]]
    assert [m.receivers for m in walk(tree, Facts(watch_word=[]))] == [[]]


def test_route_test_command(profile) -> None:
    from yuqing.cli import app

    result = CliRunner().invoke(app, ["route", "test", "--level", "重大", "--category", "false_information"])
    assert result.exit_code == 0, result.output
    assert "中共泽州县委宣传部（propaganda）" in result.output
    assert "泽州县公安局（police）" in result.output
    assert "routing.routes[3] {category: false_information}（continue）" in result.output
    result = CliRunner().invoke(app, ["route", "test", "--level", "较大", "--not-in-remit"])
    assert "晋城市应急管理局（emergency_hq）" in result.output
    result = CliRunner().invoke(app, ["route", "test", "--level", "四级"])
    assert result.exit_code != 0
    assert str(result.exception) == "--level: 未知等级 '四级'，应为 一般、较大、重大 或 特别重大"
    quiet = CliRunner().invoke(app, ["route", "test", "--level", "一般"])
    assert "不报送任何部门" in quiet.output


def test_tickets_list_shows_clocks_in_shanghai_time(runtime) -> None:
    from factories import make_reported_event

    from yuqing.cli import app
    from yuqing.queue import jobs

    jobs.consider_event(make_reported_event(runtime, level="重大"))
    env = {"YUQING_DATA_DIR": str(runtime.settings.data_dir), "YUQING_REDIS_URL": runtime.settings.redis_url}
    result = CliRunner().invoke(app, ["tickets", "list"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "#1 [已分派] 重大 泽州县某煤矿发生透水事故"
    assert lines[1] == "    回应主体：安全生产综合协调科；首次发现 2026-11-21 08:00"
    assert any(line.startswith("    发布权威信息：2026-11-21 13:00 截止") for line in lines)
    assert any(line.startswith("    新闻发布会：2026-11-22 08:00 截止") for line in lines)
    assert any(line.startswith("    首次回应：2026-11-23 08:00 截止") for line in lines)


def test_timings_are_inherited_down_the_tree_and_the_most_urgent_route_sets_the_pace(profile) -> None:
    from yuqing.routing import Timings, timings

    profile.alerts.group_wait_seconds, profile.alerts.group_interval_seconds = 45, 600
    profile.routing = _tree({"group_interval_seconds": 400, "routes": [
        {"match": {"level": ["重大"]}, "receivers": ["a"], "group_wait_seconds": 5, "continue": True, "routes": [
            {"match": {"rumor": ["true"]}, "receivers": ["r"]}]},
        {"match": {"rumor": ["true"]}, "receivers": ["b"], "group_interval_seconds": 60}]})
    assert timings(profile, Facts(level="一般")) == Timings(45, 400)  # the root: its own interval, alerts' wait
    # the child inherits its parent's 5 s; with `continue` the sibling's 60 s counts too: the shortest wins
    assert timings(profile, Facts(level="重大", rumor=True)) == Timings(5, 60)
    assert timings(profile, Facts(level="重大")) == Timings(5, 400)
