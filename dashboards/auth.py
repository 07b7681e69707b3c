"""Accounts (账号), passwords, sessions, role checks, the login rate limit and the audit log.

Passwords are hashed with argon2id (argon2-cffi). The session is a signed cookie
(Starlette's SessionMiddleware, keyed by ``settings.secret()``), so sessions survive a server
restart and any number of web processes share them. The cookie carries the user id and a
fingerprint of the password hash: changing a password or disabling an account ends every
session at once, because each request reloads the user from the store.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from sqlalchemy import func, select

from yuqing.exceptions import YuqingError
from yuqing.models import AuditEntry, Role, User
from yuqing.runtime import Runtime

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
SESSION_HOURS = 12
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5  # per username and IP inside the window


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

    @property
    def label(self) -> str:
        return f"{self.display_name}（{self.role.label}）"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def create_user(rt: Runtime, username: str, password: str, role: str, display_name: str = "",
                department_key: str = "", by: str = "cli") -> int:
    """Create an account; raise :class:`AccountError` naming what is wrong."""
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise AccountError(f"用户名 {username!r} 无效：不能为空、不能含空白、不超过 100 字符")
    try:
        role_ = Role(role)
    except ValueError:
        raise AccountError(f"未知角色 {role!r}，应为 monitor、leader、liaison 或 admin") from None
    if len(password) < 8:
        raise AccountError("密码至少 8 个字符")
    if role_ is Role.LIAISON:
        keys = [d.key for d in rt.profile.departments]
        if department_key not in keys:
            raise AccountError(f"部门联络员须用 --department 指定部门，应为: {', '.join(keys)}")
    elif department_key:
        raise AccountError("只有部门联络员（liaison）需要 --department")
    with rt.session() as s:
        if s.scalar(select(User.id).where(User.username == username)):
            raise AccountError(f"用户名 {username!r} 已存在")
        user = User(username=username, display_name=display_name or username,
                    password_hash=hash_password(password), role=role_.value,
                    department_key=department_key, active=True, created_at=rt.now())
        s.add(user)
        s.flush()
        s.add(AuditEntry(at=rt.now(), actor=by, action="user.create", target_type="user",
                         target_id=user.id, detail={"username": username, "role": role_.value,
                                                    "department_key": department_key}))
        return user.id


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


def login_blocked(rt: Runtime, username: str, ip: str) -> bool:
    """Too many failed logins for this username from this IP in the last 15 minutes."""
    since = rt.now() - LOGIN_WINDOW
    with rt.session() as s:
        failures = s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "login.failed", AuditEntry.actor == username[:100],
            AuditEntry.ip == ip, AuditEntry.at >= since))
    return int(failures or 0) >= LOGIN_MAX_FAILURES


def authenticate(rt: Runtime, username: str, password: str) -> CurrentUser | None:
    with rt.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            _hasher.hash(password)  # same cost either way: do not reveal which usernames exist
            return None
        if not verify_password(user.password_hash, password):
            return None
        user.last_login_at = rt.now()
        return _current(user)


def _current(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, username=user.username, display_name=user.display_name,
                       role=Role(user.role), department_key=user.department_key)


def start_session(request: Request, rt: Runtime, user: CurrentUser) -> None:
    with rt.session() as s:
        row = s.get(User, user.id)
        fp = _fingerprint(row.password_hash) if row else ""
    csrf = request.session.get("csrf")
    request.session.clear()
    request.session.update({"uid": user.id, "fp": fp, "iat": rt.now().timestamp()})
    if csrf:
        request.session["csrf"] = csrf


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
                if row is not None and row.active and _fingerprint(row.password_hash) == request.session.get("fp"):
                    user = _current(row)
    request.state.user = user
    return user


class LoginRequired(Exception):
    """Raised by the role check for a page when nobody is signed in: the app redirects to /login."""


def require(*roles: Role) -> Callable[[Request], CurrentUser]:
    """A dependency: the signed-in user, who must hold one of ``roles`` (admin always may)."""
    allowed = {*roles, Role.ADMIN}

    def check(request: Request) -> CurrentUser:
        user = load_user(request)
        if user is None:
            if request.url.path.startswith("/api/"):
                raise HTTPException(401, "请先登录")
            raise LoginRequired()
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
