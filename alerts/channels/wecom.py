"""企业微信群机器人 (WeCom group robot): ``{"msgtype": "markdown", "markdown": {"content": ...}}``.

The target is the robot's webhook URL (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``);
the key is a secret and is masked everywhere it could be shown.
Size: markdown.content is at most 4096 bytes of UTF-8 (群机器人配置说明,
https://work.weixin.qq.com/api/doc/90000/90136/91770; exceeding it returns errcode 40058
"markdown.content exceed max length 4096").
"""

from __future__ import annotations

from yuqing.settings import Settings

from . import Outgoing, Target, split_text, utf8_bytes
from .http import post_json

NAME = "wecom"
RATE_LIMITS = ((20, 60),)  # 群机器人每个机器人每分钟最多 20 条
LIMIT_BYTES = 4096


def split(subject: str, body: str) -> list[str]:
    text = f"**{subject}**\n{body}" if subject else body
    return split_text(text, LIMIT_BYTES, utf8_bytes)


def send(target: Target, message: Outgoing, settings: Settings) -> None:
    payload = {"msgtype": "markdown", "markdown": {"content": message.text}}
    # 45009: over the robot's 20 messages a minute: queued and sent again a minute later
    post_json(target.to, payload, secrets=target.secrets(), check_errcode=True, rate_limit_codes=frozenset({45009}))
