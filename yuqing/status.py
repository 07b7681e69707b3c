"""`yuqing status`: counts of the store and what is up or down.

A monitoring system that is silent looks like a quiet day, so this says plainly what is
down: the database, Redis, workers, the scheduler, stale sources, a queue that keeps growing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue, Worker
from rq.cron import CronScheduler
from rq.worker import WorkerStatus
from sqlalchemy import CursorResult, func, select, update

from .clock import fmt
from .models import (
    Alert,
    AlertStatus,
    Event,
    Heartbeat,
    Item,
    PageSnapshot,
    Referral,
    Source,
    SourceRun,
    Ticket,
    TicketState,
)
from .runtime import Runtime
from .settings import mask_url
from .store import SQLITE_BUSY_MS
from .tasks.dispatch import QUEUE_NAMES
from .tasks.worker import dead_here

log = logging.getLogger(__name__)

QUEUE_BACKLOG_LIMIT = 1000
SNAPSHOTS_NEARLY_FULL = 0.95  # share of snapshot_max_mb from which status warns (the next pages may not fit)
RECENT_RUNS = 20  # crawl runs read for a snapshot that did not fit


def _counts(rt: Runtime) -> dict[str, int]:
    with rt.session() as s:
        def count(stmt: Any) -> int:
            return int(s.scalar(stmt) or 0)

        return {
            "items": count(select(func.count()).select_from(Item)),
            "events": count(select(func.count()).select_from(Event)),
            "alerts": count(select(func.count()).select_from(Alert)),
            "alerts_firing": count(select(func.count()).select_from(Alert)
                                   .where(Alert.status == AlertStatus.FIRING)),
            "open_tickets": count(select(func.count()).select_from(Ticket)
                                  .where(Ticket.state != TicketState.CLOSED)),
            "referrals": count(select(func.count()).select_from(Referral)),
            "sources": count(select(func.count()).select_from(Source)),
            "sources_unhealthy": count(select(func.count()).select_from(Source)
                                       .where(Source.enabled.is_(True), Source.healthy.is_(False))),
        }


def snapshot_use(rt: Runtime) -> dict[str, Any]:
    """原文快照存储: raw bytes the kept (unexpired) snapshots take, against ``snapshot_max_mb``.

    Full when the use is near the cap, or when one of the latest crawls had a page whose
    snapshot did not fit (large pages fill it well before the last few per cent)."""
    with rt.session() as s:
        used = int(s.scalar(select(func.coalesce(func.sum(PageSnapshot.size), 0))
                            .where(PageSnapshot.expires_at > rt.now())) or 0)
        recent = s.scalars(select(SourceRun.stats).order_by(SourceRun.id.desc()).limit(RECENT_RUNS)).all()
    cap = rt.settings.snapshot_max_mb * 1024 * 1024
    refused = any((stats or {}).get("yuqing/snapshots_full") for stats in recent)
    return {"used_mb": round(used / 1024 / 1024, 1), "max_mb": rt.settings.snapshot_max_mb,
            "full": rt.settings.snapshot_days > 0 and (refused or used >= cap * SNAPSHOTS_NEARLY_FULL)}


def _snapshot_warning(use: dict[str, Any]) -> str:
    return (f"原文快照存储已满或将满（已用 {use['used_mb']:g} MB，上限 {use['max_mb']} MB）：采集照常进行，"
            "但新采集网页的快照不再保存；可调大 snapshot_max_mb 或缩短 snapshot_days")


def heartbeat(rt: Runtime, name: str) -> None:
    """Write this checker's heartbeat row: a store that reads but cannot write is *down*.

    With the SQLite files read-only for a minute, every write failed and users saw bare 500s
    while ``status`` said ok and ``/healthz`` answered 200: reading is not enough.
    """
    now = rt.now()
    with rt.session() as s:
        done = cast(CursorResult[Any], s.execute(update(Heartbeat).where(Heartbeat.name == name).values(at=now)))
        if not done.rowcount:
            s.add(Heartbeat(name=name, at=now))


def _stale_sources(rt: Runtime) -> list[str]:
    now = rt.now()
    out = []
    with rt.session() as s:
        for src in s.scalars(select(Source).where(Source.enabled.is_(True))):
            # Stale: no successful run for three intervals (and at least 15 minutes).
            limit = timedelta(minutes=max(15, 3 * src.interval_minutes))
            since = src.last_success_at or src.created_at
            if since and now - since > limit:
                out.append(f"{src.key}（最近成功 {fmt(src.last_success_at, rt.settings.timezone) or '从未'}）")
    return out


def _bounded(redis: Redis, timeout: float) -> Redis:
    """The same Redis server, asked once and waited for at most ``timeout`` seconds.

    redis-py retries a failed command three times with backoff: a stopped server took about
    8 s to report, for each check, longer than a load balancer waits for ``/healthz``
    (Kubernetes' probe gives 1 s), so a down Redis read as a hung site rather than a 503.
    """
    pool = redis.connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": timeout, "socket_connect_timeout": timeout,
              "retry": Retry(NoBackoff(), 0)}
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))


def _queue_status(rt: Runtime) -> dict[str, Any]:
    redis = _bounded(rt.get_redis(), rt.settings.health_timeout)
    try:
        return _queue_counts(redis)
    finally:
        redis.connection_pool.disconnect()


def _queue_counts(redis: Redis) -> dict[str, Any]:
    queues = {name: Queue(name, connection=redis).count for name in QUEUE_NAMES}
    # RQ's live registry: a worker is listed while its key lives, and its heartbeats (every
    # settings.worker_ttl) keep that key alive, so one whose heartbeats stopped drops out when it expires.
    # One on this host whose process is gone is reported gone at once, not two minutes later.
    workers = [w for w in Worker.all(connection=redis) if not dead_here(redis, w.hostname, w.pid)]
    busy = sum(w.get_state() == WorkerStatus.BUSY for w in workers)
    schedulers = CronScheduler.all(connection=redis)
    return {"queues": queues, "workers": len(workers), "busy_workers": busy, "schedulers": len(schedulers)}


def _backlogged(q: dict[str, Any]) -> list[str]:
    return [name for name, size in q["queues"].items() if size > QUEUE_BACKLOG_LIMIT]


def _queue_problems(q: dict[str, Any]) -> list[tuple[str, str]]:
    """What the queues show wrong: ``(short wording for /healthz, full wording for the status)``."""
    out = []
    if not q["workers"]:
        out.append(("没有运行中的 worker", "没有运行中的 worker：采集、研判、工单、推送都不会进行"))
    if not q["schedulers"]:
        out.append(("调度器未运行", "调度器未运行：定时采集、期限巡检、日报都不会触发"))
    out += [(f"队列 {name} 积压", f"队列 {name} 积压 {q['queues'][name]} 个任务") for name in _backlogged(q)]
    return out


def collect_status(rt: Runtime) -> dict[str, Any]:
    report: dict[str, Any] = {"ok": True, "problems": [], "warnings": [], "checked_at": rt.now().isoformat()}
    # The queues are read first: the store's write check below can wait for a busy write lock
    # (up to SQLITE_BUSY_MS), and workers' states read after that wait are not the moment's.
    queues: dict[str, Any] | None = None
    try:
        queues = _queue_status(rt)
    except Exception as exc:  # noqa: BLE001 - report, do not crash
        redis_error: Exception = exc
    try:
        report["counts"] = _counts(rt)
        report["stale_sources"] = _stale_sources(rt)
        if report["stale_sources"]:
            report["problems"].append(f"信源长时间未成功采集: {'、'.join(report['stale_sources'])}")
        report["database"] = "up"
        report["snapshots"] = snapshot_use(rt)
        if report["snapshots"]["full"]:  # a warning: crawling and everything else go on
            report["warnings"].append(_snapshot_warning(report["snapshots"]))
    except Exception as exc:  # noqa: BLE001 - report, do not crash
        report["database"] = f"down: {exc.__class__.__name__}: {exc}"
        report["problems"].append(f"数据库不可用: {exc}")
    else:
        try:
            heartbeat(rt, "status")
        except Exception as exc:  # noqa: BLE001
            report["database"] = f"down: 无法写入: {exc.__class__.__name__}: {exc}"
            report["problems"].append(_write_problem(exc))
    if queues is not None:
        report.update(queues)
        report["redis"] = "up"
        report["problems"] += [full for _, full in _queue_problems(report)]
    else:
        report["redis"] = f"down: {redis_error}"
        report["problems"].append(f"Redis 不可用: {redis_error}")
    report["ok"] = not report["problems"]
    # An exception text can carry the database or Redis URL with its password.
    report["problems"] = [mask_url(p) for p in report["problems"]]
    for key in ("database", "redis"):
        report[key] = mask_url(str(report.get(key, "")))
    return report


def _write_problem(exc: Exception) -> str:
    """Why the store took no write, in words: a write lock held too long is not a full disk."""
    if "database is locked" in str(exc):
        return f"数据库忙：写锁被其他进程占用超过 {SQLITE_BUSY_MS // 1000} 秒，写入未完成"
    return f"数据库无法写入（只读或磁盘已满）：{exc.__class__.__name__}"


def health(rt: Runtime) -> dict[str, Any]:
    """What the public ``/healthz`` tells a load balancer or an outside monitor: the same checks
    as :func:`collect_status`, without the store's counts, source names or exception texts."""
    out: dict[str, Any] = {"database": False, "redis": False, "workers": None, "schedulers": None,
                           "stale_sources": None, "backlogged_queues": [], "problems": [], "warnings": []}
    # The queues first, as collect_status does: the heartbeat write can wait for a busy lock.
    queues: dict[str, Any] | None = None
    try:
        queues = _queue_status(rt)
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        out["redis_error"] = type(exc).__name__
    try:
        out["stale_sources"] = len(_stale_sources(rt))
        if snapshot_use(rt)["full"]:
            out["warnings"].append("原文快照存储已满，新网页不再保存快照")
    except Exception as exc:  # noqa: BLE001
        out["database_error"] = type(exc).__name__
        out["problems"].append("数据库不可用")
    else:
        try:
            heartbeat(rt, "healthz")
            out["database"] = True
        except Exception as exc:  # noqa: BLE001
            out["database_error"] = type(exc).__name__
            out["problems"].append(_write_problem(exc))
        if out["stale_sources"]:
            out["problems"].append(f"{out['stale_sources']} 个信源长时间未成功采集")
    if queues is not None:
        out.update(redis=True, workers=queues["workers"], schedulers=queues["schedulers"])
        out["backlogged_queues"] = _backlogged(queues)
        out["problems"] += [short for short, _ in _queue_problems(queues)]
    else:
        out["problems"].append("Redis 不可用")
    out["ok"] = not out["problems"]
    return out


LABELS = {"items": "条目", "events": "事件", "alerts": "预警", "alerts_firing": "待处理预警",
          "open_tickets": "未关闭工单", "referrals": "报送", "sources": "信源",
          "sources_unhealthy": "异常信源"}


def render_status(report: dict[str, Any]) -> str:
    lines = []
    for key, value in report.get("counts", {}).items():
        lines.append(f"{LABELS.get(key, key):8} {value}")
    lines.append(f"数据库    {report.get('database')}")
    lines.append(f"Redis     {report.get('redis')}")
    if "queues" in report:
        lines.append(f"worker    {report['workers']}（忙 {report.get('busy_workers', 0)}）    调度器 {report['schedulers']}")
        lines.append("队列      " + "  ".join(f"{k}={v}" for k, v in report["queues"].items()))
    if "snapshots" in report:
        lines.append(f"原文快照  已用 {report['snapshots']['used_mb']:g} MB / 上限 {report['snapshots']['max_mb']} MB")
    lines.append("状态      " + ("正常" if report["ok"] else "异常"))
    lines.extend(f"  ! {p}" for p in report["problems"])
    lines.extend(f"  提醒：{w}" for w in report.get("warnings", []))
    return "\n".join(lines)
