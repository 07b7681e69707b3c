"""Judgements a bureau acts on: non-incident uses, places outside the jurisdiction, rumour
evidence, thresholds from the profile, two incidents in one county, `yuqing model evaluate`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from yuqing.analysis import folding, usage
from yuqing.analysis.events import Grouper, incident_keys
from yuqing.analysis.places import OutsideMatcher, foreign_places
from yuqing.analysis.scoring import Scorer, risk_level
from yuqing.levels import Level
from yuqing.profile import Judgement, load_profile, parse_profile


@pytest.fixture(scope="module")
def profile():  # type: ignore[no-untyped-def]
    return load_profile("zezhou-emergency")


@pytest.fixture(scope="module")
def scorer(profile) -> Scorer:  # type: ignore[no-untyped-def]
    return Scorer(profile)


def _with(profile, **judgement) -> object:  # type: ignore[no-untyped-def]
    data = profile.model_dump(by_alias=True, exclude={"source_path"})
    data["judgement"] = {**data["judgement"], **judgement}
    return parse_profile(data, "test.yaml")


# -- non-incident uses of incident words --------------------------------------------------------
@pytest.mark.parametrize(("text", "kind"), [
    ("球坛大地震：三名主力同时转会离队", "sports"),
    ("电影《烈焰救援》宣布定档国庆", "entertainment"),
    ("这款防火等级A级的新型建材开启促销", "product"),
    ("盘点近年十大火灾题材影片", "listicle"),
    ("宋朝汴京一场大火烧了三天三夜", "history"),
    ("今天风大得像台风一样，快收衣服", "figurative"),
])
def test_usage_cues_name_the_kind(text: str, kind: str) -> None:
    assert kind in usage.detect(text)


@pytest.mark.parametrize("text", [
    "球坛大地震：三名主力同时转会离队",
    "电影《烈焰救援》宣布定档国庆",
    "这款防火等级A级的新型建材开启促销",
    "盘点近年十大火灾题材影片",
    "宋朝汴京一场大火烧了三天三夜",
    "今天风大得像台风一样，快收衣服",
])
def test_non_incident_uses_are_out_of_remit(scorer: Scorer, text: str) -> None:
    out = scorer.score({"id": 1, "text": text, "tier": "social"})
    assert not out["in_remit"], (text, out["remit"], out["reasons"])


def test_no_rule_floor_lifts_a_war_report(scorer: Scorer) -> None:
    """Two remit words and casualties used to force remit ≥ 0.60; terrorism is not ours."""
    out = scorer.score({"id": 1, "title": "某国首都发生连环汽车炸弹袭击 已致40人死亡上百人受伤", "text": ""})
    assert not any("至少 0.60" in r for r in out["reasons"])
    assert out["remit"] < 0.6


def test_real_incident_still_in_remit(scorer: Scorer) -> None:
    out = scorer.score({"id": 1, "text": "泽州县南村镇一化工厂凌晨发生爆炸起火，已致2人死亡，消防正在救援", "tier": "social"})
    assert out["in_remit"] and out["in_jurisdiction"]


# -- places outside the jurisdiction ----------------------------------------------------------
def test_foreign_place_list_is_data_with_countries_and_cities() -> None:
    places = foreign_places()
    for name in ("巴基斯坦", "孟加拉国", "智利", "越南", "土耳其"):
        assert places[name] == name
    assert places["卡拉奇"] == "巴基斯坦" and places["东京"] == "日本"
    assert "中国" not in places and "德州" not in places  # 德州 is in 山东


def test_outside_matcher_kinds(profile) -> None:  # type: ignore[no-untyped-def]
    m = OutsideMatcher(profile)
    kinds = {o.name: o.kind for o in m.find("巴基斯坦卡拉奇、山东省和太原市、高平市")}
    assert kinds == {"巴基斯坦": "外国", "卡拉奇": "外国", "山东省": "外省", "太原市": "本省外市",
                     "高平市": "本市其他县区"}
    assert m.find("延边朝鲜族自治州") == [] or all(o.name != "朝鲜" for o in m.find("朝鲜族群众"))
    assert m.find("泽州县巴公镇") == []


@pytest.mark.parametrize(("text", "where"), [
    ("孟加拉国南部遭遇特大洪水，已致上百人死亡，数十万人受灾", "孟加拉国"),
    ("智利中部发生7.1级地震，多栋建筑倒塌", "智利"),
    ("越南胡志明市一工厂发生火灾，造成12人死亡", "越南"),
    ("山东省某化工企业发生爆炸事故致5人死亡", "山东省"),
])
def test_incident_elsewhere_is_not_ours_to_act_on(scorer: Scorer, text: str, where: str) -> None:
    out = scorer.score({"id": 1, "text": text, "tier": "social"})
    assert not out["in_jurisdiction"]
    assert out["relevance"] <= 0.2
    assert out["level"] == Level.GENERAL.value
    assert any(r.startswith("事发地：") and where in r and "不在本局辖区" in r for r in out["reasons"]), out["reasons"]


def test_text_tied_to_the_jurisdiction_stays_ours(scorer: Scorer) -> None:
    out = scorer.score({"id": 1, "text": "巴基斯坦一煤矿发生爆炸，遇难者中有3名泽州县籍务工人员", "tier": "social"})
    assert out["in_jurisdiction"]
    assert not any("不在本局辖区" in r for r in out["reasons"])


def test_look_out_city_counts_other_counties_half(profile) -> None:  # type: ignore[no-untyped-def]
    text = "高平市一煤矿发生透水事故，5名矿工被困"
    city = Scorer(profile).score({"id": 1, "text": text})
    data = profile.model_dump(by_alias=True, exclude={"source_path"})
    data["jurisdiction"]["look_out"] = "own"
    own = Scorer(parse_profile(data, "own.yaml")).score({"id": 1, "text": text})
    assert not city["in_jurisdiction"] and not own["in_jurisdiction"]
    assert any("本市关注" in r for r in city["reasons"])
    assert own["relevance"] <= 0.2 < city["relevance"]


# -- rumour -----------------------------------------------------------------------------------
RELATIVE = {"id": "s005", "tier": "social", "text": (
    "我爱人就在巴公镇那个煤矿井下！矿上一开始说没事，现在说死了3个，到底死了多少人？是不是瞒报？"
    "泽州县应急管理局为什么不公布真实情况？家属们已经聚集在矿门口要说法！")}


def test_questions_and_eyewitness_lower_the_rumour_score(scorer: Scorer) -> None:
    claim = "泽州县一煤矿死了20多人，矿方瞒报"
    plain = scorer.score({"id": 1, "text": claim + "。", "tier": "social"})["rumor"]
    asked = scorer.score({"id": 2, "text": claim + "，到底死了多少人？是不是瞒报？", "tier": "social"})
    assert asked["rumor"] < plain
    assert any("提问或要求公开信息" in r for r in asked["reasons"])
    seen = scorer.score({"id": 3, "text": "我亲眼看到" + claim + "。", "tier": "social"})["rumor"]
    assert seen < plain


def test_demands_for_disclosure_are_not_rumour_signals(scorer: Scorer) -> None:
    claim = "化工厂爆炸后一直没有消息"
    plain = scorer.score({"id": 1, "text": claim + "。", "tier": "social"})["rumor"]
    demand = scorer.score({"id": 2, "text": claim + "，政府什么时候公布遇难人数？我们家属有权知道", "tier": "social"})
    assert demand["rumor"] < plain
    assert any("提问或要求公开信息" in r and "有权知道" in r for r in demand["reasons"])


def test_relatives_question_scores_below_the_rumour_threshold(scorer: Scorer) -> None:
    for text in ("到底死了多少人？是不是瞒报？", RELATIVE["text"]):
        out = scorer.score({"id": 1, "text": text, "tier": "social"})
        assert out["rumor"] < scorer.profile.judgement.rumor_threshold / 2, text


def test_miners_relative_is_not_false_information(scorer: Scorer) -> None:
    out = scorer.score(RELATIVE)
    assert "false_information" not in out["categories"]
    assert not out["flags"]["rumor_evidence"]


def test_rumour_pattern_is_evidence_only_with_the_score(profile) -> None:  # type: ignore[no-untyped-def]
    post = {"id": 1, "tier": "social", "text": "听说明天泽州县要发生大地震，内部消息，求扩散！"}
    low = Scorer(_with(profile, rumor_threshold=0.01)).score(post)
    high = Scorer(_with(profile, rumor_threshold=0.999)).score(post)
    assert low["flags"]["rumor_evidence"] and "求扩散" in low["flags"]["rumor_evidence"]
    assert "false_information" in low["categories"]
    assert "false_information" not in high["categories"]  # evidence without the score: not 不实


def test_score_alone_routes_nothing_to_police(profile) -> None:  # type: ignore[no-untyped-def]
    from yuqing.models import Event
    from yuqing.routing import facts_for_event, route

    event = Event(level="一般", rumor=0.95, categories=["emergency"], flags={}, places=[], topics=[],
                  watch_words=[], in_remit=True)
    facts = facts_for_event(profile, event, ["social"])
    assert not facts.rumor
    assert "police" not in dict(route(profile, facts))


def test_refuting_authority_in_the_event_is_evidence(profile) -> None:  # type: ignore[no-untyped-def]
    from yuqing.analysis.counting import false_information, merge_item
    from yuqing.models import Event, Item

    event = Event(level="一般", risk=0.0, relevance=0.0, rumor=0.0, velocity=0.0, categories=[], flags={},
                  places=[], topics=[], keywords=[], watch_words=[], in_remit=True, in_jurisdiction=True)
    claim = Item(title="", text="泽州县水库要溃坝了", tier="social", rumor=0.8, risk=0.2, level="一般",
                 relevance=0.5, categories=[], topics=[], places=[], keywords=[], watch_words=[],
                 flags={"accusation": [], "rumor_evidence": ""}, in_remit=True, in_jurisdiction=True)
    official = Item(title="泽州县应急管理局：水库溃坝系谣言", text="经核查，水库运行正常。", tier="government",
                    rumor=0.1, risk=0.1, level="一般", relevance=0.5, categories=[], topics=[], places=[],
                    keywords=[], watch_words=[], flags={"accusation": [], "debunk": True}, in_remit=True,
                    in_jurisdiction=True)
    j = profile.judgement
    merge_item(event, claim, j)
    false_information(event, j)
    assert "false_information" not in event.categories  # the score alone
    merge_item(event, official, j)
    false_information(event, j)
    assert "false_information" in event.categories
    assert event.flags["false_information"] == {"basis": "refuted", "source": "泽州县应急管理局：水库溃坝系谣言",
                                                "tier": "government"}


def test_pattern_is_evidence_until_news_confirms_the_incident(profile) -> None:  # type: ignore[no-untyped-def]
    from yuqing.analysis.counting import false_information, merge_item
    from yuqing.models import Event, Item

    def item(tier: str, rumor: float, flags: dict, in_remit: bool) -> Item:
        return Item(title="", text="某地煤矿出事", tier=tier, rumor=rumor, risk=0.2, level="一般", relevance=0.5,
                    categories=[], topics=[], places=[], keywords=[], watch_words=[], in_remit=in_remit,
                    in_jurisdiction=True, flags={"accusation": [], **flags})

    event = Event(level="一般", risk=0.0, relevance=0.0, rumor=0.0, velocity=0.0, categories=[], flags={},
                  places=[], topics=[], keywords=[], watch_words=[], in_remit=True, in_jurisdiction=True)
    j = profile.judgement
    merge_item(event, item("social", 0.8, {"rumor_evidence": "未经证实的说法（听说）并呼吁扩散（求扩散）"}, False), j)
    false_information(event, j)
    assert "false_information" in event.categories
    merge_item(event, item("provincial", 0.1, {}, True), j)
    false_information(event, j)
    assert "false_information" not in event.categories  # the news reports it: not a rumour


# -- thresholds from the profile ----------------------------------------------------------------
def test_thresholds_live_in_the_profile(profile) -> None:  # type: ignore[no-untyped-def]
    assert profile.judgement.rumor_threshold == Judgement().rumor_threshold == 0.7
    strict = Judgement(risk_larger=0.3, risk_major=0.5)
    assert risk_level(0.4) == Level.GENERAL and risk_level(0.4, strict) == Level.LARGER
    assert risk_level(0.6, strict) == Level.MAJOR
    with pytest.raises(Exception, match="judgement.rumor_threshold"):
        _with(profile, rumor_threshold=1.5)


def test_incident_floor_comes_from_the_profile(profile) -> None:  # type: ignore[no-untyped-def]
    text = "仓库爆炸，2人受伤"  # a hazard with casualties: the incident rule applies
    default = Scorer(profile).score({"id": 1, "text": text})
    assert 0.6 <= default["remit"] < 0.9 and default["in_remit"]
    floor = round((1 + default["remit"]) / 2, 2)  # above what the model gives
    high = Scorer(_with(profile, incident_floor=floor)).score({"id": 1, "text": text})  # type: ignore[arg-type]
    assert high["remit"] == floor and any(f"至少 {floor:.2f}" in r for r in high["reasons"])
    assert not any("至少" in r for r in default["reasons"])


def test_folding_and_event_similarity_come_from_the_profile() -> None:
    now = datetime(2026, 11, 21, tzinfo=UTC)
    a = folding.text_minhash("泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，救援正在进行，愿平安！")
    b = folding.text_minhash("转发：泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，救援正在进行。")
    sig = folding.signature_minhash({"煤矿", "透水", "被困", "巴公镇"})
    for judgement, folded in ((Judgement(), 1), (Judgement(duplicate_similarity=0.95), None)):
        g = Grouper(judgement=judgement)
        g.add(1, now, 10, a, sig, set(), None)
        assert g.assign(b, folding.signature_minhash({"x"}), set(), now)[0] == folded
    near = folding.signature_minhash({"煤矿", "透水", "被困", "泽州"})
    county = incident_keys([{"name": "泽州县", "code": "140525"}], ["production_safety"])
    for judgement, event in ((Judgement(), 10), (Judgement(event_similarity=0.9), None)):
        g = Grouper(judgement=judgement)
        g.add(1, now, 10, a, sig, county, None)
        # the county key votes 1; the signature (jaccard about 0.6) adds 2 × 0.6 only when that
        # is over the profile's event similarity, and an event needs 2 votes
        assert g.assign(folding.text_minhash("另一篇报道"), near, county, now)[1] == event, judgement


def test_threshold_errors_name_the_field_in_chinese(profile) -> None:  # type: ignore[no-untyped-def]
    for field, value, phrase in (("incident_floor", 1.2, "应不大于 1"), ("duplicate_similarity", 0, "应大于 0"),
                                 ("quiet_after_hours", -1, "应大于 0")):
        with pytest.raises(Exception, match=f"judgement.{field}") as err:
            _with(profile, **{field: value})
        assert phrase in str(err.value)


# -- events: incidents, not county names --------------------------------------------------------
def test_two_incidents_in_one_county_on_one_day_stay_two_events(scorer: Scorer) -> None:
    now = datetime(2026, 11, 21, 9, tzinfo=UTC)
    g = Grouper()
    mine = scorer.score({"id": 1, "text": "泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，救援正在进行", "tier": "local"})
    plant = scorer.score({"id": 2, "text": "泽州县南村镇一化工厂发生爆炸，已造成5人死亡，救援正在进行", "tier": "local"})
    county_only = scorer.score({"id": 3, "text": "泽州县一化工厂发生爆炸事故，5人死亡，泽州县正组织救援", "tier": "local"})
    again = scorer.score({"id": 4, "text": "泽州巴公镇煤矿透水事故已致3人死亡，泽州县全力搜救被困矿工", "tier": "local"})

    def keyed(r):  # type: ignore[no-untyped-def]
        words = set(r["keywords"]) | {p["code"] for p in r["places"]}
        return (folding.text_minhash(str(r["keywords"]) + str(r["id"])), folding.signature_minhash(words),
                incident_keys(r["places"], r["topics"], r["keywords"]))

    m, s, k = keyed(mine)
    g.add(1, now, 100, m, s, k, None)
    for r in (plant, county_only):
        _, event = g.assign(*keyed(r), now)
        assert event is None, r["id"]
    _, event = g.assign(*keyed(again), now)
    assert event == 100  # the same incident, worded otherwise, joins


def test_reports_filed_from_other_cities_join_the_incident_at_its_place() -> None:
    """Wenchuan as CEC reports it: each paper names its own city's streets, all name 汶川县."""
    now = datetime(2008, 5, 12, 9, tzinfo=UTC)
    g = Grouper()
    quake = [{"code": "51", "name": "四川省"}, {"code": "513221", "name": "汶川县"}]
    shanghai = quake + [{"code": "31", "name": "上海市"}, {"code": "310101002", "name": "南京东路街道"}]
    chengdu = quake + [{"code": "5101", "name": "成都市"}, {"code": "510107017", "name": "玉林街道"}]
    keys = [incident_keys(p, ["earthquake_geology"], ["地震"]) for p in (shanghai, chengdu)]
    g.add(1, now, 100, folding.text_minhash("上海高层建筑普遍有震感"), None, keys[0], None)
    assert g.assign(folding.text_minhash("成都网友称震感强烈"), None, keys[1], now)[1] == 100
    # two towns of the incident's own county are still two incidents
    town_a = [{"code": "140525", "name": "泽州县"}, {"code": "140525101", "name": "巴公镇"}]
    town_b = [{"code": "140525", "name": "泽州县"}, {"code": "140525102", "name": "南村镇"}]
    g.add(2, now, 200, folding.text_minhash("巴公镇民房起火"), None, incident_keys(town_a, ["fire"], ["火灾"]), None)
    assert g.assign(folding.text_minhash("南村镇民房起火"), None, incident_keys(town_b, ["fire"], ["火灾"]), now)[1] is None


