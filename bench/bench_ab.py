"""Analysis before and after a change, alternating in one process (issue 20).

A single ``bench_analysis.py`` run moves with the shared machine's load as much as a change
moves it; this one loads the folding and feature modules as they were at ``--rev`` beside
today's, and times bare jieba, scoring (old and new features) and folding + events (old and
new LSH bands) over the same texts in every round, the order swapped each round. It prints the
medians per wall and per CPU second, the ratios to bare jieba of the same round, and whether
old and new give the same scores and the same folds and events.

    python bench/bench_ab.py [--rev ed7021c^] [--n 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_analysis import texts  # noqa: E402
from figures import command  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 250  # texts per alternation: old and new see the machine's load of the same few seconds


def med(xs: list[list[float]], i: int) -> float:
    return statistics.median(x[i] for x in xs)


def old_module(rev: str, path: str) -> ModuleType:
    """``path`` (a module of ``yuqing.analysis``) as it was at ``rev``, imported beside today's."""
    source = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    name = "yuqing.analysis._old_" + Path(path).stem
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))  # type: ignore[arg-type]
    module.__package__ = "yuqing.analysis"
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)  # noqa: S102
    return module


def timed(fn: Callable[..., object], *args: object) -> tuple[float, float, object]:
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return time.perf_counter() - w, time.process_time() - c, out


def bare(docs: list[str]) -> list[list[str]]:
    import jieba

    return [jieba.lcut(d) for d in docs]


def hashed(items: list[tuple]) -> list[tuple]:
    """What folding computes per item before the index: both MinHashes and the incident keys."""
    from yuqing.analysis import folding
    from yuqing.analysis.events import incident_keys

    return [(folding.text_minhash(text), folding.signature_minhash(folding.signature_tokens(tokens, places, keywords)),
             incident_keys(places, topics)) for text, tokens, places, topics, keywords in items]


def group(grouper, chunk: list[tuple], first: int, start: datetime) -> list[tuple[int | None, int | None]]:  # type: ignore[no-untyped-def]
    """The index's part of folding and events for a chunk of hashed items: evict, assign, add."""
    out = []
    for i, (mh, sig, keys) in enumerate(chunk, first):
        now = start + timedelta(seconds=5 * i)  # a 6-hour window over 5 s apart: evictions too
        grouper.evict(now)
        dup, event = grouper.assign(mh, sig, keys, now)
        item_id = grouper.last_item_id + 1
        grouper.add(item_id, now, event or item_id, mh, sig, keys, dup)
        out.append((dup, event))
    return out


def main() -> None:  # noqa: PLR0915
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", type=Path, default=Path("/work/shared/corpora"))
    parser.add_argument("--rev", default="ed7021c^", help="the revision whose folding.py and features.py are 'old'")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    command()

    import jieba

    from yuqing.analysis import events, folding, scoring, tokenize
    from yuqing.analysis.events import Grouper
    from yuqing.profile import load_profile

    old_folding = old_module(args.rev, "analysis/folding.py")
    old_features = old_module(args.rev, "analysis/features.py")
    new_bands = folding.BandIndex
    new_features = (scoring.vectorize, scoring.remit_features, scoring.remit_raw)
    old_feature_fns = (old_features.vectorize, old_features.remit_features, old_features.remit_raw)

    def use(bands: type, features: tuple) -> None:
        folding.BandIndex = events.BandIndex = bands  # type: ignore[misc]
        scoring.vectorize, scoring.remit_features, scoring.remit_raw = features

    docs = texts(args.corpora, args.n)
    n = len(docs)
    jieba.initialize()
    scorer = scoring.Scorer(load_profile("zezhou-emergency"))
    records = [{"id": j, "text": d} for j, d in enumerate(docs)]

    use(new_bands, new_features)
    results = [r for i in range(0, n, CHUNK) for r in scorer.score_many(records[i:i + CHUNK])]
    tokens = [tokenize.lcut(d) for d in docs]
    items = [(d, t, r["places"], r["topics"], r["keywords"]) for d, t, r in zip(docs, tokens, results, strict=True)]
    start = datetime(2026, 11, 21, tzinfo=UTC)
    names = ("jieba", "hashing", "score old", "score new", "index old", "index new")
    runs: dict[str, list[list[float]]] = {k: [] for k in names}  # per round: [wall, CPU]
    outputs: dict[str, list] = {"score old": [], "score new": [], "index old": [], "index new": []}
    for r in range(args.rounds):
        totals = {k: [0.0, 0.0] for k in names}
        use(old_folding.BandIndex, old_feature_fns)
        groupers = {"old": Grouper(window=timedelta(hours=6))}
        use(new_bands, new_features)
        groupers["new"] = Grouper(window=timedelta(hours=6))
        for k, i in enumerate(range(0, n, CHUNK)):
            chunk = hashed(items[i:i + CHUNK])  # the same objects for both indexes (timed below)
            step: list[tuple[str, Callable[..., object], tuple]] = [
                ("jieba", bare, (docs[i:i + CHUNK],)), ("hashing", hashed, (items[i:i + CHUNK],))]
            for which in (("old", "new") if (k + r) % 2 == 0 else ("new", "old")):
                step += [(f"score {which}", scorer.score_many, (records[i:i + CHUNK],)),
                         (f"index {which}", group, (groupers[which], chunk, i, start))]
            for name, fn, fn_args in step:
                if name.endswith(" old"):
                    use(old_folding.BandIndex, old_feature_fns)
                elif name.endswith(" new"):
                    use(new_bands, new_features)
                w, c, out = timed(fn, *fn_args)
                totals[name][0] += w
                totals[name][1] += c
                if r == 0 and name in outputs:
                    outputs[name] += out  # type: ignore[arg-type]
        use(new_bands, new_features)
        for k in names:
            runs[k].append(totals[k])
        print(f"round {r + 1}: " + ", ".join(f"{k} {n / totals[k][1]:,.0f}" for k in names) + " items per CPU s",
              flush=True)


    print(f"items: {n}, rounds: {args.rounds}, chunks of {CHUNK} alternating, old = {args.rev}")
    print("medians of the rounds: items/s wall, items per CPU second, × bare jieba of the same round (wall, CPU)")
    fold = {w: [[h[j] + g[j] for j in (0, 1)] for h, g in zip(runs["hashing"], runs[f"index {w}"], strict=True)]
            for w in ("old", "new")}
    rows = {**{k: runs[k] for k in names}, "fold old": fold["old"], "fold new": fold["new"]}
    for k, v in rows.items():
        x = [[jb[j] / t[j] for j in (0, 1)] for jb, t in zip(runs["jieba"], v, strict=True)]
        print(f"  {k:10s} {n / med(v, 0):8,.0f} {n / med(v, 1):8,.0f}   {med(x, 0):5.2f}× {med(x, 1):5.2f}×")
    for part in ("score", "index", "fold"):
        o, w = rows[f"{part} old"], rows[f"{part} new"]
        pairs = [a[1] / b[1] for a, b in zip(o, w, strict=True)]
        print(f"  {part}: new/old speed per CPU s, median {statistics.median(pairs):.3f} "
              f"(min {min(pairs):.3f}, max {max(pairs):.3f})")
    same_scores = outputs["score old"] == outputs["score new"]
    agree = sum(a == b for a, b in zip(outputs["index old"], outputs["index new"], strict=True)) / n
    print(f"  same scores old/new: {same_scores}; same fold and event decisions: {agree:.2%} of {n}")


if __name__ == "__main__":
    main()
