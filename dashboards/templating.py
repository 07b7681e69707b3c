"""Jinja2 templates with autoescape always on, and the filters the pages share.

Crawled text is hostile: it is only ever printed through autoescape; no template uses
``|safe`` on anything that came from a crawl (a test greps the templates).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from yuqing.alerts.actions import suggestion_notice
from yuqing.clock import fmt
from yuqing.documents.dates import met_words, spoken
from yuqing.levels import Level
from yuqing.models import DeadlineKind, Role, TicketState

from . import labels
from .csrf import csrf_token

TEMPLATES = resources.files("yuqing.dashboards").joinpath("templates")
STATIC = resources.files("yuqing.dashboards").joinpath("static")

LEVEL_CLASS = {"一般": "lv-blue", "较大": "lv-yellow", "重大": "lv-orange", "特别重大": "lv-red"}
ALERT_STATUS = {"firing": "待处理", "acknowledged": "已收到", "confirmed": "已确认",
                "dismissed": "已排除", "resolved": "已处置"}
PLACE_LEVELS = {"province": "省", "city": "市", "county": "县（区）", "town": "乡镇（街道）", "village": "村（社区）"}
REFERRAL_STATUS = {"pending": "待发送", "sent": "已发送", "delivered": "已送达", "failed": "发送失败",
                   "acknowledged": "已签收"}


def state_label(value: str) -> str:
    try:
        return TicketState(value).label
    except ValueError:
        return value


def deadline_label(value: str) -> str:
    try:
        return DeadlineKind(value).label
    except ValueError:
        return value


def role_label(value: str) -> str:
    try:
        return Role(value).label
    except ValueError:
        return value


def duration(delta: timedelta | float | None) -> str:
    """``3 小时 20 分钟`` for people, as every document says it (one wording: documents.dates.spoken)."""
    return spoken(delta)


def reason_text(reason: Any) -> str:
    """Reasons are written by analysis/alerts as text or small dicts; show them as one line."""
    if isinstance(reason, dict):
        for key in ("text", "reason", "message", "label"):
            if reason.get(key):
                return str(reason[key])
        return "；".join(f"{k}: {v}" for k, v in reason.items())
    return str(reason)


def safe_url(value: str | None) -> str:
    """Crawled links may say ``javascript:``; only http(s) links are ever put in an href."""
    value = (value or "").strip()
    return value if value.lower().startswith(("http://", "https://")) else "#"


def _parse_iso(value: Any) -> datetime | None:
    """Times kept in JSON (an event's 人工研判) are ISO text."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


@lru_cache(maxsize=4)
def make_templates(timezone: str) -> Jinja2Templates:
    """The pages' templates, one set per time zone shown, shared by every app of the process:
    Jinja compiles each template on its first use and keeps it (checking the file's time, so an
    edited template is read again), and an app of its own (each test has one) compiled them all
    again. Nothing in the environment belongs to an app: the filters depend on the zone alone."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["dt"] = lambda v: fmt(v, timezone) if isinstance(v, datetime) else ""
    env.filters["level_class"] = lambda v: LEVEL_CLASS.get(v or "", "lv-blue")
    env.filters["state_label"] = state_label
    env.filters["deadline_label"] = deadline_label
    env.filters["role_label"] = role_label
    env.filters["duration"] = duration
    # A completed clock as the documents say it (完成（时限内）/ 未按时完成（超时 1 小时）).
    env.filters["met_words"] = lambda d: met_words(d.due_at, d.met_at) if d.met_at else ""
    env.filters["reason"] = reason_text
    env.filters["alert_status"] = lambda v: ALERT_STATUS.get(v, v)
    env.filters["referral_status"] = lambda v: REFERRAL_STATUS.get(v, v)
    env.filters["url"] = safe_url
    env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.0f}%"
    env.filters["iso"] = lambda v: v.isoformat() if isinstance(v, datetime) else ""
    env.filters["dt_text"] = lambda v: fmt(_parse_iso(v), timezone)
    env.filters["level_suggestion"] = lambda event, viewer="": suggestion_notice(event, timezone, viewer)
    env.globals["LEVELS"] = [lv.value for lv in Level]
    env.globals["PLACE_LEVELS"] = PLACE_LEVELS
    env.globals["L"] = labels
    env.filters["label"] = labels.label
    templates = Jinja2Templates(env=env)
    return templates


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """Render a page with the user, the CSRF token and one-shot flash messages."""
    templates: Jinja2Templates = request.app.state.templates
    user = getattr(request.state, "user", None)
    flashes = request.session.pop("flash", []) if "flash" in request.session else []
    if getattr(request.state, "refusal", None):  # a workflow refused the action: the page again, with why
        flashes = [*flashes, {"kind": "error", "text": request.state.refusal}]
    ctx = {"user": user, "csrf": csrf_token(request), "flashes": flashes,
           "now": request.app.state.rt.now(), "path": request.url.path, **context}
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "text": message})
    request.session["flash"] = request.session["flash"]  # mark modified
