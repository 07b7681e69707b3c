"""Errors of the response workflow (回应处置): one clear Chinese line each, for the CLI and the web app."""

from __future__ import annotations

from yuqing.exceptions import NotFound, Refused


class QueueError(Refused):
    """Base class of the response workflow's refusals (the web app answers them with 422)."""


class TicketNotFound(NotFound):
    """回应工单不存在."""


class ReferralNotFound(NotFound):
    """报送记录不存在."""


class IllegalTransition(QueueError):
    """A ticket state change the workflow does not allow (工单状态变更不合规)."""

    hint = "工单流程：新建 → 已分派 → 回应中 → 已回应 → 持续发布 → 已关闭，关闭后可重新打开。"


class PauseError(QueueError):
    """A clock pause or resume that is not allowed (计时暂停/恢复不合规)."""


class BadResponse(QueueError):
    """A response record missing what the regulation needs (回应记录不完整)."""


class BadAssignment(QueueError):
    """An assignment to a section the profile does not know (分派科室不存在)."""


class InvalidAckLink(QueueError):
    """A signed acknowledgement link that is forged, damaged or for a deleted referral."""

    hint = "请使用报送邮件中的原始签收链接，或联系报送单位值班室。"


class AlreadyAcknowledged(QueueError):
    """A 签收 link used again after the referral was acknowledged (签收链接只能使用一次)."""


class RouteTestError(QueueError):
    """Bad input to `yuqing route test`."""
