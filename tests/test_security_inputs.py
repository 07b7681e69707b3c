"""Issue 18: input that cannot take the machine down (YAML aliases, request bodies, huge items)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from yuqing.crawlers.exceptions import SourceError
from yuqing.crawlers.sources import read_sources_file
from yuqing.dashboards.app import MAX_BODY_BYTES, create_app
from yuqing.exceptions import ProfileError
from yuqing.profile import load_profile

LAUGHS = "\n".join(["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]",
                    *[f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
                      f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]" for i in range(8)]])


def test_billion_laughs_in_a_sources_file_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(LAUGHS + "\nsources:\n  - key: *i\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        read_sources_file(path)
    assert time.monotonic() - started < 2
    assert "不支持 YAML 别名（*a）" in str(err.value) and len(str(err.value)) < 300


def test_billion_laughs_in_a_profile_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bureau.yaml"
    path.write_text(LAUGHS + "\nbureau: *i\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"YAML 语法错误 第 2 行第 \d+ 列: 不支持 YAML 别名（\*a），请把内容直接写出$"):
        load_profile(path)


def test_an_oversized_body_is_refused_before_any_route(runtime) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        big = b"username=a&password=" + b"x" * (MAX_BODY_BYTES + 1)
        r = client.post("/login", content=big, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413 and "请求内容过大" in r.text

        def chunks():  # no Content-Length: counted while it streams
            for _ in range(MAX_BODY_BYTES // 4096 + 2):
                yield b"x" * 4096

        r = client.post("/login", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413


def test_a_huge_post_is_capped_at_the_pipeline() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from yuqing.crawlers.pipelines import MAX_TEXT_CHARS, NormalisePipeline

    counted: dict[str, int] = {}
    spider = SimpleNamespace(source={"id": 1, "key": "s", "tier": "local"}, clock=lambda: datetime(2026, 11, 21, tzinfo=UTC),
                             record_error=lambda *_: None)
    crawler = SimpleNamespace(spider=spider, stats=SimpleNamespace(
        inc_value=lambda k, n=1: counted.update({k: counted.get(k, 0) + n})))
    started = time.monotonic()
    item = NormalisePipeline(crawler).process_item(
        {"url": "https://weibo.example/p/1", "title": "", "text": "煤矿透水" * (10 * 1024 * 1024 // 12)})
    assert len(item["text"]) == MAX_TEXT_CHARS and counted["yuqing/text_capped"] == 1
    assert time.monotonic() - started < 5


def test_score_refuses_an_overlong_line_and_goes_on(tmp_path: Path) -> None:
    import io
    import json

    from yuqing.analysis.stream import MAX_LINE_BYTES, score_stream

    good = json.dumps({"id": "a", "text": "泽州县某煤矿发生透水事故"}, ensure_ascii=False).encode()
    huge = json.dumps({"id": "b", "text": "x" * (MAX_LINE_BYTES * 3)}).encode()
    out = io.StringIO()
    bad = score_stream(load_profile("zezhou-emergency"), io.BytesIO(good + b"\n" + huge + b"\n" + good + b"\n"), out)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert bad == 1 and [x.get("id") for x in lines] == ["a", None, "a"]
    assert lines[1] == {"id": None, "error": "该行超过 1024 KB 上限，未研判", "line": 2}
