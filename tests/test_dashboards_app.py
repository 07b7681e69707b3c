"""The web app in-process (FastAPI TestClient): sign-in, roles on every route, CSRF, escaping,
the alert actions, the board's colours, the API and its OpenAPI description."""

from __future__ import annotations

import contextlib
import re
import socket
from datetime import timedelta

import pytest
from dashboard_seed import HOSTILE, PASSWORD
from fastapi.testclient import TestClient
from sqlalchemy import select

from yuqing.dashboards.app import PUBLIC_PATHS, create_app
from yuqing.dashboards.queries import countdown_colour
from yuqing.models import Alert, AuditEntry, ReviewLabel, Source, User


@pytest.fixture
def client(runtime, story):  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime), follow_redirects=False) as c:
        yield c


def csrf_of(client: TestClient, path: str = "/login") -> str:
    page = client.get(path, follow_redirects=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    token = csrf_of(client)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert r.status_code == 303, r.text
    return csrf_of(client, r.headers["location"])


def test_pages_redirect_to_login_and_api_says_401(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/tickets", "/leader", "/liaison", "/admin", "/search", "/events/1"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    assert client.get("/api/alerts").status_code == 401
    assert client.get("/api/openapi.json").status_code == 401
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "html" if m.group(1) == "fmt" else "1", path)


def _routes(routes):  # type: ignore[no-untyped-def]
    """Every route, looking inside included routers (FastAPI nests them)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def test_every_route_refuses_an_anonymous_caller(runtime, client) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(client)  # a valid anonymous CSRF token, so the role check itself is what refuses
    checked = 0
    for route in _routes(client.app.routes):
        path = getattr(route, "path", "")
        if not path or any(path.startswith(p) for p in PUBLIC_PATHS) or path.startswith("/static"):
            continue
        for method in route.methods - {"HEAD"}:
            url = _fill(path)
            if method == "GET":
                r = client.get(url)
            else:
                r = client.request(method, url, data={"csrf_token": token}, headers={"X-CSRF-Token": token})
            assert r.status_code in (303, 401), f"{method} {path} answered {r.status_code} without a login"
            if r.status_code == 303:
                assert r.headers["location"].startswith("/login")
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize("username, path, status", [
    ("monitor", "/admin", 403), ("monitor", "/liaison", 403), ("monitor", "/leader", 403),
    ("liaison_xcb", "/tickets", 403), ("liaison_xcb", "/api/alerts", 403),
    ("leader", "/admin", 403), ("leader", "/leader", 200),
    ("admin", "/admin", 200), ("admin", "/liaison", 200), ("monitor", "/", 200),
])
def test_roles(client, username: str, path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    login(client, "xcb" if username == "liaison_xcb" else username)
    assert client.get(path).status_code == status


def test_the_sites_address_takes_a_leader_to_the_leadership_page(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "leader")
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/leader"
    assert client.get("/?fragment=1", follow_redirects=False).headers["location"] == "/leader"
    page = client.get(r.headers["location"]).text
    assert "领导看板" in page and "值班台" not in page, "a leader's home, and no link to a console they cannot open"


def test_the_sites_address_takes_a_liaison_to_their_page_not_a_refusal(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "xcb")
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/liaison"
    assert client.get("/?fragment=1", follow_redirects=False).headers["location"] == "/liaison"


def test_leader_cannot_act_on_alerts(client, story) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "leader")
    r = client.post(f"/alerts/{story['alert_fire']}/review", data={"action": "dismiss", "csrf_token": token})
    assert r.status_code == 403


def test_forms_without_a_valid_csrf_token_are_refused(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    login(client, "monitor")
    url = f"/alerts/{story['alert_fire']}/review"
    assert client.post(url, data={"action": "dismiss"}).status_code == 403
    r = client.post(url, data={"action": "dismiss", "csrf_token": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert client.post("/login", data={"username": "monitor", "password": PASSWORD}).status_code == 403
    with runtime.session() as s:
        assert s.get(Alert, story["alert_fire"]).status == "firing"


def test_dismiss_becomes_a_training_label_and_is_audited(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "monitor")
    r = client.post(f"/alerts/{story['alert_fire']}/review?next=/", data={"action": "dismiss", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = client.get("/")
    assert "已排除（误报/无关）：预警" in page.text
    with runtime.session() as s:
        assert s.get(Alert, story["alert_fire"]).status == "dismissed"
        label = s.scalar(select(ReviewLabel).where(ReviewLabel.alert_id == story["alert_fire"]))
        assert label.label == "dismiss" and label.by == "monitor"
        entries = s.scalars(select(AuditEntry).where(AuditEntry.target_type == "alert",
                                                     AuditEntry.target_id == story["alert_fire"])).all()
        assert [e.action for e in entries] == ["alert.review.dismiss"], "one review, one entry"
        entry = entries[0]
        assert entry.actor == "monitor" and entry.ip == "testclient"
    login(client, "admin")
    assert "<td>研判：排除</td>" in client.get("/admin").text, "the audit log says the one entry in words"


def test_a_review_the_workflow_refuses_is_422_with_its_sentence(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    """The form and the API leave the action and the level to the alerts workflow, whose
    refusal (Refused) the app's one handler answers with 422."""
    token = login(client, "monitor")
    url = f"/alerts/{story['alert_fire']}/review"
    r = client.post(url, data={"action": "level", "level": "超大", "csrf_token": token})
    assert r.status_code == 422 and "未知等级 &#39;超大&#39;，应为 一般、较大、重大 或 特别重大" in r.text
    r = client.post(url, data={"action": "level", "level": "", "csrf_token": token})
    assert r.status_code == 422 and "修改等级时须给出新等级" in r.text
    r = client.post(url, data={"action": "promote", "csrf_token": token})
    assert r.status_code == 422 and "未知研判操作 &#39;promote&#39;" in r.text
    with runtime.session() as s:
        assert s.get(Alert, story["alert_fire"]).status == "firing" and s.query(ReviewLabel).count() == 0
    r = client.post(f"/api{url}", json={"action": "level", "level": "超大"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    assert client.post("/api/alerts/99999/review", json={"action": "dismiss"},
                       headers={"X-CSRF-Token": token}).status_code == 404


def test_silence_needs_a_reason_and_lands_in_the_store(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    from yuqing.models import Silence

    token = login(client, "monitor")
    url = f"/alerts/{story['alert_fire']}/silence"
    assert client.post(url, data={"hours": "4", "comment": "", "csrf_token": token}).status_code == 422
    blank = client.post(url, data={"hours": "4", "comment": "   ", "csrf_token": token})
    assert blank.status_code == 422 and "静默须说明原因" in blank.text  # the workflow's refusal, one handler
    assert client.post(url, data={"hours": "4", "comment": "已核实为烧荒", "csrf_token": token}).status_code == 303
    with runtime.session() as s:
        row = s.scalar(select(Silence))
        assert row.event_id == story["fire"] and row.comment == "已核实为烧荒"
        assert row.ends_at - runtime.now() == timedelta(hours=4)
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action.in_(("silence.add", "alert.silence")))).all()
        assert [(e.action, e.target_id) for e in entries] == [("silence.add", row.id)], "one silence, one entry"
        assert entries[0].ip == "testclient" and entries[0].detail["alert_id"] == story["alert_fire"]


def test_hostile_crawled_text_is_escaped_and_csp_forbids_inline_script(client, story) -> None:  # type: ignore[no-untyped-def]
    login(client, "monitor")
    for path in ("/", f"/events/{story['flood']}"):
        r = client.get(path)
        assert "&lt;script&gt;alert(" in r.text, path
        assert HOSTILE not in r.text and "<img src=x" not in r.text
        assert "&lt;b&gt;匿名&lt;/b&gt;" in r.text
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "<script>" not in re.sub(r'<script src="/static/[^"]+" defer></script>', "", client.get("/").text)


def test_console_shows_reasons_folded_copies_and_first_publisher(client, story) -> None:  # type: ignore[no-untyped-def]
    login(client, "monitor")
    text = client.get("/").text
    flood = text.index("泽州县某煤矿发生透水事故")
    fire = text.index("山上冒烟疑似山火")
    assert flood < fire, "a major alert comes before a larger one"
    assert "伤亡：十余人被困（重大）" in text and "辖区：泽州县" in text  # reasons, text or dict
    assert "另有 3 条相同转载" in text
    assert "首发：泽州新闻网" in text


def test_board_colours_by_time_left(client, story) -> None:  # type: ignore[no-untyped-def]
    assert countdown_colour(timedelta(hours=7), 6) == "green"
    assert countdown_colour(timedelta(hours=5, minutes=59), 6) == "amber"
    assert countdown_colour(timedelta(seconds=-1), 6) == "red"
    login(client, "monitor")
    board = client.get("/tickets").text
    card = re.search(rf'<a class="ticket-card (\w+)" href="/tickets/{story["ticket"]}"', board)
    assert card and card.group(1) == "red"  # the 5-hour clock is long breached
    page = client.get(f"/tickets/{story['ticket']}").text
    assert 'class="cd amber"' in page and 'class="cd red"' in page  # 48 h clock: 4 h left
    assert "不足 6 小时" in board


def test_the_amber_mark_is_the_profiles(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.clocks.amber_hours = 3  # a bureau that calls only the last 3 hours close
    login(client, "monitor")
    assert '<span class="cd amber">不足 3 小时</span>' in client.get("/tickets").text
    page = client.get(f"/tickets/{story['ticket']}").text
    assert 'class="cd amber"' not in page  # the 48 h clock's 4 h left is green now


def test_api_queue_and_openapi(client, story) -> None:  # type: ignore[no-untyped-def]
    login(client, "monitor")
    alerts = client.get("/api/alerts").json()
    # By urgency: the graver level first, then the nearest running deadline (the old event's
    # 5-hour clock is breached, the fire has no ticket yet).
    assert [a["id"] for a in alerts][:3] == [story["alert_flood"], story["alert_old"], story["alert_fire"]]
    flood = alerts[0]
    assert flood["first_publisher"] == "泽州新闻网" and flood["items"][0]["duplicate_count"] == 3
    spec = client.get("/api/openapi.json").json()
    for path in ("/api/alerts", "/api/alerts/{alert_id}/review", "/api/tickets", "/api/events/{event_id}",
                 "/api/search", "/healthz"):
        assert path in spec["paths"], path
    tickets = client.get("/api/tickets").json()
    assert tickets[0]["colour"] == "red"


def test_api_review_needs_the_csrf_header(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "monitor")
    url = f"/api/alerts/{story['alert_flood']}/review"
    assert client.post(url, json={"action": "confirm"}).status_code == 403
    r = client.post(url, json={"action": "level", "level": "特别重大"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["level"] == "特别重大"
    r = client.post(url, json={"action": "promote"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422


def test_login_is_rate_limited_per_username_and_ip(runtime, client) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(client)
    for _ in range(5):
        r = client.post("/login", data={"username": "monitor", "password": "wrong-password", "csrf_token": token})
        assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = client.post("/login", data={"username": "monitor", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and "15 分钟" in r.text
    # another account from the same address is not locked out
    assert client.post("/login", data={"username": "leader", "password": PASSWORD, "csrf_token": token}).status_code == 303
    runtime.clock.advance(minutes=16)
    token = csrf_of(client)
    client.post("/logout", data={"csrf_token": token})
    token = csrf_of(client)
    assert client.post("/login", data={"username": "monitor", "password": PASSWORD, "csrf_token": token}).status_code == 303


def test_open_redirect_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(client)
    r = client.post("/login", data={"username": "monitor", "password": PASSWORD, "csrf_token": token,
                                    "next": "//evil.example/"})
    assert r.headers["location"] == "/"


def test_session_survives_a_restart_and_ends_when_the_password_changes(runtime, client) -> None:  # type: ignore[no-untyped-def]
    login(client, "monitor")
    cookie = client.cookies.get("yuqing_session")
    with TestClient(create_app(runtime), follow_redirects=False) as other:  # a new server process
        other.cookies.set("yuqing_session", cookie)
        assert other.get("/").status_code == 200
        with runtime.session() as s:
            user = s.scalar(select(User).where(User.username == "monitor"))
            from yuqing.dashboards.auth import hash_password

            user.password_hash = hash_password(runtime.settings, "another-password")
        assert other.get("/").status_code == 303


def test_session_cookie_flags(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/login")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_event_page_has_charts_from_static(client, story) -> None:  # type: ignore[no-untyped-def]
    login(client, "leader")
    page = client.get(f"/events/{story['flood']}").text
    assert '<script src="/static/vendor/echarts.min.js" defer></script>' in page
    assert "data-chart='" in page and "每 10 分钟条数" in page  # a 4-hour-old event: 10-minute buckets
    assert client.get("/static/vendor/echarts.min.js").status_code == 200


def test_healthz(runtime, client) -> None:  # type: ignore[no-untyped-def]
    from rq import Worker
    from rq.cron import CronScheduler

    # Nothing runs the jobs yet: a quiet system and a dead one must not look alike.
    r = client.get("/healthz")
    body = r.json()
    assert r.status_code == 503 and body["database"] is True and body["redis"] is True
    assert body["workers"] == 0 and "没有运行中的 worker" in body["problems"] and "调度器未运行" in body["problems"]
    # A worker and a scheduler registered by this (live) process: all well.
    worker = Worker(["analyse"], connection=runtime.redis)
    worker.register_birth()
    cron = CronScheduler(connection=runtime.redis)
    cron.register_birth()
    body = client.get("/healthz").json()
    assert body["problems"] == ["1 个信源长时间未成功采集"] and body["stale_sources"] == 1
    with runtime.session() as s:  # the source is crawled again
        for source in s.scalars(select(Source)):
            source.last_success_at = runtime.now()
    body = client.get("/healthz").json()
    assert body["problems"] == [] and body["ok"] is True and body["workers"] == 1 and body["schedulers"] == 1
    assert "counts" not in body and "items" not in str(body)  # public: nothing about the store's content
    from redis import Redis

    runtime.redis = Redis(host="127.0.0.1", port=1)  # nothing listens there
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["redis"] is False and r.json()["database"] is True
    # A Redis that takes the connection and never answers: asked once, for health_timeout, and
    # reported (the client's own policy waits 3 s and tries four times, about 20 s in all).
    with socket.create_server(("127.0.0.1", 0)) as mute:
        runtime.settings = runtime.settings.model_copy(update={"health_timeout": 0.2})
        runtime.redis = Redis(host="127.0.0.1", port=mute.getsockname()[1], socket_timeout=3)
        r = client.get("/healthz")
        assert r.status_code == 503 and r.json()["redis"] is False and r.json()["redis_error"] == "TimeoutError"
        mute.setblocking(False)
        asked = []
        with contextlib.suppress(BlockingIOError):
            while True:  # the connections the kernel took for the listener, none accepted yet
                asked.append(mute.accept()[0])
        for conn in asked:
            conn.close()
        assert len(asked) == 1


def test_admin_sees_unhealthy_sources_in_red_and_adds_a_user(runtime, client) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "admin")
    page = client.get("/admin").text
    row = re.search(r'<tr class="red[^"]*">\s*<td><span class="dot red"></span>异常</td>\s*<td>城区论坛', page)
    assert row, "the failing source is shown in red"
    r = client.post("/admin/users", data={"username": "zhang", "display_name": "张三", "role": "liaison",
                                          "department_key": "", "password": "long-enough-1", "csrf_token": token})
    assert r.status_code == 409 and "部门联络员须指定所属部门" in r.text
    r = client.post("/admin/users", data={"username": "zhang", "display_name": "张三", "role": "liaison",
                                          "department_key": "police", "password": "long-enough-1", "csrf_token": token})
    assert r.status_code == 303
    with runtime.session() as s:
        made = s.scalar(select(User).where(User.username == "zhang"))
        assert made.department_key == "police"
        entries = s.scalars(select(AuditEntry).where(AuditEntry.target_type == "user", AuditEntry.target_id == made.id)).all()
        assert [(e.action, e.actor, e.ip) for e in entries] == [("user.create", "admin", "testclient")], \
            "one account, one entry, with the admin's address"


def test_templates_never_mark_text_safe() -> None:
    from importlib import resources

    folder = resources.files("yuqing.dashboards").joinpath("templates")
    for tpl in folder.iterdir():
        assert "|safe" not in tpl.read_text(encoding="utf-8").replace(" ", ""), tpl.name


def test_the_alert_link_in_a_message_signs_in_and_lands_on_the_event(client, story) -> None:  # type: ignore[no-untyped-def]
    path = f"/alerts/{story['alert_flood']}"
    r = client.get(path)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    token = csrf_of(client)
    r = client.post("/login", data={"username": "monitor", "password": PASSWORD, "csrf_token": token, "next": path})
    assert r.status_code == 303 and r.headers["location"] == path
    page = client.get(path)
    assert page.status_code == 200 and "泽州县某煤矿发生透水事故" in page.text  # the alert's event
    missing = client.get("/alerts/999999")
    assert missing.status_code == 404 and "预警 #999999 不存在" in missing.text and "detail" not in missing.text


def test_bad_form_input_is_said_in_chinese_without_echoing_it(runtime, client, story) -> None:  # type: ignore[no-untyped-def]
    """Pydantic words its messages in English ("Input should be a valid number"); the page and
    the API say what was wrong in Chinese, naming the field, and never repeat a password."""
    token = login(client, "monitor")
    url = f"/alerts/{story['alert_fire']}/silence"
    r = client.post(url, data={"hours": "很久", "comment": "已核实", "csrf_token": token})
    assert r.status_code == 422 and "hours: 应为数字" in r.text and "Input should" not in r.text
    r = client.post(url, data={"hours": "4", "comment": "长" * 501, "csrf_token": token})
    assert r.status_code == 422 and "comment: 至多 500 个字符" in r.text and "长" * 501 not in r.text
    r = client.post(url, data={"comment": "已核实", "csrf_token": token})
    assert r.status_code == 422 and "hours: 缺少必填字段" in r.text
    api = client.post(f"/api/alerts/{story['alert_fire']}/review", json={"action": "dismiss", "reason": 5},
                      headers={"X-CSRF-Token": token})
    assert api.status_code == 422 and "应为文本" in api.json()["detail"] and "should" not in api.text
    secret = "x" * 201
    client.post("/logout", data={"csrf_token": token})
    r = client.post("/login", data={"username": "monitor", "password": secret, "csrf_token": csrf_of(client)})
    assert r.status_code == 422 and "password: 至多 200 个字符" in r.text and secret not in r.text
