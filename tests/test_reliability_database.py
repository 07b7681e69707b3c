"""The database locked or away, and a killed worker in `yuqing status`, with real worker processes,
real SQLite and a real PostgreSQL server stopped and started again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import make_reported_event, postgres_runtime
from reliability_procs import (
    SqliteWriteLock,
    holds_file,
    job_status,
    pg_start,
    pg_stop,
    wait_for,
)
from rq import Retry, Worker
from rq.job import Job
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from yuqing.models import Ticket
from yuqing.runtime import Runtime
from yuqing.store import database_unavailable
from yuqing.tasks.dispatch import enqueue

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("print_stand_in")]  # no PDF is read: Chromium stood in for


def test_sqlite_errors_are_told_apart(tmp_path: Path) -> None:
    """A locked database is an outage to wait out; a missing table is a bug, not retried forever."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = create_engine(url, connect_args={"timeout": 0})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    lock = SqliteWriteLock(url)
    try:
        with pytest.raises(OperationalError) as locked, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        lock.release()
    with pytest.raises(OperationalError) as missing, engine.begin() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    engine.dispose()
    assert "database is locked" in str(locked.value)
    assert database_unavailable(locked.value)
    assert not database_unavailable(missing.value)


def test_a_briefly_locked_sqlite_database_is_waited_out(runtime, workers) -> None:  # type: ignore[no-untyped-def]
    event_id = make_reported_event(runtime, level="重大")
    worker = workers(runtime)
    lock = SqliteWriteLock(runtime.settings.sqlalchemy_url)
    try:
        job = enqueue("respond", "yuqing.queue.jobs.consider_event", event_id, job_id=f"consider-{event_id}")
        horse = wait_for("a work horse", worker.horse)
        db = Path(runtime.settings.sqlalchemy_url.split("///", 1)[1])
        wait_for("the job to reach the database", lambda: holds_file(horse, db))
    finally:
        lock.release()  # well inside SQLite's 30 s busy timeout
    wait_for("the job to finish", lambda: job_status(runtime, job.id) == "finished", timeout=60)
    assert Job.fetch(job.id, connection=runtime.redis).retries_left == 4  # on its first attempt
    assert "database unavailable" not in worker.text()
    with runtime.session() as s:
        assert [t.event_id for t in s.scalars(select(Ticket))] == [event_id]


# ---- PostgreSQL stopped and started again ----------------------------------------------------

@pytest.fixture
def pg_runtime(pg_server, settings, profile, clock, redis):  # type: ignore[no-untyped-def]
    with postgres_runtime(pg_server, Runtime(settings=settings, profile=profile, clock=clock, redis=redis),
                          "yuqing_faults") as rt:
        yield rt


@pytest.mark.postgres
def test_postgres_down_then_back_jobs_retry_and_succeed(pg_server, pg_runtime, workers, record_property) -> None:  # type: ignore[no-untyped-def]
    rt = pg_runtime
    first, second = make_reported_event(rt, level="重大"), make_reported_event(rt, level="较大", title="泽州县某化工厂起火")
    rt.engine.dispose()
    pg_stop(pg_server)
    try:
        worker = workers(rt)
        normal = enqueue("respond", "yuqing.queue.jobs.consider_event", first, job_id=f"consider-{first}")
        # A job whose own retries would run out long before the database is back.
        short = enqueue("respond", "yuqing.queue.jobs.consider_event", second, job_id=f"consider-{second}",
                        retry=Retry(max=1, interval=1))
        wait_for("the first failure to be rescheduled", lambda: job_status(rt, normal.id) == "scheduled")
        wait_for("the short job to outlive its retries",
                 lambda: worker.text().count(f"database unavailable in job {short.id}") >= 3)
        log = worker.text()
        assert (f"database unavailable in job {normal.id} (yuqing.queue.jobs.consider_event): "
                "OperationalError: connection failed") in log
        assert "retrying in 5 s (3 retries left after that)" in log
        assert "retries used up, retrying every 1 s until the database is back" in log
        assert job_status(rt, short.id) in ("scheduled", "queued", "started")  # not failed
    finally:
        pg_start(pg_server)
        back = time.monotonic()
    for job in (normal, short):
        wait_for(f"{job.id} to succeed", lambda job=job: job_status(rt, job.id) == "finished", timeout=60)
    record_property("recovered_s", round(time.monotonic() - back, 1))
    with rt.session() as s:
        assert sorted(t.event_id for t in s.scalars(select(Ticket))) == [first, second]


# ---- yuqing status -------------------------------------------------------------------------

def _yuqing_status(rt) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_DATA_DIR": str(rt.settings.data_dir), "YUQING_DATABASE_URL": rt.settings.sqlalchemy_url,
                "YUQING_REDIS_URL": rt.settings.redis_url})
    out = subprocess.run([sys.executable, "-m", "yuqing", "status", "--json"], capture_output=True, text=True,
                         env=env, timeout=120)
    return out.returncode, json.loads(out.stdout)


def test_status_reports_a_killed_worker_gone_at_once(runtime, workers) -> None:  # type: ignore[no-untyped-def]
    worker = workers(runtime)
    _, report = _yuqing_status(runtime)
    assert report["workers"] == 1
    assert not any("worker" in p for p in report["problems"])
    worker.kill()
    # Its key is still in Redis (RQ forgets it only when it expires) ...
    assert any(w.pid == worker.pid for w in Worker.all(connection=runtime.redis))
    code, report = _yuqing_status(runtime)  # ... but status knows the process is gone
    assert code == 1 and report["workers"] == 0
    assert any("没有运行中的 worker" in p for p in report["problems"])
