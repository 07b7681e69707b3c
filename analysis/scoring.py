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
from yuqing.profile import Judgement, Profile
from yuqing.sanitise import encodable

from . import casualties, risk, rules, tokenize, usage
from .features import genre_of, remit_features, remit_raw, vectorize
from .modelstore import LinearModel, load
from .places import OutsideMatcher, PlaceMatcher, describe_outside

TIER_WEIGHT = {"central": 0.25, "provincial": 0.15, "government": 0.1, "local": 0.05,
               "social": 0.0, "forum": 0.0}
CASUALTY_WEIGHT = {Level.GENERAL: 0.3, Level.LARGER: 0.6, Level.MAJOR: 0.85, Level.GRAVE: 0.95}
AUTHORITATIVE = ("central", "provincial", "government")
GENRE_LABELS = {"headline": "标题", "article": "新闻正文", "weibo": "微博帖文", "message": "群众留言"}


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


def risk_level(value: float, judgement: Judgement | None = None) -> Level:
    """Response pressure without casualties: strong public-opinion signals raise the grade
    (thresholds: the profile's ``judgement.risk_larger`` / ``risk_major``)."""
    j = judgement or Judgement()
    if value >= j.risk_major:
        return Level.MAJOR
    if value >= j.risk_larger:
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

    def __init__(self, profile: Profile, data_dir: str | None = None,
                 models: dict[str, LinearModel | None] | None = None) -> None:
        """``models``: given models by name (training passes the ones it has just fitted)."""
        self.profile = profile
        tokenize.warm(profile)
        self.places = PlaceMatcher(profile)
        self.outside = OutsideMatcher(profile)
        self.judgement = profile.judgement
        given = models or {}

        def model(name: str) -> LinearModel | None:
            return given[name] if name in given else load(name, data_dir)

        self.remit_model = model(profile.remit.model)
        self.emotion_model = model("emotion")
        self.rumor_model = model("rumor")
        self.risk_model = model("risk")
        self.fallback_reason = "" if self.remit_model else (
            f"未内置「{profile.remit.model}」职责模型，按画像话题关键词判定职责相关度")
        self.topics = [(t.key, t.name, t.keywords) for t in profile.remit.topics]
        self.not_ours = list(profile.remit.not_ours)
        self.watch = list(profile.watch_words)
        self.version = "+".join(m.version for m in (self.remit_model, self.emotion_model, self.rumor_model) if m)
        self._dense: list[list[float]] = []  # the risk model's rule features of the batch (score_many)

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

    def score_many(self, records: list[dict[str, Any]],
                   tokens_out: list[list[str]] | None = None) -> list[dict[str, Any]]:
        """``tokens_out``: a list to receive each record's tokens (analysis reuses them)."""
        if not records:  # the hashing vectoriser raises StopIteration on an empty batch
            return []
        texts = [encodable(((r.get("title") or "") + "。" + (r.get("text") or "")).strip("。"))
                 for r in records]
        genres = [genre_of(r) for r in records]
        tokens = [tokenize.lcut(t) for t in texts]
        if tokens_out is not None:
            tokens_out.extend(tokens)
        X = vectorize(tokens, texts, genres)
        remit_p = self.remit_model.proba(self._remit_features(X, texts, genres)) if self.remit_model else None
        emo_p = self.emotion_model.proba(X) if self.emotion_model else np.zeros(len(records))
        rum_p = self.rumor_model.proba(X) if self.rumor_model else np.zeros(len(records))
        self._dense = []
        out = [self._one(r, t, g, None if remit_p is None else float(remit_p[i]), float(emo_p[i]),
                         float(rum_p[i])) for i, (r, t, g) in enumerate(zip(records, texts, genres, strict=True))]
        if self.risk_model is not None:
            self._learned_risk(out, risk.stack(X, self._dense))
        self.last_features = (X, self._dense)  # for training and evaluation
        return out

    def _remit_features(self, X: Any, texts: list[str], genres: list[str]) -> Any:
        """The remit model's own character TF-IDF when it ships an IDF, else the shared features."""
        model = self.remit_model
        if model is None or model.idf is None:
            return X
        return remit_features(remit_raw(texts, genres), model.idf, model.extras_weight)

    def _learned_risk(self, out: list[dict[str, Any]], X: Any) -> None:
        """Replace the rule score by the learned one; the level keeps the casualty grade."""
        p = self.risk_model.proba(X)  # type: ignore[union-attr]
        for r, value in zip(out, p, strict=True):
            value = round(float(value), 4)
            r["reasons"].append(f"风险模型：{value:.2f}（规则分 {r['risk']:.2f}）")
            r["risk"] = value
            cas_level = casualties.grade(r["casualties"]["deaths"] + r["casualties"]["missing"],
                                         r["casualties"]["injured"]) if any(r["casualties"].values()) else Level.GENERAL
            level = max_level(cas_level, risk_level(value, self.judgement))
            r["level"] = (Level.GENERAL if r["flags"]["outside"] else level).value

    def score(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.score_many([record])[0]

    def _one(self, record: dict[str, Any], text: str, genre: str, remit_p: float | None,  # noqa: PLR0913
             emo: float, rum: float) -> dict[str, Any]:
        reasons: list[str] = []
        topic_keys, topic_words = self._topics(text)
        not_ours = [w for w in self.not_ours if w in text]
        if topic_words:
            reasons.append(f"职责词：{'、'.join(topic_words[:6])}")
        if not_ours:
            reasons.append(f"他局职责词：{'、'.join(not_ours[:4])}")
        uses = usage.detect(text)
        if remit_p is not None:
            model = self.remit_model
            remit = calibrate(remit_p, model.threshold_for(genre))  # type: ignore[union-attr]
            reasons.append(f"职责模型（{self.profile.remit.model}，{GENRE_LABELS[genre]}）：{remit:.2f}")
        else:
            remit = self._keyword_remit(topic_words, not_ours)
            reasons.append(self.fallback_reason)
        cas = casualties.parse(text)
        elsewhere = self.outside.find(text)
        floor = self.judgement.incident_floor  # remit given by the incident rule (rules.incident_rule)
        if usage.rule_applies(uses, cas.any, genre) and remit > usage.CAP:
            remit = usage.CAP
            reasons.append(f"{usage.describe(uses)}，职责相关度至多 {usage.CAP:.2f}")
        elif remit < floor and rules.incident_rule(text, cas.any, uses, not_ours,
                                                   any(o.kind == "外国" for o in elsewhere)):
            remit = floor
            reasons.append(f"事故类型与伤亡同现，职责相关度至少 {floor:.2f}")
        rel_cfg = self.profile.relevance
        in_remit = remit >= rel_cfg.threshold

        places, place_reasons = self.places.find(text)
        reasons += place_reasons
        in_jur = bool(places)
        place_factor, outside = self._where(places, elsewhere, reasons)
        weights = rel_cfg.remit_weight + rel_cfg.place_weight or 1.0
        relevance = (rel_cfg.remit_weight * remit + rel_cfg.place_weight * place_factor) / weights
        if outside:
            relevance = min(relevance, rel_cfg.outside_cap)
        elif rel_cfg.require_place and not in_jur:
            relevance = min(relevance, 0.4 * remit)
            reasons.append("画像要求提及辖区地名：未提及，相关度降低")

        hits = rules.find(text)
        risk_score, level = self._risk(record, cas, hits, emo, reasons)
        self._dense.append(risk.dense_row(text, risk_score, cas, hits, reach(record.get("engagement")), emo,
                                          bool(outside), len(uses)))
        if outside and level > Level.GENERAL:
            level = Level.GENERAL
            reasons.append("事发地在辖区外：不按伤亡人数定级")
        rumor, evidence = self._rumor(record, text, hits, rum, reasons)
        flags = {"accusation": sorted(hits.accusations), "complaint": bool(hits.complaint),
                 "mobilisation": bool(hits.mobilisation), "rumor_evidence": evidence,
                 "debunk": str(record.get("tier") or "") in AUTHORITATIVE and any(w in text for w in rules.REFUTE),
                 "outside": [o.name for o in outside], "genre": genre}
        categories = self._categories(in_remit, topic_keys, cas, hits, rumor, evidence)
        watch = [w for w in self.watch if w in text]
        if watch:
            reasons.append(f"关注词：{'、'.join(watch)}")
        return {
            "id": record.get("id"), "remit": round(remit, 4), "in_remit": in_remit,
            "places": places, "in_jurisdiction": in_jur, "relevance": round(relevance, 4),
            "risk": round(risk_score, 4), "level": level.value, "rumor": round(rumor, 4),
            "categories": categories, "reasons": [r for r in reasons if r],
            "emotion": round(emo, 4), "topics": topic_keys, "watch_words": watch, "flags": flags,
            "casualties": {"deaths": cas.deaths, "injured": cas.injured, "missing": cas.missing,
                           "trapped": cas.trapped},
            "keywords": topic_words[:10],
        }

    def _where(self, places: list[dict], found: list, reasons: list[str]) -> tuple[float, list]:
        """(place factor for relevance, the outside places the incident is placed at).

        A text naming the jurisdiction is tied to it (泽州 victims of an accident abroad) whatever
        else it names. Otherwise a place named outside puts the incident there: the city's other
        counties count half when the profile looks out to the city (``jurisdiction.look_out``);
        other cities, provinces and countries are outside (relevance capped, not graded)."""
        if places:
            return 1.0, []
        if not found:
            return 0.0, []
        shown = describe_outside(found)
        if all(o.kind == "本市其他县区" for o in found) and self.profile.jurisdiction.look_out == "city":
            reasons.append(f"事发地：{shown}（{found[0].where}其他县区），非本局辖区，按本市关注")
            return 0.5, []
        reasons.append(f"事发地：{shown}，不在本局辖区")
        return 0.0, found

    def _risk(self, record: dict[str, Any], cas: Any, hits: Any, emo: float,
              reasons: list[str]) -> tuple[float, Level]:
        evidence: list[float] = []
        cas_level = cas.level
        if cas.any:
            reasons.append(f"{cas.describe()}（按事故等级标准：{cas_level.value}）")
            evidence.append(CASUALTY_WEIGHT[cas_level] if (cas.deaths or cas.injured or cas.missing) else 0.3)
            if cas.trapped:
                evidence.append(0.3)
        evidence.append(0.3 * emo)
        if emo >= self.judgement.negative_emotion:
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
        score = _noisy_or(evidence)
        return score, max_level(cas_level, risk_level(score, self.judgement))

    def _rumor(self, record: dict[str, Any], text: str, hits: Any, model_p: float,
               reasons: list[str]) -> tuple[float, str]:
        """The rumour score and the evidence of a known rumour pattern ('' when none).

        Questions and demands for disclosure (到底死了多少人？是不是瞒报？) and first-person
        eyewitness reports are how people ask and tell, not how rumours are made: they lower the
        score. The pattern is an unverifiable claim (听说, 网传, 内部消息) with a call to spread."""
        score = model_p
        if hits.rumour_cues:
            score = _noisy_or([score, 0.2 * len(hits.rumour_cues)])
            reasons.append(f"未经证实的说法：{'、'.join(hits.rumour_cues)}")
        if hits.debunk:
            score *= 0.5
        asking = hits.questions + hits.disclosure
        if asking:
            score *= 0.5
            reasons.append(f"提问或要求公开信息（非谣言特征）：{'、'.join(asking[:3])}")
        if hits.eyewitness:
            score *= 0.6
            reasons.append(f"亲历者自述（非谣言特征）：{'、'.join(hits.eyewitness[:3])}")
        tier = str(record.get("tier") or "")
        if tier in AUTHORITATIVE:
            score *= 0.4  # authoritative sources rarely originate rumours
        elif tier == "local":
            score *= 0.6  # the model learnt Weibo rumours; edited local news is rarely one
        evidence = ""
        unverified = [c for c in hits.rumour_cues if c in rules.UNVERIFIABLE]
        if unverified and hits.spread and not hits.eyewitness and tier not in AUTHORITATIVE:
            evidence = f"未经证实的说法（{'、'.join(unverified)}）并呼吁扩散（{'、'.join(hits.spread)}）"
        if score >= self.judgement.rumor_threshold:
            reasons.append(f"谣言模型：{score:.2f}" + (f"；{evidence}" if evidence else "；无佐证，不判不实"))
        return score, evidence

    def _categories(self, in_remit: bool, topic_keys: list[str], cas: Any, hits: Any, rumor: float,
                    evidence: Any) -> list[str]:
        out = []
        if hits.policy:
            out.append(Category.POLICY)
        if hits.complaint or hits.mobilisation:
            out.append(Category.VITAL_INTERESTS)
        if hits.moral:
            out.append(Category.MORAL)
        if (in_remit and topic_keys) or cas.deaths or cas.missing or cas.trapped:
            out.append(Category.EMERGENCY)
        if rumor >= self.judgement.rumor_threshold and evidence:
            out.append(Category.FALSE_INFO)
        if hits.accusations:
            out.append(Category.IMAGE)
        return [c.value for c in out]


_WS = re.compile(r"\s+")
