"""钉钉自定义机器人 (DingTalk custom robot), markdown messages, signed when a secret is set.

Signing (加签): ``timestamp`` in milliseconds; ``sign`` = urlencode(base64(HMAC-SHA256(key=secret,
msg=f"{timestamp}\\n{secret}"))), both appended to the webhook URL's query.
Size: DingTalk rejects request bodies over 20000 bytes (errcode 460101 "body 大小不合法;
请保持大小在 20000bytes 以内", reported e.g. in feiyu563/PrometheusAlert#318), so the
JSON-escaped text plus the envelope is kept under that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote

from yuqing.settings import Settings

from . import Outgoing, Target, json_bytes, split_text
from .http import post_json

NAME = "dingtalk"
RATE_LIMITS = ((20, 60),)  # 自定义机器人每个机器人每分钟最多 20 条
BODY_LIMIT = 20000
ENVELOPE = 1000  # msgtype, the title (cut to 64 characters) and JSON punctuation, generously


def sign(secret: str, timestamp: int) -> str:
    """The URL-encoded signature DingTalk expects for ``timestamp`` (milliseconds)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return quote(base64.b64encode(digest).decode("ascii"), safe="")


def split(subject: str, body: str) -> list[str]:
    text = f"### {subject}\n\n{body}" if subject else body
    return split_text(text, BODY_LIMIT - ENVELOPE, json_bytes)


def send(target: Target, message: Outgoing, settings: Settings) -> None:
    url = target.to
    if target.secret:
        timestamp = int(time.time() * 1000)  # wall clock: DingTalk rejects stale timestamps (> 1 h)
        url += ("&" if "?" in url else "?") + f"timestamp={timestamp}&sign={sign(target.secret, timestamp)}"
    title = (message.subject or "舆情预警")[:64]
    payload = {"msgtype": "markdown", "markdown": {"title": title, "text": message.text}}
    # 130101: over the robot's 20 messages a minute: queued and sent again a minute later
    post_json(url, payload, secrets=target.secrets(), check_errcode=True, rate_limit_codes=frozenset({130101}))
