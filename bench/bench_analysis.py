"""Benchmark of analysis (研判) on the same 50,000 corpus texts, in one run.

(a) bare ``jieba.lcut``; (b) the full scoring path (tokenise, three models, rules, gazetteer);
(c) folding and event assignment (MinHashes, LSH and index look-ups). Prints items/s, the ratios
b/a and c/a, and c's per-item cost with a 100,000-item window against a 10,000-item one.

    python bench/bench_analysis.py [--corpora /work/shared/corpora] [--n 50000]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import cycle, islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import command, figure  # noqa: E402


def texts(root: Path, n: int) -> list[str]:
    import json

    from yuqing.analysis.corpora import all_units

    out = [u.text for u in all_units(root)]
    with (root / "ced_weibo_rumor" / "ced_reposts_first20.jsonl").open(encoding="utf-8") as fh:
        out += [json.loads(line)["text"] for line in islice(fh, max(0, n - len(out)))]
    return out[:n]


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def fold_pass(grouper, items, start: datetime) -> float:  # type: ignore[no-untyped-def]
    from yuqing.analysis import folding
    from yuqing.analysis.events import incident_keys

    t0 = time.perf_counter()
    for i, (text, tokens, places, topics, keywords) in enumerate(items):
        now = start + timedelta(seconds=i)
        mh = folding.text_minhash(text)
        sig = folding.signature_minhash(folding.signature_tokens(tokens, places, keywords))
        keys = incident_keys(places, topics)
        dup, event = grouper.assign(mh, sig, keys, now)
        item_id = grouper.last_item_id + 1
        grouper.add(item_id, now, event or item_id, mh, sig, keys, dup)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", type=Path, default=Path("/work/shared/corpora"))
    parser.add_argument("--n", type=int, default=50000)
    args = parser.parse_args()
    command()

    import jieba
    import psutil

    from yuqing.analysis import tokenize
    from yuqing.analysis.events import Grouper
    from yuqing.analysis.scoring import Scorer
    from yuqing.profile import load_profile

    docs = texts(args.corpora, args.n)
    n = len(docs)
    jieba.initialize()
    scorer = Scorer(load_profile("zezhou-emergency"))  # loads the tokenizer and models (not timed)

    t0 = time.perf_counter()
    for d in docs:
        jieba.lcut(d)
    a = rate(n, time.perf_counter() - t0)

    t0 = time.perf_counter()
    results = []
    for i in range(0, n, 256):
        results += scorer.score_many([{"id": j, "text": d} for j, d in enumerate(docs[i:i + 256], i)])
    b = rate(n, time.perf_counter() - t0)

    tokens = [tokenize.lcut(d) for d in docs]  # (c) reuses the scorer's tokens, as the job does
    items = [(d, t, r["places"], r["topics"], r["keywords"]) for d, t, r in zip(docs, tokens, results, strict=True)]
    start = datetime(2026, 11, 21, tzinfo=UTC)
    c = rate(n, fold_pass(Grouper(window=timedelta(days=365)), items, start))

    probe = 2000
    per_item = {}
    index_bytes = 0.0
    for window in (10000, 100000):
        g = Grouper(window=timedelta(days=365))
        fill = list(islice(cycle(items), window))
        fill = [(f"{x[0]} #{k}", x[1] + [f"k{k}"], x[2], x[3], x[4]) for k, x in enumerate(fill)]
        gc.collect()
        before = psutil.Process().memory_info().rss
        fold_pass(g, fill, start)
        gc.collect()
        index_bytes = (psutil.Process().memory_info().rss - before) / window  # the last: 100,000 items
        fresh = [(f"{x[0]} ~{k}", x[1], x[2], x[3], x[4]) for k, x in enumerate(items[:probe])]
        per_item[window] = fold_pass(g, fresh, start + timedelta(days=1)) / probe

    print(f"items: {n}")
    print(f"(a) bare jieba.lcut:           {a:9.0f} items/s")
    print(f"(b) full scoring:              {b:9.0f} items/s   b/a = {b / a:.2f}  (target >= 1.0)")
    print(f"(c) folding + events:          {c:9.0f} items/s   c/a = {c / a:.2f}")
    ratio = per_item[100000] / per_item[10000]
    print(f"(c) per item at 10k window:    {per_item[10000] * 1e6:9.0f} µs")
    print(f"(d) index memory per window item: {index_bytes / 1024:9.2f} KB (RSS growth filling a 100k window)")
    print(f"(c) per item at 100k window:   {per_item[100000] * 1e6:9.0f} µs   100k/10k = {ratio:.2f}  (target <= 2)")
    figure("analysis", "scoring speed vs bare jieba (b/a)", f"{b / a:.2f}", ">= 1.0")
    figure("analysis", "folding+events speed vs bare jieba (c/a)", f"{c / a:.2f}", ">= 1.0")
    figure("analysis", "folding+events per-item cost, 100k vs 10k window", f"{ratio:.2f}x", "<= 2x")
    figure("analysis", "folding/event index memory per window item (100k window)", f"{index_bytes / 1024:.2f} KB",
           "<= 2 KB")


if __name__ == "__main__":
    main()
