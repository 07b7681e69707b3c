"""Item pipelines: normalise once, then store (the last pipeline) and enqueue analysis.

Storing: a URL already stored (by the hash of its canonical URL) is written again only when
its content hash changed (an edit) or, for sources whose items change, its engagement
changed. Each stored batch of new or changed items enqueues one ``yuqing.analysis.jobs.analyse_items``. Items are
written in small batches, one short transaction each (SQLite is shared by several processes).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy.exceptions import DropItem, NotConfigured
from sqlalchemy import Table, select

from yuqing.models import Item
from yuqing.runtime import get_runtime
from yuqing.store import database_unavailable, insert_ignoring
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

from .normalise import (
    canonical_url,
    clean_line,
    clean_text,
    content_hash,
    parse_engagement,
    parse_time,
    title_from_text,
    url_hash,
)
from .snapshots import SnapshotStore, mark
from .spiders.hotlist import HotEntry

log = logging.getLogger(__name__)

# A batch costs a query for stored hashes, a commit and an enqueue (~65 ms in the crawl's
# profile) besides its items: 200 items or 2 s keeps that under 0.5 ms an item at full speed.
BATCH_SIZE = 200
BATCH_SECONDS = 2.0
# 帖文正文上限: an item's stored text is at most this many characters (about 13 pages of a 公文);
# the rest stays in the page's raw snapshot. One 10 MB JSON post used to take a worker from
# 344 MB to ~3 GB and the next search to 24 s.
MAX_TEXT_CHARS = 20_000
_MAX_RAW_TEXT = MAX_TEXT_CHARS * 8  # markup and spaces around the words: cleaned, then capped
ITEMS: Table = Item.__table__  # type: ignore[assignment]  # a mapped class's table is a Table
# What the crawl writes of a new item (NormalisePipeline's fields), with the column's default.
STORED_FIELDS: dict[str, Any] = {
    "url": "", "url_hash": "", "title": "", "text": "", "author": "", "source_unit": "", "column_name": "",
    "published_at": None, "fetched_at": None, "engagement": {}, "platform": "", "raw_ref": "", "content_hash": "",
}


class NormalisePipeline:
    """Canonical URL, plain text, one-line title/author, UTC publish time, counts, hash."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> NormalisePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        spider = self.crawler.spider
        now = spider.clock()
        if isinstance(item, HotEntry):
            return item  # a hot-list rank, recorded by hotlists.HotlistPipeline
        if item.get("gone"):  # a stored page found deleted (404/410, 内容已删除): a mark, not an item
            url = canonical_url(item.get("url") or "")
            return {"url": url, "url_hash": url_hash(url), "gone": True, "fetched_at": now,
                    "raw": item.get("raw")}
        title = clean_line(item.get("title"))[:1000]
        raw_text = item.get("text")
        if isinstance(raw_text, str) and len(raw_text) > _MAX_RAW_TEXT:
            raw_text = raw_text[:_MAX_RAW_TEXT]
        text = clean_text(raw_text)
        if len(text) > MAX_TEXT_CHARS:
            self.crawler.stats.inc_value("yuqing/text_capped")
            text = text[:MAX_TEXT_CHARS]
        if not title and not text:
            self.crawler.stats.inc_value("yuqing/dropped_empty")
            raise DropItem(f"no title and no text: {item.get('url')}")
        title = title or title_from_text(text)  # posts have none; lists and events need one
        try:
            url = canonical_url(item.get("url") or "")
        except ValueError as exc:  # a hostile or broken link: this item goes, the crawl goes on
            spider.record_error(str(item.get("url"))[:200], str(exc))
            raise DropItem(str(exc)) from None
        if not url.startswith(("http://", "https://")):
            reason = f"条目网址不是 http(s) 地址，已丢弃：{url[:200]}"
            spider.record_error(url[:200], reason)
            raise DropItem(reason)
        return {
            "url": url, "url_hash": url_hash(url), "title": title, "text": text,
            "author": clean_line(item.get("author"))[:200],
            "source_unit": clean_line(item.get("source_unit"))[:200],
            "column_name": clean_line(item.get("column"))[:200],
            "published_at": parse_time(item.get("published"), now),
            "fetched_at": now, "engagement": parse_engagement(item.get("engagement")),
            "platform": clean_line(item.get("platform"))[:50], "raw_ref": str(item.get("raw_ref") or url),
            "content_hash": content_hash(title, text), "raw": item.get("raw"),
        }