def test_reports_of_one_incident_abroad_join_by_its_country() -> None:
    now = datetime(2006, 5, 27, 9, tzinfo=UTC)
    g = Grouper()
    topics = ["earthquake_geology", "rescue"]
    g.add(1, now, 100, folding.text_minhash("印尼爪哇省发生6.2级地震"), None,
          incident_keys([], topics, ["地震"], ["印尼", "爪哇"]), None)
    found = g.assign(folding.text_minhash("印尼地震将大批房屋夷为平地"), None,
                     incident_keys([], topics, ["地震"], ["印尼"]), now)[1]
    elsewhere = g.assign(folding.text_minhash("智利发生8.2级地震"), None,
                         incident_keys([], topics, ["地震"], ["智利"]), now)[1]
    assert (found, elsewhere) == (100, None)


# -- yuqing model evaluate ----------------------------------------------------------------------
def test_evaluate_command_scores_good_lines_and_names_bad_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from yuqing.cli import app

    rows = [
        {"id": "a", "text": "泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下", "remit": True, "risk": "high"},
        {"id": "b", "text": "今晚这场比赛简直是一场事故！后卫连续失误送了两个球", "remit": False, "risk": "low"},
        {"id": "c", "title": "泽州县一民房起火 消防员及时扑灭", "text": "", "remit": 1},
        {"id": "d", "title": "晋城市举办秋季农产品展销会", "text": "11月21日，晋城市秋季农产品展销会在市会展中心开幕，200余家企业参展。", "remit": 0,
         "rumor": False},
        {"id": "e", "text": "听说明天泽州县要发生大地震，内部消息，求扩散！", "rumor": True, "risk": "medium"},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines.insert(2, "{not json")
    lines.append(json.dumps({"id": "f", "text": "x", "remit": "maybe"}, ensure_ascii=False))
    lines.append(json.dumps({"text": "没有编号", "remit": True}, ensure_ascii=False))
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["model", "evaluate", "--labels", str(path), "--output", str(out)])
    assert result.exit_code == 1, result.output
    assert "第 3 行：不是有效的 JSON" in result.stderr
    assert "第 7 行：remit 应为 true/false" in result.stderr
    assert "第 8 行：缺少 id" in result.stderr
    assert "【职责相关】" in result.stdout and "TP\tFP\tFN\tTN" in result.stdout
    assert "Traceback" not in result.output
    figures = json.loads(out.read_text(encoding="utf-8"))
    remit = figures["remit"]["all"]
    assert remit["n"] == 4 and remit["positives"] == 2
    assert remit["tp"] + remit["fn"] == 2 and remit["fp"] + remit["tn"] == 2
    assert remit["tp"] == 2 and remit["tn"] == 2  # these four are easy
    assert remit["auc"] == 1.0
    assert set(figures["remit"]) >= {"all", "weibo", "headline", "article"}
    assert figures["risk"]["all"]["n"] == 2  # medium is outside high-vs-low
    assert figures["rumor"]["all"]["auc"] is not None


