"""Crawl jobs (RQ): plain functions taking ids.

``enqueue_due_sources()`` runs periodically and enqueues ``crawl_source`` for every enabled
source whose next run is due (one job id per source, so a slow source is never doubled).
``crawl_source(source_id)`` runs the crawl in a child process with a timeout, judges the run
by the stats the child reports, records it and schedules the next run. One source failing,
hanging or crashing never holds up another: each is its own job and its own process.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import or_, select

from yuqing.models import Item, Source
from yuqing.runtime import get_runtime
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

from .health import RunReport, judge, record_run

log = logging.getLogger(__name__)

KILL_GRACE = 10  # seconds between SIGTERM and SIGKILL for a crawl past its time


def child_env(settings: Any) -> dict[str, str]:
    """The environment of a crawl child: this process's settings as ``YUQING_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"YUQING_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    env["YUQING_DATABASE_URL"] = settings.sqlalchemy_url
    env["SCRAPY_SETTINGS_MODULE"] = "yuqing.crawlers.settings"
    return env


def run_child(rt: Any, source_id: int, distributed: bool = False, stay: bool = False) -> RunReport:
    """Crawl one source in a child process and judge the outcome. ``stay``: a distributed
    node that waits on the shared queue until told to stop, so no time limit."""
    timeout = None if stay else rt.settings.crawl_job_timeout
    with tempfile.TemporaryDirectory(prefix="yuqing-crawl-") as tmp:
        report_path = Path(tmp) / "report.json"
        log_path = Path(tmp) / "crawl.log"
        cmd = [sys.executable, "-m", "yuqing.crawlers.run", str(source_id),
               "--now", rt.now().isoformat(), "--report", str(report_path)]
        if distributed:
            cmd.append("--distributed")
        if distributed and stay:
            cmd.append("--stay")
        with log_path.open("wb") as log_file:
            child = subprocess.Popen(cmd, env=child_env(rt.settings), stdout=log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                _stop(child)
                return judge(None, f"采集超过 {timeout} 秒（crawl_job_timeout），子进程已被终止",
                             timed_out=True)
        report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else None
        crash = ""
        if report is None:
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
            crash = f"采集子进程异常退出（退出码 {child.returncode}）：{tail[0][:300] if tail else ''}"
        return judge(report, crash)


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Stop the crawl child and anything it started (it leads its own process group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        try:
            child.wait(KILL_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue


def crawl_source(source_id: int, distributed: bool = False) -> dict[str, Any]:
    """RQ job: crawl one source now, record the run and its health, schedule the next run."""
    rt = get_runtime()
    with rt.session() as s:
        src = s.get(Source, source_id)
        if src is None:
            log.warning("crawl_source: source %s no longer exists", source_id)
            return {"status": "missing"}
    started = rt.now()
    run = run_child(rt, source_id, distributed)
    record_run(rt, source_id, run, started, rt.now())
    return {"status": run.status, "found": run.found, "new": run.new, "updated": run.updated,
            "reason": run.reason}


def enqueue_due_sources() -> int:
    """Periodic: enqueue a crawl for every enabled source that is due; returns how many."""
    rt = get_runtime()
    now = rt.now()
    with rt.session() as s:
        due = list(s.scalars(select(Source.id).where(
            Source.enabled.is_(True), or_(Source.next_run_at.is_(None), Source.next_run_at <= now))))
    count = 0
    for source_id in due:
        job = enqueue("crawl", registry.CRAWL_SOURCE, source_id,
                      job_id=f"crawl-source-{source_id}", retry=None,
                      timeout=rt.settings.crawl_job_timeout + 120)
        count += job is not None
    return count


ANALYSE_AFTER = timedelta(minutes=1)  # an item unanalysed this long was stored and forgotten
SWEEP_BATCH = 200  # items per analysis job, bucketed by id so a bucket's job id is stable
SWEEP_MAX_BATCHES = 50  # per sweep: a store-wide backlog is worked off over several sweeps


def enqueue_unanalysed() -> int:
    """Periodic (补排分析): enqueue analysis for items stored more than :data:`ANALYSE_AFTER`
    ago and never analysed (their enqueue failed: Redis away, a crawl run without workers).

    Items go in id buckets of :data:`SWEEP_BATCH`, one job id per bucket, so a sweep that
    finds the same items again while their job waits enqueues nothing; analysing an item twice
    is harmless (analysis keeps its event). Returns how many jobs were enqueued."""
    rt = get_runtime()
    before = rt.now() - ANALYSE_AFTER
    with rt.session() as s:
        ids = list(s.scalars(select(Item.id).where(Item.analysed_at.is_(None), Item.fetched_at <= before)
                             .order_by(Item.id).limit(SWEEP_BATCH * SWEEP_MAX_BATCHES)))
    buckets: dict[int, list[int]] = {}
    for item_id in ids:
        buckets.setdefault(item_id // SWEEP_BATCH, []).append(item_id)
    count = 0
    for bucket, members in buckets.items():
        job = enqueue("analyse", registry.ANALYSE_ITEMS, members,
                      job_id=f"analyse-sweep-{bucket}")
        count += job is not None
    if count:
        log.info("enqueued analysis for %d unanalysed items in %d jobs", len(ids), count)
    return count
