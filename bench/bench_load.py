"""Load benchmark: 1,000,000 items through analysis (研判) on this machine, with memory watched.

The real stage: the items are stored as the crawl pipeline stores them, one
``yuqing.analysis.jobs.analyse_items`` job per batch of 50 (the pipeline's batch) goes on the
``analyse`` queue of a real redis-server, and ``--workers`` real RQ workers (the product's
``run_worker``: preload, analysis jobs in the worker's own process) score, fold, group into
events and write SQLite (WAL).

Items cycle the corpus texts (/work/shared/corpora) with variations: a new URL and source, a
lead-in drawn at random for each item (so some copies are near-duplicates of an earlier one,
some new text), and ``fetched_at`` advancing so that ``--window-items`` items fill the 7-day
event window: the window slides through the run, which is what keeps memory flat. The workers' clock follows
the feed (a replay clock read from Redis; the product's workers read the wall clock, on which a
20-minute run could never slide a 7-day window). The feeder stays at most ``--ahead`` items in
front of the workers, as a crawler would be.

Memory: the anonymous PSS (shared pages counted once; the store's memory-mapped file left out,
as the OS's file cache) of the worker processes and any children is sampled every 1% of the
items; printed at 10%, 50% and 100%, with the growth of the workers' own anonymous RSS (the
index they keep between jobs) from warm-up (two windows' worth of items) to the end, each point
the median of five samples. Peak: the highest sample, and
the largest RSS of any single worker process (getrusage). Baseline in the same run: bare
``jieba.lcut`` over the same texts on one core, and the rate of the first 10% against the last.

    python bench/bench_load.py [--items 1000000] [--workers 2] [--batch 50]
    python bench/bench_load.py --items 20000      # a quick check
    python bench/bench_load.py --n 100000 --db postgres   # on PostgreSQL (a cluster of its own)

The store and Redis live in a temporary folder that is deleted at the end (``--keep`` keeps it).
Downstream jobs the analysis enqueues (alert evaluation, ticket consideration) are counted and
dropped, not run: this measures analysis.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import command, figure  # noqa: E402

CLOCK_KEY = "yuqing:bench:now"
LEADS = ["", "转发：", "【快讯】", "据网友反映，", "今天上午，", "有网友爆料：", "最新消息：", "现场视频："]
PLATFORMS = ["微博", "网站", "论坛", "微信", "新闻客户端"]
TIERS = ["social", "social", "forum", "local", "provincial", "central", "government"]


class ReplayClock:
    """``now()`` is the feed's time, which the feeder keeps in Redis."""

    def __init__(self, url: str) -> None:
        from redis import Redis

        self.redis = Redis.from_url(url)

    def now(self) -> datetime:
        return datetime.fromtimestamp(float(self.redis.get(CLOCK_KEY)), UTC)


def worker_main(env: dict[str, str], name: str) -> None:
    """A worker process: the product's worker on the analyse queue, on the replay clock."""
    os.environ.update(env)
    from yuqing.profile import load_profile
    from yuqing.runtime import Runtime, set_runtime
    from yuqing.settings import load_settings
    from yuqing.tasks.worker import run_worker

    settings = load_settings()
    set_runtime(Runtime(settings=settings, profile=load_profile(settings.profile),
                        clock=ReplayClock(settings.redis_url)))
    traced = os.environ.get(TRACE_ENV)
    if traced:  # what the worker's Python heap holds at the end, beyond what preload left
        import tracemalloc

        from yuqing.analysis.jobs import preload

        preload()
        tracemalloc.start(1)  # one frame: by file and line is all it prints, and deeper ones slow the run
        start = tracemalloc.take_snapshot()
    run_worker(["analyse"], name=name)
    if traced:
        write_trace(Path(traced) / f"{name}.txt", start, tracemalloc.take_snapshot())


TRACE_ENV = "BENCH_LOAD_TRACEMALLOC"  # not YUQING_: the settings refuse unknown ones


