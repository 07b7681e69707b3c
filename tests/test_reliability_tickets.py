"""A ticket job whose work horse is SIGKILLed mid-write, on SQLite and on PostgreSQL: the
worker that forked it sees it die and retries it; one ticket, each clock once, each referral
e-mail exactly once at a real SMTP sink.

The kill lands mid-write without a hook in the product: the test holds the tickets table's
write lock from its own connection, so the job waits at its first write with nothing committed.
"""

from __future__ import annotations

import time

import pytest
from factories import make_reported_event
from reliability_procs import (
    PgWriteLock,
    SqliteWriteLock,
    db_file,
    holds_file,
    job_status,
    wait_for,
)
from sqlalchemy import func, select

from yuqing.models import Deadline, Delivery, Referral, Ticket
from yuqing.tasks.dispatch import enqueue

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("print_stand_in")]  # no PDF is read: Chromium stood in for


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, runtime):  # type: ignore[no-untyped-def]
    """(runtime, hold the tickets table's write lock, has a job reached its write?) per database."""
    if request.param == "sqlite":
        def reached(lock, horse: int) -> bool:  # type: ignore[no-untyped-def]
            return holds_file(horse, db_file(runtime))

        yield runtime, lambda: SqliteWriteLock(runtime.settings.sqlalchemy_url), reached
        return
    from yuqing.runtime import Runtime, set_runtime

    url = request.getfixturevalue("pg_server").migrated_database("yuqing_kill")
    rt = Runtime(settings=runtime.settings.model_copy(update={"database_url": url}), profile=runtime.profile,
                 clock=runtime.clock, redis=runtime.redis)
    set_runtime(rt)
    yield rt, lambda: PgWriteLock(url, "tickets"), lambda lock, horse: lock.waiters() > 0
    set_runtime(runtime)
    rt.engine.dispose()


def test_ticket_job_whose_horse_is_killed_is_retried_by_its_worker(store, workers, smtp, record_property) -> None:  # type: ignore[no-untyped-def]
    rt, write_lock, reached = store
    event_id = make_reported_event(rt, level="重大", topics=["production_safety"])
    worker = workers(rt)
    lock = write_lock()
    try:
        job = enqueue("respond", "yuqing.queue.jobs.consider_event", event_id, job_id=f"consider-{event_id}")
        horse = wait_for("a work horse", worker.horse)
        wait_for("the job to reach its write", lambda: reached(lock, horse))
        assert job_status(rt, job.id) == "started"
        worker.kill_horse()
        killed = time.monotonic()
        # The worker itself saw its horse die and scheduled the retry (5 s back-off).
        wait_for("the retry to be scheduled", lambda: job_status(rt, job.id) == "scheduled")
        assert "Work-horse terminated unexpectedly" in worker.text()
        with rt.session() as s:
            assert s.scalar(select(func.count()).select_from(Ticket)) == 0
    finally:
        lock.release()
    wait_for("the ticket job to run again", lambda: job_status(rt, job.id) == "finished", timeout=60)
    record_property("recovered_s", round(time.monotonic() - killed, 1))  # includes the 5 s back-off
    with rt.session() as s:
        tickets = s.scalars(select(Ticket)).all()
        assert [t.event_id for t in tickets] == [event_id]
        kinds = sorted(s.scalars(select(Deadline.kind).where(Deadline.ticket_id == tickets[0].id)))
        assert kinds == sorted(set(kinds))  # each clock once
        referrals = s.scalars(select(Referral)).all()
        assert referrals and len({r.department_key for r in referrals}) == len(referrals)
        mails = s.scalars(select(Delivery).where(Delivery.channel == "email")).all()
    assert mails
    wait_for("every e-mail to be sent", lambda: _sent(rt) == len(mails))
    wait_for("the sink to receive them", lambda: len(smtp.messages) >= len(mails))
    assert sorted(m["To"] for m in smtp.messages) == sorted(d.target for d in mails)  # one each




def _sent(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent")) or 0
