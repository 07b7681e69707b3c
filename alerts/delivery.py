"""推送 (deliveries): create one consistently, send it once, retry with back-off, keep the log.

A Delivery row is the record and the unit of work: the ``deliver`` job sends it through its
channel (split to the channel's size limit, part by part), and the row says what happened
(status, attempts, last_error, parts_sent). The database is the truth: the periodic sweep
re-enqueues any pending delivery whose back-off has passed, so losing Redis delays a
message but never loses it.

Sending at most once. A job claims the row with a conditional UPDATE (a lease), so two runs
of the same job never send concurrently; each part sent is committed at once, so a second run
skips it; a finished row is never sent again. What remains is the crash window between a
server's acceptance and our commit of that part: that one part may be sent again on retry.
The e-mail Message-ID, the webhook's ``Idempotency-Key`` and the SMS gateway's ``id`` are
stable across retries so receivers can drop such a repeat.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yuqing.models import Delivery, DeliveryStatus
from yuqing.runtime import Runtime, get_runtime
from yuqing.store import after_commit
from yuqing.tasks import registry
from yuqing.tasks.dispatch import enqueue

from .channels import Outgoing, get_channel, ratelimit, resolve_target, scrub
from .exceptions import ChannelError

log = logging.getLogger(__name__)

# Waits after failed attempts 1..5; the sixth failure is final.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
           timedelta(hours=4))
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=5)
# While a part is on its way the lease is renewed this often (wall-clock), so that one slow part
# (a large 专报 over slow SMTP, a receiver slow to answer: the channels' timeouts bound each read
# and write, not the whole send) never outlives it.
RENEW_EVERY = LEASE / 5
# A sent delivery's note when the platform accepted it but said some recipients were not
# reached (WeCom's invaliduser/invalidparty/invalidtag); admin.unreached tells the administrator.
UNREACHED = "已发送，但以下接收人未收到："


def make_key(*parts: object) -> str:
    """An idempotency key from its parts; long ones (URLs) are hashed to fit the column."""
    key = ":".join(str(p) for p in parts)
    if len(key) <= 200:
        return key
    return key[:150] + "#" + hashlib.sha256(key.encode()).hexdigest()[:40]


def create_delivery(session: Session, *, purpose: str, channel: str, target: str, subject: str,
                    body: str, html: str = "", attachments: Iterable[str | Path] = (),
                    ref_type: str = "", ref_id: int | None = None, callback: str = "",
                    key: str) -> Delivery | None:
    """Add a pending Delivery and enqueue its ``deliver`` job once ``session`` commits.

    Returns None when a delivery with this idempotency ``key`` already exists (so callers can
    call this again safely). ``channel`` is email|wecom|dingtalk|webhook|sms; ``target`` is the
    address (``Channel.to``): secrets and the SMS gateway are looked up in the profile at send
    time, never stored here. ``callback`` names a job enqueued on the ``respond`` queue with
    the delivery's id once it is finally sent or failed.
    """
    get_channel(channel)  # an unknown channel is a programming error: fail where it is made
    if session.scalar(select(Delivery.id).where(Delivery.idempotency_key == key)) is not None:
        return None
    now = get_runtime().now()
    paths = [Path(a) for a in attachments]
    printing = awaiting_print(paths)
    row = Delivery(idempotency_key=key, purpose=purpose, ref_type=ref_type, ref_id=ref_id,
                   channel=channel, target=target, subject=subject, body=body, html=html,
                   attachments=[str(a) for a in paths], callback=callback,
                   status=DeliveryStatus.PENDING, attempts=0, last_error="", created_at=now,
                   parts_total=0, parts_sent=0, claimed_until=now + LEASE if printing else None)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process created the same key in the meantime
        return None
    delivery_id = row.id
    # Enqueueing before the commit would let a fast worker look for a row it cannot see yet.
    # A PDF still to be printed after the commit (the 专报's, queue/special_report.py) is printed
    # by a step registered before this one: the delivery is held by a lease until then, so the
    # retry sweep cannot send it meanwhile without its PDF. A print that dies with its process
    # lets the lease run out, and the sweep sends the DOCX alone (present).
    after_commit(session, (lambda: release_and_enqueue(delivery_id)) if printing else
                 (lambda: enqueue_delivery(delivery_id)))
    return row


def awaiting_print(paths: list[Path]) -> bool:
    """A PDF listed beside its DOCX that is not there yet: printed once the session commits."""
    return any(p.suffix == ".pdf" and not p.exists() and p.with_suffix(".docx") in paths for p in paths)


def release_and_enqueue(delivery_id: int) -> None:
    """The print is done (or failed): give up the print's lease, unless a send has claimed the
    delivery meanwhile (the lease ran out), and enqueue the send."""
    rt = get_runtime()
    with rt.session() as s:
        s.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.attempts == 0,
                                         Delivery.status == DeliveryStatus.PENDING).values(claimed_until=None))
    enqueue_delivery(delivery_id)


def present(paths: list[Path]) -> list[Path]:
    """The attachments to send: a PDF listed beside its DOCX is the same document printed after
    the commit, so where that print failed the DOCX goes alone rather than the mail failing."""
    return [p for p in paths if p.exists() or not (p.suffix == ".pdf" and p.with_suffix(".docx") in paths)]


def enqueue_delivery(delivery_id: int) -> None:
    try:
        enqueue("notify", registry.DELIVER, delivery_id, job_id=f"deliver-{delivery_id}")
    except Exception as exc:  # noqa: BLE001 - Redis down: the sweep re-enqueues from the database
        log.warning("could not enqueue delivery %s (%s); the sweep will pick it up", delivery_id, exc)


def retry_due(rt: Runtime, limit: int = 500) -> int:
    """Re-enqueue pending deliveries whose back-off has passed and no job holds (the retry driver)."""
    now = rt.now()
    with rt.session() as s:
        ids = s.scalars(select(Delivery.id).where(
            Delivery.status == DeliveryStatus.PENDING,
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now),
        ).order_by(Delivery.id).limit(limit)).all()
    for delivery_id in ids:
        enqueue_delivery(delivery_id)
    return len(ids)


def _claim(rt: Runtime, delivery_id: int) -> bool:
    now = rt.now()
    with rt.session() as s:
        result = cast(CursorResult[Any], s.execute(update(Delivery).where(
            Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING,
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now),
        ).values(claimed_until=now + LEASE, attempts=Delivery.attempts + 1)))  # an UPDATE's result
        return result.rowcount == 1


def run(rt: Runtime, delivery_id: int) -> str:
    """Send one delivery if it is due and unclaimed; returns sent|failed|retry|skipped."""
    if not _claim(rt, delivery_id):
        log.debug("delivery %s: not due, already done, or held by another run", delivery_id)
        return "skipped"
    with rt.session() as s:
        d = s.get(Delivery, delivery_id)
        assert d is not None
        s.expunge(d)
    if d.channel == "dashboard":  # the Alert row is the dashboard's notification
        return _finish(rt, d, DeliveryStatus.SENT, "")
    target = resolve_target(rt.profile, d.channel, d.target)
    missed: list[str] = []  # recipients a part did not reach, as the platform said (one note per kind)
    try:
        module = get_channel(d.channel)
        parts = module.split(d.subject, d.body)
        _set(rt, d.id, parts_total=len(parts))
        for index in range(d.parts_sent, len(parts)):
            message = Outgoing(subject=d.subject, text=parts[index], html=d.html if index == 0 else "",
                               attachments=present([Path(a) for a in d.attachments]) if index == 0 else [],
                               key=f"{d.idempotency_key}#{index + 1}", part=index + 1, parts=len(parts),
                               meta={"purpose": d.purpose, "ref_type": d.ref_type, "ref_id": d.ref_id})
            wait = ratelimit.take(rt.get_redis(), d.channel, d.target, getattr(module, "RATE_LIMITS", ()), rt.now())
            if wait:
                raise ChannelError(f"{target.shown}: 本窗口已发满，发送过于频繁，排队等候", retry_after=wait)
            if index > d.parts_sent and not _renew(rt, d):
                log.warning("delivery %s: the lease ran out before part %d; another run has it", d.id, index + 1)
                return "skipped"
            with _renewed(rt, d):
                note = module.send(target, message, rt.settings)
            if note and note not in missed:
                missed.append(note)
            _set(rt, d.id, parts_sent=index + 1)  # committed at once: a rerun skips this part
    except ChannelError as exc:
        if exc.retry_after is not None:
            return _deferred(rt, d, scrub(str(exc), target.secrets()), exc.retry_after)
        return _failed_attempt(rt, d, scrub(str(exc), target.secrets()), exc.permanent)
    except Exception as exc:  # noqa: BLE001 - a bug or a broken file must not lose the message
        log.exception("delivery %s crashed", d.id)
        return _failed_attempt(rt, d, scrub(f"{type(exc).__name__}: {exc}", target.secrets()), False)
    log.info("delivery %s (%s) sent via %s to %s in %d part(s)", d.id, d.purpose, d.channel,
             target.shown, len(parts))
    if missed:
        log.warning("delivery %s via %s: the platform did not reach %s", d.id, d.channel, "；".join(missed))
    return _finish(rt, d, DeliveryStatus.SENT, UNREACHED + "；".join(missed) if missed else "")


def _renew(rt: Runtime, d: Delivery) -> bool:
    """Extend this run's lease before its next part, so that a send of many slow parts is not
    claimed and sent again by the sweep when the first lease runs out; False when another run
    claimed the delivery meanwhile (its claim counted another attempt) and this run must stop."""
    with rt.session() as s:
        result = cast(CursorResult[Any], s.execute(update(Delivery).where(
            Delivery.id == d.id, Delivery.status == DeliveryStatus.PENDING, Delivery.attempts == d.attempts,
        ).values(claimed_until=rt.now() + LEASE)))
        return result.rowcount == 1


@contextmanager
def _renewed(rt: Runtime, d: Delivery) -> Iterator[None]:
    """The lease renewed every :data:`RENEW_EVERY` by a thread while the block sends one part, so
    the sweep's retry does not claim the delivery and send the part again while it is on its way.
    A renewal that finds the lease taken (by a run after a worker was thought dead) stops; this
    run then stops before its next part (:func:`_renew`)."""
    done = threading.Event()

    def keep() -> None:
        while not done.wait(RENEW_EVERY.total_seconds()):
            try:
                if not _renew(rt, d):
                    log.warning("delivery %s: another run has the lease; not renewed", d.id)
                    return
            except Exception:  # noqa: BLE001 - the store busy for a moment: try again next tick
                log.warning("delivery %s: could not renew the lease", d.id, exc_info=True)

    keeper = threading.Thread(target=keep, daemon=True, name=f"delivery-{d.id}-lease")
    keeper.start()
    try:
        yield
    finally:
        done.set()
        keeper.join()


def _set(rt: Runtime, delivery_id: int, **values: object) -> None:
    with rt.session() as s:
        s.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


def _failed_attempt(rt: Runtime, d: Delivery, error: str, permanent: bool) -> str:
    attempts = d.attempts  # already counted by the claim
    if permanent or attempts >= MAX_ATTEMPTS:
        why = "不可重试" if permanent else f"已重试 {attempts} 次"
        log.warning("delivery %s failed (%s): %s", d.id, why, error)
        return _finish(rt, d, DeliveryStatus.FAILED, f"{error}（{why}）")
    wait = BACKOFF[attempts - 1]
    log.info("delivery %s attempt %d failed, retry in %s: %s", d.id, attempts, wait, error)
    _set(rt, d.id, last_error=error, next_attempt_at=rt.now() + wait, claimed_until=None)
    return "retry"


def _deferred(rt: Runtime, d: Delivery, error: str, wait: float) -> str:
    """The platform's frequency limit: the delivery waits ``wait`` seconds, queued in RQ for
    then (and seen by the sweep), and the attempt is given back: a limit is not a failure."""
    due = rt.now() + timedelta(seconds=wait)
    log.info("delivery %s rate-limited by %s, again at %s", d.id, d.channel, due.isoformat())
    _set(rt, d.id, last_error=error, next_attempt_at=due, claimed_until=None, attempts=max(d.attempts - 1, 0))
    try:
        enqueue("notify", registry.DELIVER, d.id, job_id=f"deliver-{d.id}-after-{int(due.timestamp())}", at=due)
    except Exception as exc:  # noqa: BLE001 - Redis down: the sweep re-enqueues from the database
        log.warning("could not queue delivery %s for later (%s); the sweep will", d.id, exc)
    return "deferred"


def _finish(rt: Runtime, d: Delivery, status: DeliveryStatus, error: str) -> str:
    values: dict[str, object] = {"status": status, "claimed_until": None, "next_attempt_at": None}
    if status == DeliveryStatus.SENT:
        values["sent_at"] = rt.now()
    if error:
        values["last_error"] = error
    _set(rt, d.id, **values)
    if d.callback:
        enqueue("respond", d.callback, d.id, job_id=f"delivery-callback-{d.id}")
    return str(status)
