"""The store's tables. Records live here; the code that acts on them lives in the subsystems."""

from .alerts import Alert, AlertStatus, Delivery, DeliveryStatus, Digest, Silence
from .base import Base, UTCDateTime
from .crawl import CrawlSignal, HotlistEntry, HotlistRank, PageSnapshot
from .documents import IssuedDocument
from .foresight import Assessment, AssessmentRevision, AssessmentState
from .items import Event, EventStatus, Item, Source, SourceRun
from .tickets import (
    Deadline,
    DeadlineKind,
    Referral,
    ReferralNote,
    ReferralStatus,
    Ticket,
    TicketChange,
    TicketPause,
    TicketResponse,
    TicketState,
)
from .web import AuditEntry, Heartbeat, ItemSearch, ReviewLabel, Role, User

__all__ = [
    "Alert", "AlertStatus", "Assessment", "AssessmentRevision", "AssessmentState", "AuditEntry", "Base", "Heartbeat",
    "CrawlSignal", "Deadline", "DeadlineKind", "Delivery", "DeliveryStatus", "Digest", "Event", "EventStatus",
    "HotlistEntry", "HotlistRank", "IssuedDocument", "Item", "ItemSearch", "PageSnapshot", "Referral", "ReferralNote",
    "ReferralStatus", "ReviewLabel", "Role", "Silence", "Source", "SourceRun", "Ticket",
    "TicketChange", "TicketPause", "TicketResponse", "TicketState", "User", "UTCDateTime",
]
