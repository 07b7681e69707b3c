"""Benchmark: how well 事前研判 finds the right past events, and what an assessment costs.

The 泰迪杯 message-board set (gov_messages_tipdm2020, 495 labelled complaints, 7 一级分类) is
read from the corpora at run time: per class, every message but ``--held`` is stored as an item
of one past event of that class; each held-out message is then given as a draft and
:func:`yuqing.foresight.similar.find_similar` ranks the events. Reports top-1 and top-3 hits of
the message's own class against chance (the largest class's share of the stored items, what
always answering that class would score), and the time of a search against bare ``jieba.lcut``
over the same candidate texts in the same run (ratios; no absolute target): the first search of
a process cuts every candidate, later ones reuse the cut tokens.

    python bench/bench_foresight.py [--held 8] [--corpora /work/shared/corpora]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import figure  # noqa: E402

DEFAULT_CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"


def messages(root: Path) -> list[dict[str, str]]:
    with (root / "gov_messages_tipdm2020" / "messages_labeled.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--held", type=int, default=8, help="messages per class given as drafts")
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    args = parser.parse_args()

    import jieba

    from yuqing.analysis import tokenize
    from yuqing.foresight.similar import find_similar
    from yuqing.models import Event, Item
    from yuqing.profile import load_profile
    from yuqing.store import engine_for, migrate, session_scope

    by_class: dict[str, list[dict[str, str]]] = defaultdict(list)
    seen: set[str] = set()
    for row in messages(args.corpora):
        if row["留言编号"] not in seen:  # the set repeats a few messages
            seen.add(row["留言编号"])
            by_class[row["一级分类"]].append(row)
    url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    migrate(url)
    engine = engine_for(url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    held: list[tuple[str, dict[str, str]]] = []
    event_class: dict[int, str] = {}
    stored: Counter[str] = Counter()
    with session_scope(engine) as s:
        for label, rows in sorted(by_class.items()):
            event = Event(title=label, first_seen_at=now, last_seen_at=now, updated_at=now, level="一般")
            s.add(event)
            s.flush()
            event_class[event.id] = label
            held += [(label, r) for r in rows[:args.held]]
            for r in rows[args.held:]:
                link = f"https://board.example/{r['留言编号']}"
                s.add(Item(url=link, url_hash=hashlib.sha256(link.encode()).hexdigest(), title=r["留言主题"],
                           text=r["留言详情"][:600], fetched_at=now, content_hash=r["留言编号"], event_id=event.id))
                stored[label] += 1
    profile = load_profile("zezhou-emergency")
    top1 = top3 = 0
    search_s = 0.0
    with session_scope(engine) as s:
        tokenize.warm(profile)  # the dictionary loads once, outside the timing
        start = time.perf_counter()
        find_similar(s, "关于调整收费标准的通知", [], profile)
        first_s = time.perf_counter() - start
        for label, r in held:
            start = time.perf_counter()
            found = find_similar(s, f"{r['留言主题']}。{r['留言详情'][:600]}", [], profile).events
            search_s += time.perf_counter() - start
            ranked = [event_class[e.id] for e in found]
            top1 += bool(ranked) and ranked[0] == label
            top3 += label in ranked[:3]
        texts = [f"{it.title}。{it.text}" for it in s.query(Item)]
    jieba.lcut("预热")  # its dictionary loads once, outside the timing, as ours did
    start = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    bare_s = time.perf_counter() - start
    n = len(held)
    chance = max(stored.values()) / sum(stored.values())
    per_search = search_s / n
    print(f"drafts {n} over {len(by_class)} classes, {sum(stored.values())} stored items")
    print(f"top-1 {top1 / n:.2f}  top-3 {top3 / n:.2f}  chance (largest class) {chance:.2f}")
    print(f"bare jieba over the {len(texts)} candidate texts {bare_s * 1000:.0f} ms; first search "
          f"{first_s * 1000:.0f} ms (ratio {first_s / bare_s:.2f}); later searches {per_search * 1000:.0f} ms "
          f"(ratio {per_search / bare_s:.2f})")
    figure("foresight", "similar past event of the draft's own class, top-1 (chance: largest class)",
           f"{top1 / n:.2f} ({chance:.2f})", "> chance")
    figure("foresight", "top-3", f"{top3 / n:.2f}", "")
    figure("foresight", "later search vs bare jieba over the candidates", f"{per_search / bare_s:.2f}", "")


if __name__ == "__main__":
    main()
