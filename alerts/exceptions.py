"""Errors of the alerts subsystem: each names what was wrong and where, in one Chinese line."""

from yuqing.exceptions import NotFound, Refused


class AlertsError(Refused):
    """An illegal change to an alert, silence or digest (e.g. acknowledging a dismissed alert)."""

    hint = "运行 `yuqing silence list` 或在监测台查看预警的当前状态。"


class AlertNotFound(NotFound):
    """No alert (预警) with that id."""


class SilenceNotFound(NotFound):
    """No silence (静默) with that id."""


class SilenceError(AlertsError):
    """A silence is missing its reason, its end, or has an unknown matcher key."""


class ChannelError(Exception):
    """A channel could not send one part of a delivery.

    ``permanent`` errors (bad address, rejected signature, no SMTP server configured) fail
    the delivery at once; the others are retried with back-off. ``retry_after`` (seconds):
    the platform said "too many messages" (its frequency-limit errcode, or HTTP 429): the
    delivery waits that long and tries again, and the wait is not counted as a failed attempt,
    so a burst is queued, never dropped. The message must never contain a secret: channels
    build it from masked values only. ``code``: the platform's reply code (its ``errcode``),
    when it answered with one, matched exactly (never as text in the message).
    """

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None,
                 code: int | str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.code = code
