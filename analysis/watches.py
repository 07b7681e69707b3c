"""临时关注 (temporary watches) that analysis applies to every item it scores.

A policy assessed before its release (yuqing/foresight) is watched from its planned date for its
``watch_days``: its key words and places mark every item about it with the watch words, a reason
and ``flags["foresight"]``. The assessments are rows in the store; this module reads the active
ones and applies them, so analysis needs nothing from the foresight subsystem, which builds on
analysis (its tokens, places and scores) and reviews the watch when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.clock import fmt, utc
from yuqing.models import Assessment, AssessmentState

MIN_WORDS = 2  # an item names at least this many watch words, or one and a watch place


@dataclass(frozen=True)
class Watch:
    assessment_id: int
    title: str
    words: tuple[str, ...]
    places: tuple[str, ...]  # place names
    ends_at: datetime


def active_watches(s: Session, now: datetime) -> list[Watch]:
    rows = s.scalars(select(Assessment).where(Assessment.watch_starts_at <= now, Assessment.watch_ends_at > now,
                                              Assessment.state != AssessmentState.REVIEWED))
    return [Watch(a.id, a.title, tuple(a.watch_words or ()), tuple(p["name"] for p in a.watch_places or ()),
                  utc(cast(datetime, a.watch_ends_at))) for a in rows if a.watch_words]  # selected by its end


def matched_words(watch: Watch, text: str) -> list[str]:
    """The watch words an item names, if it is about the policy (else none)."""
    words = [w for w in watch.words if w in text]
    if len(words) >= MIN_WORDS or (words and any(p in text for p in watch.places)) or watch.title in text:
        return words or [watch.title]
    return []


def apply_watches(results: list[dict[str, Any]], texts: list[str], watches: list[Watch], tz: str) -> None:
    """Add the active watches to analysis's results, in place (watch words, a reason, the flag)."""
    for result, text in zip(results, texts, strict=True):
        for watch in watches:
            words = matched_words(watch, text)
            if not words:
                continue
            result["watch_words"] = list(dict.fromkeys([*result.get("watch_words", []), *words]))
            result["reasons"] = [*result.get("reasons", []),
                                 f"临时关注（《{watch.title}》出台后，至 {fmt(watch.ends_at, tz)}）：{'、'.join(words)}"]
            flags = dict(result.get("flags") or {})
            flags["foresight"] = sorted({*flags.get("foresight", []), watch.assessment_id})
            result["flags"] = flags
