"""Normalisation (规范化) of crawled fields, done once, at the pipeline.

Canonical URLs without tracking parameters, plain text without markup and with full-width
letters and digits folded (Chinese punctuation kept: NFKC would turn ，into , which is not
safe for Chinese prose), publish times from Chinese and relative forms into aware UTC
datetimes, engagement counts from forms like ``1.2万`` or ``10万+``.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from yuqing.sanitise import encodable

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A publish time this far ahead of the clock is still taken (a site's clock or zone slightly
# off; "今天 23:00" on a listing); beyond it the value is not a publish time.
FUTURE_TOLERANCE = timedelta(days=1)
MAX_TIME_TEXT = 200  # characters of a time string that are read

# Query parameters that only say how a reader arrived, never which page it is.
TRACKING_PARAMS = frozenset({
    "spm", "scm", "from", "fr", "share", "share_token", "share_from", "share_source", "shareid",
    "share_medium", "share_plat", "share_tag", "isappinstalled", "wfr", "tt_from", "tt_medium",
    "sharer_sharetime", "sharer_shareid", "sharer_sharetype", "vd_source", "fbclid", "gclid",
    "timestamp", "clicktime", "enterid", "scene", "subscene", "sessionid", "xhsshare",
    "appuid", "apptime", "source_from", "sourcefrom", "_wv", "wxshare_count", "pvid", "mpshare",
})
TRACKING_PREFIXES = ("utm_", "share_", "sharer_", "mc_")
# Controls, every character str.strip() would take for whitespace (NBSP, U+3000...), and the
# invisible ones (zero-width, bidi overrides) that make a link display as another.
_URL_UNSAFE = re.compile("[\x00-\x20\x7f-\xa0\u061c\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f"
                         "\u3000\ufeff]")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop default ports, tracking parameters and plain anchors.

    Query parameters keep their order (some sites care) minus the tracking ones, and their
    bytes: a GBK-encoded ``?q=%D6%D0`` stays as it is (decoding it as UTF-8 would fold every
    GBK query into the same URL). A fragment is kept only when it carries state (``#!/post/1``,
    ``#/a``, ``#id=3``), not a page anchor. Control characters and spaces are percent-encoded,
    so the result is idempotent and safe to store. Raises ValueError (in Chinese, naming the
    URL) when the URL cannot be parsed at all, e.g. ``http://[::1``.
    """
    # Percent-encode control characters and spaces first, so that lower-casing the host
    # below cannot turn the "%1B" of a later pass into "%1b" (canonical URLs must be stable).
    url = _URL_UNSAFE.sub(lambda m: quote(m.group(), safe=""), encodable(str(url).strip()))
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"无法解析的网址（{exc}）：{url[:200]!r}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal: hostname drops the brackets the netloc needs
    try:
        port = parts.port
    except ValueError:  # out of range or not a number: keep it as written, it is not ours to fix
        hostport = parts.netloc.rpartition("@")[2]
        written = hostport.partition("]")[2][1:] if hostport.startswith("[") else hostport.partition(":")[2]
        port, host = None, f"{host}:{written}"
    netloc = host
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True, errors="surrogateescape")
             if not _is_tracking(k)]
    fragment = parts.fragment
    if not (fragment.startswith(("!", "/")) or "=" in fragment):
        fragment = ""
    path = parts.path or "/"
    if not netloc and path.startswith("//"):  # written back, "//x" would read as host x next time
        path = "/" + path.lstrip("/")
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True, errors="surrogateescape"),
                       fragment))


def url_hash(url: str) -> str:
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()


# Full-width ASCII letters, digits and symbols that are not Chinese punctuation; folded by NFKC.
_FOLD = {chr(c) for c in range(0xFF10, 0xFF1A)} | {chr(c) for c in range(0xFF21, 0xFF3B)} \
    | {chr(c) for c in range(0xFF41, 0xFF5B)} | set("＃＄％＆＠＋－／＝＜＞＿｀｛｝｜～＼＾＊")
_FOLD_TABLE: dict[int, str | None] = {ord(ch): unicodedata.normalize("NFKC", ch) for ch in _FOLD}
_FOLD_TABLE.update({0x3000: " ", 0xA0: " ", 0x200B: None, 0x200C: None, 0x200D: None, 0xFEFF: None,
                    0x2028: "\n", 0x2029: "\n", 0x85: "\n"})
# Control characters (they break PostgreSQL text, JSON consumers and terminals), bidi overrides
# (they make a title display reversed) go; lone surrogates (not encodable) become U+FFFD.
_FOLD_TABLE.update({c: None for c in [*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x7F, 0x85),
                                      *range(0x86, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]})
