"""事前研判 records: an assessment (舆情风险评估) of a draft policy, its revisions (each draft
assessed, who assessed it and what changed), the final plan, and the temporary watch after release."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class AssessmentState(StrEnum):
    """draft → final (定稿) → reviewed (已复盘)."""

    DRAFT = "draft"
    FINAL = "final"
    REVIEWED = "reviewed"

    @property
    def label(self) -> str:
        return {"draft": "评估中", "final": "已定稿", "reviewed": "已复盘"}[self.value]


class Assessment(Base):
    """舆情风险评估: one per policy or measure, across the drafts of it."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default=AssessmentState.DRAFT, index=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime]
    final_revision: Mapped[int | None] = mapped_column(Integer)  # the revision number made final
    finalised_at: Mapped[datetime | None]
    finalised_by: Mapped[str] = mapped_column(String(100), default="")
    # The temporary watch (临时关注): from the planned date for watch_days days.
    watch_words: Mapped[list[Any]] = mapped_column(default=list)
    watch_places: Mapped[list[Any]] = mapped_column(default=list)  # [{name, code}]
    watch_starts_at: Mapped[datetime | None] = mapped_column(index=True)
    watch_ends_at: Mapped[datetime | None] = mapped_column(index=True)
    reviewed_at: Mapped[datetime | None]
    review: Mapped[dict[str, Any]] = mapped_column(default=dict)  # 评估: what happened against the forecast

    revisions: Mapped[list[AssessmentRevision]] = relationship(order_by="AssessmentRevision.number")


class AssessmentRevision(Base):
    """One draft assessed: the draft as entered, the result, the 预案's file, and what changed."""

    __tablename__ = "assessment_revisions"
    __table_args__ = (UniqueConstraint("assessment_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(100))
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)  # risk, grade, reasons, events, concerns
    changes: Mapped[list[Any]] = mapped_column(default=list)  # what differs from the revision before
    plan_path: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
