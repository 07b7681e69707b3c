"""研判打分 (scoring): remit, places, relevance, risk and level, rumour, categories, with reasons.

Pure: no database, no Redis. ``Scorer(profile).score_many(records)`` takes dicts
``{"id", "text", "title"?, "published_at"?, "source"?, "engagement"?, "tier"?}`` and returns the
contract of issue 4 plus the fields the store keeps (emotion, topics, watch_words, flags).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from yuqing.levels import Category, Level, max_level
from yuqing.profile import Profile

from . import casualties, rules, tokenize
from .casualties import Casualties
from .features import vectorize
from .modelstore import LinearModel, load
from .places import PlaceMatcher
from .rules import RuleHits

TIER_WEIGHT = {"central": 0.25, "provincial": 0.15, "government": 0.1, "local": 0.05,
               "social": 0.0, "forum": 0.0}
CASUALTY_WEIGHT = {Level.GENERAL: 0.3, Level.LARGER: 0.6, Level.MAJOR: 0.85, Level.GRAVE: 0.95}
RUMOR_THRESHOLD = 0.7  # above this a post is treated as possible 不实信息


def _noisy_or(weights: list[float]) -> float:
    out = 1.0
    for w in weights:
        out *= 1.0 - max(0.0, min(1.0, w))
    return 1.0 - out


def calibrate(p: float, threshold: float) -> float:
    """Map a model probability so that the model's CV threshold sits at 0.5."""
    if p < threshold:
        return 0.5 * p / threshold
    return 0.5 + 0.5 * (p - threshold) / (1.0 - threshold)


def risk_level(risk: float) -> Level:
    """Response pressure without casualties: strong public-opinion signals raise the grade."""
    if risk >= 0.9:
        return Level.MAJOR
    if risk >= 0.7:
        return Level.LARGER
    return Level.GENERAL


MAX_REACH = 10**12  # caps absurd counts so the sum stays a finite number


def reach(engagement: dict[str, Any] | None) -> int:
    """Reposts + comments + likes + views + shares; negative, non-finite and non-numbers count 0."""
    if not isinstance(engagement, dict):
        return 0
    total = 0
    for key, value in engagement.items():
        if key in ("reposts", "comments", "likes", "views", "shares") and isinstance(value, int | float) \
                and not isinstance(value, bool) and math.isfinite(value) and value > 0:
            total += int(min(value, MAX_REACH))
    return min(total, MAX_REACH)


