"""Scale-out (issue 20): two analysis workers, separate processes, one PostgreSQL, same events.

Each worker keeps its own folding/event index and brings it up to date from the store under the
grouping lock, so a batch grouped by one worker must be seen by the other. The same feed goes
through one worker (in this process) and through two real RQ workers (spawned processes, the
product's ``run_worker``), each into its own database on one PostgreSQL server; both must fold
and group every item alike. The feed hands the next batch on once the previous one is grouped
(as a crawler's batches arrive one after another), and the two workers take them as RQ gives
them out, so consecutive batches land on different processes.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import create_engine, func, insert, select

from yuqing.analysis import jobs
from yuqing.models import Item, Source
from yuqing.runtime import Runtime, set_runtime

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

INCIDENTS = [
    "泽州县大箕镇一煤矿发生透水事故，3人被困，救援正在进行。",
    "泽州县北义城镇化工厂发生爆炸，现场浓烟滚滚，已有2人受伤送医。",
    "泽州县南村镇暴雨引发山洪，多个村庄被淹，群众连夜转移。",
    "泽州县金村镇一在建工地塔吊倒塌，1名工人死亡。",
    "泽州县高都镇森林火灾，消防人员正在扑救，暂无人员伤亡。",
    "网友反映泽州县巴公镇自来水发黄有异味，居民要求公开水质检测结果。",
]
LEADS = ["", "转发：", "【快讯】", "据网友反映，", "最新消息：", "现场视频："]
N_ITEMS = 300
BATCH = 25


def _rows(start: datetime) -> list[dict[str, Any]]:
    rows = []
    for n in range(N_ITEMS):
        base = INCIDENTS[n % len(INCIDENTS)]
        text = LEADS[(n // len(INCIDENTS)) % len(LEADS)] + base + ("" if n % 4 else f"第{n // 4}条跟帖：大家注意安全。")
        url = f"http://scale.example/{n}"
        rows.append({"id": n + 1, "source_id": n % 5 + 1, "url": url, "url_hash": hashlib.sha256(url.encode()).hexdigest(),
                     "title": "", "text": text, "tier": "social", "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                     "fetched_at": start + timedelta(seconds=10 * n), "published_at": start + timedelta(seconds=10 * n),
                     "engagement": {}})
    return rows


def _store(url: str, rows: list[dict[str, Any]], start: datetime) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Source), [{"id": i + 1, "key": f"s{i}", "name": f"信源{i}", "kind": "feed", "urls": [],
                                       "tier": "social", "created_at": start} for i in range(5)])
        conn.execute(insert(Item), rows)
    engine.dispose()


def _decisions(url: str) -> dict[int, tuple[int | None, int]]:
    """Each item's original and its event, the event named by its first item."""
    engine = create_engine(url)
    with engine.connect() as conn:
        first = dict(conn.execute(select(Item.event_id, func.min(Item.id)).group_by(Item.event_id)).all())
        rows = conn.execute(select(Item.id, Item.duplicate_of_id, Item.event_id)).all()
    engine.dispose()
    return {r.id: (r.duplicate_of_id, first[r.event_id]) for r in rows}


def _grouped(url: str, last_id: int) -> bool:
    engine = create_engine(url)
    with engine.connect() as conn:
        done = conn.scalar(select(Item.event_id).where(Item.id == last_id)) is not None
    engine.dispose()
    return done


def worker_main(env: dict[str, str], name: str) -> None:
    """A separate worker process: the product's RQ worker on the analyse queue."""
    os.environ.update(env)
    from yuqing.tasks.worker import run_worker

    run_worker(["analyse"], name=name)


def test_two_worker_processes_on_one_postgres_group_as_one_worker(pg_server, runtime, redis) -> None:  # type: ignore[no-untyped-def]
    start = datetime.now(UTC) - timedelta(hours=2)  # the workers read the wall clock
    rows = _rows(start)
    one, two = pg_server.migrated_database("scale_one"), pg_server.migrated_database("scale_two")
    _store(one, rows, start)
    _store(two, rows, start)
    batches = [[r["id"] for r in rows[i:i + BATCH]] for i in range(0, N_ITEMS, BATCH)]

    single = Runtime(settings=runtime.settings.model_copy(update={"database_url": one}), profile=runtime.profile,
                     redis=redis)
    set_runtime(single)
    jobs.reset()
    try:
        for ids in batches:
            jobs.analyse_items(ids)
    finally:
        set_runtime(runtime)
        single.engine.dispose()
        jobs.reset()

    env = {"YUQING_DATABASE_URL": two, "YUQING_REDIS_URL": runtime.settings.redis_url,
           "YUQING_DATA_DIR": str(runtime.settings.data_dir), "YUQING_SECRET_KEY": runtime.settings.secret_key.get_secret_value(),
           "YUQING_PROFILE": "zezhou-emergency", "YUQING_LOG_LEVEL": "WARNING"}
    ctx = mp.get_context("spawn")
    workers = [ctx.Process(target=worker_main, args=(env, f"scale-{k}-{os.getpid()}")) for k in range(2)]
    for w in workers:
        w.start()
    queue = Queue("analyse", connection=Redis.from_url(runtime.settings.redis_url))
    by_worker: set[str] = set()
    try:
        for ids in batches:
            job = queue.enqueue("yuqing.analysis.jobs.analyse_items", ids)
            deadline = time.monotonic() + 120
            while not _grouped(two, ids[-1]):
                assert time.monotonic() < deadline, f"batch {ids[0]}–{ids[-1]} not grouped in 120 s"
                assert all(w.is_alive() for w in workers), "a worker died"
                time.sleep(0.05)
            job.refresh()
            by_worker.add(job.worker_name or "")
    finally:
        for w in workers:
            if w.pid and w.is_alive():
                os.kill(w.pid, signal.SIGTERM)
        for w in workers:
            w.join(30)
            if w.is_alive():
                w.kill()

    alone, together = _decisions(one), _decisions(two)
    assert len(alone) == N_ITEMS
    assert sum(d is not None for d, _ in alone.values()) > 0  # copies were folded
    assert len({e for _, e in alone.values()}) < N_ITEMS / 4  # reports were grouped into events
    assert together == alone
    assert len(by_worker - {""}) == 2, by_worker  # both processes grouped batches
