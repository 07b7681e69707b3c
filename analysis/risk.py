"""响应压力 (response pressure), learned: today's rule evidence as features, plus the words.

Features: the rule-based score (noisy-or of the evidence, as before), the casualty grade, each
accusation kind, complaint, mobilisation, calls to spread, help requests, panic claims,
questions and disclosure demands, reach (log), the emotion model's score, a place outside the
jurisdiction, non-incident usage cues; and the hashed words and character n-grams every model
shares. Trained on the hand-labelled posts of ``analysis/data/risk_labels.csv`` (high against low).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import sparse

from yuqing.levels import Level

DENSE = ("rule_score", "grade_general", "grade_larger", "grade_major", "grade_grave", "trapped",
         "cover_up", "inaction", "corruption", "complaint", "mobilisation", "spread", "help", "panic",
         "asking", "reach", "emotion", "outside", "usage", "moral")
DENSE_WEIGHT = 0.5  # beside l2-normalised text features: comparable scale
HELP = ("救救", "求救", "救命", "求助", "帮帮", "出不来", "走投无路", "无家可归", "没人救", "恳请", "求求")
PANIC = ("恐慌", "抢购", "快跑", "封城", "有毒", "剧毒", "传染", "出大事了", "紧急通知", "千万不要")


def dense_row(text: str, rule_score: float, cas: Any, hits: Any, reach_total: int, emo: float,  # noqa: PLR0913
              outside: bool, uses: int) -> list[float]:
    grade = cas.level if cas.any else None
    return [
        rule_score,
        float(grade == Level.GENERAL), float(grade == Level.LARGER), float(grade == Level.MAJOR),
        float(grade == Level.GRAVE), float(bool(cas.trapped)),
        float("cover_up" in hits.accusations), float("inaction" in hits.accusations),
        float("corruption" in hits.accusations), float(bool(hits.complaint)), float(bool(hits.mobilisation)),
        float(bool(hits.spread)), float(any(w in text for w in HELP)), float(any(w in text for w in PANIC)),
        float(bool(hits.questions or hits.disclosure)), min(1.0, math.log10(1 + reach_total) / 5), emo,
        float(outside), float(min(uses, 3)) / 3, float(bool(hits.moral)),
    ]


def stack(X_text: Any, dense: list[list[float]]) -> Any:
    """The text features with the dense rule features appended (columns after the hashed ones)."""
    D = sparse.csr_matrix(np.asarray(dense, dtype=np.float64) * DENSE_WEIGHT)
    return sparse.hstack([X_text, D], format="csr")
