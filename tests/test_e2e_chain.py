"""The whole chain with real parts: the demo site crawled by the real spiders in real RQ
worker processes on a real Redis, scored, grouped into an event, alerted, ticketed with the
regulation's clocks, and referred by e-mail to the 宣传部 and 网信办 through a real SMTP server."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from docx import Document
from reliability_procs import worker_env
from rq import Queue
from sqlalchemy import func, select

from yuqing.demo import DemoSite
from yuqing.models import Alert, AuditEntry, Deadline, Event, Item, Referral, Ticket
from yuqing.profile import load_profile
from yuqing.tasks.dispatch import QUEUE_NAMES, enqueue

pytestmark = pytest.mark.slow




def _run_workers_until_idle(rt, rounds: int = 12) -> None:  # type: ignore[no-untyped-def]
    """Real worker processes in burst mode, again while any queue still has work."""
    for _ in range(rounds):
        if not any(Queue(q, connection=rt.redis).count for q in QUEUE_NAMES):
            return
        env = worker_env(rt, YUQING_LOG_LEVEL="WARNING", YUQING_PROFILE=rt.profile.source_path)
        done = subprocess.run([sys.executable, "-m", "yuqing", "worker", "--burst"], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    raise AssertionError("queues never drained")


def _next_wake_up(rt) -> datetime | None:  # type: ignore[no-untyped-def]
    """When the earliest job scheduled for later (a held notice's wake-up, RQ's ``enqueue_at``) is due."""
    registries = [Queue(q, connection=rt.redis).scheduled_job_registry for q in QUEUE_NAMES]
    return min((r.get_scheduled_time(job_id) for r in registries for job_id in r.get_job_ids()), default=None)


def _enqueue_due(rt) -> None:  # type: ignore[no-untyped-def]
    """What RQ's scheduler does each tick: the scheduled jobs now due move to their queues. (A
    burst worker's scheduler may not get the scheduler's lock while its last holder's lasts.)"""
    for name in QUEUE_NAMES:
        queue = Queue(name, connection=rt.redis)
        for job_id in queue.scheduled_job_registry.get_jobs_to_schedule(int(time.time())):
            job = queue.fetch_job(job_id)
            queue.scheduled_job_registry.remove(job_id)
            if job is not None:
                queue.enqueue_job(job)


def _run_wake_ups_until(rt, what: str, done, horizon: float = 40) -> None:  # type: ignore[no-untyped-def]
    """The workers run on the wall clock, so time cannot be moved for them: wait for each
    scheduled wake-up due within ``horizon`` seconds and let burst workers run it, until ``done()``."""
    deadline = datetime.now(UTC) + timedelta(seconds=horizon)
    while not done():
        wake = _next_wake_up(rt)
        assert wake is not None and wake <= deadline and datetime.now(UTC) <= deadline, f"nothing scheduled brought {what}"
        time.sleep(max(0.0, (wake - datetime.now(UTC)).total_seconds()) + 0.2)
        _enqueue_due(rt)
        _run_workers_until_idle(rt)


def _referred(rt) -> bool:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return bool(s.scalars(select(Referral)).first())


def _subject(msg) -> str:  # type: ignore[no-untyped-def]
    return str(make_header(decode_header(msg["Subject"])))


# The built-in profile's group_wait is 30 s of wall clock, which the workers cannot be moved
# past: the test waited it out. Its copy here holds the monitor's first notice for 3 s: the notice
# is still held (a wake-up scheduled for later, run by _run_wake_ups_until) and the departments'
# 专报 still wait for it; only the wait is shorter.
GROUP_WAIT = 3


def _quicker_profile(folder: Path) -> Path:
    text = (Path(__file__).resolve().parent.parent / "profiles" / "zezhou-emergency.yaml").read_text(encoding="utf-8")
    assert text.count("group_wait_seconds: 30\n") == 1
    path = folder / "zezhou-emergency.yaml"
    path.write_text(text.replace("group_wait_seconds: 30\n", f"group_wait_seconds: {GROUP_WAIT}\n"), encoding="utf-8")
    return path


