"""Which queue a worker serves first (yuqing/tasks/dispatch.QUEUE_NAMES, the order run_worker listens in)."""

from __future__ import annotations

from rq import Queue, SimpleWorker
from rq.job import JobStatus

from yuqing.runtime import Runtime
from yuqing.tasks.dispatch import QUEUE_NAMES


def test_an_alert_waiting_behind_a_crawl_backlog_goes_first(runtime: Runtime) -> None:
    redis = runtime.redis
    backlog = [Queue("crawl", connection=redis).enqueue(len, f"crawl {n}") for n in range(5)]
    analysis = Queue("analyse", connection=redis).enqueue(len, "analyse")
    alert = Queue("notify", connection=redis).enqueue(len, "notify")
    worker = SimpleWorker([Queue(name, connection=redis) for name in QUEUE_NAMES], connection=redis)
    worker.work(burst=True, max_jobs=2)
    assert alert.get_status(refresh=True) == JobStatus.FINISHED
    assert analysis.get_status(refresh=True) == JobStatus.FINISHED
    assert all(job.get_status(refresh=True) == JobStatus.QUEUED for job in backlog)
