"""What the fold/event index (``events.Grouper``) holds per window item, by tracemalloc.

Fills a fresh index with ``--n`` corpus texts (scored, hashed, then grouped as bench_ab does;
the scoring and hashing before the trace starts) and prints the traced growth per item, by the
line that allocated it: the Python and numpy memory of the index itself, without what a
worker's RSS adds (allocator, caches filling once).

    python bench/bench_index_memory.py [--n 5000]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ab import group, hashed  # noqa: E402
from bench_analysis import texts  # noqa: E402
from figures import command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", type=Path, default=Path("/work/shared/corpora"))
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--lines", type=int, default=12)
    args = parser.parse_args()
    command()

    from yuqing.analysis import scoring, tokenize
    from yuqing.analysis.events import Grouper
    from yuqing.profile import load_profile

    docs = texts(args.corpora, args.n)
    scorer = scoring.Scorer(load_profile("zezhou-emergency"))
    results = [r for i in range(0, len(docs), 250)
               for r in scorer.score_many([{"id": j, "text": d} for j, d in enumerate(docs[i:i + 250], i)])]
    chunk = hashed([(d, tokenize.lcut(d), r["places"], r["topics"], r["keywords"]) for d, r in zip(docs, results, strict=True)])
    start = datetime(2026, 11, 21, tzinfo=UTC)
    grouper = Grouper(window=timedelta(days=365))
    gc.collect()
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    group(grouper, chunk, 0, start)
    gc.collect()
    stats = tracemalloc.take_snapshot().compare_to(before, "lineno")
    n = len(grouper.entries)
    print(f"index of {n:,} items: {sum(s.size_diff for s in stats) / n:,.0f} bytes per window item (traced)")
    for s in stats[:args.lines]:
        print(f"  {s.size_diff / n:6.0f} B/item {s.count_diff:8,d} blocks  {s.traceback}")


if __name__ == "__main__":
    main()
