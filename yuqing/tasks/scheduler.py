"""Periodic work, registered in one place, driven by exactly one scheduler (rq's cron).

RQ's cron scheduler has no lock of its own; :func:`run_scheduler` takes one in Redis so
a second scheduler refuses to start instead of doubling every periodic job.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from typing import cast

from redis import Redis
from rq.cron import CronScheduler
from rq.utils import import_attribute

from yuqing.locks import kept_alive
from yuqing.runtime import get_runtime

from . import registry
from .worker import announce_pid_namespace, dead_here

log = logging.getLogger(__name__)

LOCK_KEY = "yuqing:scheduler:lock"
LOCK_TTL = 30


def periodic_jobs(tick: int, sweep: int) -> list[tuple[str, str, int]]:
    """(queue, job path, interval seconds) for every recurring job."""
    return [
        ("crawl", registry.ENQUEUE_DUE_SOURCES, tick),
        ("respond", registry.SWEEP_DEADLINES, sweep),
        ("notify", registry.SWEEP_ALERTS, sweep),
        ("notify", registry.SEND_DUE_DIGESTS, sweep),
        ("analyse", registry.MARK_QUIET_EVENTS, 5 * sweep),
        ("analyse", registry.ENQUEUE_UNANALYSED, sweep),
        ("analyse", registry.INDEX_NEW_ITEMS, sweep),
        ("respond", registry.REVIEW_DUE_ASSESSMENTS, 5 * sweep),
        ("respond", registry.DRAFT_PERIOD_STATISTICS, 5 * sweep),
    ]


class SchedulerAlreadyRunning(RuntimeError):
    pass


# Replace the holder only if it is still the one we found dead (two restarts at once: one wins).
_TAKE_OVER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
return false
"""


def _take_over_from_dead(redis: Redis, me: str) -> bool:
    """The lock's holder was a scheduler on this host whose process is gone (killed): take its
    lock now rather than refuse until the lock expires, so the supervisor's restart succeeds."""
    holder = cast(bytes | None, redis.get(LOCK_KEY))  # a sync client's reply
    if holder is None:
        return bool(redis.set(LOCK_KEY, me, nx=True, ex=LOCK_TTL))
    host, _, pid = holder.decode().rpartition(":")
    announce_pid_namespace(redis)
    if not pid.isdigit() or not dead_here(redis, host, int(pid)):
        return False
    if not redis.eval(_TAKE_OVER, 1, LOCK_KEY, holder, me, LOCK_TTL):
        return False
    log.warning("scheduler %s is gone without releasing its lock; taking over", holder.decode())
    return True


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def run_scheduler() -> None:
    # Until rq's scheduler installs its own handlers, a SIGTERM must still run our finally.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    rt = get_runtime()
    redis = rt.get_redis()
    me = f"{socket.gethostname()}:{os.getpid()}"  # the lock's token names its holder
    # thread_local=False: the token must be visible to the renewing thread (yuqing.locks).
    lock = redis.lock(LOCK_KEY, timeout=LOCK_TTL, thread_local=False)
    if not lock.acquire(blocking=False, token=me):
        if not _take_over_from_dead(redis, me):
            holder = cast(bytes | None, redis.get(LOCK_KEY))
            raise SchedulerAlreadyRunning(f"调度器已在运行（{holder.decode() if holder else '?'}），只能运行一个")
        lock.local.token = me.encode()  # held now, through the compare-and-set
    with kept_alive(lock, "scheduler"):
        cron = CronScheduler(connection=redis, logging_level=rt.settings.log_level)
        for queue, func, interval in periodic_jobs(rt.settings.scheduler_tick, rt.settings.sweep_interval):
            cron.register(import_attribute(func), queue_name=queue, interval=interval, job_timeout=600)
        cron.start()
