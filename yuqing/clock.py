"""Clocks. Code takes a clock so tests move time instead of sleeping.

All datetimes are aware and in UTC inside the program; :func:`local` converts for display
in the bureau's time zone (Asia/Shanghai by default).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, overload
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to. For tests and for replaying history."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **kwargs: float) -> datetime:
        with self._lock:
            self._now += timedelta(**kwargs)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)


def utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; naive values are taken to be UTC already (as stored by SQLite)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@overload
def local(value: datetime, tz: str | ZoneInfo = ...) -> datetime: ...
@overload
def local(value: None, tz: str | ZoneInfo = ...) -> None: ...
@overload
def local(value: datetime | None, tz: str | ZoneInfo = ...) -> datetime | None: ...
def local(value: datetime | None, tz: str | ZoneInfo = SHANGHAI) -> datetime | None:
    """Convert a stored UTC datetime to the display zone."""
    if value is None:
        return None
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return utc(value).astimezone(zone)


def fmt(value: datetime | None, tz: str | ZoneInfo) -> str:
    """Format for people: ``2026-11-21 16:05`` in the bureau's zone (``settings.timezone``, which
    every caller passes: a default zone here showed other bureaus Shanghai's time); empty for None."""
    shown = local(value, tz)
    return shown.strftime("%Y-%m-%d %H:%M") if shown else ""


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    """The process-wide clock; jobs call this so a test can swap it with :func:`set_clock`."""
    return _clock


def set_clock(clock: Clock) -> None:
    global _clock
    _clock = clock
