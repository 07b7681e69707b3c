"""Errors of the document renderer."""

from __future__ import annotations

from yuqing.exceptions import YuqingError


class DocumentError(YuqingError):
    """A document cannot be made."""
