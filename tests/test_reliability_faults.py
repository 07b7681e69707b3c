"""Workers killed with SIGKILL in the middle of a job, with real `yuqing worker` processes, a real
Redis and a real SQLite file: the job runs again, nothing is lost and nothing is doubled.

The kill lands mid-job without any hook in the product: the test holds SQLite's write lock
(BEGIN IMMEDIATE on its own connection), so the job is stuck at its first write with nothing
committed; a delivery is caught mid-send by an SMTP server that stalls at RCPT.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from factories import make_reported_event
from reliability_procs import (
    SqliteWriteLock,
    db_file,
    gone,
    holds_file,
    job_status,
    wait_for,
)
from rq.job import Job
from sqlalchemy import func, select

from yuqing.analysis.decision import LOCK_KEY, LOCK_TTL
from yuqing.analysis.jobs import hand_on_id
from yuqing.models import Delivery, Event, Item, Ticket
from yuqing.tasks.dispatch import enqueue

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("print_stand_in")]  # no PDF is read: Chromium stood in for


def _item(rt) -> int:  # type: ignore[no-untyped-def]
    text = "泽州县巴公镇一煤矿发生透水事故，8名矿工被困井下，救援正在进行。"
    with rt.session() as s:
        item = Item(url="https://news.example/mine", url_hash=hashlib.sha256(b"mine").hexdigest(),
                    title="泽州煤矿透水", text=text, tier="local", fetched_at=rt.now(),
                    published_at=rt.now(), content_hash=hashlib.sha256(text.encode()).hexdigest())
        s.add(item)
        s.flush()
        return item.id


def _risk(rt, item_id: int) -> float | None:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return s.get(Item, item_id).risk


def test_analysis_job_killed_with_its_worker_runs_again_once(runtime, workers, record_property) -> None:  # type: ignore[no-untyped-def]
    item_id = _item(runtime)
    first = workers(runtime)
    redis = runtime.redis
    # The scores are written before the grouping lock (parallel workers overlap there); to catch the
    # job inside the lock, the test holds the lock first, then the database once the scores landed.
    redis.set(LOCK_KEY, "held-by-the-test", px=120_000)
    job = enqueue("analyse", "yuqing.analysis.jobs.analyse_item", item_id, job_id=f"analyse-{item_id}")
    wait_for("the scores to be written", lambda: _risk(runtime, item_id) is not None)
    lock = SqliteWriteLock(runtime.settings.sqlalchemy_url)
    try:
        redis.delete(LOCK_KEY)
        # Inside the grouping lock: its next step is a write, which cannot happen.
        wait_for("the job to take the grouping lock", lambda: redis.get(LOCK_KEY) not in (None, b"held-by-the-test"))
        assert job_status(runtime, job.id) == "started"
        killed = first.kill()
    finally:
        lock.release()
    assert len(killed) >= 2  # the worker (analysis runs in it, no horse) and its scheduler
    with runtime.session() as s:
        item = s.get(Item, item_id)
        assert item.event_id is None and item.analysed_at is None  # grouped nowhere: the sweep sees it
        assert s.scalar(select(func.count()).select_from(Event)) == 0
    # The dead worker's grouping lock is no longer renewed: it lapses within LOCK_TTL (15 s).
    assert 0 < runtime.redis.pttl("yuqing:analysis:group") <= LOCK_TTL * 1000

    started = time.monotonic()
    second = workers(runtime)  # on start it finds the dead worker and hands its job back to RQ
    wait_for("the analysis job to run again", lambda: job_status(runtime, job.id) == "finished", timeout=90)
    # bench/bench_faults.py reports it: how long after a replacement worker started the job was done
    record_property("recovered_s", round(time.monotonic() - started, 1))
    assert f"job {job.id} on queue analyse was abandoned by a dead worker" in second.text()
    with runtime.session() as s:
        item = s.get(Item, item_id)
        assert item.event_id is not None and item.risk is not None
        events = s.scalars(select(Event)).all()
        assert [(e.id, e.item_count) for e in events] == [(item.event_id, 1)]
    # What it hands on is enqueued once and runs once: the alerts' job, then (handed on by it,
    # so the monitor hears first) the tickets' job.
    evaluate = hand_on_id("evaluate", {item.event_id: item_id})
    wait_for("the alerts' job", lambda: job_status(runtime, evaluate) == "finished")
    wait_for("the ticket job", lambda: job_status(runtime, f"consider-after-{evaluate}") == "finished")


def test_the_sweep_hands_a_dead_workers_job_to_a_survivor(runtime, workers) -> None:  # type: ignore[no-untyped-def]
    from yuqing.queue.jobs import sweep

    event_id = make_reported_event(runtime, level="重大")
    doomed = workers(runtime)
    lock = SqliteWriteLock(runtime.settings.sqlalchemy_url)
    try:
        job = enqueue("respond", "yuqing.queue.jobs.consider_event", event_id, job_id=f"consider-{event_id}")
        horse = wait_for("a work horse", doomed.horse)
        wait_for("the horse to open the database", lambda: holds_file(horse, db_file(runtime)))
        # A second worker, started while the first still held the scheduler: it has none.
        survivor = workers(runtime)
        orphans = doomed.kill_worker_only()
        assert horse in orphans and len(orphans) == 2  # the horse and the worker's scheduler
        for pid in orphans:
            wait_for(f"child {pid} to die with its worker", lambda pid=pid: gone(pid), timeout=10)
    finally:
        lock.release()
    assert job_status(runtime, job.id) == "started"  # what RQ believes until the heartbeat lapses
    sweep()  # the periodic sweep (every minute) notices at once and puts the job back
    wait_for("the survivor to run the job", lambda: job_status(runtime, job.id) == "finished", timeout=60)
    assert "abandoned by a dead worker" not in survivor.text()  # the sweep did it, not a start-up
    with runtime.session() as s:
        assert [t.event_id for t in s.scalars(select(Ticket))] == [event_id]
    from rq import Worker

    assert [w.pid for w in Worker.all(connection=runtime.redis)] == [survivor.pid]


def test_pids_are_trusted_only_when_no_other_container_shares_the_host_name(runtime) -> None:  # type: ignore[no-untyped-def]
    import socket
    import subprocess
    import sys

    from rq import Worker

    from yuqing.tasks.worker import recover_abandoned

    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(exited.stdout)
    ghost = Worker(["respond"], connection=runtime.redis)
    ghost.register_birth()
    runtime.redis.hset(ghost.key, "pid", dead_pid)  # as if it had been that process, now gone
    # A second pid namespace under our host name: that pid may be alive in the other one.
    runtime.redis.sadd(f"yuqing:pid-namespaces:{socket.gethostname()}", "pid:[another container]")
    assert recover_abandoned(runtime.redis)["dead_workers"] == 0
    assert ghost.name in [w.name for w in Worker.all(connection=runtime.redis)]
    runtime.redis.delete(f"yuqing:pid-namespaces:{socket.gethostname()}")
    assert recover_abandoned(runtime.redis)["dead_workers"] == 1
    assert ghost.name not in [w.name for w in Worker.all(connection=runtime.redis)]


class StallingSmtp:
    """An SMTP server that accepts mail but can be told to stall at RCPT, i.e. mid-send,
    before the message is accepted: a client killed there has delivered nothing."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from servers import free_port

        self.messages: list = []
        self.stall = threading.Event()
        self.stalled = threading.Event()
        self.go = threading.Event()
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
                if sink.stall.is_set():
                    sink.stalled.set()
                    while not sink.go.is_set():
                        await asyncio.sleep(0.02)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                sink.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.go.set()
        self.controller.stop()


