"""Readers for the training corpora (../shared/corpora), yielding comparable units with stable ids.

Each unit is ``(source, id, genre, text)``; genre is ``headline`` (NLPCC titles, CEC titles),
``weibo`` (CED posts, NLPCC 2020 emotion posts), ``article`` (CEC report text) or ``message``
(泰迪杯 citizen messages). Only ids are ever committed; the text stays in the corpora.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from yuqing.exceptions import YuqingError

DEFAULT_CORPORA = Path("/work/shared/corpora")
ARTICLE_CHARS = 600  # articles are cut to comparable length so "long" never means "relevant"


@dataclass(frozen=True)
class Unit:
    source: str
    id: str
    genre: str
    text: str
    meta: dict


def _csv(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def cec(root: Path) -> Iterator[Unit]:
    for row in _jsonl(root / "cec" / "cec_annotated.jsonl"):
        meta = {"category": row["category"], "title": row["title"]}
        yield Unit("cec_title", row["id"], "headline", row["title"], meta)
        # Title and body, as a scored news item is (the scorer reads title + "。" + text).
        yield Unit("cec_text", row["id"], "article", row["title"] + "。" + row["text"][:ARTICLE_CHARS], meta)


def headlines(root: Path) -> Iterator[Unit]:
    for row in _csv(root / "nlpcc2017_headlines" / "nlpcc2017_test_full.csv"):
        yield Unit("nlpcc", row["row"], "headline", row["text"], {"topic": row["label"]})


def ced_posts(root: Path) -> Iterator[Unit]:
    for row in _jsonl(root / "ced_weibo_rumor" / "ced_original_posts.jsonl"):
        yield Unit("ced", row["id"], "weibo", row["text"], {"rumor": row["label"] == "rumor", "row": row})


def emotion_posts(root: Path) -> Iterator[Unit]:
    for row in _csv(root / "covid_weibo_emotion" / "covid_weibo_emotion_labeled.csv"):
        yield Unit("emotion", row["row"], "weibo", row["text"], {"emotion": row["label_name"]})


def messages(root: Path) -> Iterator[Unit]:
    for row in _csv(root / "gov_messages_tipdm2020" / "messages_labeled.csv"):
        text = (row["留言主题"] + "。" + row["留言详情"])[:ARTICLE_CHARS]
        yield Unit("message", row["留言编号"], "message", text, {"class": row["一级分类"]})


def all_units(root: Path = DEFAULT_CORPORA) -> Iterator[Unit]:
    for reader in (cec, headlines, ced_posts, emotion_posts, messages):
        yield from reader(root)


def check_root(root: Path) -> None:
    if not (root / "nlpcc2017_headlines").is_dir() or not (root / "cec").is_dir():
        raise YuqingError(f"{root}: 不是语料目录（缺少 cec/ 或 nlpcc2017_headlines/），请用 --corpora 指定")
