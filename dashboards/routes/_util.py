"""Small helpers shared by the route modules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response

from yuqing.runtime import Runtime

# Record ids are INTEGER columns (int4 on PostgreSQL). An id outside that range used to reach the
# database and fail there (SQLite: "Python int too large", PostgreSQL: out of range) as a 500;
# bounding it in the path type turns it into a 422 naming the parameter, on every route.
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="记录编号（正整数）")]


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_nul(request: Request) -> None:
    """Refuse a NUL character (\\x00) in any path, query or form value, naming the field.

    PostgreSQL text cannot hold one: psycopg raised on the INSERT or even on a lookup (a login
    name, a comment) and the request ended as a 500. Nobody types one, so it is refused up front
    rather than silently dropped. Every router carries this as a dependency (``NO_NUL``).
    """
    values = [*request.path_params.items(), *request.query_params.multi_items()]
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        values += (await request.form()).multi_items()  # Starlette caches the parsed form
    for name, value in values:
        if isinstance(value, str) and "\x00" in value:
            raise HTTPException(422, f"{name}: 含有空字符（NUL，\\x00），请删除后重试")


NO_NUL = [Depends(refuse_nul)]
NO_NUL_PATTERN = r"^[^\x00]*$"  # the same rule, said in an API parameter's schema


def rt_of(request: Request) -> Runtime:
    return request.app.state.rt


def redisplay(request: Request, page: Callable[[], Response]) -> None:
    """The page to show again, with the workflow's message, if it refuses this action (the
    app's one ``Refused`` handler answers 422 with it)."""
    request.state.redisplay = page


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
