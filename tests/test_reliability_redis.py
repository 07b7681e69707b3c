"""The Redis server stopped and restarted mid-run, with its append-only persistence on, while a real
`yuqing worker` process is in the middle of a job and others wait in the queue: the waiting
jobs are still there after the restart, work resumes by itself, and every item is analysed
once, into its own event, with one ticket job each. (Losing Redis's data altogether, where the
database's deadlines are the truth and the sweep re-sends what was owed, is
``tests/test_queue_clocks.py::test_sweep_recovers_reminders_lost_with_redis``.)
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import pytest
from reliability_procs import SqliteWriteLock, job_status, wait_for
from rq import Queue
from sqlalchemy import select

from yuqing.analysis.jobs import hand_on_id
from yuqing.models import Event, Item
from yuqing.tasks.dispatch import enqueue

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("print_stand_in")]  # no PDF is read: Chromium stood in for

# The worker wakes every 5 s (worker_ttl − 15) and runs its maintenance at the next wake-up 2 s
# after the last: the restart of a lost scheduler below is the same code path as with the
# defaults (60 and 60, a wait of up to 90 s), in seconds instead of a minute and a half.
QUICK_MAINTENANCE = {"YUQING_WORKER_TTL": "20", "YUQING_WORKER_MAINTENANCE_INTERVAL": "2"}

POSTS = [
    ("泽州煤矿透水", "泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，救援正在进行。"),
    ("北义城镇厂房起火", "泽州县北义城镇一化工厂房发生火灾，浓烟滚滚，消防正在扑救，2人受伤。"),
    ("高都镇客车侧翻", "泽州县高都镇一辆客车侧翻，造成3人死亡，多人受伤送医。"),
    ("川底乡山体滑坡", "泽州县川底乡发生山体滑坡，掩埋民房两间，1人失联，搜救正在进行。"),
]


def _items(rt) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    with rt.session() as s:
        for n, (title, text) in enumerate(POSTS):
            item = Item(url=f"https://news.example/{n}", url_hash=hashlib.sha256(f"{n}".encode()).hexdigest(),
                        title=title, text=text, tier="local", fetched_at=rt.now(), published_at=rt.now(),
                        content_hash=hashlib.sha256(text.encode()).hexdigest())
            s.add(item)
            s.flush()
            ids.append(item.id)
    return ids


def test_redis_restarted_mid_run_loses_no_job_and_doubles_none(runtime, redis_server, workers, record_property) -> None:  # type: ignore[no-untyped-def]
    ids = _items(runtime)
    worker = workers(runtime, **QUICK_MAINTENANCE)
    lock = SqliteWriteLock(runtime.settings.sqlalchemy_url)  # the first job stops at its first write
    try:
        jobs = [enqueue("analyse", "yuqing.analysis.jobs.analyse_item", i, job_id=f"analyse-{i}") for i in ids]
        wait_for("the first job to start", lambda: job_status(runtime, jobs[0].id) == "started")
        assert Queue("analyse", connection=runtime.redis).count == len(ids) - 1
        redis_server.stop()  # SIGTERM: with appendfsync always, everything acknowledged is on disk
        time.sleep(1)  # an outage long enough for the worker's own Redis calls to fail
        redis_server.start()
        back = time.monotonic()
        assert Queue("analyse", connection=runtime.redis).count == len(ids) - 1, "queued jobs survive"
    finally:
        lock.release()

    def done() -> bool:
        if worker.proc.poll() is not None:  # what the runner's supervisor does for a dead worker
            workers(runtime, **QUICK_MAINTENANCE)
        return all(job_status(runtime, j.id) == "finished" for j in jobs)

    wait_for("every analysis job to finish after the restart", done, timeout=120)
    record_property("recovered_s", round(time.monotonic() - back, 1))
    with runtime.session() as s:
        items = [s.get(Item, i) for i in ids]
        assert all(it.analysed_at is not None and it.event_id is not None for it in items)
        events = s.scalars(select(Event)).all()
        assert len(events) == len(ids) and {e.item_count for e in events} == {1}
    # What analysis hands on is enqueued once per item and runs once: the alerts' job, then
    # (handed on by it, so the monitor hears first) the tickets' job.
    for it in items:
        evaluate = hand_on_id("evaluate", {it.event_id: it.id})
        wait_for(f"the alerts' job for event {it.event_id}",
                 lambda evaluate=evaluate: job_status(runtime, evaluate) == "finished")
        wait_for(f"the ticket job for event {it.event_id}",
                 lambda evaluate=evaluate: job_status(runtime, f"consider-after-{evaluate}") == "finished")
    # Delayed jobs (retry back-offs, deadline reminders) need the worker's scheduler process,
    # which the outage may have killed: the worker's maintenance (at its next wake-up after the
    # maintenance interval, so within about 10 s with QUICK_MAINTENANCE) brings it back.
    later = enqueue("respond", "yuqing.queue.jobs.sweep", job_id="after-restart",
                    at=datetime.now(UTC) + timedelta(seconds=1))
    wait_for("a delayed job to run after the restart", lambda: job_status(runtime, later.id) == "finished",
             timeout=120)
    record_property("delayed_jobs_back_s", round(time.monotonic() - back, 1))
