"""帖文 (the item page) with its 原文快照: the captured body, read safely, and its hash.

The body is served as plain text under a CSP sandbox (see :mod:`..evidence`), or as the exact
bytes for download, whose sha256 is the one shown: that is what makes it evidence.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from yuqing.models import Event, Item, PageSnapshot, Source

from ..auth import CurrentUser, StaffUser
from ..evidence import SNAPSHOT_CSP, captures, snapshot_text
from ..templating import render
from ._util import NO_NUL, RecordId, rt_of

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)

PAGE_STATES = {"deleted": "原网页已删除", "modified": "原网页已修改"}


@router.get("/items/{item_id}")
def item_page(request: Request, item_id: RecordId, user: CurrentUser = StaffUser) -> Response:
    with rt_of(request).session() as s:
        item = s.get(Item, item_id)
        if item is None:
            raise HTTPException(404, f"帖文 {item_id} 不存在")
        source = s.get(Source, item.source_id) if item.source_id else None
        event = s.get(Event, item.event_id) if item.event_id else None
        shots = captures(s, item_id)
    return render(request, "item.html", item=item, source=source, event=event, captures=shots,
                  page_state=PAGE_STATES.get(item.page_state, ""))


def _snapshot(request: Request, item_id: int, snapshot_id: int) -> PageSnapshot:
    with rt_of(request).session() as s:
        row = s.get(PageSnapshot, snapshot_id)
        if row is None or row.item_id != item_id:
            raise HTTPException(404, f"帖文 {item_id} 没有原文快照 {snapshot_id}（可能已过保存期限）")
        s.expunge(row)
        return row


@router.get("/items/{item_id}/snapshots/{snapshot_id}")
def snapshot_view(request: Request, item_id: RecordId, snapshot_id: RecordId,
                  user: CurrentUser = StaffUser) -> Response:
    """The captured page as text: markup shows as markup, nothing in it runs or loads."""
    row = _snapshot(request, item_id, snapshot_id)
    return Response(snapshot_text(row), media_type="text/plain; charset=utf-8",
                    headers={"Content-Security-Policy": SNAPSHOT_CSP, "Content-Disposition": "inline"})


@router.get("/items/{item_id}/snapshots/{snapshot_id}/raw")
def snapshot_download(request: Request, item_id: RecordId, snapshot_id: RecordId,
                      user: CurrentUser = StaffUser) -> Response:
    """The exact bytes as fetched, as a download (never displayed by the browser)."""
    row = _snapshot(request, item_id, snapshot_id)
    name = f"item-{item_id}-snapshot-{snapshot_id}-{row.body_hash[:16]}.bin"
    return Response(row.raw(), media_type="application/octet-stream",
                    headers={"Content-Security-Policy": SNAPSHOT_CSP,
                             "Content-Disposition": f'attachment; filename="{name}"',
                             "X-Body-SHA256": row.body_hash})
