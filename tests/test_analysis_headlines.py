"""The headline comparison against the issue's baseline (analysis/eval_headlines.py)."""

from __future__ import annotations

import numpy as np
import pytest

from yuqing.analysis.corpora import Unit
from yuqing.analysis.eval_headlines import compare, headline_only_oof

FIRES = ["泽州县{}号厂房发生火灾三人被困", "{}号仓库起火消防员赶到扑救", "{}号矿井透水多名矿工被困"]
OTHERS = ["{}号球员转会引发足坛热议", "{}号新品手机今日发布售价公布", "{}号电影定档春节档期"]


def _units() -> tuple[list[Unit], np.ndarray]:
    units, y = [], []
    for i in range(40):
        for pattern, label in [(p, 1) for p in FIRES] + [(p, 0) for p in OTHERS]:
            units.append(Unit("nlpcc", f"{i}-{pattern[:2]}", "headline", pattern.format(i), {}))
            y.append(label)
        # Articles say the opposite of the headlines: a headline-only baseline must not read them.
        units.append(Unit("cec_text", f"a{i}", "article", f"足坛{i}号球员转会新品电影", {}))
        y.append(1)
    return units, np.array(y)


@pytest.mark.slow  # fits the model and two baselines fold by fold
def test_baseline_reads_headlines_only_and_both_learn_the_split() -> None:
    units, y = _units()
    headline = np.array([u.genre == "headline" for u in units])
    texts = np.array([u.text for u in units], dtype=object)
    folds = [(np.flatnonzero(np.arange(len(y)) % 5 != k), np.flatnonzero(np.arange(len(y)) % 5 == k))
             for k in range(5)]
    oof = headline_only_oof(texts, y, headline, folds, (1, 3), 4.0)
    assert (oof[~headline] == 0).all()
    # trained on headlines only, so the articles' "positive" sports words did not make sports positive
    sports = np.array(["转会" in u.text and u.genre == "headline" for u in units])
    assert oof[sports].max() < 0.5 < oof[headline & (y == 1)].min()

    result = compare(units, y)
    assert result["headlines"] == 240 and result["positives"] == 120
    assert result["shipped"]["f1"] == 1.0 and set(result["shipped"]) >= {"precision", "recall", "f1_nlpcc"}
    assert [b["ngram"] for b in result["baselines"]][::3] == [[1, 3], [1, 4]]
    assert all(b["f1"] == 1.0 for b in result["baselines"])
