"""登录/退出 (login and logout), rate-limited per username and IP, both audited."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from yuqing.models import Role

from ..auth import audit, authenticate, client_ip, load_user, login_blocked, start_session
from ..templating import render
from ._util import NO_NUL, rt_of, safe_next

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)

HOME = {Role.MONITOR: "/", Role.LEADER: "/leader", Role.LIAISON: "/liaison", Role.ADMIN: "/admin"}


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    user = load_user(request)
    if user is not None:
        return RedirectResponse(safe_next(next, HOME[user.role]), status_code=303)
    return render(request, "login.html", next=next)


@router.post("/login")
def login(request: Request, username: str = Form(..., max_length=100), password: str = Form(..., max_length=200),
          next: str = Form("")) -> Response:
    rt = rt_of(request)
    ip = client_ip(request)
    if login_blocked(rt, username, ip):
        audit(rt, request, username, "login.blocked")
        raise HTTPException(429, "登录失败次数过多，请 15 分钟后再试。")
    user = authenticate(rt, username, password)
    if user is None:
        audit(rt, request, username, "login.failed")
        return render(request, "login.html", status_code=401, next=next, username=username,
                      error="用户名或密码错误。")
    start_session(request, rt, user)
    audit(rt, request, user.username, "login", "user", user.id)
    return RedirectResponse(safe_next(next, HOME[user.role]), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    user = load_user(request)
    if user is not None:
        audit(rt_of(request), request, user.username, "logout", "user", user.id)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