def test_demo_story_travels_the_whole_chain(runtime, smtp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from yuqing.crawlers.sources import upsert_sources

    runtime.profile = load_profile(_quicker_profile(tmp_path))  # the workers load the same file
    assert runtime.profile.alerts.group_wait_seconds == GROUP_WAIT

    # The whole story is already published: the site started an hour ago.
    site = DemoSite(start=datetime.now(UTC) - timedelta(hours=1)).start()
    try:
        upsert_sources(runtime, site.sources())
        with runtime.session() as s:
            from yuqing.models import Source

            source_ids = [src.id for src in s.scalars(select(Source))]
        assert len(source_ids) == 3
        for source_id in source_ids:
            enqueue("crawl", "yuqing.crawlers.jobs.crawl_source", source_id)
        _run_workers_until_idle(runtime)
        # 先报值班员: the route's group_wait holds the monitor's first notice, and the
        # departments' 专报 wait for it; the held notice's wake-up sends both (on a slow machine
        # the drain above already outlasted the wait).
        _run_wake_ups_until(runtime, "the referrals", lambda: _referred(runtime))
    finally:
        site.stop()

    with runtime.session() as s:
        items = s.scalars(select(Item)).all()
        assert len(items) >= 12, [i.title or i.text[:20] for i in items]
        football = next(i for i in items if "中超" in i.text)
        assert not football.in_remit
        mine = [i for i in items if "透水" in (i.title + i.text)]
        assert len(mine) >= 7  # s002 n002 s003 s004 r002 r003 s006
        event_ids = {i.event_id for i in mine}
        assert len(event_ids) == 1, "the flooding reports should form one event"
        event = s.get(Event, event_ids.pop())
        assert event.level in ("重大", "特别重大")
        assert football.event_id != event.id

        alert = s.scalars(select(Alert).where(Alert.event_id == event.id)).one()
        assert alert.reasons

        ticket = s.scalars(select(Ticket).where(Ticket.event_id == event.id)).one()
        assert ticket.detected_at == event.first_seen_at
        due = {d.kind: d.due_at for d in s.scalars(select(Deadline).where(Deadline.ticket_id == ticket.id))}
        assert due["first_response"] == event.first_seen_at + timedelta(hours=48)
        assert due["authoritative_info"] == event.first_seen_at + timedelta(hours=5)
        assert due["press_conference"] == event.first_seen_at + timedelta(hours=24)

        referrals = {r.department_key: r for r in s.scalars(select(Referral).where(Referral.event_id == event.id))}
        assert {"propaganda", "cyberspace"} <= set(referrals)
        first_notice = s.scalar(select(func.min(AuditEntry.at)).where(
            AuditEntry.action == "alert.notify", AuditEntry.target_type == "alert", AuditEntry.target_id == alert.id))
        assert first_notice is not None and all(
            first_notice <= r.created_at for r in referrals.values()), "the monitor hears first"
        # the miner's relative asking "到底死了多少人？是不是瞒报？" is no rumour: nothing goes to 公安
        assert "police" not in referrals
        relative = next(i for i in items if "是不是瞒报" in i.text)
        assert "false_information" not in relative.categories
        assert "false_information" not in event.categories

    messages = smtp.wait_for(2, timeout=30)
    by_rcpt: dict[str, list] = {}
    for msg in messages:
        for rcpt in msg["X-Envelope-To"].split(", "):
            by_rcpt.setdefault(rcpt, []).append(msg)
    for address in ("yqk@xcb.zezhou.example", "wxb@wxb.zezhou.example"):
        assert address in by_rcpt, f"no referral e-mail to {address}; got {sorted(by_rcpt)}"
        msg = by_rcpt[address][0]
        assert "专报" in _subject(msg) or "报送" in _subject(msg)
        docx_parts = [p for p in msg.walk() if (p.get_filename() or "").endswith(".docx")]
        assert docx_parts, "the referral carries its special report"
        text = "\n".join(p.text for p in Document(io.BytesIO(docx_parts[0].get_payload(decode=True))).paragraphs)
        assert "透水" in text
