"""舆情风险评估 of a draft (事前研判): risk with reasons, the past events it leans on, concerns.

Gather only: :func:`assess` reads the store and returns a plain record; the 预案 and the pages
lay it out. Every reason names where it comes from (a paragraph of the draft, a past event or
item), so nothing is said that the draft or the store does not show. With no comparable history
the record says so (``history_note``) and the risk rests on the draft's words alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yuqing.analysis import tokenize
from yuqing.analysis.places import PlaceMatcher
from yuqing.analysis.scoring import _noisy_or
from yuqing.levels import max_level
from yuqing.models import Item
from yuqing.profile import Profile

from .concerns import Concern, group_concerns, sentences
from .draft import Draft
from .lexicon import GROUP_UNITS, INTERESTS, LEVEL_WEIGHT
from .similar import History, event_posts, find_similar

GRADES = ((0.75, "高"), (0.5, "较高"), (0.3, "中"), (0.0, "低"))
_GROUP = re.compile(r"(\d+(?:\.\d+)?)\s*(万|千)?\s*(?:余|多)?\s*(" + "|".join(map(re.escape, GROUP_UNITS)) + ")")
_STOP_TITLE = {"关于", "通知", "意见", "方案", "办法", "实施", "征求意见稿", "试行", "暂行", "印发", "做好",
               "进一步", "有关", "工作", "开展", "加强", "规定", "细则", "公告"}


@dataclass
class Reason:
    """一条研判理由: the text and the citations it rests on (草案第N段, 事件#N, 条目#N)."""

    text: str
    weight: float
    cites: list[str] = field(default_factory=list)


@dataclass
class Foresight:
    draft: Draft
    topics: list[str]
    topic_names: list[str]
    places: list[dict[str, str]]
    history: History
    history_note: str
    risk: float
    grade: str
    expected_level: str  # the highest level of the similar events; "" when there is no history
    reasons: list[Reason]
    concerns: list[Concern]
    watch_words: list[str]
    sections: list[dict[str, str]]  # 回应主体: {key, name, head, why}


def grade(risk: float) -> str:
    return next(label for floor, label in GRADES if risk >= floor)


def where_in_draft(draft: Draft, word: str) -> tuple[str, str]:
    """``(citation, verbatim sentence)`` of the first place the draft says ``word``."""
    if word in draft.title:
        return "草案标题", draft.title
    for number, paragraph in enumerate(draft.paragraphs, 1):
        for sentence in sentences(paragraph):
            if word in sentence:
                return f"草案第{number}段", sentence
    for group in draft.affected:
        if word in group:
            return "草案受影响群体", group
    return "", ""


def _interest_reasons(draft: Draft) -> list[Reason]:
    out = []
    for interest in INTERESTS:
        word = next((w for w in interest.words if w in draft.full_text), None)
        if word is None:
            continue
        cite, _ = where_in_draft(draft, word)
        out.append(Reason(f"草案涉及{interest.label}（「{word}」）", interest.weight, [cite]))
    return out


def group_size(draft: Draft) -> tuple[int, str] | None:
    """The largest head count named in the affected groups: ``(count, the words that say it)``."""
    best: tuple[int, str] | None = None
    for group in draft.affected:
        for m in _GROUP.finditer(group):
            count = float(m[1]) * {"万": 10_000, "千": 1_000}.get(m[2] or "", 1)
            count *= 3 if m[3] == "户" else 1  # households: about three people each
            if best is None or count > best[0]:
                best = (int(count), m.group())
    return best


def _group_reason(draft: Draft) -> Reason | None:
    if not draft.affected:
        return None
    size = group_size(draft)
    if size is None:
        return Reason(f"草案影响{'、'.join(draft.affected[:3])}", 0.1, ["草案受影响群体"])
    count, words = size
    weight = 0.1 if count < 100 else 0.2 if count < 1_000 else 0.3 if count < 10_000 else 0.4
    return Reason(f"受影响群体规模：「{words}」", weight, ["草案受影响群体"])


def _history_reasons(history: History) -> list[Reason]:
    if not history.events:
        return []
    out = []
    top = max(history.events, key=lambda e: (LEVEL_WEIGHT.get(e.level, 0), e.similarity))
    out.append(Reason(f"相似历史事件「{top.title}」最高达到{top.level}级", LEVEL_WEIGHT.get(top.level, 0.1),
                      [f"事件#{top.id}"]))
    total = sum(e.item_count for e in history.events)
    spread = 0.3 * min(1.0, math.log10(1 + total) / 3)
    out.append(Reason(f"{len(history.events)} 起相似历史事件共 {total} 条帖文", spread,
                      [f"事件#{e.id}" for e in history.events]))
    negative = max(history.events, key=lambda e: e.negative_share)
    if negative.negative_share >= 0.3:
        out.append(Reason(f"相似历史事件「{negative.title}」负面帖文占 {round(100 * negative.negative_share)}%",
                          0.3 * negative.negative_share, [f"事件#{negative.id}"]))
    return out


def _topics(draft: Draft, profile: Profile) -> tuple[list[str], list[str], list[str]]:
    keys, names, words = [], [], []
    for topic in profile.remit.topics:
        hit = [w for w in topic.keywords if w in draft.full_text]
        if hit:
            keys.append(topic.key)
            names.append(topic.name)
            words.extend(hit)
    return keys, names, words


def _sections(draft: Draft, topics: list[str], profile: Profile) -> list[dict[str, str]]:
    """谁主管谁发声: the named section, else the sections answering for the draft's topics, else the office."""
    chosen = [s for s in profile.sections if draft.section and draft.section in (s.key, s.name)]
    why = "草案指定的主管科室"
    if not chosen:
        chosen = [s for s in profile.sections if set(s.remits) & set(topics)]
        why = "主管草案所涉职责"
    if not chosen:
        chosen, why = [profile.coordinator], "草案未涉及各科室职责话题，由办公室统筹"
    return [{"key": s.key, "name": s.name, "head": f"{s.head.name}，{s.head.title}" if s.head.title else s.head.name,
             "why": why} for s in chosen]


def watch_words_for(draft: Draft, topic_words: list[str]) -> list[str]:
    """The draft's key words for the watch: as given, else the title's words and the interests' words."""
    if draft.watch_words:
        return draft.watch_words
    title = [t for t in tokenize.lcut(draft.title) if len(t) >= 2 and t not in _STOP_TITLE
             and re.fullmatch(r"[\u4e00-\u9fff]+", t)]
    interest = [w for i in INTERESTS for w in i.words if w in draft.full_text and len(w) >= 2]
    return list(dict.fromkeys(title + interest + topic_words))[:12]


def assess(s: Session, draft: Draft, profile: Profile) -> Foresight:
    topics, names, topic_words = _topics(draft, profile)
    history = find_similar(s, f"{draft.title}。{draft.title}。{draft.text}", topics, profile)
    reasons = _interest_reasons(draft)
    group = _group_reason(draft)
    if group:
        reasons.append(group)
    reasons += _history_reasons(history)
    note = _history_note(s, history)
    posts = event_posts(s, [e.id for e in history.events])
    places, _ = PlaceMatcher(profile).find(draft.full_text)
    risk = _noisy_or([r.weight for r in reasons])
    return Foresight(
        draft=draft, topics=topics, topic_names=names, places=places, history=history, history_note=note,
        risk=round(risk, 3), grade=grade(risk),
        expected_level=max_level(*[e.level for e in history.events]).value if history.events else "",
        reasons=reasons, concerns=group_concerns(posts, draft),
        watch_words=watch_words_for(draft, topic_words), sections=_sections(draft, topics, profile))


def _history_note(s: Session, history: History) -> str:
    if history.events:
        return ""
    if not history.compared:
        stored = s.scalar(select(func.count()).select_from(Item)) or 0
        if not stored:
            return "库中尚无历史帖文，无法依据历史预判舆情态势；以下风险仅依据草案本身的用语估计。"
        return "库中帖文均未归入舆情事件，无法依据历史预判舆情态势；以下风险仅依据草案本身的用语估计。"
    return (f"已比对库中 {history.compared} 条历史帖文，没有与草案相近的舆情事件，无法依据历史预判舆情态势；"
            "以下风险仅依据草案本身的用语估计，未列预计关切。")
