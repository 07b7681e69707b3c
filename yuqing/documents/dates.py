"""Chinese dates for documents: 2026年12月1日, 2026年12月1日 14时05分 (no leading zeros on the
date; minutes keep two digits, as 公文 write times)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
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


def cn_short_span(start: datetime, end: datetime, tz: str | ZoneInfo = SHANGHAI) -> str:
    """``12月1日8时30分至16时16分``: a span inside one day names its day once;
    ``12月1日8时30分至12月2日8时30分`` across days."""
    same_day = cn_date(start, tz) == cn_date(end, tz)
    tail = cn_time(end, tz) if same_day else cn_short(end, tz)
    return f"{cn_short(start, tz)}至{tail}"


def clock_time(value: datetime | None, tz: str | ZoneInfo = SHANGHAI) -> str:
    """``14:14``: the time inside a figures progression (3 人死亡（14:14 山西日报）)."""
    shown = local(value, tz)
    return f"{shown.hour}:{shown.minute:02d}" if shown else ""


def spoken(delta: timedelta | float | None) -> str:
    """A duration in words, the one wording of every document, mail and page: ``4 小时`` (never
    "4 小时 0 分"), ``40 分钟`` (never "40 分", which reads as a score), ``1 小时 5 分钟``,
    ``1 天 15 小时`` (minutes dropped past a day), ``不足 1 分钟``, to the nearest minute; a negative one is overdue
    (``超时 2 小时``). A float is seconds. dashboards/static/app.js ticks the pages' clocks with
    the same rules (``span``)."""
    if delta is None:
        return ""
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
    sign = "超时 " if seconds < 0 else ""
    days, rest = divmod(round(abs(seconds) / 60) * 60, 86400)  # to the nearest minute
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        parts = [f"{days} 天", f"{hours} 小时" if hours else ""]
    else:
        parts = [f"{hours} 小时" if hours else "", f"{minutes} 分钟" if minutes else ""]
    text = " ".join(p for p in parts if p) or "不足 1 分钟"
    return sign + text


def cn_hours(hours: float) -> str:
    """``5 小时`` / ``1 小时 30 分钟`` / ``40 分钟``: a count of hours in words (see :func:`spoken`)."""
    return spoken(timedelta(hours=hours))


class ClockState(StrEnum):
    """Where a 回应时限 stands, for the words a document says of it (:func:`clock_words`)."""

    MET = "met"            # completed within its time
    LATE = "late"          # completed after its due time
    OVERDUE = "overdue"    # past its due time, not completed
    RUNNING = "running"    # not yet due, not completed
    CANCELLED = "cancelled"


def clock_state(due_at: datetime, met_at: datetime | None, now: datetime,
                cancelled_at: datetime | None = None) -> ClockState:
    if cancelled_at is not None:
        return ClockState.CANCELLED
    if met_at is not None:
        return ClockState.MET if met_at <= due_at else ClockState.LATE
    return ClockState.OVERDUE if due_at <= now else ClockState.RUNNING


def met_words(due_at: datetime, met_at: datetime) -> str:
    """How a completed clock stood, in the words of every document and page: ``完成（时限内）``
    or ``未按时完成（超时 1 小时 5 分钟）``. :func:`clock_words` says it with the time
    (已于12月1日14时05分完成（时限内）); the console's pages beside their own time column."""
    if met_at <= due_at:
        return "完成（时限内）"
    return f"未按时完成（超时 {spoken(met_at - due_at)}）"


def clock_words(due_at: datetime, met_at: datetime | None, now: datetime, tz: str | ZoneInfo = SHANGHAI, *,
                cancelled_at: datetime | None = None, overdue_for: bool = False) -> str:
    """How every document (专报/续报/终报, post-event report, 日报) tells a clock, as 公文 Chinese:
    ``已于12月1日14时05分完成（时限内）``, ``未按时完成（超时 2 小时 5 分钟）``, ``已超时，尚未完成``
    (``已超时 5 小时 30 分钟，尚未完成`` with ``overdue_for``, in a digest read at the moment it is
    sent; a filed report says no amount that goes on growing), ``尚在时限内（剩余 3 小时）``, ``已取消``."""
    state = clock_state(due_at, met_at, now, cancelled_at)
    if state is ClockState.MET:
        assert met_at is not None
        return f"已于{cn_short(met_at, tz)}{met_words(due_at, met_at)}"
    if state is ClockState.LATE:
        assert met_at is not None
        return met_words(due_at, met_at)
    if state is ClockState.OVERDUE:
        return f"已超时 {spoken(now - due_at)}，尚未完成" if overdue_for else "已超时，尚未完成"
    if state is ClockState.RUNNING:
        return f"尚在时限内（剩余 {spoken(due_at - now)}）"
    return "已取消"