_FOLD_TABLE.update({c: "\ufffd" for c in range(0xD800, 0xE000)})
# Any character the table changes: most text has none, and a regex finds that out ten times
# faster than str.translate, which looks every character up in the table (a page's body took 40 µs).
_FOLDABLE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD_TABLE)) + "]")
# Every pattern below runs in linear time: a tag body stops at the next "<" as well as at ">",
# so a hostile "<<<<..." or "<script>" * 10**5 cannot make a post take minutes to clean.
_BLOCK_TAGS = re.compile(r"(?i)<\s*(br|/p|/div|/li|/h[1-6]|/tr|/section|/article|/blockquote)\b[^<>]*>")
_DROP_OPEN = re.compile(r"(?i)<(script|style|noscript|template)\b|<!--")
_DROP_CLOSE = {name: re.compile(rf"(?i)</{name}\s*>") for name in ("script", "style", "noscript", "template")}
_COMMENT_CLOSE = re.compile("-->")
_TAG = re.compile(r"<[^<>]+>")
_LOOKS_HTML = re.compile(r"<\s*(?:/\s*)?[a-zA-Z][^<>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# A reference with 9+ significant digits names no character; html.unescape would call int()
# on it and raise past 4300 digits ("&#" + "9" * 5000 + ";").
_HUGE_CHAR_REF = re.compile(r"&#(?:[xX]0*[0-9a-fA-F]{9,}|0*[0-9]{9,});?")


def _drop_blocks(text: str) -> str:
    """Remove scripts, styles and comments with their content. One forward pass: a block whose
    closing tag never comes loses only its opening tag (its text stays, as before)."""
    out, pos, unclosed = [], 0, set()
    while (m := _DROP_OPEN.search(text, pos)) is not None:
        name = (m.group(1) or "--").lower()
        close = None if name in unclosed else (_DROP_CLOSE.get(name) or _COMMENT_CLOSE).search(text, m.end())
        if close is None:
            unclosed.add(name)  # no closing tag after here: never search for one again
            out.append(text[pos:m.end()] if name != "--" else text[pos:m.start()])
            pos = m.end()
            continue
        out.append(text[pos:m.start()])
        out.append(" ")
        pos = close.end()
    out.append(text[pos:])
    return "".join(out)


def clean_text(value: Any) -> str:
    """Plain text: markup removed (blocks become line breaks), entities decoded, full-width
    letters/digits and the ideographic space folded, control characters dropped, whitespace
    collapsed, paragraphs kept."""
    if value is None:
        return ""
    text = str(value)
    if _LOOKS_HTML.search(text):
        text = _drop_blocks(text)
        text = _BLOCK_TAGS.sub("\n", text)
        text = _TAG.sub("", text)
    text = html.unescape(_HUGE_CHAR_REF.sub("\ufffd", text))
    if _FOLDABLE.search(text):
        text = text.translate(_FOLD_TABLE)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def clean_line(value: Any) -> str:
    """A one-line field (title, author): clean text on one line."""
    return " ".join(clean_text(value).split())


def content_hash(title: str, text: str) -> str:
    """Detects edits: engagement counts are deliberately not part of it."""
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()


MAX_COUNT = 10**12  # more reposts than people on earth: garbage, not a count
_UNITS = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "k": 1_000, "K": 1_000}
_COUNT = re.compile(r"(\d+(?:\.\d+)?)\s*([万亿wWkK]?)")


