"""浙政钉工作通知 (Zhejiang government DingTalk work notices) through its signed open-platform gateway.

浙政钉 does not speak DingTalk's ``oapi`` with an access token (that is :mod:`.dingtalk_work`):
every request to its gateway (openplatform.dg-work.cn; the production gateway is
openplatform-pro.ding.zj.gov.cn, so ``api_base`` is configurable) is signed with the
application's AppKey and AppSecret. The rules are those of the platform's own Java SDK
(zwdd-sdk-java 1.2.0, ``com.alibaba.xxpt.gateway.shared.client.sign.Signature`` and
``client.http.AbstractRequest``/``impl.PostRequest``):

- the string signed is ``METHOD \\n timestamp \\n nonce \\n path`` and, when there are
  parameters, ``\\n`` and the parameters as ``key=value`` joined by ``&``: keys in
  case-insensitive order, values as they are (not URL-encoded), empty ones left out;
- the signature is HMAC-SHA256 of that string keyed with the AppSecret, in Base64;
- the headers ``apiKey`` (the AppKey), ``X-Hmac-Auth-Signature``, ``X-Hmac-Auth-Timestamp``
  (ISO 8601 with milliseconds and offset, 2026-12-01T16:16:00.000+08:00),
  ``X-Hmac-Auth-Version`` (1.0), ``X-Hmac-Auth-Nonce`` (a clock reading and four random
  digits), ``X-Hmac-Auth-IP`` and ``X-Hmac-Auth-MAC`` (the sending machine's);
- a POST sends the same parameters as an ``application/x-www-form-urlencoded`` body.

The work notice is ``POST /message/workNotification`` with ``tenantId``, ``receiverIds`` (the
members' accountIds joined by ``,``), ``msg`` (the message as JSON: ``{"msgtype":"text",
"text":{"content":…}}``) and ``bizMsgId`` (the delivery part's idempotency key, so a part
sent again after a crash is the same business message). The signature authenticates the
call; the SDK's samples of this API pass no access token. The gateway answers
``{"success":true,"content":{"success":true,…}}``; ``success: false`` at either level is a
failure whose ``Message``/``errorMsg``/``responseMessage`` is kept. The gateway publishes no
frequency-limit code that could be confirmed here, so only HTTP 429 queues for later; other
refusals are retried with the usual back-off.

Size: no limit for the text could be confirmed either, so parts are kept under DingTalk's
20,000-byte work-notice body, as :mod:`.dingtalk_work` does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets as random
import socket
import uuid
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from yuqing.runtime import get_runtime
from yuqing.settings import Settings

from ..exceptions import ChannelError
from . import Outgoing, Target, json_bytes, split_text
from .http import post_form

NAME = "zwdd_work"
DEFAULT_BASE = "https://openplatform.dg-work.cn"
PATH = "/message/workNotification"
VERSION = "1.0"
BODY_LIMIT = 20000
ENVELOPE = 1000
CHINA = timezone(timedelta(hours=8))


def split(subject: str, body: str) -> list[str]:
    text = f"{subject}\n{body}" if subject else body
    return split_text(text, BODY_LIMIT - ENVELOPE, json_bytes)


def string_to_sign(method: str, timestamp: str, nonce: str, path: str, params: dict[str, str]) -> str:
    """What the gateway signs: method, timestamp, nonce, path and the sorted parameters."""
    head = f"{method}\n{timestamp}\n{nonce}\n{path}"
    pairs = "&".join(f"{k}={v}" for k, v in sorted(params.items(), key=lambda kv: kv[0].lower()) if k and v)
    return f"{head}\n{pairs}" if pairs else head


def signature(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()).decode()


def timestamp_of(now: datetime) -> str:
    """ISO 8601 with milliseconds and the offset, in China time as the SDK prints it."""
    local = now.astimezone(CHINA)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+08:00"


def signed_headers(target: Target, method: str, path: str, params: dict[str, str], now: datetime) -> dict[str, str]:
    stamp = timestamp_of(now)
    nonce = f"{int(now.timestamp() * 1000)}{random.randbelow(10000):04d}"
    ip, mac = _machine(urlsplit(_base(target)).hostname or "")
    return {"apiKey": target.corp_id, "X-Hmac-Auth-Timestamp": stamp, "X-Hmac-Auth-Version": VERSION,
            "X-Hmac-Auth-Nonce": nonce,
            "X-Hmac-Auth-Signature": signature(target.secret, string_to_sign(method, stamp, nonce, path, params)),
            "X-Hmac-Auth-IP": ip, "X-Hmac-Auth-MAC": mac}


@cache
def _machine(host: str) -> tuple[str, str]:
    """This machine's address towards the gateway (no packet is sent) and its MAC, as the SDK reports them."""
    ip = "127.0.0.1"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((host or "127.0.0.1", 80))
            ip = probe.getsockname()[0]
    except OSError:
        pass
    node = f"{uuid.getnode():012x}"
    return ip, ":".join(node[i:i + 2] for i in range(0, 12, 2))


def _base(target: Target) -> str:
    return (target.api_base or DEFAULT_BASE).rstrip("/")


def send(target: Target, message: Outgoing, settings: Settings) -> None:
    fields = {"tenantId": target.tenant_id, "receiverIds": target.to, "bizMsgId": message.key,
              "msg": json.dumps({"msgtype": "text", "text": {"content": message.text}}, ensure_ascii=False,
                                separators=(",", ":"))}
    params = {k: v for k, v in fields.items() if v}  # the SDK leaves empty parameters out of both
    headers = signed_headers(target, "POST", PATH, params, get_runtime().now())
    data = post_form(f"{_base(target)}{PATH}", params, headers=headers, secrets=target.secrets())
    _check(f"{_base(target)}{PATH}", data)


def _check(shown: str, data: Any) -> None:
    if not isinstance(data, dict):
        raise ChannelError(f"{shown}: 网关答复无法识别")
    content = data.get("content")
    inner = content if isinstance(content, dict) else {}
    if data.get("success") is True and inner.get("success", True) is not False:
        return
    said = next((str(x) for x in (inner.get("responseMessage"), data.get("Message"), data.get("errorMsg"),
                                  data.get("bizErrorCode"), data.get("Code"), data.get("errorCode")) if x), "")
    raise ChannelError(f"{shown}: 网关答复未成功 {said}".rstrip())
