"""Scoring contract, remit negatives, casualties and thresholds, places, the shipped models."""

from __future__ import annotations

import numpy as np
import pytest

from yuqing.analysis import casualties, features
from yuqing.analysis.scoring import Scorer
from yuqing.levels import Category, Level
from yuqing.profile import load_profile, parse_profile


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_profile("zezhou-emergency"))


MINE = {"id": "a", "title": "泽州县巴公镇一煤矿发生透水事故 8名矿工被困井下",
        "text": "11月21日上午，泽州县巴公镇一煤矿发生透水事故，井下8名矿工被困，应急管理部门赶赴现场组织搜救。",
        "tier": "local"}


def test_contract_shape_and_ranges(scorer: Scorer) -> None:
    out = scorer.score(MINE)
    for key in ("id", "remit", "in_remit", "places", "in_jurisdiction", "relevance", "risk", "level",
                "rumor", "categories", "reasons", "emotion", "topics", "watch_words", "flags"):
        assert key in out
    for key in ("remit", "relevance", "risk", "rumor", "emotion"):
        assert 0.0 <= out[key] <= 1.0
    assert out["level"] in {lv.value for lv in Level}
    assert set(out["categories"]) <= {c.value for c in Category}
    assert out["in_remit"] and out["in_jurisdiction"]
    assert {"name": "巴公镇", "code": "140525108"} in out["places"]
    assert "production_safety" in out["topics"]
    assert any("被困 8 人" in r for r in out["reasons"])
    assert any("职责模型" in r for r in out["reasons"])


def test_a_lone_surrogate_is_scored_like_the_rest_of_the_text(scorer: Scorer) -> None:
    """A JSON "\\ud800" in a record's text cannot be encoded for jieba-rs: it used to raise
    UnicodeEncodeError out of score_many (found by tests/test_fuzz_scoring.py)."""
    broken = {**MINE, "id": "s", "text": MINE["text"] + "\ud800", "title": "\udfff透水"}
    out = scorer.score_many([broken])[0]
    assert out["id"] == "s" and out["in_remit"] and out["in_jurisdiction"]
    assert any("被困 8 人" in r for r in out["reasons"])


@pytest.mark.parametrize("text", [
    "今晚这场比赛简直是一场事故！后卫连续失误送了两个球，主教练必须下课。#中超#",
    "某县一饭店发生集体食物中毒 20余名就餐人员出现呕吐腹泻症状，市场监管部门已介入调查",
    "新冠疫情防控：我市新增本土确诊病例3例，全员核酸检测今日开始",
    "男子深夜入室盗窃被抓获，警方提醒市民注意防范",
])
def test_other_bureaus_remit_is_not_ours(scorer: Scorer, text: str) -> None:
    out = scorer.score({"id": 1, "text": text})
    assert not out["in_remit"], out["reasons"]
    assert out["remit"] < 0.5


@pytest.mark.parametrize("text", [
    "高速公路发生多车追尾事故，造成2人受伤",
    "山体滑坡致村庄被埋，救援队连夜搜救",
    "化工厂发生爆炸起火，消防赶赴现场扑救",
    "暴雨引发山洪，多地群众紧急转移安置",
])
def test_remit_positives(scorer: Scorer, text: str) -> None:
    assert scorer.score({"id": 1, "text": text})["in_remit"]


@pytest.mark.parametrize("text,deaths,injured,missing", [
    ("事故已造成3人死亡，5人失联", 3, 0, 5),
    ("晋城泽州一煤矿透水事故已致3人死亡5人失联", 3, 0, 5),
    ("死亡人数升至十二人，仍有两人失联", 12, 0, 2),
    ("共造成二十三名乘客受伤", 0, 23, 0),
    ("一辆大货车侧翻，造成了二死二伤", 2, 2, 0),
    ("三十五人遇难", 35, 0, 0),
    ("今晚这场比赛简直是一场事故", 0, 0, 0),
    ("2008年5月12日14时28分", 0, 0, 0),
])
def test_casualties_parsed_including_chinese_numerals(text, deaths, injured, missing) -> None:  # type: ignore[no-untyped-def]
    c = casualties.parse(text)
    assert (c.deaths, c.injured, c.missing) == (deaths, injured, missing)


@pytest.mark.parametrize("deaths,injured,level", [
    (0, 0, Level.GENERAL), (2, 9, Level.GENERAL), (3, 0, Level.LARGER), (0, 10, Level.LARGER),
    (9, 49, Level.LARGER), (10, 0, Level.MAJOR), (0, 50, Level.MAJOR), (29, 99, Level.MAJOR),
    (30, 0, Level.GRAVE), (0, 100, Level.GRAVE),
])
def test_national_thresholds(deaths: int, injured: int, level: Level) -> None:
    assert casualties.grade(deaths, injured) is level


