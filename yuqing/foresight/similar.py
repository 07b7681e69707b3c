"""相似历史事件 (past events like the draft), found in the store with analysis's own machinery.

The draft and the newest original items that belong to an event are cut by the bureau's jieba
tokenizer (:mod:`yuqing.analysis.tokenize`) and turned into analysis's word unigram+bigram
terms (:mod:`yuqing.analysis.features`); a TF-IDF weighting fitted on those items makes shared
rare words count and shared common ones not, and cosine similarity ranks them. Items vote for
their events; an event that shares the draft's remit topics (the profile's) gets a little more.
"""

from __future__ import annotations

import re
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yuqing.analysis import tokenize
from yuqing.analysis.features import terms
from yuqing.models import Event, Item
from yuqing.profile import Profile

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

MAX_CANDIDATES = 5000  # newest original items compared (cutting them costs about 1 s per 6,000)
MIN_ITEM_SIMILARITY = 0.05  # below this an item shares only common words with the draft
MIN_EVENT_SIMILARITY = 0.12  # best item + half the second best (+ topic bonus)
TOPIC_BONUS = 0.05  # an event of the same remit topic as the draft
MAX_EVENTS = 5
NEGATIVE_EMOTION = 0.5  # an item this negative or more counts in the negative share


@dataclass
class ItemMatch:
    id: int
    title: str
    text: str
    url: str
    published_at: str
    similarity: float


@dataclass
class EventMatch:
    """A past event the assessment leans on, with the figures that make it evidence."""

    id: int
    title: str
    level: str
    similarity: float
    item_count: int
    source_count: int
    negative_share: float
    topics: list[str]
    shared_words: list[str]
    items: list[ItemMatch] = field(default_factory=list)


@dataclass
class History:
    compared: int  # original items compared with the draft
    events: list[EventMatch]


# Candidates' tokens by (item id, hash of its text), kept between assessments in a process:
# cutting them was most of an assessment's time (a changed text is cut again).
_TOKENS: OrderedDict[tuple[int, int], list[str]] = OrderedDict()
_TOKENS_KEPT = 2 * MAX_CANDIDATES


def _tokens(row: Any) -> list[str]:
    key = (row.id, hash((row.title, row.text)))
    tokens = _TOKENS.get(key)
    if tokens is None:
        tokens = _TOKENS[key] = tokenize.lcut(f"{row.title}。{row.text}")
        while len(_TOKENS) > _TOKENS_KEPT:
            _TOKENS.popitem(last=False)
    return tokens


def _candidates(s: Session) -> list[Any]:  # rows of (id, title, text, url, published_at, fetched_at, event_id)
    return list(s.execute(
        select(Item.id, Item.title, Item.text, Item.url, Item.published_at, Item.fetched_at, Item.event_id)
        .where(Item.event_id.is_not(None), Item.duplicate_of_id.is_(None))
        .order_by(Item.id.desc()).limit(MAX_CANDIDATES)).all())


# Words every kind of text shares: never shown as why an event is like the draft.
_PLAIN = frozenset(("关于", "按照", "方案", "进行", "有关", "相关", "问题", "工作", "情况", "我们", "他们", "没有",
                    "已经", "可以", "要求", "根据", "对于", "以及", "通过", "其中", "目前", "现在", "今天", "政府"))


def _shared(draft_tokens: list[str], item_tokens: list[list[str]], idf: dict[str, float]) -> list[str]:
    mine = {t for t in draft_tokens if len(t) >= 2 and not t.isdigit() and t not in _PLAIN
            and re.fullmatch(r"[\u4e00-\u9fff]+", t)}
    common: dict[str, int] = defaultdict(int)
    for tokens in item_tokens:
        for t in set(tokens) & mine:
            common[t] += 1
    return sorted(common, key=lambda t: (-common[t] * idf.get(t, 1.0), t))[:8]


def find_similar(s: Session, draft_text: str, draft_topics: list[str], profile: Profile | None = None) -> History:
    """The past events most like the draft, best first (at most :data:`MAX_EVENTS`)."""
    tokenize.warm(profile)
    rows = _candidates(s)
    if not rows:
        return History(0, [])
    draft_tokens = tokenize.lcut(draft_text)
    item_tokens = [_tokens(r) for r in rows]
    # Heavy (scikit-learn, about 2 s): only a search needs it, not the dashboards, which import
    # this module through the foresight records at start-up.
    from sklearn.feature_extraction.text import TfidfVectorizer

    # analysis's terms (unigrams and adjacent bigrams); the weights are fitted on the history only
    tfidf = TfidfVectorizer(analyzer=terms, sublinear_tf=True)
    matrix = tfidf.fit_transform(item_tokens)
    sims = (matrix @ tfidf.transform([draft_tokens]).T).toarray().ravel()
    by_event: dict[int, list[int]] = defaultdict(list)
    for k in np.argsort(-sims):
        if sims[k] < MIN_ITEM_SIMILARITY:
            break
        by_event[rows[k].event_id].append(int(k))
    if not by_event:
        return History(len(rows), [])
    events = {e.id: e for e in s.scalars(select(Event).where(Event.id.in_(list(by_event))))}
    idf = _idf(tfidf, draft_tokens)
    ranked: list[EventMatch] = []
    for event_id, ks in by_event.items():
        event = events.get(event_id)
        if event is None:
            continue
        top = [float(sims[k]) for k in ks[:2]]
        score = top[0] + 0.5 * (top[1] if len(top) > 1 else 0.0)
        if set(event.topics or []) & set(draft_topics):
            score += TOPIC_BONUS
        if score < MIN_EVENT_SIMILARITY:
            continue
        ranked.append(EventMatch(
            id=event.id, title=event.title, level=event.level, similarity=round(min(score, 1.0), 3),
            item_count=event.item_count or len(ks), source_count=event.source_count or 0,
            negative_share=_negative_share(s, event.id), topics=list(event.topics or []),
            shared_words=_shared(draft_tokens, [item_tokens[k] for k in ks], idf),
            items=[_item(rows[k], float(sims[k])) for k in ks[:3]]))
    ranked.sort(key=lambda m: (-m.similarity, m.id))
    return History(len(rows), ranked[:MAX_EVENTS])


def _idf(tfidf: TfidfVectorizer, tokens: list[str]) -> dict[str, float]:
    vocabulary = tfidf.vocabulary_
    return {t: float(tfidf.idf_[vocabulary[t]]) for t in set(tokens) if t in vocabulary}


def _item(row: Any, similarity: float) -> ItemMatch:
    when = row.published_at or row.fetched_at
    return ItemMatch(id=row.id, title=row.title or "", text=row.text or "", url=row.url or "",
                     published_at=when.isoformat() if when else "", similarity=round(similarity, 3))


def _negative_share(s: Session, event_id: int) -> float:
    total, negative = s.execute(
        select(func.count(), func.count().filter(Item.emotion >= NEGATIVE_EMOTION))
        .where(Item.event_id == event_id, Item.emotion.is_not(None))).one()
    return round(negative / total, 3) if total else 0.0


def event_posts(s: Session, event_ids: list[int], per_event: int = 200) -> list[Item]:
    """The original posts of the given events (newest first per event), for the concerns."""
    out: list[Item] = []
    for event_id in event_ids:
        out.extend(s.scalars(select(Item).where(Item.event_id == event_id, Item.duplicate_of_id.is_(None))
                             .order_by(Item.id.desc()).limit(per_event)))
    return out
