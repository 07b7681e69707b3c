"""发文登记: the 期号 of each issued document, numbered per series and year in the store.

Two workers issuing at once both read the last number; the unique (series, year, number)
makes the later insert fail, and it takes the next number instead.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yuqing.clock import local
from yuqing.models import IssuedDocument

from .exceptions import DocumentError

_TRIES = 8


class AlreadyIssued(DocumentError):
    """This document (kind, event, department, what it reports) was issued before."""


def issue(s: Session, *, series: str, kind: str, now: datetime, tz: str | ZoneInfo, event_id: int | None = None,
          department_key: str = "", referral_id: int | None = None, fingerprint: str = "",
          title: str = "") -> IssuedDocument:
    """Register a document and give it the next number of its series in the local year.

    Raises :class:`AlreadyIssued` if the same kind, event, department and fingerprint exist
    (a 续报 is sent once per rise, however many workers look at the event).
    """
    year = local(now, tz).year
    if fingerprint and s.scalar(select(IssuedDocument.id).where(
            IssuedDocument.kind == kind, IssuedDocument.event_id == event_id,
            IssuedDocument.department_key == department_key, IssuedDocument.fingerprint == fingerprint)):
        raise AlreadyIssued(f"该文件已印发：{series} {fingerprint}")
    for _ in range(_TRIES):
        last = s.scalar(select(func.max(IssuedDocument.number)).where(
            IssuedDocument.series == series, IssuedDocument.year == year)) or 0
        doc = IssuedDocument(series=series, year=year, number=last + 1, kind=kind, event_id=event_id,
                             department_key=department_key, referral_id=referral_id, fingerprint=fingerprint,
                             title=title, created_at=now)
        try:
            with s.begin_nested():
                s.add(doc)
        except IntegrityError:
            if fingerprint and s.scalar(select(IssuedDocument.id).where(
                    IssuedDocument.kind == kind, IssuedDocument.event_id == event_id,
                    IssuedDocument.department_key == department_key, IssuedDocument.fingerprint == fingerprint)):
                raise AlreadyIssued(f"该文件已印发：{series} {fingerprint}") from None
            continue  # another worker took this number: take the next
        return doc
    raise DocumentError(f"{series} {year} 年期号分配失败（并发冲突 {_TRIES} 次）")
