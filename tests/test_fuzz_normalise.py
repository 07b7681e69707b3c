"""Property-based tests of crawled-field normalisation: publish times, text, URLs and counts.

Whatever a page says, these functions return a value of the documented shape (an aware UTC
time or None, clean one-line or paragraph text, a canonical URL or a ValueError naming it,
a count or None) and never raise anything else. The hostile inputs at the end would take
minutes with a quadratic regular expression; the timeout marks catch that without timing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from yuqing.crawlers.normalise import (
    FUTURE_TOLERANCE,
    MAX_COUNT,
    SHANGHAI,
    TRACKING_PARAMS,
    canonical_url,
    clean_line,
    clean_text,
    parse_count,
    parse_engagement,
    parse_time,
    url_hash,
)

pytestmark = pytest.mark.slow  # property-based fuzzing

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai

# Any code point, lone surrogates and control characters included.
any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80)
clocks = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),
                      timezones=st.just(UTC))
small = st.integers(min_value=-5, max_value=10**6) | st.sampled_from([10**20, 99999999999999])

# Chinese and Western forms with parts that may be out of range (25 点, 13 月, year 0, 1e20 分钟).
relative = st.builds(lambda n, unit, sp: f"{n}{sp}{unit}前", small,
                     st.sampled_from(["秒", "分钟", "分", "小时", "个小时", "天", "日", "周", "星期"]),
                     st.sampled_from(["", " ", "\u3000"]))
day_word = st.builds(lambda w, h, m, sep: f"{w} {h}{sep}{m:02d}", st.sampled_from(["今天", "今日", "昨天", "昨日", "前天"]),
                     st.integers(0, 99), st.integers(0, 99), st.sampled_from([":", "："]))
cn_full = st.builds(lambda y, mo, d, h, mi: f"{y}年{mo}月{d}日 {h}:{mi:02d}", st.integers(0, 99999),
                    st.integers(0, 20), st.integers(0, 40), st.integers(0, 30), st.integers(0, 70))
month_day = st.builds(lambda mo, d: f"{mo}月{d}日", st.integers(0, 14), st.integers(0, 33))
iso = st.builds(lambda dt, off: dt.isoformat() + off, st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
                st.sampled_from(["", "Z", "+08:00", "-12:00", "+14:00", "+99:99"]))
rfc822 = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
    lambda dt: dt.strftime("%a, %d %b %Y %H:%M:%S +0800"))
epochs = st.integers(min_value=-10**30, max_value=10**30) | st.floats(allow_nan=True, allow_infinity=True)
datetimes = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                         timezones=st.none() | st.just(UTC) | st.just(SHANGHAI)
                         | st.integers(-23, 23).map(lambda h: timezone(timedelta(hours=h))))
time_values = st.one_of(any_text, relative, day_word, cn_full, month_day, iso, rfc822, epochs, datetimes,
                        st.builds(lambda a, b, c: a + b + c, any_text, relative | cn_full | day_word, any_text))


def _check_time(got: datetime | None, now: datetime) -> None:
    if got is not None:
        assert got.tzinfo is UTC, got
        assert got <= now + FUTURE_TOLERANCE, got


@FUZZ
@given(time_values, clocks)
@example("3分钟前", NOW).via("the issue's forms")
@example("昨天 12:30", NOW).via("the issue's forms")
@example("2026年11月21日", NOW).via("the issue's forms")
@example("昨天 25:61", NOW).via("out of range")
@example("99999999999999天前", NOW).via("overflow")
@example("0001-01-01T00:00:00+08:00", NOW).via("before year 1 in UTC")
@example(float("nan"), NOW).via("not a number")
@example(1e20, NOW).via("beyond year 9999")
@example("²" * 10, NOW).via("digits that int() refuses")
def test_any_time_value_is_utc_in_the_past_or_none(value: object, now: datetime) -> None:
    got = parse_time(value, now)
    _check_time(got, now)
    if got is not None:  # reading what we produced gives it back: stored times are stable
        assert parse_time(got, now) == got
        assert parse_time(got.isoformat(), now) == got
        assert parse_time(got.astimezone(SHANGHAI).replace(tzinfo=None), now) == got


@FUZZ
@given(st.integers(0, 10**6), st.sampled_from([("秒", 1), ("分钟", 60), ("小时", 3600), ("天", 86400)]), clocks)
def test_relative_times_count_back_from_the_clock(n: int, unit: tuple[str, int], now: datetime) -> None:
    got = parse_time(f"{n}{unit[0]}前", now)
    try:
        expected = now - timedelta(seconds=n * unit[1])
    except OverflowError:
        expected = None
    assert got == expected


@FUZZ
@given(st.sampled_from([("今天", 0), ("昨天", 1), ("前天", 2)]), st.integers(0, 30), st.integers(0, 70), clocks)
def test_day_words_are_local_days_and_bad_hours_are_none(word: tuple[str, int], h: int, m: int,
                                                         now: datetime) -> None:
    got = parse_time(f"{word[0]} {h}:{m:02d}", now)
    if h > 23 or m > 59:
        assert got is None
        return
    day = now.astimezone(SHANGHAI).date() - timedelta(days=word[1])
    expected = datetime(day.year, day.month, day.day, h, m, tzinfo=SHANGHAI).astimezone(UTC)
    assert got == (expected if expected <= now + FUTURE_TOLERANCE else None)


@FUZZ
@given(st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2100, 12, 31).date()),
       st.integers(0, 23), st.integers(0, 59))
def test_full_chinese_dates_are_shanghai_time(day, h: int, m: int) -> None:  # type: ignore[no-untyped-def]
    got = parse_time(f"{day.year}年{day.month}月{day.day}日 {h}:{m:02d}", NOW)
    expected = datetime(day.year, day.month, day.day, h, m, tzinfo=SHANGHAI).astimezone(UTC)
    assert got == (expected if expected <= NOW + FUTURE_TOLERANCE else None)


# -- text ---------------------------------------------------------------------------------------
def _no_controls(text: str) -> None:
    for ch in text:
        assert ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs"), repr(ch)
        assert not 0x202A <= ord(ch) <= 0x202E and not 0x2066 <= ord(ch) <= 0x2069, repr(ch)


@FUZZ
@given(any_text | st.builds(lambda a, b: f"<p>{a}</p><br/>{b}", any_text, any_text))
@example("a\x00b\x07c\x1b[31m\x7f\x85d\ud800e\u202ef").via("controls, a lone surrogate, a bidi override")
@example("&#" + "9" * 5000 + ";&#x" + "f" * 5000 + ";&#00000065;").via("html.unescape raised on 4300+ digits")
def test_clean_text_and_line_leave_no_control_characters(value: str) -> None:
    text = clean_text(value)
    _no_controls(text)
    assert text == text.strip() and "\n\n\n" not in text
    text.encode("utf-8")  # storable
    line = clean_line(value)
    _no_controls(line)
    assert "\n" not in line and line == line.strip()


@FUZZ
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=(), exclude_characters="<&"), max_size=80))
def test_clean_text_is_idempotent_on_plain_text(value: str) -> None:
    once = clean_text(value)
    assert clean_text(once) == once
    assert clean_line(clean_line(value)) == clean_line(value)


words = st.text(alphabet="泽州县应急管理局 abcXYZ123，。！\n\t", min_size=1, max_size=12)
hidden = st.sampled_from(["<script>SECRET()</script>", "<SCRIPT type='x'>SECRET</Script >",
                          "<style>p{SECRET}</style>", "<!-- SECRET <b> -->", "<noscript>SECRET</noscript>"])
tags = st.sampled_from(["<p>", "</p>", "<div class='a'>", "</div>", "<br/>", "<b>", "</b>", "<h1>", "</h1>",
                        "<a href='/x?a=1&b=2'>", "</a>", "<img src=x onerror=alert(1)>"])


@FUZZ
@given(st.lists(words | hidden | tags, max_size=30))
def test_markup_scripts_and_comments_never_reach_the_text(parts: list[str]) -> None:
    text = clean_text("<div>" + "".join(parts) + "</div>")
    assert "SECRET" not in text and "<" not in text and ">" not in text
    visible = "".join(p for p in parts if not p.startswith("<"))
    assert "".join(text.split()) == "".join(visible.split())  # every visible word, in order


def test_unclosed_script_keeps_its_text_and_comments_go() -> None:
    assert clean_text("<p>泽州县<script>x()</script>应急</p>") == "泽州县 应急"
    assert clean_text("<p>正文<script>未闭合") == "正文未闭合"
    assert clean_text("<p>正文<!-- 注释 <b>x</b> -->结尾</p>") == "正文 结尾"


# -- URLs ---------------------------------------------------------------------------------------
hosts = st.sampled_from(["News.Example.CN", "example.cn", "[::1]", "127.0.0.1", "泽州.中国", "xn--abc.cn", "a-b.c",
                         "[::1", "h\x00st", "A\x1bB", ""])
ports = st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":abc", ":"])
params = st.lists(st.tuples(st.sampled_from(sorted(TRACKING_PARAMS) + ["utm_source", "UTM_Medium", "Share_x", "id",
                                                                        "page", "q", "a"]),
                            any_text), max_size=5)
fragments = st.sampled_from(["", "#top", "#!/post/1", "#/a", "#id=3", "#a b\x00", "#!/\u202e反转"])


def _query(pairs: list[tuple[str, str]], raw: bool) -> str:
    if raw:
        return "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in pairs)


url_values = st.one_of(
    any_text,
    st.builds(lambda scheme, host, port, path, pairs, raw, frag: f"{scheme}://{host}{port}{path}?{_query(pairs, raw)}{frag}",
              st.sampled_from(["http", "HTTPS", "ftp", "javascript"]), hosts, ports, any_text.map(lambda p: "/" + p),
              params, st.booleans(), fragments),
    st.sampled_from(["http://gov.example.cn/s.jsp?q=%D3%A6%BC%B1&utm_source=x",  # GBK query bytes
                     "http://gov.example.cn/s.jsp?q=%D6%D0&spm=1", "HTTP://[::1]:8080/a?b=1#c"]))


@FUZZ
@given(url_values)
@example("//[::1]:99d xmlns='http://www.w3.org/2005/Atom'>").via("atheris: an invalid port written back unstably")
@example("http://A\x1bB/x").via("a control character in the host, lower-cased after quoting")
@example("////tm_").via("atheris: an empty host and a path that reads as one next time")
@example("http:////x")
@example("http://news.example.cn/\xa0#top").via("a trailing NBSP that strip() takes on the next pass")
def test_canonical_url_is_idempotent_clean_and_drops_tracking(url: str) -> None:
    try:
        out = canonical_url(url)
    except ValueError as exc:
        assert str(exc).startswith("无法解析的网址"), exc
        return
    assert canonical_url(out) == out
    assert url_hash(url) == url_hash(out)  # the spider's "known" check and the store agree
    assert not re.search(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]", out), out
    assert out == out.strip(), out
    out.encode("utf-8")
    kept = [k for k, _ in parse_qsl(urlsplit(out).query, keep_blank_values=True)]
    assert not [k for k in kept if k.lower() in TRACKING_PARAMS or k.lower().startswith(("utm_", "share_"))]


def test_canonical_url_keeps_gbk_query_bytes_apart() -> None:
    """Decoding %D3%A6 as UTF-8 turned every GBK search into the same URL (and the same hash)."""
    a = canonical_url("http://gov.example.cn/s.jsp?q=%D3%A6%BC%B1&utm_source=x")
    b = canonical_url("http://gov.example.cn/s.jsp?q=%D6%D0")
    assert a == "http://gov.example.cn/s.jsp?q=%D3%A6%BC%B1"
    assert a != b
    assert canonical_url("HTTP://[::1]:8080/a?b=1#c") == "http://[::1]:8080/a?b=1"
    assert canonical_url("http://example.cn:99999/x") == "http://example.cn:99999/x"
    with pytest.raises(ValueError, match="无法解析的网址"):
        canonical_url("http://[::1/x")


# -- counts -------------------------------------------------------------------------------------
count_values = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(),
                         any_text, st.builds(lambda x, u: f"{x}{u}", st.floats(0, 1e30) | st.integers(0, 10**400),
                                             st.sampled_from(["", "万", "万+", "亿", "w", "k", " 次"])))


@FUZZ
@given(count_values)
@example("9" * 5000).via("a number float() reads as infinity")
@example(float("inf"))
def test_parse_count_is_a_sane_count_or_none(value: object) -> None:
    got = parse_count(value)
    assert got is None or (type(got) is int and 0 <= got <= MAX_COUNT)


@FUZZ
@given(st.floats(0, 9999, allow_nan=False), st.sampled_from([("万", 10_000), ("亿", 100_000_000), ("k", 1000)]))
def test_chinese_units_multiply(x: float, unit: tuple[str, int]) -> None:
    text = f"{x:.1f}"
    assert parse_count(text + unit[0]) == int(float(text) * unit[1])


@FUZZ
@given(st.dictionaries(any_text | st.integers(), count_values, max_size=6) | count_values)
def test_parse_engagement_gives_names_and_counts(raw: object) -> None:
    got = parse_engagement(raw)
    assert all(isinstance(k, str) and type(v) is int and 0 <= v <= MAX_COUNT for k, v in got.items())


# -- hostile sizes: linear time (a quadratic pattern takes hours on these) --------------------------
HOSTILE = {
    "unclosed scripts": "<b>x</b>" + "<script>" * 200_000,
    "lone angle brackets": "<b>x</b>" + "<" * 1_000_000,
    "unterminated tags": "<a" * 500_000,
    "unterminated breaks": "<b>x</b>" + "<br" * 300_000,
    "spaces after <": "<" + " " * 1_000_000,
    "open comments": "<b>x</b>" + "<!--" * 200_000,
    "5 MB post": "<p>" + "泽州县应急管理局通报，" * 500_000 + "</p>",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_text_cleans_in_linear_time(name: str) -> None:
    out = clean_text(HOSTILE[name])
    _no_controls(out)
    assert parse_time(HOSTILE[name], NOW) is None or name == "5 MB post"
    canonical_url("http://example.cn/?" + HOSTILE[name][:100_000])