def test_level_follows_casualties_with_missing_counted(scorer: Scorer) -> None:
    out = scorer.score({"id": 1, "text": "泽州巴公镇煤矿透水事故已造成12人死亡，仍有2人失联"})
    assert out["level"] == "重大"
    assert any("死亡 12 人" in r for r in out["reasons"])


def test_accusations_mobilisation_and_spread_raise_risk(scorer: Scorer) -> None:
    calm = scorer.score({"id": 1, "text": "泽州县巴公镇一煤矿发生透水事故，救援正在进行"})
    hot = scorer.score({"id": 2, "text": "泽州县巴公镇煤矿透水，到底死了多少人？是不是瞒报？应急局不作为！"
                                          "家属已经聚集在矿门口拉横幅，求扩散！",
                        "engagement": {"reposts": 2300, "comments": 1800, "likes": 5200}})
    assert hot["risk"] > calm["risk"] + 0.2
    assert hot["flags"]["accusation"] == ["cover_up", "inaction"]
    assert hot["flags"]["mobilisation"] is True
    assert "image_credibility" in hot["categories"]
    assert any("呼吁扩散" in r for r in hot["reasons"])


def test_shared_town_name_needs_context(scorer: Scorer) -> None:
    alone = scorer.score({"id": 1, "text": "南村镇一民房起火，消防到场扑救"})
    assert alone["places"] == [] and not alone["in_jurisdiction"]
    assert any("南村镇" in r and "同名" in r for r in alone["reasons"])
    near = scorer.score({"id": 2, "text": "晋城南村镇一民房起火，消防到场扑救"})
    assert {"name": "南村镇", "code": "140525100"} in near["places"]


def test_ordinary_words_are_not_towns(scorer: Scorer) -> None:
    # 山河 (a town's short form) is an ordinary word; 下村 is one a common word runs across (下村民)
    text = "泽州县大好山河，乡下村民都来了"
    assert scorer.score({"id": 1, "text": text})["places"] == [{"name": "泽州县", "code": "140525"}]
    named = scorer.score({"id": 2, "text": "泽州县山河镇一民房起火"})["places"]
    assert {"name": "山河镇", "code": "140525110"} in named


def test_beijing_time_and_city_names_place_the_incident_where_it_is() -> None:
    from yuqing.analysis.eval_events import _national_profile
    from yuqing.analysis.places import OutsideMatcher, PlaceMatcher

    profile = _national_profile()
    places = PlaceMatcher(profile)
    # 北京时间 is the clock of a quake abroad, not a place; 智利 is where it happened
    assert places.find("智利发生8.2级地震，北京时间2日8时46分，震中位于智利北部")[0] == []
    assert [o.name for o in OutsideMatcher(profile).find("据报道，北京时间2日智利发生地震")] == ["智利"]
    # a short form shared by a city and a town (重庆, 重庆街道 of 长春) is the city
    assert places.find("四川汶川地震，重庆市区有明显震感")[0][-1] == {"name": "重庆市", "code": "50"}


def test_chengguan_needs_county_context() -> None:
    from yuqing.gazetteer import load_gazetteer

    gaz = load_gazetteer()
    town = next(d for d in gaz.by_code.values() if d.name == "城关镇")
    county = gaz.by_code[town.parent]
    data = load_profile("zezhou-emergency").model_dump(mode="json", by_alias=True)
    data["jurisdiction"] = {"codes": [county.code], "context_words": []}
    scorer = Scorer(parse_profile(data, "test.yaml"))
    assert scorer.score({"id": 1, "text": "城关镇发生火灾"})["places"] == []
    with_county = scorer.score({"id": 2, "text": f"{county.name}城关镇发生火灾"})
    assert {"name": "城关镇", "code": town.code} in with_county["places"]


def test_short_form_of_county(scorer: Scorer) -> None:
    out = scorer.score({"id": 1, "text": "泽州一煤矿发生透水事故"})
    assert out["places"] == [{"name": "泽州县", "code": "140525"}]
    assert out["in_jurisdiction"]


def test_unknown_remit_model_falls_back_to_keywords() -> None:
    profile = load_profile("nanning-meteorological")
    assert profile.remit.model == "meteorological"
    scorer = Scorer(profile)
    out = scorer.score({"id": 1, "text": "南宁发布暴雨橙色预警，邕城多处出现内涝"})
    assert out["in_remit"] and out["in_jurisdiction"]
    assert any("meteorological" in r and "关键词" in r for r in out["reasons"])
    assert not scorer.score({"id": 2, "text": "今晚比赛太精彩了"})["in_remit"]


