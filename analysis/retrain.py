"""`yuqing model retrain`: fold the monitor's review labels into the remit model.

confirm / level → in remit (1); dismiss → not in remit (0). A deterministic 20 % of the corpus
groups (and of the review labels) is held back; the candidate trains on the rest plus the
labels and is promoted only if its F1 on the held-back part is not worse than the current
model's. Versions are kept side by side in ``<data_dir>/models``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score
from sqlalchemy import select

from yuqing.exceptions import YuqingError
from yuqing.models import ReviewLabel
from yuqing.runtime import Runtime

from .corpora import Unit
from .features import remit_features
from .modelstore import LinearModel, load, promote
from .train import REMIT_C, CharTfidfSVM, _groups, features_for, remit_dataset, remit_raw_for


@dataclass
class RetrainResult:
    version: str
    labels: int
    current_f1: float
    candidate_f1: float
    promoted: bool


def _held_back(key: str) -> bool:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 5 == 0


def _current_features(current: LinearModel, units: list[Unit], raw: Any) -> Any:
    """The features the current model reads: its character TF-IDF, or the older shared ones."""
    if current.idf is not None:
        return remit_features(raw, current.idf, current.extras_weight)
    return features_for(units)


def retrain(rt: Runtime, corpora: Path, now: datetime) -> RetrainResult:
    name = rt.profile.remit.model
    data_dir = Path(rt.settings.data_dir)
    current = load(name, str(data_dir))
    if current is None:
        raise YuqingError(f"没有名为「{name}」的职责模型可供再训练")
    with rt.session() as s:
        rows = s.scalars(select(ReviewLabel).where(ReviewLabel.text != "")).all()
        labels = [(r.id, r.text, 0 if r.label == "dismiss" else 1) for r in rows]
    ds = remit_dataset(corpora)
    groups = _groups(ds.units)
    # A reviewed item's genre is not kept with its label: scored as a post (the commonest).
    units = list(ds.units) + [Unit("review", str(i), "weibo", t, {}) for i, t, _ in labels]
    y = np.concatenate([ds.y, np.array([y for *_, y in labels], dtype=int)])
    keys = [f"g{g}" for g in groups] + [f"r{i}" for i, *_ in labels]
    test = np.array([_held_back(k) for k in keys])
    raw = remit_raw_for(units)
    cut = np.array([current.threshold_for(u.genre) for u in units])[test]
    cand = CharTfidfSVM(REMIT_C).fit(raw[~test], y[~test])
    p_cand = cand.predict_proba(raw[test])[:, 1]
    cand_f1 = f1_score(y[test], p_cand >= cut, zero_division=0)
    cur_f1 = f1_score(y[test], current.proba(_current_features(current, units, raw)[test]) >= cut,
                      zero_division=0)
    version = now.strftime("%Y%m%d%H%M%S")
    promoted = cand_f1 >= cur_f1
    if promoted:
        final = CharTfidfSVM(REMIT_C).fit(raw, y)
        filename = f"{name}-{version}.npz"
        final.to_model(name, version, current.threshold, current.thresholds).save(data_dir / "models" / filename)
        promote(data_dir, name, filename)
        with rt.session() as s:
            for r in s.scalars(select(ReviewLabel).where(ReviewLabel.id.in_([i for i, *_ in labels]))):
                r.used_in_model = version
    return RetrainResult(version, len(labels), float(cur_f1), float(cand_f1), promoted)
