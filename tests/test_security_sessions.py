"""Issue 18, item 5 tried as an attacker would: a cookie copied before logout, a burst of
simultaneous logins, many accounts from one address, weak passwords, temporary passwords."""

from __future__ import annotations

import dataclasses
import re
import threading

import pytest
from argon2 import extract_parameters
from dashboard_seed import PASSWORD, seed_users
from fastapi.testclient import TestClient
from sqlalchemy import select

from yuqing.dashboards import limiter
from yuqing.dashboards.app import create_app
from yuqing.dashboards.auth import (
    AccountError,
    authenticate,
    create_user,
    hash_password,
    password_problem,
)
from yuqing.demo import DEMO_PASSWORD
from yuqing.exceptions import SettingsError
from yuqing.models import AuditEntry, User
from yuqing.settings import load_settings


@pytest.fixture
def client(runtime):  # type: ignore[no-untyped-def]
    seed_users(runtime)
    with TestClient(create_app(runtime), follow_redirects=False) as c:
        yield c


def _csrf(client: TestClient, path: str = "/login") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text).group(1)


def _login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(client)})
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_a_cookie_copied_before_logout_is_dead_after_it(runtime, client) -> None:  # type: ignore[no-untyped-def]
    _login(client, "monitor")
    stolen = dict(client.cookies)
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": _csrf(client, "/")})
    with TestClient(create_app(runtime), follow_redirects=False, cookies=stolen) as thief:
        r = thief.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_simultaneous_logins_get_exactly_five_password_checks(runtime) -> None:  # type: ignore[no-untyped-def]
    verdicts: list[limiter.Verdict] = []
    lock = threading.Lock()
    start = threading.Barrier(60)

    def attempt() -> None:
        start.wait()
        v = limiter.take(runtime, "monitor", "10.0.0.9")
        with lock:
            verdicts.append(v)

    threads = [threading.Thread(target=attempt) for _ in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(v.allowed for v in verdicts) == limiter.PER_USER
    assert sum(v.first_refusal for v in verdicts) == 1  # one audit entry per lock-out, not 55


def test_one_address_cannot_try_many_accounts(runtime, client) -> None:  # type: ignore[no-untyped-def]
    token = _csrf(client)
    codes = [client.post("/login", data={"username": f"user{n}", "password": "wrong-password-1",
                                         "csrf_token": token}).status_code for n in range(limiter.PER_IP + 3)]
    assert codes[:limiter.PER_IP] == [401] * limiter.PER_IP and set(codes[limiter.PER_IP:]) == {429}
    with runtime.session() as s:
        blocked = s.scalar(select(AuditEntry.id).where(AuditEntry.action == "login.blocked").limit(2).offset(1))
    assert blocked is None  # the admin's audit list is not flooded with one entry per refusal


def test_a_global_ceiling_holds_against_many_addresses(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(limiter, "GLOBAL_PER_MINUTE", 10)
    allowed = [limiter.take(runtime, f"u{n}", f"10.1.0.{n}").allowed for n in range(15)]
    assert allowed == [True] * 10 + [False] * 5


@pytest.mark.parametrize("password, why", [
    ("12345678", "密码至少 12 个字符"),
    (DEMO_PASSWORD + "-x", ""),
    ("aaaaaaaaaaaa", "密码过于简单"),
    ("chief-admin-2026", "密码不能包含用户名"),
])
def test_weak_passwords_are_refused(runtime, password: str, why: str) -> None:  # type: ignore[no-untyped-def]
    assert password_problem(password, "admin").startswith(why) if why else password_problem(password, "admin") == ""
    if why:
        with pytest.raises(AccountError, match=f"^{why}"):
            create_user(runtime, "chief", password.replace("admin", "chief"), "admin")


def test_the_demo_password_only_in_the_demo(runtime) -> None:  # type: ignore[no-untyped-def]
    padded = DEMO_PASSWORD
    with pytest.raises(AccountError):
        create_user(runtime, "admin2", padded, "admin")
    assert create_user(runtime, "admin3", padded, "admin", by="demo") > 0


def test_an_admin_made_account_must_change_its_password_first(runtime, client) -> None:  # type: ignore[no-untyped-def]
    _login(client, "admin")
    token = _csrf(client, "/admin")
    r = client.post("/admin/users", data={"username": "zhang", "display_name": "张值班", "role": "monitor",
                                          "password": "temporary-pass-1", "csrf_token": token})
    assert r.status_code == 303
    client.post("/logout", data={"csrf_token": _csrf(client, "/admin")})
    assert _login(client, "zhang", "temporary-pass-1") == "/account/password"
    assert client.get("/").headers["location"] == "/account/password"
    assert client.get("/api/me").status_code == 403
    token = _csrf(client, "/account/password")
    weak = client.post("/account/password", data={"current": "temporary-pass-1", "new": "short", "confirm": "short",
                                                  "csrf_token": token})
    assert weak.status_code == 422 and "密码至少 12 个字符" in weak.text
    r = client.post("/account/password", data={"current": "temporary-pass-1", "new": "my-own-passphrase-9",
                                               "confirm": "my-own-passphrase-9", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert client.get("/").status_code == 200
    with runtime.session() as s:
        assert s.scalar(select(User.must_change_password).where(User.username == "zhang")) is False


def _plant_password(runtime, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """An account as an older version left it: its hash set directly, no policy applied then."""
    with runtime.session() as s:
        s.scalar(select(User).where(User.username == username)).password_hash = hash_password(runtime.settings, password)


def test_an_existing_account_with_the_demo_password_must_change_it(runtime, client) -> None:  # type: ignore[no-untyped-def]
    _plant_password(runtime, "monitor", DEMO_PASSWORD)
    assert _login(client, "monitor", DEMO_PASSWORD) == "/account/password"
    assert client.get("/").headers["location"] == "/account/password"
    page = client.get("/account/password").text
    assert "演示系统的公用密码" in page
    with runtime.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "password.must_change"))
        assert entry.actor == "monitor" and entry.detail["reason"] == "不能使用演示系统的公用密码"
        assert s.scalar(select(User.must_change_password).where(User.username == "monitor")) is True
    token = _csrf(client, "/account/password")
    again = client.post("/account/password", data={"current": DEMO_PASSWORD, "new": DEMO_PASSWORD,
                                                   "confirm": DEMO_PASSWORD, "csrf_token": token})
    assert again.status_code == 422
    r = client.post("/account/password", data={"current": DEMO_PASSWORD, "new": "river-lantern-2026",
                                               "confirm": "river-lantern-2026", "csrf_token": token})
    assert r.status_code == 303 and client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": _csrf(client, "/")})
    assert _login(client, "monitor", "river-lantern-2026") == "/"  # a good password is not flagged again


def test_a_short_password_from_before_the_policy_must_change_too(runtime, client) -> None:  # type: ignore[no-untyped-def]
    _plant_password(runtime, "leader", "12345678")
    assert _login(client, "leader", "12345678") == "/account/password"
    assert client.get("/api/me").status_code == 403


def test_in_the_demo_the_shared_password_is_kept(runtime) -> None:  # type: ignore[no-untyped-def]
    seed_users(runtime)
    _plant_password(runtime, "monitor", DEMO_PASSWORD)
    demo = dataclasses.replace(runtime, settings=runtime.settings.model_copy(update={"demo": True}))
    with TestClient(create_app(demo), follow_redirects=False) as c:
        assert _login(c, "monitor", DEMO_PASSWORD) == "/"
    with runtime.session() as s:
        assert s.scalar(select(AuditEntry.id).where(AuditEntry.action == "password.must_change")) is None


def test_a_form_token_known_before_sign_in_is_dead_after_it(runtime, client) -> None:  # type: ignore[no-untyped-def]
    """Session fixation of the CSRF token: whoever planted the cookie of an anonymous visit knows
    its token; once the visitor signs in, a forged form carrying that token is refused."""
    planted = _csrf(client)
    r = client.post("/login", data={"username": "monitor", "password": PASSWORD, "csrf_token": planted})
    assert r.status_code == 303, r.text
    forged = client.post("/logout", data={"csrf_token": planted})
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert client.get("/").status_code == 200, "still signed in: the forged form did nothing"
    fresh = _csrf(client, "/")
    assert fresh != planted
    assert client.post("/logout", data={"csrf_token": fresh}).status_code == 303


def test_the_current_password_cannot_be_guessed_without_end_on_the_password_page(runtime, client) -> None:  # type: ignore[no-untyped-def]
    """A session taken over (a computer left signed in) tries the current password under the
    login's limits, not without end."""
    _login(client, "monitor")
    token = _csrf(client, "/account/password")

    def change(current: str) -> int:
        return client.post("/account/password", data={"current": current, "new": "river-lantern-2026",
                                                      "confirm": "river-lantern-2026", "csrf_token": token}).status_code

    assert [change(f"guess-{n}") for n in range(limiter.PER_USER)] == [403] * limiter.PER_USER
    refused = client.post("/account/password", data={"current": PASSWORD, "new": "river-lantern-2026",
                                                     "confirm": "river-lantern-2026", "csrf_token": token})
    assert refused.status_code == 429 and "密码验证失败次数过多" in refused.text
    runtime.clock.advance(minutes=16)  # the next window
    assert change(PASSWORD) == 303


def test_failures_from_another_address_do_not_lock_the_owner_out(runtime) -> None:  # type: ignore[no-untyped-def]
    """Someone trying the on-duty monitor's name from elsewhere locks only that address out; the
    monitor at their own desk still signs in, and every failure stays in the audit log."""
    seed_users(runtime)
    app = create_app(runtime)
    with TestClient(app, follow_redirects=False, client=("203.0.113.7", 50000)) as stranger:
        token = _csrf(stranger)
        codes = [stranger.post("/login", data={"username": "monitor", "password": "wrong-password-1",
                                               "csrf_token": token}).status_code for _ in range(limiter.PER_USER + 2)]
    assert codes[:limiter.PER_USER] == [401] * limiter.PER_USER and set(codes[limiter.PER_USER:]) == {429}
    with TestClient(app, follow_redirects=False, client=("10.0.0.21", 50001)) as desk:
        assert _login(desk, "monitor") == "/"
    with runtime.session() as s:
        failed = s.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login.failed",
                                                        AuditEntry.actor == "monitor")).all()
        assert failed == ["203.0.113.7"] * limiter.PER_USER
        blocked = s.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login.blocked")).all()
        assert blocked == ["203.0.113.7"]


def test_without_redis_the_store_counts_failures_per_account_and_address(runtime) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    with runtime.session() as s:
        for n in range(limiter.PER_USER):
            s.add(AuditEntry(at=runtime.now() - timedelta(minutes=n), actor="monitor", action="login.failed",
                             target_type="", ip="203.0.113.7", detail={}))
    assert not limiter._from_store(runtime, "monitor", "203.0.113.7").allowed
    assert limiter._from_store(runtime, "monitor", "10.0.0.21").allowed


def _behind(runtime, proxies: str):  # type: ignore[no-untyped-def]
    """The app as deployed with ``trusted_proxies`` (dataclasses.replace: the runtime is frozen)."""
    return create_app(dataclasses.replace(runtime, settings=runtime.settings.model_copy(
        update={"trusted_proxies": proxies})))


def _fail(c: TestClient, username: str, times: int, forwarded: str = "") -> list[int]:
    token = _csrf(c)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return [c.post("/login", data={"username": username, "password": "wrong-password-1", "csrf_token": token},
                   headers=headers).status_code for _ in range(times)]


def test_behind_a_trusted_proxy_each_user_is_limited_at_their_own_address(runtime) -> None:  # type: ignore[no-untyped-def]
    """Behind the bureau's reverse proxy every request comes from the proxy's address: without
    ``trusted_proxies`` one stranger's failures locked the monitor out at their desk too. With it,
    the proxy's X-Forwarded-For names the user, and the audit log says who failed from where."""
    seed_users(runtime)
    app = _behind(runtime, "10.0.0.2, 10.0.1.0/24")
    with TestClient(app, follow_redirects=False, client=("10.0.0.2", 50000)) as proxy:
        codes = _fail(proxy, "monitor", limiter.PER_USER + 1, forwarded="203.0.113.7")
        assert codes[:limiter.PER_USER] == [401] * limiter.PER_USER and codes[-1] == 429
        r = proxy.post("/login", data={"username": "monitor", "password": PASSWORD, "csrf_token": _csrf(proxy)},
                       headers={"X-Forwarded-For": "198.51.100.4, 10.0.1.9"})  # via a second proxy of ours
        assert r.status_code == 303, "the monitor at their desk is not locked out by the stranger"
    with runtime.session() as s:
        failed = set(s.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login.failed")))
        signed_in = s.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login")).all()
    assert failed == {"203.0.113.7"} and signed_in == ["198.51.100.4"]


@pytest.mark.parametrize("proxies", ["", "10.0.0.2"])
def test_a_forged_forwarded_for_does_not_bypass_the_lock(runtime, proxies: str) -> None:  # type: ignore[no-untyped-def]
    """A client that is not a configured proxy (and, by default, every client) cannot pick its
    address with X-Forwarded-For: a new forged address per attempt still meets the lock."""
    seed_users(runtime)
    with TestClient(_behind(runtime, proxies), follow_redirects=False, client=("203.0.113.7", 50000)) as c:
        token = _csrf(c)
        codes = [c.post("/login", data={"username": "monitor", "password": "wrong-password-1", "csrf_token": token},
                        headers={"X-Forwarded-For": f"10.0.0.2, 192.0.2.{n}"}).status_code
                 for n in range(limiter.PER_USER + 2)]
    assert codes[:limiter.PER_USER] == [401] * limiter.PER_USER and set(codes[limiter.PER_USER:]) == {429}
    with runtime.session() as s:
        assert set(s.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login.failed"))) == {"203.0.113.7"}


@pytest.mark.parametrize("value, said", [("*", "不能写 *"), ("10.0.0.2, proxy.lan", "'proxy.lan' 不是 IP 地址或网段")])
def test_trusted_proxies_must_be_addresses(value: str, said: str) -> None:
    from yuqing.exceptions import SettingsError
    from yuqing.settings import load_settings

    with pytest.raises(SettingsError, match=re.escape(said)):
        load_settings(environ={"YUQING_TRUSTED_PROXIES": value})


def test_passwords_are_hashed_at_rfc_9106_cost_unless_told_otherwise(runtime) -> None:  # type: ignore[no-untyped-def]
    """The tests' settings ask for argon2's cheapest cost; an installation gets RFC 9106's
    64 MiB profile unless its settings say otherwise, and a stored hash is checked at its own cost."""
    default = load_settings(environ={})
    assert default.password_hash == "RFC_9106_LOW_MEMORY"
    strong = hash_password(default, "long-enough-1")
    params = extract_parameters(strong)
    assert (params.type.name, params.time_cost, params.memory_cost, params.parallelism) == ("ID", 3, 65536, 4)
    cheap = hash_password(runtime.settings, "long-enough-1")
    assert extract_parameters(cheap).memory_cost < 65536
    with runtime.session() as s:  # an account hashed at the default cost signs in under cheap settings
        s.add(User(username="strong", display_name="strong", password_hash=strong, role="monitor",
                   department_key="", active=True, created_at=runtime.now(), must_change_password=False,
                   session_version=0))
    assert authenticate(runtime, "strong", "long-enough-1") is not None
    assert authenticate(runtime, "strong", "long-enough-2") is None
    with pytest.raises(SettingsError, match="password_hash"):
        load_settings(environ={"YUQING_PASSWORD_HASH": "FAST"})
