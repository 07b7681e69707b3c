"""静默 (silences): the monitor mutes an event, or every event matching some matchers, for a time.

Silences are records (start, end, author, reason), not configuration, and expire by
themselves: nothing needs to remove them. Matchers are Alertmanager-style: every key given
must match, and a key matches when any of its values does. Keys:
``level`` (一般…特别重大), ``category``, ``topic`` (remit topic key), ``place`` (place name or
code), ``keyword`` (a word in the event's title or keywords).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yuqing.levels import Level
from yuqing.models import Event, Silence

from .exceptions import SilenceError

MATCHER_KEYS = ("level", "category", "topic", "place", "keyword")


def validate_matchers(matchers: dict[str, Any] | None) -> dict[str, list[str]]:
    """Normalise ``{key: value or [values]}``; raise SilenceError naming a bad key or level."""
    out: dict[str, list[str]] = {}
    for key, values in (matchers or {}).items():
        if key not in MATCHER_KEYS:
            raise SilenceError(f"静默条件 {key!r} 未知，应为 {'、'.join(MATCHER_KEYS)}")
        values = [values] if isinstance(values, str) else list(values)
        values = [str(v).strip() for v in values if str(v).strip()]
        if not values:
            raise SilenceError(f"静默条件 {key} 没有给出取值")
        if key == "level":
            try:
                values = [Level.parse(v).value for v in values]
            except ValueError as exc:
                raise SilenceError(f"静默条件 level: {exc}") from None
        out[key] = values
    return out


def _place_names(event: Event) -> set[str]:
    names: set[str] = set()
    for place in event.places or []:
        if isinstance(place, dict):
            names |= {str(v) for k, v in place.items() if k in ("name", "code", "full_name")}
        else:
            names.add(str(place))
    return names


def matches(silence: Silence, event: Event) -> bool:
    if silence.event_id is not None:
        return silence.event_id == event.id
    matchers = silence.matchers or {}
    if not matchers:
        return False  # an empty matcher would mute everything: never
    for key, values in matchers.items():
        if key == "level" and event.level not in values:
            return False
        if key == "category" and not set(values) & set(event.categories or []):
            return False
        if key == "topic" and not set(values) & set(event.topics or []):
            return False
        if key == "place" and not any(v in name for v in values for name in _place_names(event)):
            return False
        if key == "keyword" and not any(v in event.title or v in (event.keywords or []) for v in values):
            return False
    return True


def active(session: Session, now: datetime, event: Event | None = None) -> list[Silence]:
    query = select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)
    if event is not None:
        query = query.where(or_(Silence.event_id.is_(None), Silence.event_id == event.id))
    return list(session.scalars(query.order_by(Silence.ends_at.desc())))


def silencing(session: Session, event: Event, now: datetime) -> Silence | None:
    """The active silence muting this event, if any (the one lasting longest)."""
    return next((s for s in active(session, now, event) if matches(s, event)), None)
