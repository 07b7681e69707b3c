"""领导看板 (leadership): open major events, breaches, on-time rate, digests archive."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from yuqing.models import Digest

from ..auth import CurrentUser, LeaderUser, audit
from ..queries import leader_stats
from ..templating import render
from ._util import NO_NUL, RecordId, rt_of

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)


@router.get("/leader")
def leader_page(request: Request, user: CurrentUser = LeaderUser) -> Response:
    rt = rt_of(request)
    with rt.session() as s:
        stats = leader_stats(s, rt.now())
        digests = list(s.scalars(select(Digest).order_by(Digest.created_at.desc()).limit(60)))
    return render(request, "leader.html", stats=stats, digests=digests)


@router.get("/digests/{digest_id}")
def digest_page(request: Request, digest_id: RecordId, user: CurrentUser = LeaderUser) -> Response:
    """The digest as it was sent. Its HTML was built by alerts/ with escaping; it is served as a
    document of its own (not inside a page) and the CSP still forbids any script in it."""
    rt = rt_of(request)
    with rt.session() as s:
        digest = s.get(Digest, digest_id)
        if digest is None:
            raise HTTPException(404, f"日报/专报 {digest_id} 不存在")
        html = digest.html or f"<p>{digest.title}</p>"
    audit(rt, request, user.username, "digest.view", "digest", digest_id)
    return HTMLResponse(html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"})
