"""Queue plumbing: the embedded Redis, enqueue de-duplication, exactly one scheduler."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue

from yuqing.settings import load_settings
from yuqing.tasks.connection import EmbeddedRedis, RedisUnavailable, connect, embedded_folder
from yuqing.tasks.dispatch import enqueue
from yuqing.tasks.scheduler import LOCK_KEY, SchedulerAlreadyRunning, periodic_jobs, run_scheduler


def test_embedded_redis_is_real_persistent_and_found_by_socket(tmp_path: Path) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path)
    server = EmbeddedRedis(embedded_folder(settings)).start()
    try:
        conn = connect(settings)  # no URL configured: finds the server by its socket
        assert conn.info()["redis_version"]
        conn.set("k", "v")
        assert conn.config_get("appendonly")["appendonly"] == "yes"
        assert oct(server.socket.stat().st_mode & 0o777) == "0o700"
    finally:
        server.stop()
    # Restarted, it still has the data (append-only file in the data folder).
    server = EmbeddedRedis(embedded_folder(settings)).start()
    try:
        assert connect(settings).get("k") == b"v"
    finally:
        server.stop()


def test_connect_without_a_server_says_what_to_do(tmp_path: Path) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path)
    with pytest.raises(RedisUnavailable, match="请先运行 `yuqing run`"):
        connect(settings)


def test_enqueue_with_job_id_does_not_double_waiting_work(runtime) -> None:  # type: ignore[no-untyped-def]
    first = enqueue("analyse", "yuqing.status.collect_status", 1, job_id="analyse:1")
    second = enqueue("analyse", "yuqing.status.collect_status", 1, job_id="analyse:1")
    assert first is not None and second is None
    assert Queue("analyse", connection=runtime.redis).count == 1


def test_unknown_queue_is_refused(runtime) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unknown queue"):
        enqueue("somewhere", "yuqing.status.collect_status")


def test_only_one_scheduler_runs(runtime) -> None:  # type: ignore[no-untyped-def]
    runtime.redis.set(LOCK_KEY, "otherhost:42", ex=30)
    with pytest.raises(SchedulerAlreadyRunning, match="otherhost:42"):
        run_scheduler()


@pytest.mark.slow
def test_a_dead_schedulers_lock_is_taken_over(runtime) -> None:  # type: ignore[no-untyped-def]
    """A scheduler killed on this host leaves its lock for 30 s; its restart takes it over at once."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    runtime.redis.set(LOCK_KEY, f"{socket.gethostname()}:{dead.pid}", ex=30)
    from yuqing.tasks.scheduler import _take_over_from_dead

    assert _take_over_from_dead(runtime.redis, "me:1")
    assert runtime.redis.get(LOCK_KEY) == b"me:1"
    # A live holder (this very process) keeps its lock.
    runtime.redis.set(LOCK_KEY, f"{socket.gethostname()}:{os.getpid()}", ex=30)
    assert not _take_over_from_dead(runtime.redis, "me:2")
    with pytest.raises(SchedulerAlreadyRunning):
        run_scheduler()


@pytest.mark.slow
def test_scheduler_process_registers_periodic_jobs_and_holds_the_lock(runtime) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_DATA_DIR": str(runtime.settings.data_dir),
                "YUQING_DATABASE_URL": runtime.settings.sqlalchemy_url,
                "YUQING_REDIS_URL": runtime.settings.redis_url})
    proc = subprocess.Popen([sys.executable, "-m", "yuqing", "scheduler"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not runtime.redis.get(LOCK_KEY):
            time.sleep(0.1)
        assert runtime.redis.get(LOCK_KEY), "scheduler did not take its lock"
        # A second scheduler refuses to start, with a clear message.
        second = subprocess.run([sys.executable, "-m", "yuqing", "scheduler"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert "调度器已在运行" in second.stderr
    finally:
        proc.terminate()
        proc.wait(20)
    assert Redis.from_url(runtime.settings.redis_url).get(LOCK_KEY) is None, "lock released on stop"
    assert {job for _, job, _ in periodic_jobs(15, 60)} >= {
        "yuqing.crawlers.jobs.enqueue_due_sources", "yuqing.queue.jobs.sweep"}
