"""Same decisions before and after a change to analysis: the events and folds of a fixed feed.

Feeds ``--n`` items made as bench_load makes them (corpus texts cycled with lead-ins, so there
are copies and near-copies; ``--texts`` distinct texts) through the real job
(``yuqing.analysis.jobs.analyse_items``, batches of 50, in this process, real redis-server for
the grouping lock) on SQLite or PostgreSQL, and writes each item's decisions: the original it
was folded into, and its event (named by the event's first item, so ids of events need not match).

    python bench/bench_decisions.py --out before.json            # on the old code
    python bench/bench_decisions.py --compare before.json        # on the new: prints the agreement
    python bench/bench_decisions.py --db postgres --compare before.json

``bench/decisions.json`` holds the decisions of the place-vote grouping (ids only, no text): a change
meant to decide differently (a better grouping rule) writes it anew with ``--out``, and says so.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import command, figure  # noqa: E402


class FeedClock:
    """The feed's time: the newest item stored (analysis runs as the items arrive)."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at


def decisions(url: str) -> dict[int, tuple[int | None, int]]:
    """``{item id: (duplicate_of, first item of its event)}``."""
    from sqlalchemy import create_engine, func, select

    from yuqing.models import Item

    engine = create_engine(url)
    with engine.connect() as conn:
        first = dict(conn.execute(select(Item.event_id, func.min(Item.id)).group_by(Item.event_id)).all())
        rows = conn.execute(select(Item.id, Item.duplicate_of_id, Item.event_id)).all()
    engine.dispose()
    return {r.id: (r.duplicate_of_id, first[r.event_id]) for r in rows if r.event_id is not None}


def agreement(a: dict[int, tuple[int | None, int]], b: dict[int, tuple[int | None, int]]) -> tuple[float, float, int]:
    """(share of items folded alike, share of items in the same event, items compared)."""
    keys = sorted(set(a) | set(b))
    folds = sum(a.get(k, (-1, -1))[0] == b.get(k, (-2, -2))[0] for k in keys)
    events = sum(a.get(k, (-1, -1))[1] == b.get(k, (-2, -2))[1] for k in keys)
    return folds / max(1, len(keys)), events / max(1, len(keys)), len(keys)


def feed(url: str, redis_url: str, docs: list[str], n: int, window_items: int, batch: int = 50) -> None:
    from bench_load import TIERS, make_rows
    from redis import Redis
    from sqlalchemy import insert

    from yuqing.analysis import jobs
    from yuqing.analysis.events import WINDOW
    from yuqing.models import Item, Source
    from yuqing.profile import load_profile
    from yuqing.runtime import Runtime, set_runtime
    from yuqing.settings import load_settings
    from yuqing.store import engine_for, migrate

    start = datetime(2026, 1, 1, tzinfo=UTC)
    migrate(url)
    settings = load_settings(environ={"YUQING_DATABASE_URL": url, "YUQING_REDIS_URL": redis_url,
                                      "YUQING_SECRET_KEY": "bench-secret-key-for-signing-0123456789"})
    clock = FeedClock(start)
    set_runtime(Runtime(settings=settings, profile=load_profile("zezhou-emergency"), clock=clock,
                        redis=Redis.from_url(redis_url)))
    jobs.reset()
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(insert(Source), [{"id": i + 1, "key": f"load-{i}", "name": f"信源{i}", "kind": "feed",
                                       "urls": [], "tier": TIERS[(i + 1) % len(TIERS)], "created_at": start}
                                      for i in range(40)])
    rnd = random.Random(8)
    step = WINDOW / window_items
    for first in range(0, n, batch):
        rows = make_rows(docs, first, min(batch, n - first), start, step, rnd, 40)
        with engine.begin() as conn:
            conn.execute(insert(Item), rows)
        clock.at = rows[-1]["fetched_at"]
        jobs.analyse_items([r["id"] for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--texts", type=int, default=1500, help="distinct corpus texts, cycled")
    parser.add_argument("--window-items", type=int, default=0, help="items per 7-day window (default: --n)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--corpora", type=Path, default=Path("/work/shared/corpora"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()
    command()

    from bench_analysis import texts
    from bench_load import start_redis, start_store

    docs = texts(args.corpora, args.texts)
    folder = Path(tempfile.mkdtemp(prefix="yuqing-decisions-"))
    redis_proc, redis_url = start_redis(folder)
    url, stop_store = start_store(args.db, folder)
    try:
        feed(url, redis_url, docs, args.n, args.window_items or args.n)
        got = decisions(url)
    finally:
        from yuqing.store import engine_for

        engine_for(url).dispose()
        stop_store()
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    events = len({e for _, e in got.values()})
    folded = sum(d is not None for d, _ in got.values())
    print(f"items: {len(got):,}; events: {events:,}; folded as copies: {folded:,} ({args.db})")
    if args.out:
        args.out.write_text(json.dumps({str(k): v for k, v in got.items()}))
    if args.compare:
        before = {int(k): tuple(v) for k, v in json.loads(args.compare.read_text()).items()}
        folds, same, n = agreement(before, got)
        print(f"agreement with {args.compare}: folds {100 * folds:.2f}%, events {100 * same:.2f}% of {n:,} items")
        figure("analysis", f"same decisions as before the change: folds / events ({n:,} items, {args.db})",
               f"{100 * folds:.2f}% / {100 * same:.2f}%", "100%")


if __name__ == "__main__":
    main()
