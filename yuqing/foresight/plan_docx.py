"""The 解读回应预案 as DOCX through the one 公文 renderer (:mod:`yuqing.documents`, GB/T 9704-2012):
A4, 版心 156 × 225 mm, 2号小标宋 title, 3号仿宋 body, 一、 黑体 and （一） 楷体 headings numbered by
the renderer, "— 1 —" page numbers, the issuer and date as 落款. Citations follow each fact in 〔〕;
the appendix lists every source cited."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from yuqing.documents import Heading, OfficialDocument, Paragraph
from yuqing.documents.docx_writer import write_docx

from .plan import Plan, Sentence, check_cited

SERIES = "舆情风险评估"
APPENDIX = "附件：引用来源"


class UncitedFact(ValueError):
    """A sentence that states a fact without a citation reached the renderer (a bug, not input)."""


def sentence_text(s: Sentence) -> str:
    """``text〔cite〕。``: the citations sit before the sentence's stop."""
    return s.text + "".join(f"〔{c}〕" for c in s.cites) + "。"


def official_document(plan: Plan, issued_at: datetime, tz: str) -> OfficialDocument:
    blocks: list[Heading | Paragraph] = []
    for part in plan.parts:
        blocks.append(Heading(part.heading, 1))
        for block in part.blocks:
            if block.heading:
                blocks.append(Heading(block.heading, 2))
            blocks += [Paragraph.of("".join(sentence_text(s) for s in sentences)) for sentences in block.paragraphs]
    blocks.append(Paragraph.of(APPENDIX, bold=True, indent=False))
    blocks += [Paragraph.of(f"〔{cite}〕{what}", indent=False) for cite, what in plan.sources]
    return OfficialDocument(series=SERIES, issuer=plan.bureau, title=plan.title, issued_at=issued_at,
                            blocks=list(blocks), timezone=tz)


def write_plan_docx(plan: Plan, path: Path, issued_at: datetime, tz: str) -> Path:
    uncited = check_cited(plan)
    if uncited:
        raise UncitedFact(f"预案中有未注明出处的事实陈述: {uncited[0]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(write_docx(official_document(plan, issued_at, tz)))
    return path
