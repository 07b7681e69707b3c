"""Normalisation: canonical URLs, plain text, Chinese and relative times, engagement counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from yuqing.crawlers.middlewares import best_encoding
from yuqing.crawlers.normalise import canonical_url, clean_line, clean_text, parse_count, parse_time

NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


@pytest.mark.parametrize(("raw", "expected"), [
    ("HTTP://News.Example.CN:80/a.html?utm_source=wx&id=3&spm=a.b&from=timeline#comments",
     "http://news.example.cn/a.html?id=3"),
    ("https://m.example.cn/p?share_token=x&isappinstalled=0&page=2&fr=1", "https://m.example.cn/p?page=2"),
    ("https://example.cn:8443/x?b=2&a=1", "https://example.cn:8443/x?b=2&a=1"),
    ("https://example.cn/board#id=1001", "https://example.cn/board#id=1001"),
    ("https://example.cn/#!/post/7", "https://example.cn/#!/post/7"),
    ("https://example.cn", "https://example.cn/"),
])
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


def test_clean_text_strips_markup_and_folds_full_width_but_keeps_chinese_punctuation() -> None:
    html = ("<div><p>泽州县　ＡＢＣ１２３&nbsp;&amp;</p><script>var x=1;</script>"
            "<p>第二段，　有<b>粗体</b>！</p><br/>\u200b结尾</div>")
    assert clean_text(html) == "泽州县 ABC123 &\n第二段， 有粗体！\n\n结尾"
    assert clean_text("  a \t b \n\n\n\n c ") == "a b\n\nc"
    assert clean_line("<h1>标题\n 第二行</h1>") == "标题 第二行"
    assert clean_text(None) == ""


@pytest.mark.parametrize(("raw", "expected"), [
    ("2020年9月17日 14:05", datetime(2020, 9, 17, 6, 5, tzinfo=UTC)),
    ("发布时间：2020-09-17 14:05:30 来源：本站", datetime(2020, 9, 17, 6, 5, 30, tzinfo=UTC)),
    ("2020/9/17", datetime(2020, 9, 16, 16, 0, tzinfo=UTC)),
    ("昨天 12:30", datetime(2026, 11, 20, 4, 30, tzinfo=UTC)),
    ("前天 08:00", datetime(2026, 11, 19, 0, 0, tzinfo=UTC)),
    ("今天 07:15", datetime(2026, 11, 20, 23, 15, tzinfo=UTC)),
    ("3小时前", datetime(2026, 11, 20, 21, 0, tzinfo=UTC)),
    ("15分钟前", datetime(2026, 11, 20, 23, 45, tzinfo=UTC)),
    ("2天前", datetime(2026, 11, 19, 0, 0, tzinfo=UTC)),
    ("刚刚", NOW),
    ("11月20日 09:00", datetime(2026, 11, 20, 1, 0, tzinfo=UTC)),
    ("12月31日", datetime(2025, 12, 30, 16, 0, tzinfo=UTC)),  # last year's, not next month's
    ("Thu, 17 Sep 2020 06:05:00 GMT", datetime(2020, 9, 17, 6, 5, tzinfo=UTC)),
    ("Thu Sep 17 14:05:00 +0800 2020", datetime(2020, 9, 17, 6, 5, tzinfo=UTC)),
    ("2020-09-17T14:05:00+08:00", datetime(2020, 9, 17, 6, 5, tzinfo=UTC)),
    (1600322700, datetime(2020, 9, 17, 6, 5, tzinfo=UTC)),
    ("1600322700000", datetime(2020, 9, 17, 6, 5, tzinfo=UTC)),
    ("2030年1月1日", None),  # in the future: not a publish time
    ("", None),
    ("不是时间", None),
])
def test_parse_time(raw: object, expected: datetime | None) -> None:
    got = parse_time(raw, NOW)
    assert got == expected
    assert got is None or got.tzinfo is not None


@pytest.mark.parametrize(("raw", "expected"), [
    (12, 12), ("1,234", 1234), ("1.2万", 12000), ("10万+", 100000), ("3亿", 300000000), ("", None),
    (None, None), ("评论", None), (True, None),
])
def test_parse_count(raw: object, expected: int | None) -> None:
    assert parse_count(raw) == expected


def test_encoding_choice() -> None:
    gbk = "泽州县应急管理局".encode("gbk")
    assert best_encoding(gbk, "utf-8") == "gb18030"  # wrong header
    assert best_encoding(gbk, None) == "gb18030"  # no charset at all
    assert best_encoding(gbk, "cp1252") == "gb18030"  # a Western guess
    assert best_encoding("泽州".encode(), "utf-8") is None  # declared and right
