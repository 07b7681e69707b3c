"""The one HTTP POST the robot, webhook and SMS channels share: status and errcode → ChannelError."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from ..exceptions import ChannelError
from . import mask_url, scrub

log = logging.getLogger(__name__)
# httpx logs every request's full URL at INFO, and robot URLs carry their keys: keep it quiet.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# Vendor errcodes worth retrying: -1 system busy (both), 45009 WeCom rate limit,
# 130101 DingTalk "send too fast" (20 messages a minute per robot).
TRANSIENT_ERRCODES = frozenset({-1, 45009, 45033, 130101})


# A platform's "too many messages" answer: wait a minute (their windows are per minute) and
# send again, without counting it as a failed attempt.
RATE_LIMIT_WAIT = 60.0


def post_json(url: str, payload: Any, *, headers: dict[str, str] | None = None,
              secrets: list[str] = (), check_errcode: bool = False,  # type: ignore[assignment]
              code_key: str = "errcode", message_key: str = "errmsg",
              rate_limit_codes: frozenset[int] = frozenset(), transient_codes: frozenset[int] | None = None) -> Any:
    """POST ``payload`` as UTF-8 JSON (not \\u-escaped, so sizes match what was measured).

    With ``check_errcode`` a non-zero ``code_key`` in the answer is an error: one of
    ``rate_limit_codes`` (or HTTP 429) waits and retries without counting an attempt; one of
    ``transient_codes`` (default: the robots' busy and limit codes) is retried with back-off;
    any other is permanent.
    """
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _answer(url, lambda: httpx.post(url, content=body, timeout=TIMEOUT, headers={
        "Content-Type": "application/json; charset=utf-8", **(headers or {})}), secrets, check_errcode, code_key,
        message_key, rate_limit_codes, TRANSIENT_ERRCODES if transient_codes is None else transient_codes)


def post_form(url: str, fields: dict[str, str], *, headers: dict[str, str], secrets: list[str]) -> Any:
    """POST ``fields`` as a UTF-8 ``application/x-www-form-urlencoded`` body (浙政钉's gateway);
    the answer's status is checked as :func:`post_json` does, its body left to the caller."""
    body = urlencode(fields).encode("ascii")
    return _answer(url, lambda: httpx.post(url, content=body, timeout=TIMEOUT, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8", **headers}), secrets, False, "errcode",
        "errmsg", frozenset(), frozenset())


def get_json(url: str, params: dict[str, str], *, secrets: list[str], code_key: str = "errcode",
             message_key: str = "errmsg", rate_limit_codes: frozenset[int] = frozenset()) -> Any:
    """GET a JSON answer (an access token), its errcode checked as :func:`post_json` does."""
    return _answer(url, lambda: httpx.get(url, params=params, timeout=TIMEOUT), secrets, True, code_key,
                   message_key, rate_limit_codes, frozenset({-1}))


def _answer(url: str, call: Callable[[], httpx.Response], secrets: list[str], check_errcode: bool, code_key: str,
            message_key: str, rate_limit_codes: frozenset[int], transient_codes: frozenset[int]) -> Any:
    shown = mask_url(url)
    try:
        response = call()
    except httpx.HTTPError as exc:
        # httpx puts the full URL (with its key) into some messages: scrub before keeping it.
        raise ChannelError(scrub(f"{shown}: 网络错误 {type(exc).__name__}: {exc}", list(secrets))) from None
    text = scrub(response.text[:300], list(secrets))
    if response.status_code == 429:
        raise ChannelError(f"{shown}: HTTP 429 发送过于频繁 {text}", retry_after=_retry_after(response))
    if response.status_code >= 500:
        raise ChannelError(f"{shown}: HTTP {response.status_code} {text}")
    try:
        data = response.json() if response.content else {}
    except ValueError:
        data = {}
    code = data.get(code_key, 0) if isinstance(data, dict) else 0
    if response.status_code >= 400 and not (check_errcode and code in rate_limit_codes):
        raise ChannelError(f"{shown}: HTTP {response.status_code} {text}", permanent=True)
    if check_errcode and code not in (0, None):
        said = f"{shown}: errcode {code} {scrub(str(data.get(message_key, '')), list(secrets))}"
        if code in rate_limit_codes:
            raise ChannelError(f"{said}（发送过于频繁，稍后重发）", retry_after=RATE_LIMIT_WAIT, code=code)
        raise ChannelError(said, permanent=code not in transient_codes, code=code)
    log.debug("%s answered %s", shown, response.status_code)
    return data


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", RATE_LIMIT_WAIT)))
    except ValueError:
        return RATE_LIMIT_WAIT
