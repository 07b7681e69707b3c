"""Queues between the stages, and the one way every stage enqueues the next job.

Queues: ``crawl`` (fetch sources), ``analyse`` (score, fold, group), ``respond`` (tickets,
clocks, referrals), ``notify`` (alerts, deliveries, digests). Jobs are plain functions
named by their import path in :mod:`.registry`, taking ids; retries are chosen here, where they
are enqueued.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from rq import Queue, Retry, get_current_job
from rq.job import Job, JobStatus

from yuqing.runtime import get_runtime

log = logging.getLogger(__name__)

# A worker takes the first non-empty queue in this order: downstream first, so the people waiting
# (the monitor's alert, a ticket's clock) are never stuck behind a backlog of crawling, and the
# crawl slows down to what analysis keeps up with rather than filling the queues.
QUEUE_NAMES = ("notify", "respond", "analyse", "crawl")
DEFAULT_RETRY = Retry(max=4, interval=[5, 30, 120, 600])
_LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def safe_job_id(job_id: str) -> str:
    """RQ accepts only letters, digits, underscores and dashes in job ids (``analyse:12`` → ``analyse-12``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", job_id)


def get_queue(name: str) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; expected one of {QUEUE_NAMES}")
    return Queue(name, connection=get_runtime().get_redis())


def enqueue(
    queue: str,
    func: str | Callable[..., Any],
    *args: Any,
    job_id: str | None = None,
    at: datetime | None = None,
    retry: Retry | None = DEFAULT_RETRY,
    timeout: int = 300,
) -> Job | None:
    """Enqueue ``func(*args)``; with ``job_id``, skip it if that job is already waiting or running.

    Skipping is only an economy: every job is idempotent against the store by itself.
    """
    q = get_queue(queue)
    if job_id:
        job_id = safe_job_id(job_id)
        existing = Job.fetch_many([job_id], connection=q.connection)[0]
        if existing is not None and existing.get_status(refresh=False) in _LIVE:
            return None
    options: dict[str, Any] = {"job_id": job_id, "retry": retry, "job_timeout": timeout,
                               "result_ttl": 3600, "failure_ttl": 7 * 24 * 3600}
    if at is not None:
        return q.enqueue_at(at, func, *args, **options)
    # rq types func as a TypeVar constrained to str or a callable, so a union of both is refused.
    return q.enqueue(func, *args, **options)  # type: ignore[type-var]


def enqueue_many(queue: str, func: str, calls: list[tuple[tuple[Any, ...], str]], timeout: int = 300) -> int:
    """Enqueue ``func(*args)`` for each ``(args, job_id)`` in one Redis round trip; like
    :func:`enqueue`, a job id already waiting or running is skipped. The number enqueued.

    For a stage that hands on many jobs at once (analysis: one per event of a batch), where a
    round trip per job would cost more than the work that produced them.
    """
    if not calls:
        return 0
    q = get_queue(queue)
    ids = [safe_job_id(job_id) for _, job_id in calls]
    existing = Job.fetch_many(ids, connection=q.connection)
    data = [Queue.prepare_data(func, args, job_id=job_id, retry=DEFAULT_RETRY, timeout=timeout, result_ttl=3600,
                               failure_ttl=7 * 24 * 3600)
            for (args, _), job_id, old in zip(calls, ids, existing, strict=True)
            if old is None or old.get_status(refresh=False) not in _LIVE]
    with q.connection.pipeline() as pipe:
        q.enqueue_many(data, pipeline=pipe)
        pipe.execute()
    return len(data)


class Ran(NamedTuple):
    """What :func:`run_each` did: ``{id: its result}`` for those that succeeded, and the ids that
    failed and were handed on as their own job (in the batch's order)."""

    done: dict[int, Any]
    handed_on: list[int]


def run_each(queue: str, single: str, ids: list[int], run: Callable[[int], Any], *single_args: Any) -> Ran:
    """Run ``run(id)`` for each id in turn, as a job for a batch (one per analysis batch rather than
    one per event: RQ's creation of a job per event was a fifth of an analysis job, bench/PROFILE.md).

    Each id still fails alone, as its own job would: one that raises is logged and handed on as
    its own ``single(id, *single_args)`` job on ``queue``, with the retries that job would have
    had, and the batch goes on with the next id. The caller learns which were handed on, so what
    it hands on after the batch does not overtake them. Only a failure to hand one on fails the
    batch (RQ retries it; each ``run`` is idempotent against the store).
    """
    done: dict[int, Any] = {}
    handed_on: list[int] = []
    batch = get_current_job()
    for id_ in ids:
        try:
            done[id_] = run(id_)
        except Exception:
            log.exception("%s(%s) failed inside a batch; handed on as its own job", single, id_)
            enqueue(queue, single, id_, *single_args,
                    job_id=f"{single.rsplit('.', 1)[-1]}-{id_}-of-{batch.id if batch else 'batch'}")
            handed_on.append(id_)
    return Ran(done, handed_on)
