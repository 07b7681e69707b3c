"""预计关切 (the likely concerns): the questions and complaints of the similar past events'
posts, grouped by kind (补偿标准是否公平、为何不提前公示、执行是否一刀切 …), each with the posts
that show it; and for each, the draft's own sentence that speaks to it (the grounded 回应口径).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from yuqing.models import Item

from .draft import Draft
from .lexicon import CONCERNS, ConcernKind

QUOTE_CHARS = 80  # a post's sentence is quoted up to this long, around its cue
ANSWER_CHARS = 150
MAX_EVIDENCE = 3
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
_CLAUSE = re.compile(r"[^，,：:]+[，,：:]?")


@dataclass
class Evidence:
    item_id: int
    title: str
    quote: str  # verbatim from the post's title or text
    cue: str
    url: str = ""


@dataclass
class Answer:
    paragraph: int  # 1-based paragraph of the draft; 0 for the title
    quote: str  # verbatim from that paragraph


@dataclass
class Concern:
    key: str
    question: str
    post_count: int
    evidence: list[Evidence] = field(default_factory=list)
    answer: Answer | None = None


def sentences(text: str) -> list[str]:
    return [m.group().strip() for m in _SENTENCE.finditer(text) if m.group().strip()]


def _quote(sentence: str, cue: str) -> str:
    """The sentence, or in a long one the clauses around the cue (cut at commas, not mid-word)."""
    if len(sentence) <= QUOTE_CHARS:
        return sentence
    clauses = _CLAUSE.findall(sentence)
    at = next(i for i, c in enumerate(clauses) if cue in c) if any(cue in c for c in clauses) else 0
    lo = hi = at
    while True:
        grown = False
        for lo2, hi2 in ((lo, hi + 1), (lo - 1, hi)):
            if 0 <= lo2 and hi2 < len(clauses) and len("".join(clauses[lo2:hi2 + 1])) <= QUOTE_CHARS:
                lo, hi, grown = lo2, hi2, True
        if not grown:
            break
    return "".join(clauses[lo:hi + 1])[:QUOTE_CHARS * 2]


def evidence_in(item: Item, kind: ConcernKind) -> Evidence | None:
    for sentence in sentences(f"{item.title or ''}\n{item.text or ''}"):
        cue = next((c for c in kind.cues if c in sentence), None)
        if cue:
            return Evidence(item.id, item.title or "", _quote(sentence, cue), cue, item.url or "")
    return None


def answer_in_draft(draft: Draft, kind: ConcernKind) -> Answer | None:
    """The draft sentence with most of the kind's answer words (ties: the earliest)."""
    best: tuple[int, int, str] | None = None
    for number, paragraph in enumerate(draft.paragraphs, 1):
        for sentence in sentences(paragraph):
            hits = sum(1 for w in kind.answers if w in sentence)
            if hits and (best is None or hits > best[0]):
                best = (hits, number, sentence)
    if best is None:
        return None
    return Answer(best[1], best[2][:ANSWER_CHARS])


def group_concerns(posts: list[Item], draft: Draft) -> list[Concern]:
    """Concerns shown by at least one post, most posts first."""
    out = []
    for kind in CONCERNS:
        shown = [e for e in (evidence_in(p, kind) for p in posts) if e is not None]
        if not shown:
            continue
        out.append(Concern(kind.key, kind.question, len(shown), shown[:MAX_EVIDENCE], answer_in_draft(draft, kind)))
    out.sort(key=lambda c: -c.post_count)
    return out
