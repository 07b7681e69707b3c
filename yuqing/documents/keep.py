"""What a line never breaks inside: a Chinese date (12月1日) and a time (16时55分), a figure with its
unit (12 人, 3.5 级, 4 小时) and a telephone number (0356-2021234). One home for both writers:
the print page wraps each in a no-break span (Chromium honours ``white-space: nowrap`` and
pdftotext extracts the text as it is); the DOCX keeps its text plain and states the rule as its
避头尾 lists (:data:`NO_LINE_START`, :data:`NO_LINE_END`, written as w:noLineBreaksBefore/After
for zh-CN, which Word, WPS and LibreOffice apply): a line never begins with a date's or a time's
unit or a figure's unit, nor ends after 年, 月 or 时, so none of these runs is split. Word joiners (U+2060), which
the DOCX carried before, are missing from the 公文 fonts and split every search for 12月1日."""

from __future__ import annotations

import re

from .model import Link, Unbroken

WORD_JOINER = "\u2060"
# GB/T 15834's 避头 punctuation (Word's own zh-CN list), then what a kept run never begins a line with.
_PUNCT_START = "!%),.:;?]}¢°·ˇˉ―‖’”…‰′″›℃∶、。〃〉》」』】〕〗〞︶︺︾﹀﹄﹚﹜﹞！＂％＇），．：；？］｝～￠"
# No line begins with a date's, a time's or a figure's unit (no break in 12/月, 16/时, 12 /人) and
# none ends after 年, 月 or 时 (no break in 年/12, 月/1, 时/55); a hyphen neither begins nor ends
# one (0356-/2021234). A line still ends after 日 or before a figure, as the print page allows.
NO_LINE_START = _PUNCT_START + "年月日时分钟秒人名级条起个次天户家元万亿吨米期篇倍处所辆亩座-"
NO_LINE_END = "$([{£¥·‘“〈《「『【〔〖〝﹙﹛﹝＄（．［｛￡￥年月时-"
_UNITS = "小时|分钟|人次|平方米|公里|万元|亿元|%|％|人|名|级|条|起|个|次|天|户|家|元|万|亿|吨|米|期|篇|倍|处|所|辆|亩|座"
KEPT = re.compile(
    # The date and the time each whole, a line may end between them: 12 characters kept as one
    # left a justified line short by as many and spread its characters apart (「泽 州 一 煤 矿」).
    r"(?:\d{4}年)?\d{1,2}月\d{1,2}日"                               # 2026年12月1日
    r"|\d{1,2}时\d{1,2}分"                                          # 14时05分
    r"|(?<![\d:])\d{1,2}:\d{2}(?![\d:])"                            # 14:14 in a figures progression
    r"|(?<!\d)(?:0\d{2,3}-\d{7,8}(?:-\d{1,6})?|1\d{10}|\d{3,4}-\d{3,4}-\d{4})(?!\d)"  # telephone
    rf"|\d+(?:\.\d+)?(?: ?(?:{_UNITS}))"                           # 12 人, 3.5 级
)


def kept_apart(part: str | Link) -> list[str | Link]:
    """``part`` cut into plain text and the :class:`Unbroken` runs inside it (a Link, or text
    already Unbroken, stays one piece)."""
    if isinstance(part, Link | Unbroken):
        return [part]
    out: list[str | Link] = []
    at = 0
    for m in KEPT.finditer(part):
        if m.start() > at:
            out.append(part[at:m.start()])
        out.append(Unbroken(m.group()))
        at = m.end()
    if at < len(part):
        out.append(part[at:])
    return out


def unjoined(text: str) -> str:
    """DOCX text as it reads, for a document written before its text was plain: word joiners
    dropped, no-break spaces plain (a document written now reads the same unchanged)."""
    return text.replace(WORD_JOINER, "").replace("\u00a0", " ")
