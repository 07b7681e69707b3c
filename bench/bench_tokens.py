"""Does analysis's tokeniser (rjieba, jieba-rs) cut as jieba does? Agreement and speed, in one run.

Both get the profile's words (places, remit terms, watch words) at the same frequency, as
:mod:`yuqing.analysis.tokenize` gives them. Agreement: the tokens both cut (multiset
intersection per text) over the larger of the two token counts, summed over the corpus texts;
the models were trained on jieba's tokens, so this is what keeps them valid (target ≥ 99.5 %).

    python bench/bench_tokens.py [--n 50000] [--corpora /work/shared/corpora]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import command, figure  # noqa: E402


def agreement(ours: list[list[str]], theirs: list[list[str]]) -> tuple[float, float]:
    """(share of tokens cut alike, share of texts cut identically)."""
    same = total = identical = 0
    for a, b in zip(ours, theirs, strict=True):
        same += sum((Counter(a) & Counter(b)).values())
        total += max(len(a), len(b))
        identical += a == b
    return same / max(1, total), identical / max(1, len(ours))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", type=Path, default=Path("/work/shared/corpora"))
    parser.add_argument("--n", type=int, default=50000)
    args = parser.parse_args()
    command()

    import jieba
    from bench_analysis import texts

    from yuqing.analysis import tokenize
    from yuqing.profile import load_profile

    docs = texts(args.corpora, args.n)
    profile = load_profile("zezhou-emergency")
    tokenize.warm(profile)
    reference = jieba.Tokenizer()
    reference.initialize()
    for word in {w.strip() for w in tokenize.profile_words(profile)}:
        if len(word) >= 2:
            reference.add_word(word, freq=tokenize.WORD_FREQ)

    t0 = time.perf_counter()
    theirs = [[t for t in reference.lcut(d) if not t.isspace()] for d in docs]
    jieba_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = [tokenize.lcut(d) for d in docs]
    ours_s = time.perf_counter() - t0
    tokens, identical = agreement(ours, theirs)
    print(f"texts: {len(docs):,}; tokens (jieba): {sum(map(len, theirs)):,}")
    print(f"token agreement with jieba.lcut: {100 * tokens:.2f}%  (target >= 99.5%); texts cut identically: "
          f"{100 * identical:.2f}%")
    print(f"speed: jieba {len(docs) / jieba_s:,.0f} texts/s, analysis's tokeniser {len(docs) / ours_s:,.0f} texts/s "
          f"({jieba_s / ours_s:.1f}×)")
    shown = 0
    for a, b in zip(ours, theirs, strict=True):
        if a != b and shown < 5:
            shown += 1
            print("  differs:", [t for t in b if t not in a][:8], "→", [t for t in a if t not in b][:8])
    figure("analysis", "tokeniser (rjieba) token agreement with jieba", f"{100 * tokens:.2f}%", ">= 99.5%")
    figure("analysis", "tokeniser (rjieba) speed vs jieba", f"{jieba_s / ours_s:.1f}×", "")


if __name__ == "__main__":
    main()
