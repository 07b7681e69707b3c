"""发文登记: the 期号 of each issued document, numbered per series and year in the store.

Two workers issuing at once both read the last number; the unique (series, year, number)
makes the later insert fail, and it takes the next number instead.

A document is one number: the same kind, event, department and fingerprint (what it reports)
is the same document, so :func:`issue_once` gives back the number already issued, while
changed content is a new document with the next number (a 修订 under the old number would put
two different texts in the file under one 期号).

A document that never reached its reader (its delivery failed) and is sent again keeps its number
(:func:`reissue`): the register holds what was sent under it, and the numbers of a series have
no gaps made by retries. That is not a 修订: the text the reader files is the one sent again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yuqing.clock import local
from yuqing.models import IssuedDocument

from .exceptions import DocumentError
from .model import OfficialDocument

_TRIES = 8


class AlreadyIssued(DocumentError):
    """This document (kind, event, department, what it reports) was issued before."""


def content_fingerprint(doc: OfficialDocument) -> str:
    """What a document says (its title and blocks, not its date or number) as a short hash."""
    blob = json.dumps([doc.title, [asdict(b) for b in doc.blocks]], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def issued(s: Session, *, kind: str, fingerprint: str, event_id: int | None = None,
           department_key: str = "") -> IssuedDocument | None:
    """The register's entry for this kind, event, department and fingerprint, if any."""
    return s.scalar(select(IssuedDocument).where(
        IssuedDocument.kind == kind, IssuedDocument.event_id == event_id,  # None compiles to IS NULL
        IssuedDocument.department_key == department_key, IssuedDocument.fingerprint == fingerprint)
        .order_by(IssuedDocument.id).limit(1))


def issue_once(s: Session, *, series: str, kind: str, now: datetime, tz: str | ZoneInfo, fingerprint: str,
               title: str = "") -> IssuedDocument:
    """The entry already issued for this content, or a new one with the next number."""
    for _ in range(2):
        found = issued(s, kind=kind, fingerprint=fingerprint)
        if found is not None:
            return found
        try:
            return issue(s, series=series, kind=kind, now=now, tz=tz, fingerprint=fingerprint, title=title)
        except AlreadyIssued:
            continue  # another worker issued it meanwhile: take theirs
    raise DocumentError(f"{series} 期号分配失败：{fingerprint}")


def issue(s: Session, *, series: str, kind: str, now: datetime, tz: str | ZoneInfo, event_id: int | None = None,
          department_key: str = "", referral_id: int | None = None, fingerprint: str = "",
          title: str = "") -> IssuedDocument:
    """Register a document and give it the next number of its series in the local year.

    Raises :class:`AlreadyIssued` if the same kind, event, department and fingerprint exist
    (a 续报 is sent once per rise, however many workers look at the event).
    """
    year = local(now, tz).year
    if fingerprint and issued(s, kind=kind, fingerprint=fingerprint, event_id=event_id,
                              department_key=department_key):
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
            if fingerprint and issued(s, kind=kind, fingerprint=fingerprint, event_id=event_id,
                                      department_key=department_key):
                raise AlreadyIssued(f"该文件已印发：{series} {fingerprint}") from None
            continue  # another worker took this number: take the next
        return doc
    raise DocumentError(f"{series} {year} 年期号分配失败（并发冲突 {_TRIES} 次）")


def reissue(s: Session, record: IssuedDocument, *, now: datetime, event_id: int | None, fingerprint: str,
            title: str) -> IssuedDocument:
    """``record`` (a document whose delivery failed) as sent again now, under its own 期号: what
    it reports and its title are the new text's; its number, series and year stay."""
    record.event_id, record.fingerprint, record.title, record.created_at = event_id, fingerprint, title, now
    s.flush()
    return record
