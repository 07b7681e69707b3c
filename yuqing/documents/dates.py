"""Chinese dates for documents: 2026年12月1日, 2026年12月1日 14时05分 (no leading zeros on the
date; minutes keep two digits, as 公文 write times)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from yuqing.clock import SHANGHAI, local


def cn_date(value: datetime | None, tz: str | ZoneInfo = SHANGHAI) -> str:
    """``2026年12月1日`` in the display zone; empty for None."""
    shown = local(value, tz)
    return f"{shown.year}年{shown.month}月{shown.day}日" if shown else ""


def cn_time(value: datetime | None, tz: str | ZoneInfo = SHANGHAI) -> str:
    """``14时05分``; empty for None."""
    shown = local(value, tz)
    return f"{shown.hour}时{shown.minute:02d}分" if shown else ""


def cn_datetime(value: datetime | None, tz: str | ZoneInfo = SHANGHAI) -> str:
    """``2026年12月1日 14时05分``; empty for None."""
    return f"{cn_date(value, tz)} {cn_time(value, tz)}" if value else ""


def cn_short(value: datetime | None, tz: str | ZoneInfo = SHANGHAI) -> str:
    """``12月1日14时05分``: inside a sentence, where the year is plain from context."""
    shown = local(value, tz)
    return f"{shown.month}月{shown.day}日{shown.hour}时{shown.minute:02d}分" if shown else ""


def clock_time(value: datetime | None, tz: str | ZoneInfo = SHANGHAI) -> str:
    """``14:14``: the time inside a figures progression (3 人死亡（14:14 山西日报）)."""
    shown = local(value, tz)
    return f"{shown.hour}:{shown.minute:02d}" if shown else ""


def cn_hours(hours: float) -> str:
    """``5 小时`` / ``1.5 小时`` / ``40 分钟``: a duration in words."""
    if hours < 1:
        return f"{round(hours * 60)} 分钟"
    return f"{hours:.1f}".rstrip("0").rstrip(".") + " 小时"
