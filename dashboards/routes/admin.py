"""系统管理 (administration): sources with health, the profile, departments, routing, users, audit log.

Sources and the profile are shown, not edited here (they are configuration files checked by
``yuqing config check``); accounts are managed here since they belong to the web app.
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from yuqing.crawlers.trial import TrialError, try_url
from yuqing.models import AuditEntry, Source, User
from yuqing.profile import Route

from ..auth import AdminUser, CurrentUser, audit, client_ip, create_user, set_password
from ..templating import flash, render
from ._util import NO_NUL, RecordId, back, rt_of

router = APIRouter(include_in_schema=False, dependencies=NO_NUL)


def _routes(route: Route, depth: int = 0) -> list[tuple[int, dict[Any, list[str]], list[str], bool]]:
    out = [(depth, route.match, route.receivers, route.continue_)]
    for child in route.routes:
        out += _routes(child, depth + 1)
    return out


@router.get("/admin")
def admin_page(request: Request, user: CurrentUser = AdminUser) -> Response:
    return _admin_view(request)


def _admin_view(request: Request, status_code: int = 200, **extra: Any) -> Response:
    rt = rt_of(request)
    with rt.session() as s:
        sources = list(s.scalars(select(Source).order_by(Source.healthy, Source.key)))
        users = list(s.scalars(select(User).order_by(User.role, User.username)))
        log = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(100)))
    return render(request, "admin.html", status_code=status_code, sources=sources, users=users, log=log,
                  profile=rt.profile, kinds=TRIAL_KINDS, **extra,
                  routes=_routes(rt.profile.routing), settings=rt.settings.shown(),
                  topic_names={t.key: t.name for t in rt.profile.remit.topics},
                  department_names={d.key: d.name for d in rt.profile.departments})


TRIAL_KINDS = {"feed": "订阅源", "listing": "列表页", "sitemap": "站点地图", "json_api": "JSON 接口", "hotlist": "热榜"}


@router.post("/admin/sources/try")
def try_source(request: Request, url: str = Form(..., min_length=1, max_length=2000), key: str = Form("", max_length=100),
               name: str = Form("", max_length=200), user: CurrentUser = AdminUser) -> Response:
    """试采: what a source at ``url`` would give, shown here; nothing is stored. The server does
    the fetching, so only public addresses unless ``trial_allow_private`` (see crawlers.trial)."""
    rt = rt_of(request)
    url = url.strip()
    form = {"url": url, "key": key.strip(), "name": name.strip()}
    audit(rt, request, user.username, "source.try", url=url)
    try:
        trial = try_url(url, rt.settings, rt.now(), form["key"], form["name"],
                        public_only=not rt.settings.trial_allow_private)
    except TrialError as exc:
        return _admin_view(request, 422, trial_form=form, trial_error=str(exc))
    entry = yaml.safe_dump({"sources": [trial.entry]}, allow_unicode=True, sort_keys=False)
    return _admin_view(request, trial_form=form, trial=trial, trial_yaml=entry)


@router.post("/admin/users")
def add_user(request: Request, username: str = Form(..., max_length=100), display_name: str = Form("", max_length=100),
             role: str = Form(...), department_key: str = Form(""), password: str = Form(..., max_length=200),
             user: CurrentUser = AdminUser) -> Response:
    rt = rt_of(request)
    # The admin chose this password: the account must change it at its first sign-in.
    # create_user writes the one audit entry (user.create), with the admin's name and address.
    create_user(rt, username, password, role, display_name.strip(), department_key, by=user.username,
                temporary=True, ip=client_ip(request))
    flash(request, f"已创建账号 {username}")
    return back(request, "/admin#users")


@router.post("/admin/users/{user_id}/active")
def set_active(request: Request, user_id: RecordId, active: bool = Form(...), user: CurrentUser = AdminUser) -> Response:
    rt = rt_of(request)
    if user_id == user.id and not active:
        raise HTTPException(422, "不能停用自己的账号")
    with rt.session() as s:
        row = s.get(User, user_id)
        if row is None:
            raise HTTPException(404, f"账号 {user_id} 不存在")
        row.active = active
        name = row.username
    audit(rt, request, user.username, "user.enable" if active else "user.disable", "user", user_id)
    flash(request, f"账号 {name} 已{'启用' if active else '停用'}")
    return back(request, "/admin#users")


@router.post("/admin/users/{user_id}/password")
def reset_password(request: Request, user_id: RecordId, password: str = Form(..., min_length=1, max_length=200),
                   user: CurrentUser = AdminUser) -> Response:
    rt = rt_of(request)
    with rt.session() as s:
        if s.get(User, user_id) is None:
            raise HTTPException(404, f"账号 {user_id} 不存在")
    # Ends that user's sessions; a temporary password, to be changed at the next sign-in.
    name = set_password(rt, user_id, password, temporary=True)
    audit(rt, request, user.username, "user.password", "user", user_id)
    flash(request, f"已重置 {name} 的密码")
    return back(request, "/admin#users")