def test_shipped_model_beats_keyword_list_on_held_out_texts(scorer: Scorer) -> None:
    """Texts written for this test (not from the corpora): figurative or other bureaus' uses of
    the profile's own keywords, and colloquial emergency posts."""
    from yuqing.analysis.train import keyword_baseline

    cases = [
        ("这场比赛的防守简直是一场爆炸级别的灾难，球迷怒火冲天", 0),
        ("他的演唱会门票瞬间被抢光，现场气氛爆炸", 0),
        ("股市大地震！三大指数集体跳水", 0),
        ("公司高层人事地震，多位副总离职", 0),
        ("这款手机的续航能力简直爆炸，值得入手", 0),
        ("游戏新版本上线，法师技能伤害爆炸", 0),
        ("小区楼下一辆电动车突然起火，消防员赶来扑灭", 1),
        ("国道上两辆大货车相撞，司机被困驾驶室", 1),
        ("强降雨导致河水暴涨，村民被紧急转移", 1),
        ("凌晨发生4.5级地震，多地网友称有震感", 1),
        ("化工园区储罐泄漏，周边群众疏散", 1),
        ("工地脚手架坍塌，3名工人被埋", 1),
    ]
    kw = keyword_baseline(scorer.profile)
    y = np.array([c[1] for c in cases])
    model = np.array([scorer.score({"id": i, "text": t})["in_remit"] for i, (t, _) in enumerate(cases)])
    base = np.array([kw(t) for t, _ in cases])
    acc_model, acc_base = (model == y).mean(), (base == y).mean()
    assert acc_model > acc_base, (model, base)
    assert acc_model >= 0.7


def test_remit_features_are_the_tf_idf_of_the_counts() -> None:
    """The in-place IDF weighting gives each row's l2-normalised count × IDF, with buckets of zero
    IDF left out, beside the weighted genre and usage columns (what ``@ diags(idf)`` gave)."""
    from yuqing.analysis.features import CHAR_FEATURES, remit_features, remit_raw

    texts = ["某煤矿发生透水事故，3人被困", "小区停水三天无人管", "哈哈"]
    raw = remit_raw(texts, ["weibo", "forum", "weibo"])
    idf = np.random.default_rng(1).random(CHAR_FEATURES).astype(np.float32)
    dropped = raw[0].indices[:3]
    idf[dropped] = 0.0  # buckets seen in fewer than MIN_DF training texts carry no weight
    X = remit_features(raw, idf, 0.5)
    got = X.toarray()
    counts = raw[:, :CHAR_FEATURES].toarray() * idf.astype(np.float64)
    want = counts / np.linalg.norm(counts, axis=1, keepdims=True)
    assert np.allclose(got[:, :CHAR_FEATURES], want, rtol=0, atol=1e-12)
    assert np.array_equal(got[:, CHAR_FEATURES:], 0.5 * raw[:, CHAR_FEATURES:].toarray())
    assert not set(dropped.tolist()) & set(X[0].indices.tolist())  # not stored, not just zero


def test_the_fast_hashing_gives_the_vectorisers_matrices() -> None:
    """features._hashed feeds scikit-learn's hashing loop itself, and the character n-grams are
    taken without the vectoriser's analyser: the same matrices, value for value, as the
    vectorisers the models were trained with (a scikit-learn upgrade that changes them fails here)."""
    texts = ["泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下！#突发#", "", "转", "ABC  def\n\n 2024年  高平市  化工厂起火",
             "我爱人就在巴公镇那个煤矿井下！现在说死了3个，是不是瞒报？" * 20, " \t 孤 "]
    tokens = [list(t) for t in texts]
    genres = ["weibo", "article", "headline", "message", "weibo", "article"]
    words, chars, extras = features._vectorizers()

    def old_char_terms(text: str) -> list[str]:  # before the grams were taken run by run
        s = features._DIGITS.sub("0", features._NOT_TEXT.sub(" ", text[:features.CHAR_CHARS].lower()))
        grams = ["c" + s[i:i + 2] for i in range(len(s) - 1)] + ["c" + s[i:i + 3] for i in range(len(s) - 2)]
        return [g for g in grams if " " not in g]

    assert [features.char_terms(t) for t in texts] == [old_char_terms(t) for t in texts]
    docs = [features.terms(t) + old_char_terms(x) + features.extra_terms(x, g) for t, x, g in zip(tokens, texts, genres, strict=True)]
    for fast, slow in [(features.vectorize(tokens, texts, genres), words.transform(docs)),
                       (features.vectorize(tokens), words.transform([features.terms(t) for t in tokens])),
                       (features._hashed([features._char_grams(t) for t in texts], features.CHAR_FEATURES),
                        chars.transform(texts)),
                       (features.remit_raw(texts, genres)[:, features.CHAR_FEATURES:],
                        extras.transform([features.extra_terms(x, g) for x, g in zip(texts, genres, strict=True)]))]:
        assert fast.shape == slow.shape and fast.has_canonical_format
        assert (fast.indptr == slow.indptr).all() and (fast.indices == slow.indices).all()
        assert (fast.data == slow.data).all()
