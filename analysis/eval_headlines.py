"""Headline remit (标题职责判定) against the issue's plain baseline, on the same held-out rows.

The baseline of issue 15 is a character n-gram TF-IDF + logistic regression trained on the
corpora's headlines alone. Here it is trained so on each training fold's headlines (the folds of
``yuqing model train``: 5-fold StratifiedGroupKFold, seed 0) and scored on the held-out fold's
headlines; the shipped learner (:class:`~.train.CharTfidfSVM` at the shipped C, trained on every
genre) is scored on exactly the same rows. Both decide each fold with the headline threshold
chosen on the other folds' out-of-fold predictions. F1 is also split by source (CEC titles, NLPCC
headlines): the CEC titles are reports of emergencies and easy; the NLPCC headlines hold the
figurative and non-incident uses.

Reproduce: ``python -m yuqing.analysis.eval_headlines [CORPORA]`` (prints JSON; a few minutes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score

from . import train
from .corpora import DEFAULT_CORPORA, Unit

BASELINE_NGRAMS = ((1, 3), (1, 4))  # the issue names character 1-3- and 1-4-grams
BASELINE_CS = (4.0, 16.0, 64.0)  # the best of these is reported: generous to the baseline
Folds = list[tuple[np.ndarray, np.ndarray]]


def headline_only_oof(texts: np.ndarray, y: np.ndarray, headline: np.ndarray, folds: Folds,
                      ngram: tuple[int, int], C: float) -> np.ndarray:
    """Out-of-fold probabilities on the headline rows of a model fitted on training headlines only
    (other rows stay 0)."""
    oof = np.zeros(len(y))
    for tr, te in folds:
        tr, te = tr[headline[tr]], te[headline[te]]
        vec = TfidfVectorizer(analyzer="char", ngram_range=ngram, sublinear_tf=True, min_df=2)
        lr = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", max_iter=500)
        lr.fit(vec.fit_transform(texts[tr]), y[tr])
        oof[te] = lr.predict_proba(vec.transform(texts[te]))[:, 1]
    return oof


def held_out_headline_scores(y: np.ndarray, oof: np.ndarray, headline: np.ndarray, folds: Folds,
                             sources: np.ndarray) -> dict[str, Any]:
    """F1, precision and recall on the headline rows, each fold decided with the threshold chosen
    on the other folds' headlines; F1 also per source."""
    pred = np.zeros(len(y), dtype=bool)
    for tr, te in folds:
        tr, te = tr[headline[tr]], te[headline[te]]
        pred[te] = oof[te] >= train._best_threshold(y[tr], oof[tr])[0]
    yy, pp = y[headline], pred[headline]
    out: dict[str, Any] = {"f1": f1_score(yy, pp, zero_division=0),
                           "precision": precision_score(yy, pp, zero_division=0),
                           "recall": recall_score(yy, pp, zero_division=0)}
    for source in sorted(set(sources[headline].tolist())):
        idx = headline & (sources == source)
        out[f"f1_{source}"] = f1_score(y[idx], pred[idx], zero_division=0)
    return out


def compare(units: list[Unit], y: np.ndarray,
            progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """The shipped learner and the headline-only baselines on the same held-out headline rows."""
    raw = train.remit_raw_for(units)
    folds = train.make_folds(raw, y, train._groups(units))
    headline = np.array([u.genre == "headline" for u in units])
    sources = np.array([u.source for u in units])
    texts = np.array([u.text for u in units], dtype=object)
    shipped = np.zeros(len(y))
    for tr, te in folds:
        model = train.CharTfidfSVM(train.REMIT_C, train.EXTRAS_WEIGHT).fit(raw[tr], y[tr])
        shipped[te] = model.predict_proba(raw[te])[:, 1]
    progress("shipped learner done")
    result: dict[str, Any] = {"headlines": int(headline.sum()), "positives": int(y[headline].sum()),
                              "shipped": held_out_headline_scores(y, shipped, headline, folds, sources),
                              "baselines": []}
    for ngram in BASELINE_NGRAMS:
        for C in BASELINE_CS:
            oof = headline_only_oof(texts, y, headline, folds, ngram, C)
            scores = held_out_headline_scores(y, oof, headline, folds, sources)
            result["baselines"].append({"ngram": list(ngram), "C": C, **scores})
            progress(f"char {ngram} C {C}: F1 {scores['f1']:.3f}")
    return result


if __name__ == "__main__":  # python -m yuqing.analysis.eval_headlines [CORPORA]
    import sys

    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPORA
    ds = train.remit_dataset(root)
    print(json.dumps(compare(ds.units, ds.y, lambda m: print(m, file=sys.stderr)), default=float))
