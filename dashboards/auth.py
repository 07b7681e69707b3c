"""Accounts (账号), passwords, sessions, role checks, the login rate limit and the audit log.

Passwords are hashed with argon2id (argon2-cffi). The session is a signed cookie
(Starlette's SessionMiddleware, keyed by ``settings.secret()``), so sessions survive a server
restart and any number of web processes share them. The cookie carries the user id, a
fingerprint of the password hash and the account's session version: changing a password,
disabling an account or signing out ends every session of that account at once (a cookie
copied before logout is dead after it), because each request reloads the user from the store.
Accounts an administrator creates or resets carry a temporary password that must be changed
at the first sign-in. The login limiter lives in :mod:`.limiter`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from sqlalchemy import select

from yuqing.demo import DEMO_PASSWORD
from yuqing.exceptions import YuqingError
from yuqing.models import AuditEntry, Role, User
from yuqing.runtime import Runtime
from yuqing.settings import Settings

log = logging.getLogger(__name__)

_verifier = PasswordHasher()  # verify() reads the cost from the stored hash, whatever it was
SESSION_HOURS = 12
MIN_PASSWORD = 12
# Passwords people reach for first; the length rule already refuses most (12345678, password).
_COMMON = {"123456789012", "1234567890ab", "qwertyuiop12", "password1234", "passw0rd1234", "administrator",
           "admin1234567", "yuqing123456", "abc123456789", "1qaz2wsx3edc", "qwertyuiopas", "woaini123456"}


class AccountError(YuqingError):
    """An account cannot be created or changed as asked."""

    hint = "用 `yuqing user add 用户名 --role monitor|leader|liaison|admin` 创建账号。"


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in user, detached from any session."""

    id: int
    username: str
    display_name: str
    role: Role
    department_key: str
    must_change_password: bool = False

    @property
    def label(self) -> str:
        return f"{self.display_name}（{self.role.label}）"


