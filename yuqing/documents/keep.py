"""What a line never breaks inside: a Chinese date (12月1日) and a time (16时55分), a figure with its
unit (12 人, 3.5 级, 4 小时) and a telephone number (0356-2021234). One home for both writers:
the print page wraps each in a no-break span (Chromium honours ``white-space: nowrap`` and
pdftotext extracts the text as it is); the DOCX joins its characters with U+2060 WORD JOINER
(UAX #14 class WJ: no break either side, in Word, WPS and LibreOffice) and writes a hyphen as
Word's non-breaking hyphen (w:noBreakHyphen, which Word and python-docx read back as "-")."""

from __future__ import annotations

import re

from .model import Link, Unbroken

WORD_JOINER = "\u2060"
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


def joined(text: str) -> str:
    """``text`` with a word joiner wherever a line could break inside it: between two characters
    of which one is not an ASCII letter or digit (inside 2021234 or 3.5 there is no break to
    stop). A space becomes a no-break space."""
    text = text.replace(" ", "\u00a0")
    out = [text[:1]]
    for before, ch in zip(text, text[1:], strict=False):
        if not (before.isascii() and before.isalnum() and ch.isascii() and ch.isalnum()) and not {before, ch} & {"-", "\u00a0"}:
            out.append(WORD_JOINER)
        out.append(ch)
    return "".join(out)


def unjoined(text: str) -> str:
    """DOCX text as it reads: :func:`joined`'s word joiners dropped, its no-break spaces plain."""
    return text.replace(WORD_JOINER, "").replace("\u00a0", " ")
