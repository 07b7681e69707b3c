"""飞书自定义机器人 (Feishu custom bot): ``{"msg_type": "text", "content": {"text": …}}``, signed when a secret is set.

The target is the bot's webhook URL (``https://open.feishu.cn/open-apis/bot/v2/hook/…``), a
secret. Signing (签名校验): ``timestamp`` in seconds and ``sign`` = base64(HMAC-SHA256(key=
f"{timestamp}\\n{secret}", msg=b"")), both in the body. Answers carry ``code`` (0 on success).
Size: the request body is at most 20 KB, so the text is kept well under it in numbered parts.
Frequency: 100 messages a minute and 5 a second per bot; over it the bot answers code 11232
(or HTTP 429), and the message is queued and sent again a minute later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from yuqing.settings import Settings

from . import Outgoing, Target, json_bytes, split_text
from .http import post_json

NAME = "feishu"
RATE_LIMITS = ((100, 60), (5, 1))  # 自定义机器人每分钟 100 条、每秒 5 条
BODY_LIMIT = 20 * 1024
ENVELOPE = 512  # msg_type, timestamp, sign and JSON punctuation
RATE_LIMITED = frozenset({11232})


def sign(secret: str, timestamp: int) -> str:
    """The signature Feishu expects for ``timestamp`` (seconds)."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def split(subject: str, body: str) -> list[str]:
    text = f"{subject}\n{body}" if subject else body
    return split_text(text.replace("**", ""), BODY_LIMIT - ENVELOPE, json_bytes)


def send(target: Target, message: Outgoing, settings: Settings) -> None:
    payload: dict[str, object] = {"msg_type": "text", "content": {"text": message.text}}
    if target.secret:
        timestamp = int(time.time())  # wall clock: Feishu rejects a timestamp more than an hour off
        payload.update(timestamp=str(timestamp), sign=sign(target.secret, timestamp))
    post_json(target.to, payload, secrets=target.secrets(), check_errcode=True, code_key="code",
              message_key="msg", rate_limit_codes=RATE_LIMITED, transient_codes=frozenset({-1}))