def write_trace(path: Path, start: Any, end: Any) -> None:
    """The traced allocations' growth from after preload to the end, by file and by line."""
    lines = []
    for key in ("filename", "lineno"):
        stats = end.compare_to(start, key)
        total = sum(s.size_diff for s in stats)
        lines.append(f"growth by {key}: {total / 2**20:.1f} MB in all")
        lines += [f"{s.size_diff / 2**20:8.2f} MB {s.count_diff:+9,} blocks  {s.traceback[0]}" for s in stats[:25]]
    path.write_text("\n".join(lines) + "\n")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    from redis import Redis

    from yuqing.tasks.connection import redis_binary

    port = free_port()
    proc = subprocess.Popen([redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            Redis.from_url(url).ping()
            return proc, url
        except Exception:  # noqa: BLE001
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def start_store(kind: str, folder: Path) -> tuple[str, Callable[[], None]]:
    """The store's URL and how to stop it: SQLite (WAL) in the folder, or a PostgreSQL cluster
    of its own on a loopback port, started as the tests start theirs (tests/servers.py: fsync
    off, as there; SQLite runs with synchronous=NORMAL)."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'data' / 'yuqing.db'}", lambda: None
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from servers import PostgresServer

    server = PostgresServer(folder / "pg").start()
    return server.url, server.stop


def _rollup(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in fh.readlines()[1:])}


def memory(pids: list[int]) -> tuple[float, float, float]:
    """In MB: the PSS and the RSS of the anonymous memory of these processes and their children
    (the forked jobs), and the anonymous RSS of these processes alone (the workers, which keep
    the window's index between jobs). Anonymous: the store's file is memory-mapped by SQLite,
    and its pages are the OS's file cache, shared and given back under pressure, not the work's."""
    import psutil

    pss = rss = parents = 0
    for pid in pids:
        try:
            procs = [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            try:
                info = _rollup(p)
            except (FileNotFoundError, ProcessLookupError):
                continue
            pss += info["Pss_Anon"]
            rss += info["Anonymous"]
            parents += info["Anonymous"] if p == pid else 0
    return pss / 1024, rss / 1024, parents / 1024


def store_mb(engine: Any, folder: Path) -> float:
    if engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with engine.connect() as conn:
            return conn.scalar(text("SELECT pg_database_size(current_database())")) / 2**20
    return sum(p.stat().st_size for p in (folder / "data").glob("*.db*")) / 2**20


def h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def make_rows(docs: list[str], first: int, count: int, start: datetime, step: timedelta,
              rnd: random.Random, sources: int) -> list[dict]:
    rows = []
    for n in range(first, first + count):
        # Drawn per item, not fixed per pass over the corpus: the mix of originals and copies is
        # then the same in every window. A lead-in fixed per pass made the share of originals in
        # the window (and the index's memory with it) swing from pass to pass, so a memory curve
        # showed the feed's cycle, not the workers' steady state.
        text = rnd.choice(LEADS) + docs[n % len(docs)]
        source = n % sources + 1
        url = f"http://load.example/{source}/{n}"
        fetched = start + step * n
        rows.append({"id": n + 1, "source_id": source, "url": url, "url_hash": h(url), "title": "",
                     "text": text, "author": f"作者{rnd.randrange(5000)}", "tier": TIERS[source % len(TIERS)],
                     "platform": PLATFORMS[source % len(PLATFORMS)], "content_hash": h(text),
                     "published_at": fetched - timedelta(minutes=rnd.randrange(180)), "fetched_at": fetched,
                     "engagement": {"reposts": rnd.randrange(50), "comments": rnd.randrange(50),
                                    "likes": rnd.randrange(200)}, "raw_ref": url})
    return rows


def bare_jieba(docs: list[str]) -> tuple[float, float]:
    """Items per second of ``jieba.lcut`` on one core: by the wall clock, and per CPU second."""
    import jieba

    jieba.initialize()
    t0, c0 = time.perf_counter(), time.process_time()
    for d in docs:
        jieba.lcut(d)
    return len(docs) / (time.perf_counter() - t0), len(docs) / (time.process_time() - c0)


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of these processes and of their children that have ended (the jobs)."""
    import psutil

    total = 0.0
    for pid in pids:
        t = psutil.Process(pid).cpu_times()
        total += t.user + t.system + t.children_user + t.children_system
    return total


def main() -> None:  # noqa: PLR0915 - one straight run, easier to read in one piece
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", "--n", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50, help="items per analysis job (the pipeline's batch)")
    parser.add_argument("--window-items", type=int, default=0, help="items per 7-day window (default items/10)")
    parser.add_argument("--ahead", type=int, default=2000, help="items the feeder may be ahead of the workers")
    parser.add_argument("--corpora", type=Path, default=Path("/work/shared/corpora"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary store")
    parser.add_argument("--tracemalloc", type=Path, help="each worker writes its heap's growth here (slower)")
    args = parser.parse_args()
    if args.tracemalloc:
        args.tracemalloc.mkdir(parents=True, exist_ok=True)
        os.environ[TRACE_ENV] = str(args.tracemalloc.resolve())
    command()

    from bench_analysis import texts
    from redis import Redis
    from rq import Queue
    from rq.registry import FailedJobRegistry, StartedJobRegistry
    from sqlalchemy import func, insert, select

    from yuqing.analysis.events import WINDOW
    from yuqing.models import Event, Item, Source
    from yuqing.profile import load_profile
    from yuqing.runtime import Runtime, set_runtime
    from yuqing.settings import load_settings
    from yuqing.store import engine_for, migrate
    from yuqing.tasks.dispatch import enqueue

    n_items, batch = args.items, args.batch
    window_items = args.window_items or max(1000, n_items // 10)
    step = WINDOW / window_items
    docs = texts(args.corpora, 50_000)
    jieba_rate, jieba_cpu_rate = bare_jieba(docs)
    print(f"baseline: bare jieba.lcut {jieba_rate:,.0f} items/s on one core ({len(docs):,} corpus texts)", flush=True)

    folder = Path(tempfile.mkdtemp(prefix="yuqing-load-"))
    redis_proc, redis_url = start_redis(folder)
    db_url, stop_store = start_store(args.db, folder)
    workers: list[mp.Process] = []
    try:
        env = {"YUQING_DATA_DIR": str(folder / "data"), "YUQING_REDIS_URL": redis_url, "YUQING_DATABASE_URL": db_url,
               "YUQING_SECRET_KEY": "bench-secret-key-for-signing-0123456789", "YUQING_LOG_LEVEL": "WARNING",
               "YUQING_PROFILE": "zezhou-emergency"}
        settings = load_settings(environ=env)
        migrate(settings.sqlalchemy_url)
        engine = engine_for(settings.sqlalchemy_url)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        sources = 40
        with engine.begin() as conn:
            conn.execute(insert(Source), [{"id": i + 1, "key": f"load-{i}", "name": f"信源{i}", "kind": "feed",
                                           "urls": [], "tier": TIERS[(i + 1) % len(TIERS)], "created_at": start}
                                          for i in range(sources)])
        redis = Redis.from_url(redis_url)
        redis.set(CLOCK_KEY, start.timestamp())
        set_runtime(Runtime(settings=settings, profile=load_profile(settings.profile), clock=ReplayClock(redis_url),
                            redis=redis))  # the feeder enqueues through the product's dispatch
        ctx = mp.get_context("spawn")
        workers = [ctx.Process(target=worker_main, args=(env, f"load-{k}")) for k in range(args.workers)]
        for w in workers:
            w.start()
        analyse, notify, respond = (Queue(q, connection=redis) for q in ("analyse", "notify", "respond"))
        started_reg = StartedJobRegistry("analyse", connection=redis)

        def backlog() -> int:
            return (analyse.count + started_reg.count) * batch

        rnd = random.Random(8)
        chunk = batch * 10
        inserted = dropped = 0
        samples: list[tuple[int, float, float, float, float]] = []  # (items, seconds, PSS, RSS, workers' RSS)
        every = max(batch, n_items // 100)
        next_sample = every
        t0 = time.perf_counter()

        def sample(analysed: int) -> None:
            nonlocal dropped
            dropped += (notify.empty() or 0) + (respond.empty() or 0)
            pss, rss, parents = memory([w.pid for w in workers])
            samples.append((analysed, time.perf_counter() - t0, pss, rss, parents))
            pct = 100 * analysed / n_items
            rate = analysed / max(1e-9, time.perf_counter() - t0)
            print(f"  {pct:5.1f}%  {analysed:>9,} items  {rate:7.0f} items/s  workers and jobs: PSS {pss:6.0f} MB"
                  f" RSS {rss:6.0f} MB; workers alone: RSS {parents:6.0f} MB", flush=True)

        while inserted < n_items or backlog() > 0:
            if inserted < n_items and backlog() <= args.ahead:
                count = min(chunk, n_items - inserted)
                rows = make_rows(docs, inserted, count, start, step, rnd, sources)
                with engine.begin() as conn:
                    conn.execute(insert(Item), rows)
                redis.set(CLOCK_KEY, rows[-1]["fetched_at"].timestamp())
                for i in range(0, count, batch):
                    ids = [r["id"] for r in rows[i:i + batch]]
                    enqueue("analyse", "yuqing.analysis.jobs.analyse_items", ids, job_id=f"analyse-{ids[0]}-{ids[-1]}")
                inserted += count
            else:
                time.sleep(0.02)
            analysed = inserted - backlog()
            if analysed >= next_sample:
                sample(analysed)
                next_sample += every
            for w in workers:
                if not w.is_alive():
                    raise SystemExit(f"worker {w.name} exited with {w.exitcode}")
        elapsed = time.perf_counter() - t0
        if not samples or samples[-1][0] < n_items:
            sample(n_items)
        failed = FailedJobRegistry("analyse", connection=redis).count
        with engine.connect() as conn:
            done = conn.scalar(select(func.count()).select_from(Item).where(Item.event_id.is_not(None)))
            events = conn.scalar(select(func.count()).select_from(Event))
            dups = conn.scalar(select(func.count()).select_from(Item).where(Item.duplicate_of_id.is_not(None)))
            biggest = conn.scalar(select(func.max(Event.item_count)))
        worker_cpu = cpu_seconds([w.pid for w in workers])
        for w in workers:
            os.kill(w.pid, signal.SIGTERM)  # warm shutdown: RQ finishes the job in hand
        for w in workers:
            w.join(60)
        peak_single = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        db_mb = store_mb(engine, folder)
    finally:
        for w in workers:
            if w.is_alive():
                w.kill()
        engine_for(db_url).dispose()
        stop_store()
        redis_proc.terminate()
        redis_proc.wait(10)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"store kept in {folder}")

    if done != n_items or failed:
        raise SystemExit(f"only {done:,} of {n_items:,} items were analysed ({failed} failed jobs)")
    rate = n_items / elapsed

    def at(fraction: float) -> tuple[int, float, float, float, float]:
        return min(samples, key=lambda s: abs(s[0] - fraction * n_items))

    def steady(fraction: float) -> float:
        """The workers' own RSS around this point: the median of five samples (a collection in
        progress moves a single sample)."""
        k = samples.index(at(fraction))
        return statistics.median(s[4] for s in samples[max(0, k - 2):k + 3])

    def span_rate(lo: float, hi: float) -> float:
        a, b = at(lo), at(hi)
        return (b[0] - a[0]) / max(1e-9, b[1] - a[1])

    warm_at = 2 * window_items / n_items
    warm = at(warm_at)
    growth = 100 * (steady(1.0) - steady(warm_at)) / steady(warm_at)
    peak_pss = max(s[2] for s in samples)
    first, last = at(0.1)[0] / at(0.1)[1], span_rate(0.9, 1.0)
    print(f"items: {n_items:,} in batches of {batch}, {args.workers} workers, window {window_items:,} items "
          f"(7 days); {events:,} events (largest {biggest:,} items), {dups:,} folded as duplicates")
    print(f"analysis: {rate:,.0f} items/s over {elapsed / 60:.1f} min = {rate / jieba_rate:.2f}× bare jieba (one core)")
    cpu_rate = n_items / worker_cpu  # items per CPU second of the workers
    print(f"analysis per CPU second of the workers: {cpu_rate:,.0f} items = {cpu_rate / jieba_cpu_rate:.2f}× bare jieba "
          f"per CPU second ({jieba_cpu_rate:,.0f}); on a machine shared with other work the wall-clock ratio "
          "follows the load, this one does not (Redis's and PostgreSQL's own processes are not counted)")
    print(f"rate first 10%: {first:,.0f} items/s, last 10%: {last:,.0f} items/s (last/first {last / first:.2f})")
    for frac in (0.1, 0.5, 1.0):
        s = at(frac)
        print(f"anonymous memory at {frac:4.0%}: workers {steady(frac):,.0f} MB RSS; with the jobs in hand "
              f"{s[2]:,.0f} MB PSS (RSS {s[3]:,.0f} MB)")
    print(f"workers' memory growth from warm-up ({warm[0]:,} items, two windows) to the end: {growth:+.1f}%"
          "  (target < 10%)")
    # What each worker's index costs per item of the window: its RSS growth from the first sample
    # (1% of the run, the window nearly empty) to the end (a full window), per window item.
    per_window_item = (steady(1.0) - samples[0][4]) * 1024 / (args.workers * window_items)
    print(f"memory per window item: {per_window_item:.1f} KB per worker (workers' RSS growth from the first sample "
          "to the end, over the window's items)  (target <= 2 KB)")
    print(f"peak: PSS {peak_pss:,.0f} MB summed over workers and jobs; largest single process RSS {peak_single:,.0f} MB")
    print(f"store: {db_mb:,.0f} MB ({args.db}); downstream jobs enqueued and dropped: {dropped:,}")
    size = f"{n_items:,} items, {args.workers} workers" + (", PostgreSQL" if args.db == "postgres" else "")
    figure("load", f"analysis throughput ({size})", f"{rate:,.0f} items/s ({rate / jieba_rate:.2f}× bare jieba, "
           f"last/first 10% {last / first:.2f})", ">= 0.5×")
    figure("load", f"analysis cost: items per worker CPU second vs bare jieba's ({size})",
           f"{cpu_rate / jieba_cpu_rate:.2f}×", "")
    figure("load", f"peak memory, workers and their jobs, anonymous PSS ({size})", f"{peak_pss:,.0f} MB", "")
    figure("load", f"workers' memory growth from warm-up to the end ({size})", f"{growth:+.1f}%", "< 10%")
    figure("load", f"memory per window item, per worker ({size})", f"{per_window_item:.1f} KB", "<= 2 KB")


if __name__ == "__main__":
    main()
