"""The one HTTP POST the robot, webhook and SMS channels share: status and errcode → ChannelError."""

from __future__ import annotations

import json
import logging
from typing import Any

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
TRANSIENT_ERRCODES = {-1, 45009, 45033, 130101}


def post_json(url: str, payload: Any, *, headers: dict[str, str] | None = None,
              secrets: list[str] = (), check_errcode: bool = False) -> Any:  # type: ignore[assignment]
    """POST ``payload`` as UTF-8 JSON (not \\u-escaped, so sizes match what was measured)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    shown = mask_url(url)
    try:
        response = httpx.post(url, content=body, timeout=TIMEOUT,
                              headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    except httpx.HTTPError as exc:
        # httpx puts the full URL (with its key) into some messages: scrub before keeping it.
        raise ChannelError(scrub(f"{shown}: 网络错误 {type(exc).__name__}: {exc}", list(secrets))) from None
    text = scrub(response.text[:300], list(secrets))
    if response.status_code >= 500 or response.status_code == 429:
        raise ChannelError(f"{shown}: HTTP {response.status_code} {text}")
    if response.status_code >= 400:
        raise ChannelError(f"{shown}: HTTP {response.status_code} {text}", permanent=True)
    try:
        data = response.json() if response.content else {}
    except ValueError:
        data = {}
    if check_errcode and isinstance(data, dict) and data.get("errcode", 0) != 0:
        code = data.get("errcode")
        raise ChannelError(f"{shown}: errcode {code} {scrub(str(data.get('errmsg', '')), list(secrets))}",
                           permanent=code not in TRANSIENT_ERRCODES)
    log.debug("posted %d bytes to %s", len(body), shown)
    return data