def parse_count(value: Any) -> int | None:
    """``1.2万`` → 12000, ``10万+`` → 100000, ``1,234`` → 1234; None when there is no number, or
    none that can be a count (negative, not finite, beyond :data:`MAX_COUNT`)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_COUNT else None
    if isinstance(value, float):
        number = value
    else:
        match = _COUNT.search(str(value).replace(",", "").replace("，", ""))
        if not match:
            return None
        number = float(match.group(1)) * _UNITS.get(match.group(2), 1)
    return int(number) if math.isfinite(number) and 0 <= number <= MAX_COUNT else None


def parse_engagement(raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict):
        return {}
    out = {}
    for key, value in raw.items():
        count = parse_count(value)
        if count is not None:
            out[str(key)] = count
    return out


_CN_FULL = re.compile(
    r"(\d{4})\s*[年/\-.]\s*(\d{1,2})\s*[月/\-.]\s*(\d{1,2})\s*[日号]?"
    r"(?:\s*T?\s*(\d{1,2})\s*[:：时点]\s*(\d{1,2})?\s*(?:[:：分]\s*(\d{1,2}))?)?")
_CN_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[月\-/]\s*(\d{1,2})\s*[日号]?(?:\s*(\d{1,2})\s*[:：]\s*(\d{1,2}))?$")
_RELATIVE = re.compile(r"(\d+)\s*(秒|分钟|分|小时|个小时|天|日|周|星期)\s*前")
_DAY_WORDS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}
_DAY_WORD = re.compile(r"(今天|今日|昨天|昨日|前天)\s*(\d{1,2})?\s*[:：]?\s*(\d{1,2})?")
_ISO_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def _aware(value: datetime, tz: ZoneInfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _relative(text: str, local_now: datetime) -> datetime | None:
    if text in ("刚刚", "刚才", "just now") or text.endswith(("刚刚", "刚才")):
        return local_now
    match = _RELATIVE.search(text)
    if match:
        n, unit = int(match.group(1)), match.group(2)
        seconds = {"秒": 1, "分钟": 60, "分": 60, "小时": 3600, "个小时": 3600, "天": 86400,
                   "日": 86400, "周": 604800, "星期": 604800}[unit]
        # Elapsed time, so counted in UTC: wall-clock arithmetic in a zone with daylight
        # saving (Shanghai until 1991, any foreign site's zone) is an hour out across a change.
        return local_now.astimezone(UTC) - timedelta(seconds=n * seconds)
    match = _DAY_WORD.search(text)
    if match:
        day = local_now - timedelta(days=_DAY_WORDS[match.group(1)])
        hour, minute = int(match.group(2) or 0), int(match.group(3) or 0)
        return day.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return None


def _absolute(text: str, local_now: datetime, tz: ZoneInfo) -> datetime | None:
    if _ISO_ZONE.search(text) or "T" in text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
    match = _CN_FULL.search(text)
    if match:
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
        try:
            return datetime(y, mo, d, h, mi, s, tzinfo=tz)
        except ValueError:
            return None
    match = _CN_MONTH_DAY.match(text)
    if match:
        mo, d, h, mi = (int(g) if g else 0 for g in match.groups())
        try:
            value = datetime(local_now.year, mo, d, h, mi, tzinfo=tz)
        except ValueError:
            return None
        # "12月31日" read on 1 January is last year's.
        return value.replace(year=value.year - 1) if value > local_now + timedelta(days=1) else value
    try:  # RFC 822 (RSS) and the Weibo form "Tue Sep 15 12:00:00 +0800 2020"
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        return None


def _dateparser(text: str, local_now: datetime, tz: ZoneInfo) -> datetime | None:
    import dateparser  # local: heavy (about half a second of regex tables); most dates parse without it

    return dateparser.parse(text, languages=["zh", "en"], settings={
        "RELATIVE_BASE": local_now.replace(tzinfo=None), "TIMEZONE": str(tz),
        "RETURN_AS_TIMEZONE_AWARE": True, "PREFER_DATES_FROM": "past"})


def parse_time(value: Any, now: datetime, tz: ZoneInfo = SHANGHAI) -> datetime | None:
    """Publish time as aware UTC, or None when it cannot be read or lies in the future
    (beyond :data:`FUTURE_TOLERANCE`).

    ``now`` is the runtime clock's time (relative forms count back from it); times without a
    zone are the site's local time (``tz``, Asia/Shanghai for Chinese sites). Never raises:
    out-of-range parts ("昨天 25:00", "99999天前", year 0, an epoch of 1e20) read as None.
    """
    if value is None or value == "":
        return None
    try:
        result = _read_time(value, now, tz)
        if result is None:
            return None
        result = _aware(result, tz)
    except (ValueError, OverflowError, OSError):  # datetime/timedelta refuse the parts
        return None
    if result > now + FUTURE_TOLERANCE:
        return None
    return result


def _read_time(value: Any, now: datetime, tz: ZoneInfo) -> datetime | None:
    local_now = now.astimezone(tz)
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # epoch in milliseconds
        return datetime.fromtimestamp(seconds, UTC)
    # A publish time is short; the head of a long string is where it would be, and the
    # regular expressions and dateparser must not see megabytes of garbage.
    text = " ".join(str(value)[:MAX_TIME_TEXT].replace("\u3000", " ").split())
    if text.isascii() and text.isdecimal() and len(text) in (10, 13):
        return _read_time(int(text), now, tz)
    result = _relative(text, local_now) or _absolute(text, local_now, tz)
    if result is None:
        try:
            result = _dateparser(text, local_now, tz)
        except Exception:  # noqa: BLE001 - third-party heuristics on untrusted text: unreadable
            return None
    return result


TITLE_FROM_TEXT = 40  # characters of a post's first sentence that make its title
_TOPIC = re.compile(r"#([^#\n]{2,40})#")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


def title_from_text(text: str) -> str:
    """A title for a post that has none (微博, 留言): its #话题# when it opens with one or has
    nothing else to say, else its first sentence, cut at :data:`TITLE_FROM_TEXT` characters."""
    text = text.strip()
    if not text:
        return ""
    topic = _TOPIC.search(text)
    if topic and text.startswith(topic.group()):
        return topic.group()
    sentences = (s.strip() for s in _SENTENCE_END.split(_TOPIC.sub(r"\1", text)))
    first = next((s for s in sentences if s), "")
    if len(first) < 4 and topic:
        return topic.group()
    first = " ".join(first.split())  # one line, as every title
    return first if len(first) <= TITLE_FROM_TEXT else first[:TITLE_FROM_TEXT] + "…"
