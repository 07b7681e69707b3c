"""Issued documents (发文登记): each 专报, 续报, 终报, 日报 and 要情专报 that left the building,
with its 期号 (numbered per series and year) and what it reported, so a 续报 goes once per change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class IssuedDocument(Base):
    """发文登记: one issued document.

    ``series`` is what the 期号 counts (舆情专报 ...); ``fingerprint`` is what the document
    reported (the level and the figures), so the same news is not sent twice to one department.
    """

    __tablename__ = "issued_documents"
    __table_args__ = (UniqueConstraint("series", "year", "number", name="uq_issued_documents_number"),
                      UniqueConstraint("kind", "event_id", "department_key", "fingerprint",
                                       name="uq_issued_documents_once"))

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(50))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # special | followup | final | daily | major
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)
    department_key: Mapped[str] = mapped_column(String(50), default="")
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id", ondelete="SET NULL"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