class Scorer:
    """Scores records for one profile; build once per process (it holds the matchers and models)."""

    def __init__(self, profile: Profile, data_dir: str | None = None) -> None:
        self.profile = profile
        tokenize.warm(profile)
        self.places = PlaceMatcher(profile)
        self.remit_model: LinearModel | None = load(profile.remit.model, data_dir)
        self.emotion_model = load("emotion", data_dir)
        self.rumor_model = load("rumor", data_dir)
        self.fallback_reason = "" if self.remit_model else (
            f"未内置「{profile.remit.model}」职责模型，按画像话题关键词判定职责相关度")
        self.topics = [(t.key, t.name, t.keywords) for t in profile.remit.topics]
        self.not_ours = list(profile.remit.not_ours)
        self.watch = list(profile.watch_words)
        self.version = "+".join(m.version for m in (self.remit_model, self.emotion_model, self.rumor_model) if m)

    # -- the parts -------------------------------------------------------------------------
    def _topics(self, text: str) -> tuple[list[str], list[str]]:
        keys, words = [], []
        for key, _name, keywords in self.topics:
            hit = [w for w in keywords if w in text]
            if hit:
                keys.append(key)
                words.extend(hit)
        return keys, list(dict.fromkeys(words))

    def _keyword_remit(self, topic_words: list[str], not_ours: list[str]) -> float:
        if not topic_words:
            return 0.05 if not_ours else 0.1
        score = min(0.95, 0.6 + 0.1 * (len(topic_words) - 1))
        return max(0.1, score - 0.3) if not_ours else score

    def _remit_floor(self, topic_keys: list[str], topic_words: list[str], not_ours: list[str],
                     text: str) -> float:
        """Colloquial posts the model under-rates: several remit topics, or casualties with one."""
        if not_ours or not topic_words:
            return 0.0
        if len(topic_keys) >= 2 or (casualties.parse(text).any and len(topic_words) >= 1):
            return 0.6
        return 0.0

    def score_many(self, records: list[dict[str, Any]],
                   tokens_out: list[list[str]] | None = None) -> list[dict[str, Any]]:
        """``tokens_out``: a list to receive each record's tokens (analysis reuses them)."""
        if not records:  # the hashing vectoriser raises StopIteration on an empty batch
            return []
        texts = [((r.get("title") or "") + "。" + (r.get("text") or "")).strip("。") for r in records]
        tokens = [tokenize.lcut(t) for t in texts]
        if tokens_out is not None:
            tokens_out.extend(tokens)
        X = vectorize(tokens)
        remit_p = self.remit_model.proba(X) if self.remit_model else None
        emo_p = self.emotion_model.proba(X) if self.emotion_model else np.zeros(len(records))
        rum_p = self.rumor_model.proba(X) if self.rumor_model else np.zeros(len(records))
        return [self._one(r, t, None if remit_p is None else float(remit_p[i]), float(emo_p[i]),
                          float(rum_p[i])) for i, (r, t) in enumerate(zip(records, texts, strict=True))]

    def score(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.score_many([record])[0]

    def _one(self, record: dict[str, Any], text: str, remit_p: float | None, emo: float,
             rum: float) -> dict[str, Any]:
        reasons: list[str] = []
        topic_keys, topic_words = self._topics(text)
        not_ours = [w for w in self.not_ours if w in text]
        if topic_words:
            reasons.append(f"职责词：{'、'.join(topic_words[:6])}")
        if not_ours:
            reasons.append(f"他局职责词：{'、'.join(not_ours[:4])}")
        if remit_p is not None:
            remit = calibrate(remit_p, self.remit_model.threshold)  # type: ignore[union-attr]
            reasons.append(f"职责模型（{self.profile.remit.model}）：{remit:.2f}")
        else:
            remit = self._keyword_remit(topic_words, not_ours)
            reasons.append(self.fallback_reason)
        floor = self._remit_floor(topic_keys, topic_words, not_ours, text)
        if floor > remit:
            remit = floor
            reasons.append("多个职责词或伤亡与职责词同现，职责相关度至少 0.60")
        rel_cfg = self.profile.relevance
        in_remit = remit >= rel_cfg.threshold

        places, place_reasons = self.places.find(text)
        reasons += place_reasons
        in_jur = bool(places)
        weights = rel_cfg.remit_weight + rel_cfg.place_weight or 1.0
        relevance = (rel_cfg.remit_weight * remit + rel_cfg.place_weight * float(in_jur)) / weights
        if rel_cfg.require_place and not in_jur:
            relevance = min(relevance, 0.4 * remit)
            reasons.append("画像要求提及辖区地名：未提及，相关度降低")

        cas = casualties.parse(text)
        hits = rules.find(text)
        risk, level = self._risk(record, cas, hits, emo, reasons)
        rumor = self._rumor(record, hits, rum, reasons)
        flags = {"accusation": sorted(hits.accusations), "complaint": bool(hits.complaint),
                 "mobilisation": bool(hits.mobilisation)}
        categories = self._categories(in_remit, topic_keys, cas, hits, rumor)
        watch = [w for w in self.watch if w in text]
        if watch:
            reasons.append(f"关注词：{'、'.join(watch)}")
        return {
            "id": record.get("id"), "remit": round(remit, 4), "in_remit": in_remit,
            "places": places, "in_jurisdiction": in_jur, "relevance": round(relevance, 4),
            "risk": round(risk, 4), "level": level.value, "rumor": round(rumor, 4),
            "categories": categories, "reasons": [r for r in reasons if r],
            "emotion": round(emo, 4), "topics": topic_keys, "watch_words": watch, "flags": flags,
            "casualties": {"deaths": cas.deaths, "injured": cas.injured, "missing": cas.missing,
                           "trapped": cas.trapped},
            "keywords": topic_words[:10],
        }

    def _risk(self, record: dict[str, Any], cas: Casualties, hits: RuleHits, emo: float,
              reasons: list[str]) -> tuple[float, Level]:
        evidence: list[float] = []
        cas_level = cas.level
        if cas.any:
            reasons.append(f"{cas.describe()}（按事故等级标准：{cas_level.value}）")
            evidence.append(CASUALTY_WEIGHT[cas_level] if (cas.deaths or cas.injured or cas.missing) else 0.3)
            if cas.trapped:
                evidence.append(0.3)
        evidence.append(0.3 * emo)
        if emo >= 0.7:
            reasons.append(f"负面情绪：{emo:.2f}")
        for key, words in hits.accusations.items():
            evidence.append(0.3)
            reasons.append(f"指责{rules.ACCUSATION_LABELS[key]}：{'、'.join(words)}")
        if hits.mobilisation:
            evidence.append(0.35)
            reasons.append(f"聚集/维权动员：{'、'.join(hits.mobilisation)}")
        if hits.spread:
            evidence.append(0.15)
            reasons.append(f"呼吁扩散：{'、'.join(hits.spread)}")
        tier = str(record.get("tier") or "")
        if TIER_WEIGHT.get(tier):
            evidence.append(TIER_WEIGHT[tier])
            reasons.append(f"信源层级：{tier}")
        total = reach(record.get("engagement"))
        if total:
            evidence.append(0.3 * min(1.0, math.log10(1 + total) / 5))
            if total >= 1000:
                reasons.append(f"传播量：{total}")
        risk = _noisy_or(evidence)
        return risk, max_level(cas_level, risk_level(risk))

    def _rumor(self, record: dict[str, Any], hits: RuleHits, model_p: float, reasons: list[str]) -> float:
        score = model_p
        if hits.rumour_cues:
            score = _noisy_or([score, 0.2 * len(hits.rumour_cues)])
            reasons.append(f"未经证实的说法：{'、'.join(hits.rumour_cues)}")
        if hits.debunk:
            score *= 0.5
        tier = str(record.get("tier") or "")
        if tier in ("central", "provincial", "government"):
            score *= 0.4  # authoritative sources rarely originate rumours
        elif tier == "local":
            score *= 0.6  # the model learnt Weibo rumours; edited local news is rarely one
        if score >= RUMOR_THRESHOLD:
            reasons.append(f"谣言模型：{score:.2f}")
        return score

    def _categories(self, in_remit: bool, topic_keys: list[str], cas: Casualties, hits: RuleHits,
                    rumor: float) -> list[str]:
        out: list[Category] = []
        if hits.policy:
            out.append(Category.POLICY)
        if hits.complaint or hits.mobilisation:
            out.append(Category.VITAL_INTERESTS)
        if hits.moral:
            out.append(Category.MORAL)
        if (in_remit and topic_keys) or cas.deaths or cas.missing or cas.trapped:
            out.append(Category.EMERGENCY)
        if rumor >= RUMOR_THRESHOLD:
            out.append(Category.FALSE_INFO)
        if hits.accusations:
            out.append(Category.IMAGE)
        return [c.value for c in out]


_WS = re.compile(r"\s+")