class StorePipeline:
    """Write items to the store and enqueue analysis for new and changed ones."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.rt = get_runtime()
        self.buffer: dict[str, dict[str, Any]] = {}
        self.last_flush = time.monotonic()
        self.batch_size = crawler.settings.getint("YUQING_STORE_BATCH", BATCH_SIZE)
        self.snapshots = SnapshotStore(self.rt)
        self.told_full = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        if not crawler.settings.getbool("YUQING_STORE", True):
            raise NotConfigured("store disabled")
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, HotEntry):
            return item
        self.buffer[item["url_hash"]] = item  # the same URL twice in one batch: last wins
        if len(self.buffer) >= self.batch_size or time.monotonic() - self.last_flush >= BATCH_SECONDS:
            self.flush()
        return item

    def close_spider(self) -> None:
        self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.buffer:
            return
        batch, self.buffer = list(self.buffer.values()), {}
        new, changed, lost = self._store(batch)
        stats = self.crawler.stats
        if self.snapshots.full and not self.told_full:
            self.told_full = True
            stats.set_value("yuqing/snapshots_full", True)
            self.crawler.spider.record_warning(batch[0]["url"], "原文快照存储已满（snapshot_max_mb），"
                                                                "采集照常进行，但不再保存新的快照")
        stats.inc_value("yuqing/items_new", len(new))
        stats.inc_value("yuqing/items_updated", len(changed))
        stats.inc_value("yuqing/items_unchanged", len(batch) - len(new) - len(changed) - len(lost))
        if lost:  # the run is judged with them: the feed's cache is not advanced (health.judge)
            stats.inc_value("yuqing/items_not_stored", len(lost))
        try:
            _enqueue_analysis(new + changed)
        except Exception as exc:  # noqa: BLE001 - stored: the periodic sweep enqueues them later
            # Not the source's fault and nothing lost (yuqing.crawlers.jobs.enqueue_unanalysed):
            # counted so that `yuqing crawl` can say analysis waits for the workers.
            stats.inc_value("yuqing/analysis_deferred", len(new) + len(changed))
            log.warning("analysis not enqueued for %d items (%s: %s); the sweep will",
                        len(new) + len(changed), type(exc).__name__, exc)

    def _store(self, batch: list[dict[str, Any]]) -> tuple[list[int], list[int], list[dict[str, Any]]]:
        """``(new ids, changed ids, items not stored)``. A batch the store refuses is tried an
        item at a time, so one bad row costs only itself; with the database away, nothing
        can be stored and the batch waits for the next run (recorded against the source)."""
        spider = self.crawler.spider
        try:
            return (*store_items(self.rt, spider.source, batch, self.snapshots), [])
        except Exception as exc:  # noqa: BLE001 - recorded against the source, the crawl goes on
            if len(batch) == 1 or database_unavailable(exc):
                log.exception("storing %d items failed", len(batch))
                spider.record_error(batch[0]["url"], f"入库失败（{len(batch)} 条，下次采集重试）："
                                                     f"{type(exc).__name__}: {str(exc)[:300]}")
                return [], [], batch
        new: list[int] = []
        changed: list[int] = []
        lost: list[dict[str, Any]] = []
        for data in batch:
            try:
                one_new, one_changed = store_items(self.rt, spider.source, [data], self.snapshots)
            except Exception as exc:  # noqa: BLE001 - this item only, named by its URL
                log.exception("storing %s failed", data.get("url"))
                spider.record_error(str(data.get("url"))[:200], f"条目入库失败，已跳过：{type(exc).__name__}: "
                                                                f"{str(exc)[:300]}")
                lost.append(data)
                continue
            new += one_new
            changed += one_changed
        return new, changed, lost


def store_items(rt: Any, source: dict[str, Any], batch: list[dict[str, Any]],
                snapshots: SnapshotStore | None = None) -> tuple[list[int], list[int]]:
    """Insert new items, update edited ones, mark deleted ones, keep their snapshots;
    return (new ids, changed ids).

    New items (nearly all of a crawl) go in one INSERT … ON CONFLICT (url_hash) DO NOTHING …
    RETURNING and their snapshots in one more; an ORM ``Item`` per row was the largest part of
    the crawl's own per-page cost (bench/bench_crawl.py). Stored ones are read as ORM rows:
    they are few (the spider skips known URLs) and each may need a 已修改 / 已删除 mark."""
    item_changes = bool((source.get("settings") or {}).get("item_changes"))
    with rt.session() as s:
        existing = _stored(s, [i["url_hash"] for i in batch])
        # Once each: a listing linking one article twice brings its URL twice in a batch.
        fresh = list({d["url_hash"]: d for d in reversed(batch)
                      if not d.get("gone") and d["url_hash"] not in existing}.values())[::-1]
        inserted = _insert_new(s, source, fresh)
        if len(inserted) < len(fresh):  # stored meanwhile by another crawl of the same URL
            existing.update(_stored(s, [d["url_hash"] for d in fresh if d["url_hash"] not in inserted]))
        changed: list[int] = []
        kept: list[tuple[Item, Any]] = []
        for data in batch:
            old = existing.get(data["url_hash"])
            if old is None or data["url_hash"] in inserted:
                continue
            if data.get("gone"):
                mark(s, old, "deleted", data["fetched_at"], {"url": data["url"]})
                kept.append((old, data.get("raw")))
            # Another source carrying the same URL (two feeds, one with a summary) is not an edit
            # of the page: taken as one, each crawl of either marked it 已修改 again.
            elif old.source_id in (None, source["id"]) and _apply_change(s, old, data, item_changes):
                changed.append(old.id)
                kept.append((old, data.get("raw")))
        if snapshots is not None:
            snapshots.keep_new(s, [(inserted[d["url_hash"]], d["raw"], d["fetched_at"])
                                   for d in fresh if d.get("raw") and d["url_hash"] in inserted])
            s.flush()
            for row, raw in kept:
                if raw:
                    snapshots.keep(s, row.id, raw, row.updated_at or row.fetched_at)
    return [inserted[d["url_hash"]] for d in fresh if d["url_hash"] in inserted], changed


def _stored(s: Any, hashes: list[str]) -> dict[str, Any]:
    if not hashes:
        return {}
    return {it.url_hash: it for it in s.scalars(select(Item).where(Item.url_hash.in_(hashes)))}


def _insert_new(s: Any, source: dict[str, Any], fresh: list[dict[str, Any]]) -> dict[str, int]:
    """``url_hash -> id`` of the rows this statement inserted (not those stored meanwhile)."""
    if not fresh:
        return {}
    tier = source.get("tier") or "local"
    rows = [{"source_id": source["id"], "tier": tier, **{f: d.get(f, default) for f, default in STORED_FIELDS.items()}}
            for d in fresh]
    stmt = insert_ignoring(s, ITEMS, ["url_hash"]).returning(ITEMS.c.id, ITEMS.c.url_hash)
    return {row.url_hash: row.id for row in s.connection().execute(stmt, rows)}


def _apply_change(s: Any, old: Any, data: dict[str, Any], item_changes: bool) -> bool:
    edited = old.content_hash != data["content_hash"]
    engaged = item_changes and data["engagement"] and old.engagement != data["engagement"]
    if not (edited or engaged):
        return False
    if edited:
        mark(s, old, "modified", data["fetched_at"], {"title_before": old.title[:200],
                                                      "content_hash_before": old.content_hash})
        old.title, old.text, old.content_hash = data["title"], data["text"], data["content_hash"]
        old.author = data["author"] or old.author
        old.source_unit = data.get("source_unit") or old.source_unit
        old.column_name = data.get("column_name") or old.column_name
        old.published_at = old.published_at or data["published_at"]
    if data["engagement"]:
        old.engagement = data["engagement"]
    old.updated_at = data["fetched_at"]
    old.raw_ref = data["raw_ref"]
    return True


def _enqueue_analysis(item_ids: list[int]) -> None:
    """One analysis job per stored batch: ``analyse_items`` scores the batch at once and takes the
    grouping lock once, which is what keeps analysis up with volume (bench/bench_load.py)."""
    if not item_ids:
        return
    ids = sorted(item_ids)
    enqueue("analyse", registry.ANALYSE_ITEMS, ids, job_id=f"analyse-{ids[0]}-{ids[-1]}-{len(ids)}")
