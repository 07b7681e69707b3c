"""The web app factory: ``create_app(rt)`` builds the FastAPI app for one runtime.

No import-time globals: everything the routes need hangs off ``app.state`` (the runtime and
the templates), so tests build as many apps as they like. Pages are rendered on the server;
the little JavaScript there is lives in /static (the CSP forbids inline scripts).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from yuqing.exceptions import NotFound, Refused, YuqingError
from yuqing.runtime import Runtime, get_runtime
from yuqing.settings import proxy_list
from yuqing.validation import explain

from .auth import PASSWORD_PAGE, SESSION_HOURS, LoginRequired, PasswordChangeRequired
from .cache import FragmentCache
from .csrf import CSRFMiddleware
from .routes import (
    admin,
    api,
    auth_pages,
    events,
    foresight,
    items,
    leader,
    liaison,
    monitor,
    period,
    reports,
    search,
    tickets,
)
from .templating import STATIC, make_templates, render

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")

# Paths anyone may reach; every other route carries a role check (a test walks the routes).
PUBLIC_PATHS = ("/login", "/logout", "/ack/", "/healthz", "/static/")

# The largest form the app takes is a few notes of 5,000 characters; a 200 MB anonymous login
# body used to cost 53 s and 1.1 GB before any route ran. Every route, every method.
MAX_BODY_BYTES = 256 * 1024


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(title="yuqing 舆情监测与回应处置 API", version="1", docs_url=None, redoc_url=None,
                  openapi_url=None,
                  description="舆情监测与回应处置系统的 JSON 接口。须先在 /login 登录（会话 Cookie）；"
                              "修改类请求须带 X-CSRF-Token 头（值见页面 meta csrf-token）。")
    app.state.rt = rt
    app.state.templates = make_templates(rt.settings.timezone)
    app.state.fragments = FragmentCache(seconds=5.0)
    app.add_middleware(CSRFMiddleware)
    app.add_middleware(SessionMiddleware, secret_key=rt.settings.secret(), session_cookie="yuqing_session",
                       max_age=SESSION_HOURS * 3600, same_site="lax",
                       https_only=rt.settings.base_url.startswith("https://"))

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)  # refuse before the session or CSRF read
    proxies = proxy_list(rt.settings.trusted_proxies)
    if proxies:  # outermost: every part (login limits, the audit's address) sees the user's address
        # uvicorn's own rule: X-Forwarded-For counts only from these peers, and the user is the
        # right-most address in it no trusted proxy added (a forged left part is ignored)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    hide_tokens_in_access_log()
    _install_error_pages(app)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    for module in (auth_pages, monitor, tickets, events, items, leader, period, liaison, admin, search, reports, foresight, api):
        app.include_router(module.router)
    app.include_router(api.health)
    return app


class SecurityHeaders:
    """CSP (no inline script), nosniff, no framing; pages are not cached. Plain ASGI: cheap."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


class BodyLimit:
    """413 for a body over ``limit`` bytes: by Content-Length up front, else while it streams."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge()
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        text = f"请求内容过大（上限 {self.limit // 1024} KB），请缩短后重试。"
        await PlainTextResponse(text, status_code=413)(scope, receive, send)


_ACK_PATH = re.compile(r"/ack/[^/?#\s\"]+")


class HideAckTokens(logging.Filter):
    """签收 links are bearer tokens: the access log writes ``/ack/…`` instead of the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_ACK_PATH.sub("/ack/…", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _ACK_PATH.sub("/ack/…", record.msg)
        return True


def hide_tokens_in_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideAckTokens) for f in access.filters):
        access.addFilter(HideAckTokens())


def app_from_environment() -> FastAPI:
    """Factory for uvicorn worker processes (``yuqing web --workers N``): settings from the environment."""
    return create_app(get_runtime())


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def password_change_required(_request: Request, _exc: PasswordChangeRequired) -> Response:
        return RedirectResponse(PASSWORD_PAGE, status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/healthz":
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        titles = {401: "请先登录", 403: "无权访问", 404: "没有找到", 429: "尝试过于频繁"}
        return render(request, "error.html", status_code=exc.status_code,
                      title=titles.get(exc.status_code, "出错了"), message=str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> Response:
        # In Chinese (pydantic words its messages in English), naming the field; the value given is
        # not repeated (it may be a password, or thousands of characters).
        problems = "；".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {explain(e)}" for e in exc.errors())
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": f"输入有误：{problems}"}, status_code=422)
        return render(request, "error.html", status_code=422, title="输入有误", message=problems)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        """A workflow's refusal (工单流程、研判与静默的规则): 422 with its sentence. A page whose
        action registered itself with ``redisplay`` is shown again with the message above it,
        so the monitor sees the form they filled in and what to change."""
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=422)
        page = getattr(request.state, "redisplay", None)
        if page is None:
            return render(request, "error.html", status_code=422, title="操作未完成", message=str(exc))
        request.state.refusal = str(exc)
        response: Response = await run_in_threadpool(page)
        response.status_code = 422
        return response

    @app.exception_handler(YuqingError)
    async def domain_error(request: Request, exc: YuqingError) -> Response:
        status = 404 if isinstance(exc, NotFound) else 409
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return render(request, "error.html", status_code=status,
                      title="没有找到" if status == 404 else "操作未完成", message=str(exc))
