"""RQ workers. Loads jieba and the models once, before the first job.

Analysis jobs run in the worker's own process (no fork): the window's folding/event index
lives there between jobs, kept current by each job itself. A forked horse would have to bring
a copy of it up to date from the store before every job, and the fork itself copies on write
whatever the job and the garbage collector touch of a process that holds a gigabyte of index
at volume; the load benchmark ran at a third of the speed that way. Every other queue's jobs
fork as RQ does (crawls run Scrapy's reactor, which cannot be restarted in one process).

A worker that dies (SIGKILL, the OOM killer, a power cut) leaves its job in RQ's
StartedJobRegistry. RQ only notices after the job's heartbeat lapses (at most ``job
monitoring interval + 60`` = 90 s) and only when some worker runs its maintenance (every 10
minutes by default). Here that is made prompt and honest:

* :func:`recover_abandoned` treats a worker registered on *this* host whose process is gone as
  dead at once: its started jobs go through RQ's own abandoned-job handling (a job with
  retries left is put back at the front of its queue, one without is failed), its scheduler
  locks are released and it is unregistered, so ``yuqing status`` stops counting it. Workers
  on other hosts are left to RQ's heartbeat expiry (at most 90 s after their last beat),
  which the same call then handles. It runs when a worker starts (the supervisor restarts a
  dead one within seconds) and from the periodic sweep (every minute).
* Workers heartbeat every ~45 s while idle and run maintenance every minute (the settings
  ``worker_ttl`` and ``worker_maintenance_interval``), so a dead worker's key expires within two
  minutes and a lost scheduler is taken over within about one instead of ten.
* The forked work horse and the scheduler process die with their worker: an orphaned horse
  would go on running a job that :func:`recover_abandoned` has just handed to another worker.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import socket
import sys
import time
from typing import Any, cast

from redis import Redis
from rq import Queue, Worker
from rq.defaults import DEFAULT_WORKER_TTL
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.executions import Execution
from rq.job import Job
from rq.registry import ScheduledJobRegistry, StartedJobRegistry, clean_registries
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.scripts import release_lock
from rq.utils import import_attribute
from rq.worker import WorkerStatus

from yuqing.runtime import get_runtime
from yuqing.store import database_unavailable

from . import registry
from .dispatch import QUEUE_NAMES

log = logging.getLogger(__name__)

def preload() -> None:
    """Run the registry's preload hooks (jieba and the models load once, before the first job)."""
    for path in registry.PRELOAD:
        import_attribute(path)()


IN_PROCESS = {"analyse"}  # queues whose jobs run in the worker itself (see module doc)


class PreloadingWorker(Worker):
    def execute_job(self, job: Job, queue: Queue) -> None:
        if queue.name not in IN_PROCESS:
            return super().execute_job(job, queue)
        # RQ's SimpleWorker.execute_job: the job's timeout still holds (SIGALRM in this process).
        self.prepare_execution(job)
        self.heartbeat(self.get_heartbeat_ttl(job))  # no monitor loop beats for it meanwhile
        self.perform_job(job, queue)
        self.set_state(WorkerStatus.IDLE)
        return None

    def get_heartbeat_ttl(self, job: Job) -> int:
        if job.origin in IN_PROCESS:  # one beat must cover the whole job
            return int(job.timeout or DEFAULT_WORKER_TTL) + 60
        return super().get_heartbeat_ttl(job)

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        # No pooled database connection may cross a fork (the in-process jobs opened some).
        get_runtime().engine.dispose()
        # Frozen objects are left alone by the horse's garbage collector, which would otherwise
        # write to every object of the analysis index and so copy all of its pages.
        gc.freeze()
        try:
            super().fork_work_horse(job, queue)
        finally:
            gc.unfreeze()

    def run_maintenance_tasks(self) -> None:
        # RQ restarts a dead scheduler process here, but its locks (61 s) would refuse it: a
        # scheduler killed by a Redis restart would leave retries and reminders waiting a minute more.
        try:
            _release_dead_scheduler_locks(self.connection)
        except Exception:  # noqa: BLE001 - maintenance goes on; the locks expire by themselves
            log.exception("could not check the scheduler locks")
        super().run_maintenance_tasks()


def run_worker(queues: list[str] | None = None, burst: bool = False, name: str | None = None) -> bool:
    """Work the given queues (all by default) until stopped; with ``burst``, until empty."""
    rt = get_runtime()
    redis = rt.get_redis()
    recover_abandoned(redis)  # a worker this one replaces may have died holding a job
    preload()
    _die_with_this_process()
    worker = PreloadingWorker(queues or list(QUEUE_NAMES), connection=redis, name=name,
                              worker_ttl=rt.settings.worker_ttl,
                              maintenance_interval=rt.settings.worker_maintenance_interval,
                              exception_handlers=[log_database_error])
    # with_scheduler: delayed jobs (deadline reminders) and retry waits need a scheduler.
    return worker.work(burst=burst, with_scheduler=True, logging_level=rt.settings.log_level)


# ---- dying together ------------------------------------------------------------------------

