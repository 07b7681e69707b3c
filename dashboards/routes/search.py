"""全文检索 (search across items)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..auth import CurrentUser, StaffUser
from ..search import search_items
from ..templating import render
from ._util import NO_NUL, rt_of

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)


@router.get("/search")
def search_page(request: Request, q: str = "", user: CurrentUser = StaffUser) -> Response:
    rt = rt_of(request)
    q = q.strip()[:200]
    hits = search_items(rt, q, limit=100) if q else []
    return render(request, "search.html", q=q, hits=hits)
