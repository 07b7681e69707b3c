"""Hostile requests to the JSON API (issue 8): schemathesis fuzzes every operation of the
OpenAPI description served at /api/openapi.json, against the real uvicorn server on a loopback
port, signed in through /login like a person (session cookie + X-CSRF-Token header).

It checks that nothing answers 5xx, that every response matches its documented schema and
status code (401/403/404/409/422 are described, with the ``{"detail": ...}`` body the app really
sends), that schema-valid requests are accepted and schema-violating ones refused, and that a
request without the session is refused. Then the CSRF header and the roles on the API routes.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import schemathesis
import uvicorn
from dashboard_seed import PASSWORD
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, unsupported_method
from schemathesis.config import SchemathesisConfig
from servers import free_port

from yuqing.dashboards.app import create_app
from yuqing.models import Alert, ReviewLabel

pytestmark = pytest.mark.slow  # fuzzes every API operation

TIMEOUT = 30  # seconds per request: generous for a busy 2-core CI machine


@dataclass
class Web:
    url: str
    story: dict


@pytest.fixture
def web(runtime, story) -> Iterator[Web]:  # type: ignore[no-untyped-def]
    """create_app(runtime) served by uvicorn in a thread, so the test's manual clock drives it;
    the seeded day is conftest's ``story`` (a copy of the store seeded once per session)."""
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=free_port(),
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # polling a real server until it listens, not waiting for time
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Web(f"http://127.0.0.1:{server.config.port}", story)
    server.should_exit = True
    thread.join(10)


def _token(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in(url: str, username: str) -> tuple[requests.Session, str]:
    """A requests session signed in through the login form; returns it and its CSRF token."""
    s = requests.Session()
    token = _token(s.get(f"{url}/login", timeout=TIMEOUT).text)
    r = s.post(f"{url}/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
               timeout=TIMEOUT)
    assert r.status_code == 200 and "yuqing_session" in s.cookies, r.text[:300]
    return s, _token(r.text)


@pytest.fixture
def api_schema(web):  # type: ignore[no-untyped-def]
    session, token = sign_in(web.url, "monitor")
    spec = session.get(f"{web.url}/api/openapi.json", timeout=TIMEOUT).json()
    # The description names the cookie and the header as security schemes, so schemathesis fills
    # them in itself, and also sends requests without them to see they are refused.
    config = SchemathesisConfig.from_dict({"auth": {"openapi": {
        "session": {"api_key": session.cookies["yuqing_session"]}, "csrf": {"api_key": token}}}})
    schema = schemathesis.openapi.from_dict(spec, config=config)
    schema.config.update(base_url=web.url, request_timeout=TIMEOUT)
    return schema


def test_api_answers_as_described(api_schema) -> None:  # type: ignore[no-untyped-def]
    # Every default check: no 5xx, status code documented, body matches the schema, content type,
    # valid data accepted, invalid data refused, refused without the session cookie; for each
    # operation, with valid (positive) and schema-violating (negative) requests.
    # One exception: PUT/DELETE on the public /healthz answers 403, not 405, because the CSRF
    # middleware refuses every unsafe request without a token before routing (on purpose: a new
    # route cannot forget the check). The /api/ routes get the token and must answer 405.
    # And /healthz answers its documented 503 here, honestly: no worker or scheduler runs in this test.
    # The operations are walked here rather than through schemathesis.pytest.from_fixture, whose
    # lazy plugin rewrites pytest's private node ids and broke with pytest 9.2.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        excluded = [unsupported_method, not_a_server_error] if operation.path == "/healthz" else []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            try:
                _fuzz(operation, mode, excluded)()
            except Unsatisfiable:
                # An operation with no parameter and no body has no invalid request to make.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as error:
                raise AssertionError(f"{operation.label} ({mode.value}): {error}") from error


def _fuzz(operation, mode: GenerationMode, excluded: list):  # type: ignore[no-untyped-def]
    """A hypothesis test of one operation in one generation mode, running every default check."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(excluded_checks=excluded)

    return check


def test_description_documents_refusals_and_auth(web) -> None:  # type: ignore[no-untyped-def]
    session, _ = sign_in(web.url, "monitor")
    spec = session.get(f"{web.url}/api/openapi.json", timeout=TIMEOUT).json()
    assert set(spec["components"]["securitySchemes"]) == {"session", "csrf"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # not what the app sends
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            if path.startswith("/api/"):
                assert {"401", "403"} <= codes, f"{method} {path}"
                assert op["security"], f"{method} {path}"
            if "{" in path:
                assert {"404", "422"} <= codes, f"{method} {path}"
    review = spec["paths"]["/api/alerts/{alert_id}/review"]["post"]
    assert "400" in review["responses"] and "409" not in review["responses"], "it refuses with 422, never 409"


def test_api_change_needs_the_right_csrf_header(runtime, web) -> None:  # type: ignore[no-untyped-def]
    session, token = sign_in(web.url, "monitor")
    other, other_token = sign_in(web.url, "admin")
    url = f"{web.url}/api/alerts/{web.story['alert_fire']}/review"
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": other_token}, {"X-CSRF-Token": ""}):
        r = session.post(url, json={"action": "dismiss"}, headers=headers, timeout=TIMEOUT)
        assert r.status_code == 403 and "CSRF" in r.text, headers
    # a token in a form field does not count for a JSON call, nor does one in the query string
    r = session.post(f"{url}?csrf_token={token}", json={"action": "dismiss", "csrf_token": token},
                     timeout=TIMEOUT)
    assert r.status_code == 403
    with runtime.session() as s:
        assert s.get(Alert, web.story["alert_fire"]).status == "firing"
        assert s.query(ReviewLabel).count() == 0
    r = session.post(url, json={"action": "dismiss"}, headers={"X-CSRF-Token": token}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"


def _api_operations(session: requests.Session, url: str) -> list[tuple[str, str]]:
    spec = session.get(f"{url}/api/openapi.json", timeout=TIMEOUT).json()
    return [(method.upper(), path) for path, ops in spec["paths"].items() if path.startswith("/api/")
            for method in ops]


def _call(session: requests.Session, token: str, url: str, method: str, path: str,
          story: dict) -> requests.Response:
    filled = (path.replace("{alert_id}", str(story["alert_fire"]))
              .replace("{ticket_id}", str(story["ticket"])).replace("{event_id}", str(story["flood"])))
    return session.request(method, f"{url}{filled}", params={"q": "透水"} if path == "/api/search" else None,
                           json={"action": "dismiss"} if method == "POST" else None,
                           headers={"X-CSRF-Token": token}, timeout=TIMEOUT)


def test_liaison_reaches_no_monitor_api_and_leader_cannot_review(runtime, web) -> None:  # type: ignore[no-untyped-def]
    liaison, liaison_token = sign_in(web.url, "xcb")
    operations = _api_operations(liaison, web.url)  # from the description: a new route is covered
    assert len(operations) >= 8
    for method, path in operations:
        r = _call(liaison, liaison_token, web.url, method, path, web.story)
        if path == "/api/me":
            assert r.status_code == 200 and r.json()["role"] == "liaison"
        else:
            assert r.status_code == 403, f"liaison {method} {path} -> {r.status_code}"
            assert r.json()["detail"] == "当前账号的角色无权访问此页面"
    leader, leader_token = sign_in(web.url, "leader")
    for method, path in operations:
        r = _call(leader, leader_token, web.url, method, path, web.story)
        assert r.status_code == (403 if method == "POST" else 200), f"leader {method} {path}"
    with runtime.session() as s:
        assert s.get(Alert, web.story["alert_fire"]).status == "firing"
