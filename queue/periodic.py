"""Periodic work, registered in one place, driven by exactly one scheduler (rq's cron).

RQ's cron scheduler has no lock of its own; :func:`run_scheduler` takes one in Redis so
a second scheduler refuses to start instead of doubling every periodic job.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from rq.cron import CronScheduler
from rq.utils import import_attribute

from yuqing.runtime import get_runtime

log = logging.getLogger(__name__)

LOCK_KEY = "yuqing:scheduler:lock"
LOCK_TTL = 30


def periodic_jobs(tick: int, sweep: int) -> list[tuple[str, str, int]]:
    """(queue, job path, interval seconds) for every recurring job."""
    return [
        ("crawl", "yuqing.crawlers.jobs.enqueue_due_sources", tick),
        ("respond", "yuqing.queue.sweep.sweep", sweep),
        ("notify", "yuqing.alerts.jobs.sweep_alerts", sweep),
        ("notify", "yuqing.alerts.jobs.send_due_digests", sweep),
        ("analyse", "yuqing.analysis.jobs.mark_quiet_events", 5 * sweep),
        ("analyse", "yuqing.dashboards.search.index_new_items", sweep),
    ]


class SchedulerAlreadyRunning(RuntimeError):
    pass


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def run_scheduler() -> None:
    # Until rq's scheduler installs its own handlers, a SIGTERM must still run our finally.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    rt = get_runtime()
    redis = rt.get_redis()
    me = f"{socket.gethostname()}:{os.getpid()}"
    if not redis.set(LOCK_KEY, me, nx=True, ex=LOCK_TTL):
        holder = redis.get(LOCK_KEY)
        raise SchedulerAlreadyRunning(f"调度器已在运行（{holder.decode() if holder else '?'}），只能运行一个")
    stop = threading.Event()

    def keep_lock() -> None:
        while not stop.wait(LOCK_TTL / 3):
            redis.set(LOCK_KEY, me, ex=LOCK_TTL)

    keeper = threading.Thread(target=keep_lock, daemon=True, name="scheduler-lock")
    keeper.start()
    try:
        cron = CronScheduler(connection=redis, logging_level=rt.settings.log_level)
        for queue, func, interval in periodic_jobs(rt.settings.scheduler_tick, rt.settings.sweep_interval):
            cron.register(import_attribute(func), queue_name=queue, interval=interval, job_timeout=600)
        cron.start()
    finally:
        stop.set()
        keeper.join()
        if redis.get(LOCK_KEY) == me.encode():
            redis.delete(LOCK_KEY)
