"""A source is polled every interval, not every interval plus a scheduler tick: the next run
counts from when the run was due, since a crawl starts a tick (and some queueing) after that."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from yuqing.crawlers.health import judge, record_run
from yuqing.crawlers.sources import upsert_sources
from yuqing.models import Source
from yuqing.runtime import Runtime


def _source(rt: Runtime) -> Source:
    with rt.session() as s:
        return s.scalars(select(Source).where(Source.key == "every-minute")).one()


def test_next_run_counts_from_when_the_run_was_due(runtime: Runtime) -> None:
    upsert_sources(runtime, [{"key": "every-minute", "name": "每分钟", "kind": "feed", "tier": "local",
                              "urls": ["http://127.0.0.1:9/feed.xml"], "interval_minutes": 1}])
    due = _source(runtime).next_run_at
    ok = judge({"ok": True, "stats": {"yuqing/found": 1, "yuqing/items_new": 1}})
    started = due + timedelta(seconds=16)  # the next scheduler tick, then the worker picked it up
    record_run(runtime, _source(runtime).id, ok, started, started + timedelta(seconds=3))
    assert _source(runtime).next_run_at == due + timedelta(minutes=1)
    # a run that comes long after it was due (workers busy, Redis down): no burst of catch-up runs
    late = due + timedelta(minutes=1, hours=2)
    record_run(runtime, _source(runtime).id, ok, late, late + timedelta(seconds=3))
    assert _source(runtime).next_run_at == late + timedelta(minutes=1)
