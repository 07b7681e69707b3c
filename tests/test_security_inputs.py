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
