"""Search on PostgreSQL: p95 of the dashboard's token query through the GIN index, against the
LIKE scan it replaced, in one run.

``--n`` items go into a PostgreSQL cluster of the benchmark's own (started as the tests start
theirs), their ``item_search`` tokens cut by analysis's tokeniser from the corpus texts (cycled);
after VACUUM ANALYZE (what autovacuum does) each query runs the SQL of
``yuqing.dashboards.search`` on PostgreSQL. Queries: words drawn from the tokens' frequency
ranks (common, middling, rare) and pairs of them, each asked ``--repeat`` times.

    python bench/bench_search.py [--n 200000] [--queries 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import command, figure  # noqa: E402

LIKE_SEARCH = ("SELECT item_id FROM item_search WHERE " + "{conds}" + " ORDER BY item_id DESC LIMIT :n")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpora", type=Path, default=Path("/work/shared/corpora"))
    args = parser.parse_args()
    command()

    from bench_analysis import texts
    from bench_load import start_store
    from sqlalchemy import create_engine, insert, text

    from yuqing.analysis import tokenize
    from yuqing.dashboards.search import PG_SEARCH
    from yuqing.models import Item, ItemSearch
    from yuqing.store import migrate

    docs = texts(args.corpora, min(args.n, 50_000))
    cut = [[t.lower() for t in tokenize.lcut(d) if t.strip() and any(c.isalnum() for c in t)] for d in docs]
    folder = Path(tempfile.mkdtemp(prefix="yuqing-search-"))
    url, stop = start_store("postgres", folder)
    try:
        migrate(url)
        engine = create_engine(url)
        now = datetime.now(UTC)
        for first in range(0, args.n, 5000):
            ids = range(first + 1, min(args.n, first + 5000) + 1)
            with engine.begin() as conn:
                conn.execute(insert(Item), [{"id": i, "url": f"http://s/{i}", "title": "", "text": "",
                                             "url_hash": hashlib.sha256(str(i).encode()).hexdigest(),
                                             "content_hash": "c", "fetched_at": now} for i in ids])
                conn.execute(insert(ItemSearch), [{"item_id": i, "indexed_at": now,
                                                   "tokens": " " + " ".join(cut[i % len(cut)]) + " "} for i in ids])
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE item_search"))
        freq = Counter(t for tokens in cut for t in set(tokens))
        ranked = [w for w, _ in freq.most_common() if len(w) >= 2]
        rnd = random.Random(20)
        bands = [ranked[:50], ranked[50:2000], ranked[2000:]]
        queries = [[rnd.choice(bands[k % 3])] for k in range(args.queries // 2)]
        queries += [[rnd.choice(ranked[:2000]), rnd.choice(ranked[:2000])] for _ in range(args.queries - len(queries))]

        def timed(sql: str, params: dict) -> float:
            with engine.connect() as conn:
                t0 = time.perf_counter()
                conn.execute(text(sql), params).all()
                return (time.perf_counter() - t0) * 1000

        gin, like = [], []
        for words in queries:
            conds = " AND ".join(f"tokens LIKE :w{i}" for i in range(len(words)))
            like_params = {f"w{i}": f"% {w} %" for i, w in enumerate(words)} | {"n": 50}
            for _ in range(args.repeat):
                gin.append(timed(PG_SEARCH, {"words": words, "n": 50}))
                like.append(timed(LIKE_SEARCH.format(conds=conds), like_params))
        engine.dispose()
    finally:
        stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"items: {args.n:,}; queries: {len(queries)} × {args.repeat} (one word from the common, middling and "
          "rare tokens, and pairs)")
    print(f"search p95 through the GIN index: {p95(gin):.1f} ms (p50 {statistics.median(gin):.1f} ms); "
          f"LIKE scan: {p95(like):.1f} ms (p50 {statistics.median(like):.1f} ms); "
          f"{p95(like) / p95(gin):.1f}× faster at p95  (target < 200 ms)")
    figure("search", f"search p95 on PostgreSQL, GIN token index ({args.n:,} items)",
           f"{p95(gin):.0f} ms ({p95(like) / p95(gin):.1f}× faster than the LIKE scan)", "< 200 ms")


if __name__ == "__main__":
    main()
