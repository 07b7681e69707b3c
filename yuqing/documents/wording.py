"""No machine text in what leaves the building: the words a reader in the 宣传部 must never see.

:func:`machine_text` lists what in a document's or message's text is internal (route paths,
model names, thresholds, scores with ≥, English enum values, Markdown syntax, a loopback
address) and a 顿号 between quoted items. Crawled text is the outside world's and is passed as ``quoted`` to be left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from yuqing.levels import Category, Tier

INTERNAL_WORDS = (
    "routing", "routes[", "continue", "receivers", "match", "≥", "≤", "阈值", "职责模型", "谣言模型", "模型",
    "相关度", "风险值", "概率", "信源层级", "score", "None", "null", "True", "False", "127.0.0.1", "localhost",
    "**", "](", "__", "{", "}", "event_id", "ticket", "referral",
    *(t.value for t in Tier), *(c.value for c in Category),
    "production_safety", "flood_drought", "earthquake_geology", "disaster_relief", "traffic_accident",
    "first_response", "authoritative_info", "press_conference", "follow_up",
    "propaganda", "cyberspace", "pending", "acknowledged", "delivered", "following_up", "responding",
)
_URL = re.compile(r"(?:https?|mailto)://[^\s）)，。；、\"'<>]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A digest a document cites as evidence (原文快照's SHA-256, 16 hex characters or more).
_DIGEST = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{16,64}(?![0-9A-Za-z])")
# A 顿号 between quoted items (“瞒报”、“不作为”), which Chinese usage leaves out.
_LISTED_QUOTES = re.compile(r"[”」』]、[“「『]")
# Plain words an official document may contain in Latin letters.
ALLOWED_ASCII = {"DOCX", "PDF", "PNG", "HTML", "APP", "App", "PAGE", "SHA"}


def machine_text(text: str, quoted: list[str] | tuple[str, ...] = ()) -> list[str]:
    """What in ``text`` is machine text (empty when the text reads as an official document)."""
    for piece in sorted((" ".join(q.split()) for q in quoted if q.strip()), key=len, reverse=True):
        text = text.replace(piece, " ")
        if len(piece) > 8:  # the same text cut with an ellipsis (see clip)
            text = re.sub(re.escape(piece[:8]) + r"[^\n…]*…", " ", text)
    text = _DIGEST.sub(" ", _URL.sub(" ", text))
    found = [w for w in INTERNAL_WORDS if w in text]
    found += [w for w in _IDENTIFIER.findall(text) if w not in ALLOWED_ASCII and w not in found]
    found += [m for m in _LISTED_QUOTES.findall(text) if m not in found]  # see quoted_list
    return found


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis where it was cut (never silently)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted_list(words: Iterable[str], marks: str = "“”") -> str:
    """Words each in quotation marks, one after another: “瞒报”“不作为”. Chinese usage sets no
    顿号 between quoted items (GB/T 15834-2011, 4.5.3.5), so none is put in."""
    return "".join(f"{marks[0]}{w}{marks[1]}" for w in words if w)
