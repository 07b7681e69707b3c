"""Hot-list ranks over time (热榜名次) and their signals on events.

Each poll of a ``hotlist`` source records every entry's rank (``hotlist_ranks``); an entry
keeps its row (``hotlist_entries``) from its first sighting, with its rank now (None once it
has left the list). An entry whose title names one of an active event's places and one of its
keywords (or its title) is that event's; its moves become :class:`~yuqing.models.CrawlSignal`
rows on the event: ``hot_new`` (entered the list), ``hot_rising`` / ``hot_falling`` (moved
:data:`RANK_MOVE` or more places since the last poll), ``hot_gone`` (left it). An event that
entered a list or rose on it is evaluated again by the alert rules (entering a list is a
spread signal, ``alerts.hotlist_rank`` in the profile).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from scrapy.exceptions import NotConfigured
from sqlalchemy import select

from yuqing.models import CrawlSignal, Event, EventStatus, HotlistEntry, HotlistRank
from yuqing.runtime import get_runtime
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue_many

from .spiders.hotlist import HotEntry

log = logging.getLogger(__name__)

RANK_MOVE = 5  # places up or down between two polls that make a RISING / FALLING signal
EVENT_WINDOW = timedelta(days=3)  # events seen this recently are matched against the list
SIGNAL = {"new": "hot_new", "rising": "hot_rising", "falling": "hot_falling", "gone": "hot_gone"}


def entry_key(title: str) -> str:
    return hashlib.sha256("".join(title.split()).lower().encode("utf-8")).hexdigest()


def _event_words(event: Any) -> tuple[list[str], list[str]]:
    places = [p.get("name", "") if isinstance(p, dict) else str(p) for p in event.places or []]
    words = [str(w) for w in event.keywords or []]
    return [p for p in places if len(p) >= 2], [w for w in words if len(w) >= 2]


def match_event(title: str, events: list[Any]) -> Any | None:
    """The event an entry is about: its title names one of the event's places and one of its
    keywords (an event without keywords: its title words are not enough, so no match)."""
    for event in events:
        places, words = _event_words(event)
        if any(p in title for p in places) and any(w in title for w in words):
            return event
    return None


def record_poll(rt: Any, source_id: int, entries: list[dict[str, Any]],
                now: datetime) -> tuple[dict[str, int], list[int]]:
    """Record one poll of a list: ranks, entries that left it, signals on matching events.
    Returns the counts and the events that entered the list or rose on it (spreading)."""
    counts = {"entries": len(entries), "new": 0, "rising": 0, "falling": 0, "gone": 0, "signals": 0}
    with rt.session() as s:
        events = list(s.scalars(select(Event).where(Event.status == EventStatus.ACTIVE,
                                                    Event.last_seen_at >= now - EVENT_WINDOW)
                                .order_by(Event.last_seen_at.desc()).limit(500)))
        by_id = {e.id: e for e in events}
        rows = {row.entry_key: row for row in s.scalars(select(HotlistEntry).where(HotlistEntry.source_id == source_id))}
        moves: list[tuple[str, Any, int | None, int | None]] = []
        spreading: set[int] = set()
        seen = set()
        for entry in entries:
            key = entry_key(entry["title"])
            if key in seen:
                continue
            seen.add(key)
            row = rows.get(key)
            if row is None:
                row = HotlistEntry(source_id=source_id, entry_key=key, title=entry["title"], url=entry["url"] or "",
                                   first_seen_at=now, last_seen_at=now, rank=None, best_rank=entry["rank"])
                s.add(row)
            previous = row.rank
            move = "new" if previous is None else ("rising" if previous - entry["rank"] >= RANK_MOVE else
                                                   "falling" if entry["rank"] - previous >= RANK_MOVE else "")
            row.rank, row.heat, row.last_seen_at, row.gone_at = entry["rank"], entry["heat"], now, None
            row.best_rank = min(row.best_rank, entry["rank"])
            row.url = entry["url"] or row.url
            s.flush()
            s.add(HotlistRank(entry_id=row.id, at=now, rank=entry["rank"], heat=entry["heat"]))
            if move:
                moves.append((move, row, previous, entry["rank"]))
        for key, row in rows.items():
            if key not in seen and row.rank is not None:
                moves.append(("gone", row, row.rank, None))
                row.rank, row.gone_at = None, now
        for move, row, previous, rank in moves:
            counts[move] += 1
            event = by_id.get(row.event_id) if row.event_id else match_event(row.title, events)
            if event is None:
                continue
            row.event_id = event.id
            s.add(CrawlSignal(kind=SIGNAL[move], at=now, source_id=source_id, event_id=event.id, rank=rank,
                              detail={"title": row.title, "previous_rank": previous, "heat": row.heat,
                                      "best_rank": row.best_rank}))
            counts["signals"] += 1
            if move in ("new", "rising"):
                spreading.add(event.id)
    return counts, sorted(spreading)


class HotlistPipeline:
    """Collects a poll's entries and records them at the end (GONE needs the whole list);
    a poll with an error records nothing (a changed format must not read as every entry gone)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.entries: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> HotlistPipeline:
        if not crawler.settings.getbool("YUQING_STORE", True):
            raise NotConfigured("store disabled")
        if getattr(crawler.spidercls, "kind", "hotlist") != "hotlist":
            raise NotConfigured  # only hot lists yield ranks; no message: it would log for every crawl
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, HotEntry):
            self.entries.append(dict(item))
        return item

    def close_spider(self) -> None:
        spider = self.crawler.spider
        stats = self.crawler.stats
        if not self.entries or stats.get_value("yuqing/errors_count"):
            return

        counts, spreading = record_poll(get_runtime(), spider.source["id"], self.entries, spider.clock())
        stats.set_value("yuqing/hotlist", counts)
        try:  # the alert rules read the ranks stored above
            enqueue_many("notify", registry.EVALUATE_EVENT,
                         [((e,), f"evaluate-{e}-hot-{spider.source['id']}-{int(spider.clock().timestamp())}")
                          for e in spreading])
        except Exception as exc:  # noqa: BLE001 - stored; the event's next item evaluates it again
            log.warning("alert evaluation not enqueued for events %s (%s: %s)", spreading, type(exc).__name__, exc)
        stats.inc_value("yuqing/items_new", counts["new"])
