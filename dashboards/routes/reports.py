"""事后回应报告 downloads: HTML, DOCX and PDF, built on demand from the store."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from .. import reports
from ..auth import CurrentUser, StaffUser, audit
from ._util import NO_NUL, RecordId, rt_of

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)

TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@router.get("/tickets/{ticket_id}/report.{fmt}")
def report(request: Request, ticket_id: RecordId, fmt: str, user: CurrentUser = StaffUser) -> Response:
    if fmt not in TYPES:
        raise HTTPException(404, f"没有 {fmt} 格式的报告，可选 html、docx、pdf")
    rt = rt_of(request)
    data = reports.collect(rt, ticket_id)
    body: bytes
    if fmt == "html":
        body = reports.render_html(rt, data).encode("utf-8")
    elif fmt == "docx":
        body = reports.render_docx(rt, data)
    else:
        body = reports.render_pdf(rt, data)
    audit(rt, request, user.username, f"report.{fmt}", "ticket", ticket_id)
    name = f"事后回应报告-工单{ticket_id}.{fmt}"
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
    if fmt == "html":
        headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(name)}"
        # The report page carries its charts as data: images and no script at all.
        headers["Content-Security-Policy"] = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return Response(body, media_type=TYPES[fmt], headers=headers)