def _die_with_this_process() -> None:
    """Ask Linux to SIGKILL this process's direct children (horse, scheduler) when it dies."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getpid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return

    def after_fork_in_child() -> None:
        # Only our own children: a horse's children (e.g. a crawl) have their own rules.
        if os.getppid() != parent:
            return
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    os.register_at_fork(after_in_child=after_fork_in_child)


# ---- finding dead workers ------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:  # a killed process nobody has reaped yet (a zombie) still answers kill(0)
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


# Containers may share a host name (host networking) while each has its own process ids: a
# pid from another container is "gone" here without being dead. Workers record their pid
# namespace under the host name; pids are trusted only while every worker announced under
# this host name lives in ours.
_NAMESPACES = "yuqing:pid-namespaces:{}"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "?"


def announce_pid_namespace(redis: Redis) -> None:
    key = _NAMESPACES.format(socket.gethostname())
    redis.sadd(key, _pid_namespace())
    redis.expire(key, 24 * 3600)  # refreshed by every sweep while workers run


def dead_here(redis: Redis, hostname: str | None, pid: int | None) -> bool:
    """A worker process registered on this host that no longer exists. Elsewhere, or when this
    host name is shared by several pid namespaces: unknown (False), left to RQ's heartbeats."""
    if not pid or hostname != socket.gethostname() or _alive(int(pid)):
        return False
    members = cast(set[bytes], redis.smembers(_NAMESPACES.format(hostname)))  # a sync client's reply
    return {m.decode() for m in members} == {_pid_namespace()}


def recover_abandoned(redis: Redis) -> dict[str, int]:
    """Unregister dead local workers and hand every abandoned job back to RQ (see module doc).

    Returns counts: dead workers, jobs found abandoned (re-enqueued if they had retries left,
    else moved to the failed registry by RQ), scheduler locks released.
    """
    announce_pid_namespace(redis)
    dead = [w for w in Worker.all(connection=redis) if dead_here(redis, w.hostname, w.pid)]
    counts = {"dead_workers": len(dead), "abandoned_jobs": 0, "scheduler_locks": _release_dead_scheduler_locks(redis)}
    for name in QUEUE_NAMES:
        queue = Queue(name, connection=redis)
        # RQ's maintenance lock: two cleanups at once could each re-enqueue the same job.
        if not _maintenance_lock(queue):
            log.info("queue %s is being cleaned by another process; the next sweep looks again", name)
            continue
        try:
            counts["abandoned_jobs"] += _recover_queue(redis, queue, {w.name for w in dead})
        finally:
            queue.release_maintenance_lock()
    for w in dead:
        log.warning("worker %s (pid %s on %s) is gone; unregistered", w.name, w.pid, w.hostname)
        w.register_death()
    return counts


def _maintenance_lock(queue: Queue, wait: float = 3.0) -> bool:
    deadline = time.monotonic() + wait
    while not queue.acquire_maintenance_lock():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _recover_queue(redis: Redis, queue: Queue, dead_names: set[str]) -> int:
    registry = StartedJobRegistry(queue.name, connection=redis)
    for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
        try:
            worker_name = Execution.fetch(execution_id, job_id, connection=redis).worker_name
        except ValueError:  # its record expired: RQ's cleanup below sees it as expired too
            continue
        if worker_name in dead_names:
            redis.zadd(registry.key, {f"{job_id}:{execution_id}": 0}, xx=True)  # expired now
    abandoned = registry.get_expired_job_ids()
    for job_id in abandoned:
        log.warning("job %s on queue %s was abandoned by a dead worker; handing it back to RQ "
                    "(re-run if it has retries left)", job_id, queue.name)
    clean_registries(queue)  # RQ's own handling: retry or fail, callbacks, dependents
    # RQ schedules such a retry after the job's back-off, which needs a live scheduler (a dead
    # worker may have taken it along). The job did nothing wrong: run it now.
    scheduled = ScheduledJobRegistry(queue.name, connection=redis)
    for job_id in abandoned:
        try:
            scheduled.requeue(job_id, at_front=True)
        except (InvalidJobOperation, NoSuchJobError):  # failed for good, or already enqueued
            pass
    return len(abandoned)


def _release_dead_scheduler_locks(redis: Redis) -> int:
    released = 0
    for name in QUEUE_NAMES:
        key = RQScheduler.get_locking_key(name)
        holder = cast(bytes | None, redis.get(key))  # a sync client's replies
        if holder is None:
            continue
        info = cast(dict[bytes, bytes], redis.hgetall(SCHEDULER_KEY_TEMPLATE % holder.decode()))
        pid = int(info.get(b"pid", b"0") or 0)
        if dead_here(redis, info.get(b"hostname", b"").decode(), pid) and release_lock(redis, key, holder.decode()):
            log.warning("scheduler lock for queue %s held by dead process %s; released", name, pid)
            released += 1
    return released


# ---- failures the database causes ----------------------------------------------------------

def log_database_error(job: Any, exc_type: type, exc: BaseException, _tb: Any) -> bool:
    """Worker exception handler: one clear line for a database outage, and never give up on it.

    RQ retries with the job's back-off (5 s, 30 s, 2 min, 10 min). A job that failed only
    because the database was away keeps its last retry, so it is tried every 10 minutes until
    the database is back instead of being dropped into the failed registry.
    """
    if not database_unavailable(exc):
        return True
    first_line = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
    what = f"database unavailable in job {job.id} ({job.func_name}): {exc_type.__name__}: {first_line}"
    if job.retries_left is not None and job.retries_left < 1 and max(job.retry_intervals or [0]) > 0:
        job.retries_left = 1  # RQ takes it for this retry; we give it back next time
        log.warning("%s; retries used up, retrying every %s s until the database is back",
                    what, job.get_retry_interval())
    elif job.retries_left:
        log.warning("%s; retrying in %s s (%s retries left after that)", what, job.get_retry_interval(),
                    job.retries_left - 1)
    else:
        log.error("%s; no retry configured (a periodic job runs again at its next interval)", what)
    return True