def test_evaluate_without_a_good_line_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from yuqing.cli import app

    path = tmp_path / "bad.jsonl"
    path.write_text('[1, 2]\n{"id": 1, "text": "无标注"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["model", "evaluate", "--labels", str(path)])
    assert result.exit_code != 0
    assert "第 1 行：应为 JSON 对象" in result.stderr
    assert "第 2 行：没有任何标注" in result.stderr
    assert "没有可检验的标注行" in result.output
    assert "Traceback" not in result.output


# -- risk: public pressure, not casualty counts alone ----------------------------------------------
def test_pleas_and_accusations_outrank_an_overseas_tally(scorer: Scorer) -> None:
    tally = scorer.score({"id": 1, "tier": "social",
                          "text": "美国新冠肺炎累计确诊病例超过1800万例，累计死亡病例超过32万例"})
    plea = scorer.score({"id": 2, "tier": "social",
                         "text": "泽州县山河镇山体滑坡把进村的路堵了，老人孩子出不来，求转发，救救我们村！"})
    graft = scorer.score({"id": 3, "tier": "social",
                          "text": "泽州县某镇干部把发给受灾群众的救灾补贴截留私分了，中饱私囊，没人管吗？"})
    assert plea["risk"] > tally["risk"] and graft["risk"] > tally["risk"]
    assert tally["level"] == Level.GENERAL.value  # an incident abroad is not graded for us
    assert any("风险模型" in r for r in plea["reasons"])
    assert any(r.startswith("指责腐败") for r in graft["reasons"])  # the evidence is still named
