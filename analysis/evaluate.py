"""`yuqing model evaluate`: a bureau checks the shipped models on its own labelled posts (模型检验).

Input: JSON Lines, one post a line: ``{"id", "text", "title"?, "genre"?, "tier"?, "remit"?, "risk"?,
"rumor"?}``. ``remit`` and ``rumor`` are true/false (or 1/0, 是/否); ``risk`` is high/medium/low
(or 高/中/低); risk is measured high against low, as the model card does. A line that is not valid
gets an error naming its line number; the others are scored.

Output: per label, overall and per genre (体裁): rows, positives, the confusion counts, precision,
recall, F1 and ROC AUC (AUC needs both classes present).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from yuqing.profile import Profile

from .features import GENRES, genre_of
from .scoring import Scorer

LABELS = {"remit": "职责相关", "risk": "响应压力（高 vs 低）", "rumor": "疑似不实"}
GENRE_LABELS = {"all": "全部", "headline": "标题", "article": "新闻正文", "weibo": "微博帖文",
                "message": "群众留言"}
_TRUE = {True, "1", "true", "True", "是", "yes"}  # 1 == True: the number is in it too
_FALSE = {False, "0", "false", "False", "否", "no"}
_RISK = {"high": 1, "高": 1, "low": 0, "低": 0, "medium": None, "中": None}


@dataclass
class Labelled:
    record: dict[str, Any]
    labels: dict[str, int | None]  # None: medium risk, not in the high-vs-low measure


@dataclass
class Counts:
    y: list[int] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    decided: list[bool] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        y, d = np.array(self.y, dtype=int), np.array(self.decided, dtype=bool)
        tp, fp = int(((y == 1) & d).sum()), int(((y == 0) & d).sum())
        fn, tn = int(((y == 1) & ~d).sum()), int(((y == 0) & ~d).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        auc = float(roc_auc_score(y, self.score)) if 0 < y.sum() < len(y) else None
        return {"n": len(y), "positives": int(y.sum()), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
                "precision": precision, "recall": recall, "f1": f1, "auc": auc}


def _label(key: str, value: Any) -> tuple[int | None, str]:
    """(label, error) for one label value."""
    if key == "risk":
        if isinstance(value, str) and value in _RISK:  # a list or a number is no grade
            return _RISK[value], ""
        return None, f"risk 应为 high/medium/low（或 高/中/低），而不是 {value!r}"
    if isinstance(value, bool | int | str) and not isinstance(value, float):
        if value in _TRUE:
            return 1, ""
        if value in _FALSE:
            return 0, ""
    return None, f"{key} 应为 true/false（或 1/0），而不是 {value!r}"


def parse_line(raw: bytes | str, number: int) -> tuple[Labelled | None, str]:
    """(the labelled post, '') or (None, a Chinese error naming line ``number``)."""
    where = f"第 {number} 行"
    try:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(line)
    except UnicodeDecodeError:
        return None, f"{where}：不是 UTF-8 编码"
    except json.JSONDecodeError as exc:
        return None, f"{where}：不是有效的 JSON（第 {exc.colno} 列：{exc.msg}）"
    if not isinstance(data, dict):
        return None, f"{where}：应为 JSON 对象 {{\"id\", \"text\", …}}"
    if data.get("id") in (None, ""):
        return None, f"{where}：缺少 id"
    if not isinstance(data.get("text"), str):
        return None, f"{where}：缺少 text（应为文本）"
    if not data["text"].strip() and not (isinstance(data.get("title"), str) and data["title"].strip()):
        return None, f"{where}：text 与 title 都为空"
    for key in ("title", "genre", "tier"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return None, f"{where}：{key} 应为文本"
    if data.get("genre") and data["genre"] not in GENRES:
        return None, f"{where}：genre 应为 {'/'.join(GENRES)}，而不是 {data['genre']!r}"
    labels: dict[str, int | None] = {}
    for key in LABELS:
        if key in data and data[key] is not None:
            value, error = _label(key, data[key])
            if error:
                return None, f"{where}：{error}"
            labels[key] = value
    if not labels:
        return None, f"{where}：没有任何标注（remit、risk、rumor 至少一项）"
    record = {k: data.get(k) for k in ("id", "text", "title", "genre", "tier")}
    return Labelled(record, labels), ""


def read(lines: Iterable[bytes | str]) -> tuple[list[Labelled], list[str]]:
    posts, errors = [], []
    for number, raw in enumerate(lines, start=1):
        if not (raw.strip() if isinstance(raw, str) else raw.strip()):
            continue
        post, error = parse_line(raw, number)
        if post is None:
            errors.append(error)
        else:
            posts.append(post)
    return posts, errors


def evaluate(profile: Profile, posts: list[Labelled], batch: int = 256) -> dict[str, dict[str, dict[str, Any]]]:
    """``{label: {genre or "all": row}}`` scored through the shipped scorer with ``profile``."""
    scorer = Scorer(profile)
    j = profile.judgement
    counts: dict[str, dict[str, Counts]] = {k: {} for k in LABELS}
    for start in range(0, len(posts), batch):
        chunk = posts[start:start + batch]
        results = scorer.score_many([p.record for p in chunk])
        for post, r in zip(chunk, results, strict=True):
            genre = genre_of(post.record)
            decided = {"remit": (r["remit"], bool(r["in_remit"])),
                       "risk": (r["risk"], r["risk"] >= j.risk_larger or r["level"] not in ("一般",)),
                       "rumor": (r["rumor"], "false_information" in r["categories"])}
            for key, y in post.labels.items():
                if y is None:
                    continue
                score, decision = decided[key]
                for where in ("all", genre):
                    c = counts[key].setdefault(where, Counts())
                    c.y.append(y)
                    c.score.append(float(score))
                    c.decided.append(decision)
    return {key: {g: c.row() for g, c in sorted(by.items(), key=lambda kv: kv[0] != "all")}
            for key, by in counts.items() if by}


def report(results: dict[str, dict[str, dict]]) -> str:
    """The results as a plain-text table in Chinese."""
    lines = []
    for key, by in results.items():
        lines.append(f"【{LABELS[key]}】")
        lines.append("体裁\t条数\t正例\tTP\tFP\tFN\tTN\t精确率\t召回率\tF1\tAUC")
        for genre, r in by.items():
            auc = f"{r['auc']:.3f}" if r["auc"] is not None else "—"
            lines.append(f"{GENRE_LABELS[genre]}\t{r['n']}\t{r['positives']}\t{r['tp']}\t{r['fp']}\t"
                         f"{r['fn']}\t{r['tn']}\t{r['precision']:.3f}\t{r['recall']:.3f}\t{r['f1']:.3f}\t{auc}")
        lines.append("")
    return "\n".join(lines)
