"""Source health (信源健康): judge each run by its stats, keep per-source health, alert when a
source turns unhealthy.

A run is ``ok`` (items found, no errors), ``partial`` (items found, some requests failed),
``empty`` (nothing found, nothing failed), ``failed`` (errors and nothing found, or the child
crashed) or ``timeout``. A source is unhealthy after ``FAILURES_UNHEALTHY`` failed runs in a
row, or ``EMPTY_UNHEALTHY`` empty runs in a row although it used to yield items (a changed
layout or a captcha page). Turning unhealthy enqueues the alerts job ``source_unhealthy``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from yuqing.models import Source, SourceRun
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

log = logging.getLogger(__name__)

FAILURES_UNHEALTHY = 3
EMPTY_UNHEALTHY = 3


@dataclass
class RunReport:
    """What the crawl child reported, or why it reported nothing."""

    status: str
    pages: int = 0
    found: int = 0
    new: int = 0
    updated: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    http_cache: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


def judge(report: dict[str, Any] | None, crash: str = "", timed_out: bool = False) -> RunReport:
    """Turn the child's report into a run status, by its stats and not its exit code."""
    if timed_out:
        return RunReport("timeout", reason=crash or "采集超时，子进程已被终止",
                         errors=[{"url": "", "reason": crash or "采集超时"}])
    if not report or not report.get("ok"):
        reason = (report or {}).get("error") or crash or "采集子进程异常退出"
        return RunReport("failed", reason=reason, errors=[{"url": "", "reason": reason}])
    st = report.get("stats") or {}
    run = RunReport(
        status="ok", pages=int(st.get("downloader/response_count", 0)), found=int(st.get("yuqing/found", 0)),
        new=int(st.get("yuqing/items_new", 0)), updated=int(st.get("yuqing/items_updated", 0)),
        errors=list(st.get("yuqing/errors") or []), warnings=list(st.get("yuqing/warnings") or []),
        http_cache=dict(st.get("yuqing/http_cache") or {}), stats=st)
    if st.get("yuqing/items_not_stored"):
        # Keep the old ETag/Last-Modified: with the new ones the feed would answer 304 next
        # time and the items the store refused (the database away) would never come again.
        run.http_cache = {}
    not_modified = int(st.get("yuqing/not_modified", 0))
    if run.found or not_modified:
        run.status = "partial" if run.errors else "ok"
    else:
        run.status = "failed" if run.errors else "empty"
    if run.errors:
        first = run.errors[0]["reason"]
        more = int(st.get("yuqing/errors_count", len(run.errors)))
        run.reason = first if more == 1 else f"{first}（共 {more} 处错误）"
    elif run.status == "empty":
        run.reason = "; ".join(w["reason"] for w in run.warnings[:2]) or "未采集到任何条目"
    elif not_modified and not run.found:
        run.reason = "订阅源未更新（304）"
    return run


def record_run(rt: Any, source_id: int, run: RunReport, started: datetime, finished: datetime) -> bool:
    """Write the SourceRun, update the source's health and next run; True if it turned unhealthy."""
    with rt.session() as s:
        src = s.get(Source, source_id)
        if src is None:
            return False
        used_to_yield = src.total_items > 0
        s.add(SourceRun(source_id=source_id, started_at=started, finished_at=finished, status=run.status,
                        pages=run.pages, items_found=run.found, items_new=run.new, items_updated=run.updated,
                        errors=run.errors, warnings=run.warnings, reason=run.reason,
                        stats={k: v for k, v in run.stats.items() if not k.startswith("yuqing/http_cache")}))
        src.last_run_at = started
        src.last_status = run.status
        # Count from when this run was due, not from when it started: a crawl starts on the
        # scheduler's next tick plus queueing, so counting from the start stretched every
        # interval by up to a tick (a 1-minute source was polled every 75 s). A run long
        # overdue counts from its start, so there is no burst of catch-up runs.
        interval = timedelta(minutes=src.interval_minutes)
        due = src.next_run_at if src.next_run_at and src.next_run_at <= started else started
        src.next_run_at = due + interval if due + interval > started else started + interval
        if run.http_cache:
            src.http_cache = {**(src.http_cache or {}), **run.http_cache}
        if run.errors:
            src.last_error, src.last_error_at = run.reason, finished
        if run.status in ("failed", "timeout"):
            src.consecutive_failures += 1
        else:
            src.consecutive_failures = 0
            src.last_success_at = finished
            src.last_item_count = run.found
            src.total_items += run.new
        if run.status == "empty" and used_to_yield:
            src.empty_runs += 1
            src.last_error = f"连续 {src.empty_runs} 次未采集到任何条目（此前有数据），可能页面改版或出现验证码"
            src.last_error_at = finished
        elif run.status in ("ok", "partial"):
            src.empty_runs = 0
        was_healthy = src.healthy
        src.healthy = src.consecutive_failures < FAILURES_UNHEALTHY and src.empty_runs < EMPTY_UNHEALTHY
        turned = was_healthy and not src.healthy
    if turned:
        log.warning("source %s turned unhealthy: %s", source_id, run.reason)
        enqueue("notify", registry.SOURCE_UNHEALTHY, source_id,
                job_id=f"source-unhealthy-{source_id}")
    return turned


def health_rows(rt: Any) -> list[dict[str, Any]]:
    """One row per source for `yuqing sources check` and the dashboard."""
    with rt.session() as s:
        return [{"id": src.id, "key": src.key, "name": src.name, "kind": src.kind, "tier": src.tier,
                 "enabled": src.enabled, "healthy": src.healthy, "last_status": src.last_status,
                 "last_success_at": src.last_success_at, "last_error": src.last_error,
                 "last_error_at": src.last_error_at, "consecutive_failures": src.consecutive_failures,
                 "empty_runs": src.empty_runs, "last_item_count": src.last_item_count,
                 "total_items": src.total_items, "next_run_at": src.next_run_at}
                for src in s.scalars(select(Source).order_by(Source.key))]
