"""伤亡人数 (casualty counts) parsed from Chinese text, graded by the national thresholds.

生产安全事故报告和调查处理条例 第三条: 特别重大 ≥30 deaths or ≥100 seriously injured;
重大 10–29 deaths or 50–99; 较大 3–9 deaths or 10–49; 一般 below. Missing people (失联/失踪)
are counted with the dead, as accident statistics do (死亡（含失踪）).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yuqing.levels import Level

_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
          "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000}
NUM = r"(?:\d+|[零〇一二两三四五六七八九十百千]+|数十|数百|十几|几十)"
_APPROX = r"(?:余|多|来)?"

_INJURED = r"(?:受伤|受重伤|重伤|轻伤|伤)"
_MISSING = r"(?:失联|失踪)"
_TRAPPED = r"(?:被困)"

_WORDS = {"deaths": r"(?:死亡|遇难|身亡|罹难|丧生|殒命|死|亡)", "injured": _INJURED, "missing": _MISSING,
          "trapped": _TRAPPED}
# Every pattern of a kind needs its word: a text without it skips the kind's five scans, which
# most texts do (parsing was a tenth of analysis in the load benchmark before this).
_MENTIONED = {kind: re.compile(word) for kind, word in _WORDS.items()}
_PATTERNS = {
    kind: [
        re.compile(rf"({NUM}){_APPROX}(?:名|人|位)[\u4e00-\u9fa5]{{0,4}}?{word}"),   # 3人死亡, 8名矿工被困
        re.compile(rf"{word}(?:人数|者)?(?:已|升至|增至|达到?|为)?\s*({NUM}){_APPROX}(?:名|人|位)(?![\u4e00-\u9fa5]{{0,4}}?(?:失联|失踪|受伤|重伤|被困|死亡|遇难))"),  # 死亡12人, 死亡人数升至12人
        re.compile(rf"致({NUM}){_APPROX}(?:人)?{word}"),  # 致6人亡, 致2死
        re.compile(rf"{word}了({NUM}){_APPROX}(?:个|名|人)"),  # 死了3个
        re.compile(rf"({NUM}){word}(?=\d|[一二两三四五六七八九十]|[伤死，,。；、 ]|$)"),  # 2死2伤
    ]
    for kind, word in _WORDS.items()
}


def cn_number(text: str) -> int:
    """'12' → 12, '十二' → 12, '二十三' → 23, '两' → 2, '数十' → 10 (a lower bound)."""
    if text.isdigit():
        return int(text)
    if text in ("数十", "几十", "十几"):
        return 10
    if text == "数百":
        return 100
    total, current = 0, 0
    for ch in text:
        if ch in _DIGIT:
            current = _DIGIT[ch]
        elif ch in _UNIT:
            total += (current or 1) * _UNIT[ch]
            current = 0
    return total + current


@dataclass
class Casualties:
    deaths: int = 0
    injured: int = 0
    missing: int = 0
    trapped: int = 0

    @property
    def any(self) -> bool:
        return bool(self.deaths or self.injured or self.missing or self.trapped)

    @property
    def level(self) -> Level:
        return grade(self.deaths + self.missing, self.injured)

    def describe(self) -> str:
        parts = [f"{label} {n} 人" for label, n in (("死亡", self.deaths), ("受伤", self.injured),
                                                   ("失联", self.missing), ("被困", self.trapped)) if n]
        return "伤亡：" + "，".join(parts)


def grade(deaths: int, injured: int) -> Level:
    """National accident grade from deaths (incl. missing) and seriously injured."""
    if deaths >= 30 or injured >= 100:
        return Level.GRAVE
    if deaths >= 10 or injured >= 50:
        return Level.MAJOR
    if deaths >= 3 or injured >= 10:
        return Level.LARGER
    return Level.GENERAL


def parse(text: str) -> Casualties:
    """The largest count found for each kind (reports update: 死亡人数升至12人)."""
    found = Casualties()
    for kind, patterns in _PATTERNS.items():
        best = 0
        if not _MENTIONED[kind].search(text):
            continue
        for pattern in patterns:
            for match in pattern.finditer(text):
                value = cn_number(next(g for g in match.groups() if g))
                if value < 100000:  # a year or an amount is not a head count
                    best = max(best, value)
        setattr(found, kind, best)
    return found
