"""`yuqing model train`: the remit, emotion and rumour models, cross-validated, with a model card.

Reproducible: fixed folds (seed 0), deterministic solver, labels from documented rules plus the
hand-labelled ids in ``analysis/data/remit_labels.csv`` (see ``analysis/data/README.md``).
Folds group identical texts together, so a repost copied into both sides never inflates a score.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from yuqing.profile import Profile

from . import tokenize
from .corpora import Unit, all_units, ced_posts, emotion_posts
from .features import vectorize
from .modelstore import LinearModel

DATA = Path(__file__).parent / "data"
SEED = 0
FOLDS = 5
# CEC categories inside an emergency-management remit; 环境污染 only for leaks/explosions/crashes
# (the rest is the environment bureau's), 食物中毒/恐怖袭击/新冠疫情 belong to other bureaus.
CEC_REMIT = {"火灾", "地震", "交通事故"}
CEC_POLLUTION_IN_REMIT = re.compile(r"泄漏|泄露|外泄|爆炸|相撞")
NEGATIVE_EMOTIONS = {"fear", "anger", "sadness", "disgust"}


@dataclass
class Dataset:
    name: str
    units: list[Unit]
    y: np.ndarray


def hand_labels() -> dict[tuple[str, str], int]:
    with (DATA / "remit_labels.csv").open(encoding="utf-8") as fh:
        return {(r["source"], r["id"]): int(r["label"]) for r in csv.DictReader(fh)}


def remit_label(unit: Unit, labels: dict[tuple[str, str], int]) -> int:
    if unit.source in ("cec_title", "cec_text"):
        cat = unit.meta["category"]
        if cat == "环境污染":
            return int(bool(CEC_POLLUTION_IN_REMIT.search(unit.meta.get("title", "") or unit.text[:80])))
        return int(cat in CEC_REMIT)
    # Candidates (texts naming any emergency word) were labelled by hand; the rest name none.
    return labels.get((unit.source, unit.id), 0)


def remit_dataset(root: Path) -> Dataset:
    labels = hand_labels()
    units = list(all_units(root))
    return Dataset("emergency", units, np.array([remit_label(u, labels) for u in units]))


def emotion_dataset(root: Path) -> Dataset:
    units = list(emotion_posts(root))
    return Dataset("emotion", units, np.array([int(u.meta["emotion"] in NEGATIVE_EMOTIONS) for u in units]))


def rumor_dataset(root: Path) -> Dataset:
    units = list(ced_posts(root))
    return Dataset("rumor", units, np.array([int(u.meta["rumor"]) for u in units]))


def _groups(units: list[Unit]) -> np.ndarray:
    keys = [hashlib.md5(re.sub(r"\W+", "", u.text)[:200].encode()).hexdigest() for u in units]
    index: dict[str, int] = {}
    return np.array([index.setdefault(k, len(index)) for k in keys])


def _fit(X: csr_matrix, y: np.ndarray, C: float) -> LogisticRegression:
    return LogisticRegression(C=C, solver="liblinear", class_weight="balanced", max_iter=200).fit(X, y)


def _best_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    best = (0.5, -1.0)
    for t in np.arange(0.05, 0.96, 0.01):
        f = f1_score(y, p >= t, zero_division=0)
        if f > best[1]:
            best = (round(float(t), 2), float(f))
    return best


@dataclass
class CVResult:
    C: float
    threshold: float
    oof: np.ndarray
    metrics: dict


def cross_validate(X: csr_matrix, y: np.ndarray, groups: np.ndarray,
                   Cs: tuple[float, ...] = (1.0, 4.0, 16.0)) -> CVResult:
    folds = list(StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=SEED).split(X, y, groups))
    best: CVResult | None = None
    for C in Cs:
        oof = np.zeros(len(y))
        for train, test in folds:
            oof[test] = _fit(X[train], y[train], C).predict_proba(X[test])[:, 1]
        threshold, f1 = _best_threshold(y, oof)
        if best is None or f1 > best.metrics["f1"]:
            best = CVResult(C, threshold, oof, {"f1": f1})
    assert best is not None
    pred = best.oof >= best.threshold
    best.metrics.update(precision=precision_score(y, pred, zero_division=0),
                        recall=recall_score(y, pred, zero_division=0), auc=roc_auc_score(y, best.oof))
    return best


def keyword_baseline(profile: Profile) -> Callable[[str], bool]:
    words = [w for t in profile.remit.topics for w in t.keywords]
    pattern = re.compile("|".join(map(re.escape, words)))
    return lambda text: bool(pattern.search(text))


def per_genre(units: list[Unit], y: np.ndarray, pred: np.ndarray, base: np.ndarray) -> list[dict]:
    rows = []
    for genre in ("headline", "weibo", "article", "message"):
        idx = np.array([u.genre == genre for u in units])
        if idx.any():
            rows.append({"genre": genre, "n": int(idx.sum()), "positives": int(y[idx].sum()),
                         "f1": f1_score(y[idx], pred[idx], zero_division=0),
                         "precision": precision_score(y[idx], pred[idx], zero_division=0),
                         "recall": recall_score(y[idx], pred[idx], zero_division=0),
                         "keyword_f1": f1_score(y[idx], base[idx], zero_division=0)})
    return rows


def tokens_for(units: list[Unit]) -> list[list[str]]:
    return [tokenize.lcut(u.text) for u in units]


def train_one(ds: Dataset, version: str, progress: Callable[[str], None]) -> tuple[LinearModel, CVResult, csr_matrix]:
    progress(f"{ds.name}: 分词 {len(ds.units)} 条")
    X = vectorize(tokens_for(ds.units))
    groups = _groups(ds.units)
    progress(f"{ds.name}: {FOLDS} 折交叉验证")
    cv = cross_validate(X, ds.y, groups)
    final = _fit(X, ds.y, cv.C)
    model = LinearModel(ds.name, version, final.coef_[0].astype(np.float32), float(final.intercept_[0]),
                        cv.threshold)
    return model, cv, X


def train_all(root: Path, out_dir: Path, version: str, progress: Callable[[str], None]) -> dict:
    """Train, cross-validate and save the three models plus MODEL_CARD.md; returns the figures."""
    from yuqing.profile import load_profile

    from .card import write_card

    profile = load_profile("zezhou-emergency")  # the profile the emergency model serves
    tokenize.warm(profile)
    results: dict = {"version": version, "root": str(root)}
    for ds in (remit_dataset(root), emotion_dataset(root), rumor_dataset(root)):
        model, cv, _ = train_one(ds, version, progress)
        model.save(out_dir / f"{ds.name}.npz")
        entry = {"n": len(ds.y), "positives": int(ds.y.sum()), "C": cv.C, "threshold": cv.threshold,
                 **cv.metrics}
        if ds.name == "emergency":
            kw = keyword_baseline(profile)
            base = np.array([kw(u.text) for u in ds.units])
            entry["keyword_f1"] = f1_score(ds.y, base)
            entry["keyword_precision"] = precision_score(ds.y, base)
            entry["keyword_recall"] = recall_score(ds.y, base)
            entry["genres"] = per_genre(ds.units, ds.y, cv.oof >= cv.threshold, base)
        results[ds.name] = entry
    write_card(out_dir / "MODEL_CARD.md", results)
    return results
