"""Small helpers shared by the route modules."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse

from yuqing.runtime import Runtime


def rt_of(request: Request) -> Runtime:
    return request.app.state.rt


def back(request: Request, fallback: str) -> RedirectResponse:
    """Redirect after a POST (303) to a same-site page: the form's ``next`` or ``fallback``."""
    return RedirectResponse(safe_next(request.query_params.get("next", ""), fallback), status_code=303)


def safe_next(target: str, fallback: str) -> str:
    # Only local paths: an attacker-supplied next=https://evil must not leave the site.
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def parse_local_time(value: str, tz: str, field: str) -> datetime:
    """A ``datetime-local`` form value in the bureau's zone → aware UTC; 422 names the field."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(422, f"{field}: 时间格式应为 2026-11-21T16:05，而不是 {value!r}") from None
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=ZoneInfo(tz))
    return naive
