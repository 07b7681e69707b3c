"""一件报送的全貌 (one referral as its department sees it): gathered here, laid out by
``liaison_referral.html``. The event's account (title, latest figures), the 专报/续报/终报 sent to
this department from the issued-documents register, the key posts, and the progress: the
ticket's clocks, the responses the bureau published, and the 签收 state with its notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.documents import issue_number
from yuqing.documents.account import EventAccount, event_account, key_posts
from yuqing.models import (
    Deadline,
    Event,
    IssuedDocument,
    Item,
    Referral,
    ReferralNote,
    Ticket,
    TicketResponse,
)

KIND_LABELS = {"special": "专报", "followup": "续报", "final": "终报"}


@dataclass
class SentDocument:
    """One document of the register sent to this department, with what can be downloaded."""

    id: int
    kind: str          # 专报 / 续报 / 终报
    title: str
    number: int
    year: int
    issued_at: datetime
    docx: bool
    pdf: bool

    @property
    def issue(self) -> str:
        """〔2026〕第 3 期, as the document's own 版头 line writes it."""
        return issue_number(self.year, self.number, spaced=True)


@dataclass
class Clock:
    """A ticket deadline as the liaison reads it: what, by when, and how it stands."""

    kind: str
    seq: int
    due_at: datetime
    met_at: datetime | None
    cancelled: bool
    left: timedelta | None   # None once met or cancelled


@dataclass
class ReferralView:
    referral: Referral
    event: Event
    account: EventAccount
    documents: list[SentDocument] = field(default_factory=list)
    posts: list[Item] = field(default_factory=list)
    ticket: Ticket | None = None
    clocks: list[Clock] = field(default_factory=list)
    responses: list[TicketResponse] = field(default_factory=list)
    notes: list[ReferralNote] = field(default_factory=list)


def documents_of(s: Session, referral_id: int) -> list[SentDocument]:
    """What the register holds as sent to this referral, oldest first."""
    rows = s.scalars(select(IssuedDocument).where(IssuedDocument.referral_id == referral_id,
                                                  IssuedDocument.kind.in_(list(KIND_LABELS)))
                     .order_by(IssuedDocument.id))
    out = []
    for d in rows:
        docx = Path(d.path) if d.path else None
        out.append(SentDocument(id=d.id, kind=KIND_LABELS[d.kind], title=d.title, number=d.number, year=d.year,
                                issued_at=d.created_at, docx=bool(docx and docx.is_file()),
                                pdf=bool(docx and (docx.with_suffix(".pdf").is_file()
                                                   or docx.with_suffix(".html").is_file()))))
    return out


def gather(s: Session, referral: Referral, now: datetime) -> ReferralView:
    event = s.get(Event, referral.event_id)
    assert event is not None  # a referral goes with its event (foreign key, cascade)
    view = ReferralView(referral=referral, event=event, account=event_account(s, event.id),
                        documents=documents_of(s, referral.id), posts=key_posts(s, event.id))
    view.ticket = s.scalar(select(Ticket).where(Ticket.event_id == event.id))
    if view.ticket is not None:
        deadlines = s.scalars(select(Deadline).where(Deadline.ticket_id == view.ticket.id).order_by(Deadline.due_at))
        view.clocks = [Clock(d.kind, d.seq, d.due_at, d.met_at, d.cancelled_at is not None,
                             None if d.met_at or d.cancelled_at else d.due_at - now) for d in deadlines]
        view.responses = list(s.scalars(select(TicketResponse).where(TicketResponse.ticket_id == view.ticket.id)
                                        .order_by(TicketResponse.responded_at)))
    view.notes = list(s.scalars(select(ReferralNote).where(ReferralNote.referral_id == referral.id)
                                .order_by(ReferralNote.id)))
    return view