def test_delivery_killed_mid_send_is_sent_exactly_once_after_its_lease(runtime, workers, clock, drain) -> None:  # type: ignore[no-untyped-def]
    from yuqing.alerts.delivery import LEASE, create_delivery, retry_due
    from yuqing.alerts.jobs import sweep_alerts

    sink = StallingSmtp()
    try:
        runtime.settings = runtime.settings.model_copy(update={"smtp_port": sink.port})
        sink.stall.set()
        first = workers(runtime, YUQING_SMTP_PORT=str(sink.port))
        with runtime.session() as s:
            delivery_id = create_delivery(s, purpose="alert", channel="email", target="zhiban@yjj.zezhou.example",
                                          subject="【预警】泽州县某煤矿发生透水事故", body="正文", key="kill-test").id
        wait_for("the delivery to be mid-send", sink.stalled.is_set)
        killed_at = datetime.now(UTC)
        first.kill()
        sink.go.set()  # the server carries on; the dead client never sent DATA
        sink.stall.clear()
        with runtime.session() as s:
            row = s.get(Delivery, delivery_id)
            assert (row.status, row.attempts, row.parts_sent) == ("pending", 1, 0)
            held_until = row.claimed_until.replace(tzinfo=UTC)
        assert held_until - killed_at <= LEASE

        # A fresh worker re-runs the abandoned job; the lease is still held, so it sends nothing.
        second = workers(runtime, YUQING_SMTP_PORT=str(sink.port))
        job = Job.fetch(f"deliver-{delivery_id}", connection=runtime.redis)
        wait_for("the deliver job to run again", lambda: job_status(runtime, job.id) == "finished", timeout=60)
        assert Job.fetch(job.id, connection=runtime.redis).return_value() == "skipped"
        second.stop()
        assert sink.messages == []

        # The product's clock from here on: now, then past the lease.
        clock.set(datetime.now(UTC))
        assert retry_due(runtime) == 0  # still leased to the dead run
        clock.set(held_until + timedelta(seconds=1))
        assert sweep_alerts()["deliveries_requeued"] == 1
        drain()
        assert len(sink.messages) == 1 and sink.messages[0]["To"] == "zhiban@yjj.zezhou.example"
        with runtime.session() as s:
            row = s.get(Delivery, delivery_id)
            assert (row.status, row.attempts, row.parts_sent) == ("sent", 2, 1)
        clock.advance(hours=1)
        assert sweep_alerts()["deliveries_requeued"] == 0
        drain()
        assert len(sink.messages) == 1
    finally:
        sink.stop()
