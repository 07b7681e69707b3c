"""登录/退出 (login and logout), rate-limited per account, per address and overall, audited;
and 修改密码 (a temporary password must be changed before anything else)."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from yuqing.models import Role, User

from .. import limiter
from ..auth import (
    PASSWORD_PAGE,
    AccountError,
    audit,
    authenticate,
    client_ip,
    end_sessions,
    load_user,
    must_change,
    set_password,
    start_session,
    verify_password,
    weak_password_found,
)
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
    verdict = limiter.take(rt, username, ip)
    if not verdict.allowed:
        if verdict.first_refusal:  # one entry per lock-out, not one per attempt: the audit list stays readable
            audit(rt, request, username, "login.blocked", reason=verdict.reason)
        raise HTTPException(429, verdict.reason)
    try:
        with limiter.checking():
            user = authenticate(rt, username, password)
    except limiter.Busy:
        raise HTTPException(429, "系统繁忙，请稍后再试。") from None
    if user is None:
        audit(rt, request, username, "login.failed")
        return render(request, "login.html", status_code=401, next=next, username=username,
                      error="用户名或密码错误。")
    limiter.succeeded(rt, username, ip)
    start_session(request, rt, user)
    audit(rt, request, user.username, "login", "user", user.id)
    weak = weak_password_found(rt, user, password)
    if weak:
        audit(rt, request, user.username, "password.must_change", "user", user.id, reason=weak)
        user = must_change(user)
    if user.must_change_password:
        return RedirectResponse(PASSWORD_PAGE, status_code=303)
    return RedirectResponse(safe_next(next, HOME[user.role]), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    user = load_user(request)
    if user is not None:
        rt = rt_of(request)
        end_sessions(rt, user.id)  # a copy of this cookie must not outlive the logout
        audit(rt, request, user.username, "logout", "user", user.id)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get(PASSWORD_PAGE)
def password_page(request: Request) -> Response:
    user = load_user(request)
    if user is None:
        return RedirectResponse(f"/login?next={PASSWORD_PAGE}", status_code=303)
    return render(request, "password.html", forced=user.must_change_password)


@router.post(PASSWORD_PAGE)
def change_password(request: Request, current: str = Form("", max_length=200), new: str = Form("", max_length=200),
                    confirm: str = Form("", max_length=200)) -> Response:
    rt = rt_of(request)
    user = load_user(request)
    if user is None:
        return RedirectResponse(f"/login?next={PASSWORD_PAGE}", status_code=303)

    def again(error: str, status: int = 422) -> Response:
        return render(request, "password.html", status_code=status, forced=user.must_change_password, error=error)

    # The current password is guessed under the login's limits: a session taken over (a
    # computer left signed in) must not be a way to try passwords without end.
    verdict = limiter.take(rt, user.username, client_ip(request))
    if not verdict.allowed:
        return again(verdict.reason.replace("登录失败", "密码验证失败"), 429)
    try:
        with limiter.checking(), rt.session() as s:
            row = s.get(User, user.id)
            ok = row is not None and verify_password(row.password_hash, current)
    except limiter.Busy:
        return again("系统繁忙，请稍后再试。", 429)
    if not ok:
        audit(rt, request, user.username, "password.change_failed", "user", user.id)
        return again("当前密码不正确。", 403)
    limiter.succeeded(rt, user.username, client_ip(request))
    if new != confirm:
        return again("两次输入的新密码不一致。")
    if new == current:
        return again("新密码不能与当前密码相同。")
    try:
        set_password(rt, user.id, new, temporary=False)
    except AccountError as exc:
        return again(f"{exc}。")
    audit(rt, request, user.username, "password.change", "user", user.id)
    fresh = authenticate(rt, user.username, new)
    if fresh is not None:
        start_session(request, rt, fresh)
    return RedirectResponse(HOME[user.role], status_code=303)