@cache
def _hasher(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(getattr(profiles, profile))


def hash_password(settings: Settings, password: str) -> str:
    """The argon2id hash of ``password`` at the installation's cost (``settings.password_hash``)."""
    return _hasher(settings.password_hash).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _verifier.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def password_problem(password: str, username: str = "") -> str:
    """Why ``password`` is too weak for a real account (in Chinese), or "" when it will do."""
    if password == DEMO_PASSWORD:  # said first: it is also short, but this is the reason that matters
        return "不能使用演示系统的公用密码"
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 个字符"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名"
    if len(set(password)) < 5 or password.lower() in _COMMON:
        return "密码过于简单，请换一个不易猜到的密码（如几个词加数字）"
    return ""


def create_user(rt: Runtime, username: str, password: str, role: str, display_name: str = "",
                department_key: str = "", by: str = "cli", temporary: bool = False, ip: str = "") -> int:
    """Create an account; raise :class:`AccountError` naming what is wrong. Its one audit entry
    (``user.create``) names who made it (``by``) and from where (``ip``, the admin page's caller).

    ``temporary``: a password someone else chose (the admin page); it must be changed at the
    first sign-in. Only the demo (``by="demo"``) may use its shared password.
    """
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise AccountError(f"用户名 {username!r} 无效：不能为空、不能含空白、不超过 100 字符")
    try:
        role_ = Role(role)
    except ValueError:
        raise AccountError(f"未知角色 {role!r}，应为 monitor、leader、liaison 或 admin") from None
    problem = "" if by == "demo" else password_problem(password, username)
    if problem:
        raise AccountError(problem)
    if role_ is Role.LIAISON:
        keys = [d.key for d in rt.profile.departments]
        if department_key not in keys:
            raise AccountError(f"部门联络员须指定所属部门（命令行用 --department），应为: {', '.join(keys)}")
    elif department_key:
        raise AccountError("只有部门联络员（liaison）需要 --department")
    with rt.session() as s:
        if s.scalar(select(User.id).where(User.username == username)):
            raise AccountError(f"用户名 {username!r} 已存在")
        user = User(username=username, display_name=display_name or username,
                    password_hash=hash_password(rt.settings, password), role=role_.value,
                    department_key=department_key, active=True, created_at=rt.now(),
                    must_change_password=temporary, session_version=0)
        s.add(user)
        s.flush()
        s.add(AuditEntry(at=rt.now(), actor=by, action="user.create", target_type="user",
                         target_id=user.id, detail={"username": username, "role": role_.value,
                                                    "department_key": department_key}, ip=ip))
        return user.id


def set_password(rt: Runtime, user_id: int, password: str, temporary: bool) -> str:
    """A new password (an admin's reset is ``temporary``); every session of the account ends. The username."""
    with rt.session() as s:
        row = s.get(User, user_id)
        if row is None:
            raise AccountError(f"账号 {user_id} 不存在")
        problem = password_problem(password, row.username)
        if problem:
            raise AccountError(problem)
        row.password_hash = hash_password(rt.settings, password)
        row.must_change_password = temporary
        row.session_version = (row.session_version or 0) + 1
        return row.username


def end_sessions(rt: Runtime, user_id: int) -> None:
    """Sign the account out everywhere: every cookie issued so far stops working (退出登录)."""
    with rt.session() as s:
        row = s.get(User, user_id)
        if row is not None:
            row.session_version = (row.session_version or 0) + 1


def ensure_user(rt: Runtime, username: str, password: str, role: str, display_name: str = "",
                department_key: str = "") -> int:
    """Create the account unless it exists (used by the demo); return its id."""
    with rt.session() as s:
        existing = s.scalar(select(User.id).where(User.username == username))
    if existing:
        return existing
    return create_user(rt, username, password, role, display_name, department_key, by="demo")


def audit(rt: Runtime, request: Request | None, actor: str, action: str, target_type: str = "",
          target_id: int | None = None, **detail: Any) -> None:
    """Write one 操作日志 entry in its own short transaction."""
    ip = client_ip(request) if request is not None else ""
    with rt.session() as s:
        s.add(AuditEntry(at=rt.now(), actor=actor, action=action, target_type=target_type,
                         target_id=target_id, detail=detail, ip=ip))


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def authenticate(rt: Runtime, username: str, password: str) -> CurrentUser | None:
    with rt.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            hash_password(rt.settings, password)  # same cost either way: do not reveal which usernames exist
            return None
        if not verify_password(user.password_hash, password):
            return None
        user.last_login_at = rt.now()
        return _current(user)


def weak_password_found(rt: Runtime, user: CurrentUser, password: str) -> str:
    """At sign-in: why the password just typed fails today's policy, or "".

    An account made before the policy, or still holding the demo's shared password outside the
    demo (``settings.demo``), is marked must-change, so the next page is 修改密码. The plain
    password exists only during this request, so this is the one place it can be judged.
    """
    if rt.settings.demo or user.must_change_password:
        return ""
    problem = password_problem(password, user.username)
    if problem:
        with rt.session() as s:
            row = s.get(User, user.id)
            if row is not None:
                row.must_change_password = True
    return problem


def must_change(user: CurrentUser) -> CurrentUser:
    return replace(user, must_change_password=True)


def _current(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, username=user.username, display_name=user.display_name,
                       role=Role(user.role), department_key=user.department_key,
                       must_change_password=bool(user.must_change_password))


def start_session(request: Request, rt: Runtime, user: CurrentUser) -> None:
    with rt.session() as s:
        row = s.get(User, user.id)
        fp = _fingerprint(row.password_hash) if row else ""
        version = (row.session_version or 0) if row else 0
    # Everything of the anonymous visit goes, its CSRF token too: whoever planted that cookie
    # knows its token (session fixation); the next page gets a fresh one (csrf.csrf_token).
    request.session.clear()
    request.session.update({"uid": user.id, "fp": fp, "sv": version, "iat": rt.now().timestamp()})


def load_user(request: Request) -> CurrentUser | None:
    """The user of this request's session, or None (expired, disabled, password changed)."""
    if hasattr(request.state, "user"):
        return request.state.user
    rt: Runtime = request.app.state.rt
    uid = request.session.get("uid")
    user = None
    if uid is not None:
        issued = float(request.session.get("iat", 0))
        if rt.now().timestamp() - issued <= SESSION_HOURS * 3600:
            with rt.session() as s:
                row = s.get(User, uid)
                if (row is not None and row.active and _fingerprint(row.password_hash) == request.session.get("fp")
                        and (row.session_version or 0) == request.session.get("sv", 0)):
                    user = _current(row)
    request.state.user = user
    return user


class LoginRequired(Exception):
    """Raised by the role check for a page when nobody is signed in: the app redirects to /login."""


class PasswordChangeRequired(Exception):
    """Raised by the role check while the account still has its temporary password: to /account/password."""


PASSWORD_PAGE = "/account/password"


def require(*roles: Role) -> Callable[[Request], CurrentUser]:
    """A dependency: the signed-in user, who must hold one of ``roles`` (admin always may)."""
    allowed = {*roles, Role.ADMIN}

    def check(request: Request) -> CurrentUser:
        user = load_user(request)
        if user is None:
            if request.url.path.startswith("/api/"):
                raise HTTPException(401, "请先登录")
            raise LoginRequired()
        if user.must_change_password:
            if request.url.path.startswith("/api/"):
                raise HTTPException(403, "当前密码为临时密码，须先在 /account/password 修改密码")
            raise PasswordChangeRequired()
        if user.role not in allowed:
            raise HTTPException(403, "当前账号的角色无权访问此页面")
        return user

    return check


ANY = require(Role.MONITOR, Role.LEADER, Role.LIAISON)
STAFF = require(Role.MONITOR, Role.LEADER)
MONITOR = require(Role.MONITOR)
LEADER = require(Role.LEADER)
LIAISON = require(Role.LIAISON)
ADMIN = require()

AnyUser = Depends(ANY)
StaffUser = Depends(STAFF)
MonitorUser = Depends(MONITOR)
LiaisonUser = Depends(LIAISON)
AdminUser = Depends(ADMIN)
LeaderUser = Depends(require(Role.LEADER))
