"""试采 on the admin page (issue 19, item 7): the form shows what a source at a URL would give,
and, since the server does the fetching for a browser's request, it refuses loopback, private
and reserved addresses (SSRF) before connecting, at each redirect and at the connected peer,
unless the installation allows them (``trial_allow_private``, set here only where the test's
own site lives on 127.0.0.1); responses are read up to ``crawl_max_bytes``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from dashboard_seed import PASSWORD, seed_users
from fastapi.testclient import TestClient
from sqlalchemy import select
from testsite import Page, TestSite, redirect_to

from yuqing.crawlers import trial
from yuqing.dashboards.app import create_app
from yuqing.models import AuditEntry

DATA = Path(__file__).parent / "data" / "crawlers"


@pytest.fixture
def site() -> TestSite:  # type: ignore[misc]
    s = TestSite({"/zwdt/index.html": Page((DATA / "trs_list.html").read_bytes(), content_type="text/html"),
                  "/big.html": Page("<html><body>" + "很长的页面。" * 2000 + "</body></html>")})
    for path in DATA.glob("trs_*.html"):
        s.routes[f"/zwdt/{path.name}"] = Page(path.read_bytes(), content_type="text/html")
    s.start()
    yield s
    s.stop()


def _admin(runtime, **settings: object) -> TestClient:  # type: ignore[no-untyped-def]
    rt = dataclasses.replace(runtime, settings=runtime.settings.model_copy(update=settings)) if settings else runtime
    c = TestClient(create_app(rt), follow_redirects=False)
    token = _csrf(c, "/login")
    assert c.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}).status_code == 303
    return c


def _csrf(c: TestClient, path: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', c.get(path).text).group(1)


def _try(c: TestClient, url: str, **form: str) -> object:
    return c.post("/admin/sources/try", data={"url": url, "csrf_token": _csrf(c, "/admin"), **form})


@pytest.mark.slow  # a trial crawl of a local site through the admin page: 6 s on the 2-core machine
def test_the_admin_page_tries_a_government_column(runtime, site) -> None:  # type: ignore[no-untyped-def]
    seed_users(runtime)
    c = _admin(runtime, trial_allow_private=True)
    assert 'id="trial-form"' in c.get("/admin").text
    r = _try(c, f"{site.url}/zwdt/index.html", key="zezhou", name="泽州县政府")
    assert r.status_code == 200, r.text
    result = r.text[r.text.index('id="trial-result"'):]
    assert "类型：<strong>列表页</strong>" in result
    assert "泽州县召开冬季安全生产工作推进会" in result and "泽州县应急管理局" in result
    assert "2026-11-20 16:30" in result
    assert "key: zezhou" in result and "name: 泽州县政府" in result and "kind: listing" in result
    with runtime.session() as s:
        assert s.scalar(select(AuditEntry.detail).where(AuditEntry.action == "source.try")) == {
            "url": f"{site.url}/zwdt/index.html"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/", "http://localhost/", "http://169.254.169.254/latest/meta-data/",
                                 "http://10.0.0.8/zwdt/", "http://[::1]:8000/", "http://[::ffff:127.0.0.1]/",
                                 "http://0.0.0.0/"])
def test_private_and_loopback_addresses_are_refused(runtime, url: str) -> None:  # type: ignore[no-untyped-def]
    seed_users(runtime)
    r = _try(_admin(runtime), url)
    assert r.status_code == 422 and "Traceback" not in r.text
    assert re.search(r'id="trial-error">试采未成功：出于安全考虑，试采不访问内网、本机或保留地址', r.text), r.text


def test_the_test_site_itself_is_refused_without_the_setting(runtime, site) -> None:  # type: ignore[no-untyped-def]
    seed_users(runtime)
    r = _try(_admin(runtime), f"{site.url}/zwdt/index.html")
    assert r.status_code == 422 and "（127.0.0.1）" in r.text
    assert site.hits == {}  # refused before connecting
    assert "网址须以 http:// 或 https:// 开头" in _try(_admin(runtime), "file:///etc/passwd").text


def test_a_redirect_to_the_intranet_is_refused(runtime, site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """As if the first host were public: its redirect to 10.0.0.1 is not followed."""
    site.routes["/go"] = redirect_to("http://10.0.0.1/secret")
    real = trial.refuse_private
    monkeypatch.setattr(trial, "refuse_private", lambda url: None if url.endswith("/go") else real(url))
    monkeypatch.setattr(trial, "_refuse_private_peer", lambda got, url: None)
    with pytest.raises(trial.TrialError, match=r"保留地址：10\.0\.0\.1（10\.0\.0\.1）"):
        trial.fetch(f"{site.url}/go", runtime.settings, public_only=True)


def test_a_name_that_resolves_to_loopback_at_connect_time_is_refused(runtime, site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """DNS rebinding: the check before connecting said public; the connected peer is 127.0.0.1."""
    monkeypatch.setattr(trial, "refuse_private", lambda url: None)
    with pytest.raises(trial.TrialError, match=r"（127\.0\.0\.1）"):
        trial.fetch(f"{site.url}/zwdt/index.html", runtime.settings, public_only=True)


def test_responses_are_read_up_to_the_size_cap(runtime, site) -> None:  # type: ignore[no-untyped-def]
    small = runtime.settings.model_copy(update={"crawl_max_bytes": 4096})
    with pytest.raises(trial.TrialError, match="响应超过 4,096 字节的上限"):
        trial.fetch(f"{site.url}/big.html", small)


def test_only_the_administrator_may_try_a_url(runtime, site) -> None:  # type: ignore[no-untyped-def]
    seed_users(runtime)
    c = TestClient(create_app(runtime), follow_redirects=False)
    token = _csrf(c, "/login")
    c.post("/login", data={"username": "monitor", "password": PASSWORD, "csrf_token": token})
    r = c.post("/admin/sources/try", data={"url": f"{site.url}/zwdt/index.html", "csrf_token": _csrf(c, "/")})
    assert r.status_code == 403 and site.hits == {}
    assert _admin(runtime).post("/admin/sources/try", data={"url": "https://gov.example/"}).status_code == 403  # no CSRF
