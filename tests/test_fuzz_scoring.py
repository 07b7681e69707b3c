"""The scoring contract's input, fuzzed: `Scorer` on any record and `yuqing score` on any lines.

A good record always gets scores within [0, 1], a valid level and its reasons. A bad line
(not UTF-8, not JSON, not an object, a field of the wrong type) becomes an error object that
names the line and the field, and every other line is still scored, in order.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
from cli_inproc import run_yuqing
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from yuqing.analysis.scoring import Scorer
from yuqing.analysis.stream import score_stream
from yuqing.levels import Category, Level
from yuqing.profile import load_profile

pytestmark = pytest.mark.slow  # property-based fuzzing

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
LEVELS = {lv.value for lv in Level}
CATEGORIES = {c.value for c in Category}
CHINESE = ["泽州县巴公镇一煤矿发生透水事故，8名矿工被困", "高速公路发生多车追尾事故，造成2人死亡3人受伤", "网传化工厂爆炸，速转！",
           "今晚比赛太精彩", "暴雨引发山洪，群众紧急转移", "城关镇", "死亡九十九万九千人", "失联" * 50]


@pytest.fixture(scope="module")
def profile():  # type: ignore[no-untyped-def]
    return load_profile("zezhou-emergency")


@pytest.fixture(scope="module")
def scorer(profile) -> Scorer:  # type: ignore[no-untyped-def]
    return Scorer(profile)


texts = st.one_of(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200),
                  st.lists(st.sampled_from(CHINESE) | st.text(max_size=10), max_size=6).map("".join))
counts = st.integers(0, 10**30) | st.floats(0, 1e308, allow_nan=False)
records = st.fixed_dictionaries(
    {"id": st.integers() | st.text(max_size=10), "text": texts},
    optional={"title": st.none() | texts, "tier": st.none() | st.sampled_from(["central", "local", "social", "x"]),
              "engagement": st.none() | st.dictionaries(st.sampled_from(["reposts", "comments", "likes", "views", "x"]),
                                                        counts, max_size=4),
              "source": st.none() | st.text(max_size=10), "published_at": st.none() | st.text(max_size=20)})


def assert_contract(out: dict[str, Any]) -> None:
    for key in ("remit", "relevance", "risk", "rumor", "emotion"):
        assert isinstance(out[key], float) and 0.0 <= out[key] <= 1.0, (key, out[key])
    assert out["level"] in LEVELS
    assert set(out["categories"]) <= CATEGORIES
    assert isinstance(out["in_remit"], bool) and isinstance(out["in_jurisdiction"], bool)
    assert out["reasons"] and all(isinstance(r, str) and r for r in out["reasons"])
    assert all(set(p) >= {"name", "code"} for p in out["places"])


@FUZZ
@given(st.lists(records, min_size=1, max_size=5))
def test_any_valid_record_scores_within_the_contract(scorer: Scorer, batch: list[dict[str, Any]]) -> None:
    for record, out in zip(batch, scorer.score_many(batch), strict=True):
        assert out["id"] == record["id"]
        assert_contract(out)


@FUZZ
@given(st.dictionaries(st.sampled_from(["reposts", "comments", "likes", "views", "shares"]),
                       st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**40, 10**40)
                       | st.booleans() | st.text(max_size=5), max_size=5))
@example({"likes": 1e308, "views": 1e308}).via("the sum overflows to infinity")
@example({"likes": -5}).via("log10 of a negative reach")
@example({"likes": float("nan")})
def test_scorer_survives_any_engagement(scorer: Scorer, engagement: dict[str, Any]) -> None:
    """The analysis job reads engagement from the store, not through the line checks."""
    assert_contract(scorer.score({"id": 1, "text": CHINESE[0], "engagement": engagement}))


# -- yuqing score: the stream ------------------------------------------------------------------
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=8)
wrong = st.fixed_dictionaries({}, optional={"id": json_values, "text": json_values, "title": json_values,
                                            "engagement": json_values, "tier": json_values, "source": json_values})
raw_lines = st.one_of(
    records.map(lambda r: json.dumps(r, ensure_ascii=False)),  # good
    wrong.map(json.dumps), json_values.map(json.dumps),  # wrong shapes and types
    st.text(max_size=30).filter(lambda t: "\n" not in t and "\r" not in t),  # not JSON
    st.sampled_from(['{"id": 1, "text": "a", "engagement": {"likes": NaN}}', '{"id": 1, "text": "a", "engagement": [1]}',
                     '{"id": "\\ud800", "text": "孤立代理项"}', "[" * 50_000 + "]" * 50_000, '{"id": ' + "1" * 5000 + "}",
                     '{"id": 1, "text": "a", "title": 3}', '{"id": {"x": 1}, "text": "a"}', '\ufeff{"id": 1, "text": "a"}',
                     '{"id": "分\u2028隔\x85", "text": "a"}']),  # raw line separators inside a string
)
lines_or_bytes = st.one_of(raw_lines.map(lambda t: t.encode("utf-8", "surrogatepass")),
                           st.binary(max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b))


@settings(FUZZ, max_examples=40)
@given(st.lists(lines_or_bytes, min_size=1, max_size=12))
def test_score_stream_scores_every_good_line_and_names_every_bad_one(profile, lines: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    dst = io.StringIO()
    bad = score_stream(profile, [line + b"\n" for line in lines], dst)
    out = [json.loads(x) for x in dst.getvalue().splitlines()]
    kept = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    assert len(out) == len(kept)  # one result per line, nothing lost
    assert bad == sum("error" in o for o in out)
    for (n, line), o in zip(kept, out, strict=True):
        if "error" in o:
            assert o["line"] == n and o["error"].startswith(f"第 {n} 行"), o
            if "field" in o:
                assert o["field"].split(".")[0] in json.loads(line.decode()) or o["field"] in ("id", "text")
                assert o["field"] in o["error"]
            continue
        assert_contract(o)
        record = json.loads(line.decode("utf-8").removeprefix("\ufeff"))
        assert o["id"] == record["id"]


def test_bad_lines_name_the_field(profile) -> None:  # type: ignore[no-untyped-def]
    lines = ['{"id": 1, "text": "泽州县煤矿透水", "engagement": {"likes": -3}}', '{"id": 2, "text": "a", "tier": 5}',
             '{"id": 3, "text": "泽州县巴公镇一煤矿发生透水事故，8名矿工被困"}', '{"id": [1], "text": "a"}']
    dst = io.StringIO()
    assert score_stream(profile, lines, dst) == 3
    rows = [json.loads(x) for x in dst.getvalue().splitlines()]
    assert rows[0] == {"id": 1, "line": 1, "field": "engagement.likes",
                       "error": "第 1 行 engagement.likes 应为非负数，而不是 -3"}
    assert rows[1]["field"] == "tier" and rows[1]["error"] == "第 2 行 tier 不是字符串"
    assert rows[2]["id"] == 3 and rows[2]["in_remit"]
    assert rows[3] == {"id": None, "line": 4, "field": "id", "error": "第 4 行 id 应为字符串或数字"}


@pytest.mark.timeout(120)
def test_score_cli_survives_hostile_lines(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Invalid UTF-8 crashed the command (and lost every later line); so did a lone surrogate in
    an id (the output could not be written), NaN engagement and JSON nested 100k deep."""
    big = "泽州县巴公镇煤矿透水，3人死亡。" * 15_000  # about 250 KB
    lines = [b'{"id": 1, "text": "\xe6\xb3\xbd\xff\xfe"}', b'{"id": "\\ud800", "text": "\xe6\xb3\xbd\xe5\xb7\x9e"}',
             b'{"id": 3, "text": "a", "engagement": {"likes": NaN}}', b"[" * 100_000 + b"]" * 100_000,
             json.dumps({"id": 5, "text": big}, ensure_ascii=False).encode(),
             json.dumps({"id": 6, "text": "<script>alert(1)</script>\x00\x1b[31m"}).encode()]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    done = run_yuqing(monkeypatch, "score", "--profile", "zezhou-emergency", "--input", str(src), "--output", str(out))
    assert done.returncode == 1, done.stderr
    assert "共 3 行无法研判" in done.stderr and "Traceback" not in done.stderr
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r.get("line") for r in rows] == [1, None, 3, 4, None, None]
    assert rows[0]["error"].startswith("第 1 行不是有效的 UTF-8")
    assert rows[1]["id"] == "\ud800"  # written escaped, read back the same
    assert rows[2]["field"] == "engagement.likes" and "NaN" in rows[2]["error"]
    assert rows[3]["error"] == "第 4 行不是可读的 JSON（数字过长或嵌套过深）"
    assert rows[4]["id"] == 5 and rows[4]["level"] in ("较大", "重大") and rows[4]["in_remit"]
    for row in (rows[1], rows[4], rows[5]):
        assert_contract(row)
    assert not math.isnan(rows[5]["risk"])
