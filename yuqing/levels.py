"""Severity levels (等级) and source tiers, shared by every stage."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """舆情/突发事件等级: 一般 (IV, blue) < 较大 (III, yellow) < 重大 (II, orange) < 特别重大 (I, red)."""

    GENERAL = "一般"
    LARGER = "较大"
    MAJOR = "重大"
    GRAVE = "特别重大"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def colour(self) -> str:
        return _COLOUR[self]

    @property
    def is_major(self) -> bool:
        """重大 and 特别重大: the 5-hour and 24-hour clocks apply (国办发〔2016〕80号, 61号)."""
        return self.rank >= 2

    @classmethod
    def parse(cls, value: str | Level) -> Level:
        if isinstance(value, Level):
            return value
        try:
            return cls(value)
        except ValueError:
            aliases = {"general": cls.GENERAL, "major_3": cls.LARGER, "major_2": cls.MAJOR,
                       "major_1": cls.GRAVE, "IV": cls.GENERAL, "III": cls.LARGER,
                       "II": cls.MAJOR, "I": cls.GRAVE}
            if value in aliases:
                return aliases[value]
            raise ValueError(f"未知等级 {value!r}，应为 一般、较大、重大 或 特别重大") from None

    def __ge__(self, other: object) -> bool:
        return self.rank >= Level.parse(other).rank  # type: ignore[arg-type]

    def __gt__(self, other: object) -> bool:
        return self.rank > Level.parse(other).rank  # type: ignore[arg-type]

    def __le__(self, other: object) -> bool:
        return self.rank <= Level.parse(other).rank  # type: ignore[arg-type]

    def __lt__(self, other: object) -> bool:
        return self.rank < Level.parse(other).rank  # type: ignore[arg-type]


_RANK = {Level.GENERAL: 0, Level.LARGER: 1, Level.MAJOR: 2, Level.GRAVE: 3}
_COLOUR = {Level.GENERAL: "blue", Level.LARGER: "yellow", Level.MAJOR: "orange", Level.GRAVE: "red"}


def max_level(*levels: str | Level | None) -> Level:
    present = [Level.parse(x) for x in levels if x]
    return max(present, key=lambda x: x.rank) if present else Level.GENERAL


class Tier(StrEnum):
    """信源层级 (authority tier)."""

    CENTRAL = "central"          # 中央媒体
    PROVINCIAL = "provincial"    # 省级媒体
    LOCAL = "local"              # 地方媒体
    GOVERNMENT = "government"    # 政府网站
    SOCIAL = "social"            # 社交媒体账号
    FORUM = "forum"              # 论坛/留言板

    @property
    def label(self) -> str:
        return {"central": "中央媒体", "provincial": "省级媒体", "local": "地方媒体",
                "government": "政府网站", "social": "社交媒体", "forum": "论坛/留言板"}[self.value]


class Category(StrEnum):
    """国办发〔2016〕61号 §2 (and 80号) categories of 政务舆情 that need a response."""

    POLICY = "policy_misreading"          # 重大政策误读
    VITAL_INTERESTS = "vital_interests"   # 涉及群众切身利益
    MORAL = "moral_bottom_line"           # 冲击道德底线
    EMERGENCY = "emergency"               # 突发事件、自然灾害
    FALSE_INFO = "false_information"      # 不实信息
    IMAGE = "image_credibility"           # 损害政府形象和公信力

    @property
    def label(self) -> str:
        return {"policy_misreading": "重大政策误读", "vital_interests": "群众切身利益",
                "moral_bottom_line": "冲击道德底线", "emergency": "突发事件/自然灾害",
                "false_information": "不实信息", "image_credibility": "政府形象与公信力"}[self.value]
