"""领导看板 · 回应关切统计: the period statistics (``yuqing report period``) on a page, with
half-year presets and a custom from/to, and the same 公文 as DOCX or PDF."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from yuqing.clock import local

from .. import period
from ..auth import CurrentUser, LeaderUser, audit
from ..reports import ReportError
from ..templating import render
from ._util import NO_NUL, rt_of

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)
TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "pdf": "application/pdf"}


def presets(today: date) -> list[tuple[str, date, date]]:
    """上半年 / 下半年 / 全年 of this year and the last (the 7月10日 and 1月10日 submissions)."""
    out = []
    for year in (today.year, today.year - 1):
        out += [(f"{year}年上半年", date(year, 1, 1), date(year, 6, 30)),
                (f"{year}年下半年", date(year, 7, 1), date(year, 12, 31)),
                (f"{year}年全年", date(year, 1, 1), date(year, 12, 31))]
    return [p for p in out if p[1] <= today]


def _span(first: str, last: str, today: date) -> tuple[date, date]:
    if not first and not last:
        half = presets(today)[0]
        return half[1], half[2]
    try:
        start, end = period.parse_day(first, "起始日期"), period.parse_day(last, "截止日期")
    except ReportError as exc:
        raise HTTPException(400, str(exc)) from None
    if end < start:
        raise HTTPException(400, f"截止日期（{end}）早于起始日期（{start}）")
    return start, end


def _asked(request: Request, today: date) -> tuple[date, date]:
    return _span(request.query_params.get("from", ""), request.query_params.get("to", ""), today)


@router.get("/leader/period")
def period_page(request: Request, user: CurrentUser = LeaderUser) -> Response:
    rt = rt_of(request)
    today = local(rt.now(), rt.settings.timezone).date()
    first, last = _asked(request, today)
    st = period.gather(rt, first, last)
    weights = rt.profile.documents.index_weights
    rows = [(label, weights.get(key, 0), st.index.get(key, 0.0)) for key, label in period.INDEX_LABELS.items()]
    return render(request, "period.html", st=st, first=first, last=last, presets=presets(today), rows=rows,
                  score=period.index_score(st, weights), full=sum(weights.values()),
                  spread=period.spread_text(st), timeliness=period.timeliness_text(st),
                  referrals=period.referral_rows(st),
                  first_response=_hours(st.first_response, 0.5, 0.9), lag=_hours(st.detection_lag, 0.5, 0.95))


def _hours(values: list[float], *qs: float) -> list[timedelta | None]:
    """Quantiles of hours as durations (the pages' ``duration`` filter reads timedeltas)."""
    out = []
    for q in qs:
        value = period.quantile(values, q)
        out.append(timedelta(hours=value) if value is not None else None)
    return out


@router.get("/leader/period.{fmt}")
def period_file(request: Request, fmt: str, user: CurrentUser = LeaderUser) -> Response:
    """``.html`` is the page itself; a GET of ``.docx``/``.pdf`` only shows the page with its
    download buttons: issuing takes a 期号 in the register, so it is a POST with the CSRF
    token (a link from another site must not number a document in the leader's name)."""
    if fmt == "html":
        return period_page(request, user)
    if fmt not in TYPES:
        raise HTTPException(404, f"没有 {fmt} 格式，可选 docx、pdf")
    first, last = _asked(request, local(rt_of(request).now(), rt_of(request).settings.timezone).date())
    return RedirectResponse(f"/leader/period?from={first}&to={last}", 303)


@router.post("/leader/period.{fmt}")
def issue_period(request: Request, fmt: str, first: str = Form("", alias="from"), last: str = Form("", alias="to"),
                 user: CurrentUser = LeaderUser) -> Response:
    """The period's 公文, numbered in the register and written as DOCX or PDF (the form's buttons)."""
    if fmt not in TYPES:
        raise HTTPException(404, f"没有 {fmt} 格式，可选 docx、pdf")
    rt = rt_of(request)
    start, end = _span(first, last, local(rt.now(), rt.settings.timezone).date())
    try:
        # Only what was asked for is printed: a DOCX download neither waits for nor fails on the PDF.
        path = Path(period.write_period(rt, start, end, pdf=fmt == "pdf")[-1])
    except ReportError as exc:
        raise HTTPException(503, str(exc)) from None
    audit(rt, request, user.username, f"period.{fmt}", "period", None, first=str(start), last=str(end))
    # The bytes, not a FileResponse: after a POST's body, Starlette's FileResponse polls receive()
    # for the disconnect, and under the test client that loop spun and never ended.
    return Response(path.read_bytes(), media_type=TYPES[fmt],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(path.name)}"})
