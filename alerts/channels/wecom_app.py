"""企业微信应用消息 (WeCom application messages) to named members: gettoken, then message/send.

``to``: member ids joined by ``|`` (``zhangsan|lisi``, WeCom's own ``touser`` form);
``corp_id`` (corpid), ``agent_id`` (AgentId) and ``secret`` (the application's Secret) from the
profile; ``api_base`` for 政务微信 and other private deployments (default
https://qyapi.weixin.qq.com). The server's address must be among the application's trusted IPs.

- ``GET {base}/cgi-bin/gettoken?corpid=…&corpsecret=…`` → ``{"errcode":0,"access_token":…,"expires_in":7200}``
- ``POST {base}/cgi-bin/message/send?access_token=…`` with
  ``{"touser","msgtype":"markdown","agentid","markdown":{"content"}}``.

Size: an application's markdown content is at most 2,048 bytes of UTF-8 (发送应用消息,
https://developer.work.weixin.qq.com/document/path/90236), so longer messages go in numbered
parts. Frequency: errcode 45009 (接口调用超过限制) and 45033 (并发过多) are queued and sent again
a minute later; 40014/42001 (token invalid or expired) ask for a new token and send once more.

Recipients not reached. WeCom accepts a message (errcode 0) even when some of its recipients do
not exist or are outside the application's visible range, and lists them in the reply's
``invaliduser``, ``invalidparty`` and ``invalidtag`` (ids joined by ``|``; ``unlicenseduser`` for
members without an account licence). :func:`send` returns them in words, so the delivery records
who was not reached and the administrator is told.
"""

from __future__ import annotations

from typing import Any

from yuqing.settings import Settings

from ..exceptions import ChannelError
from . import Outgoing, Target, split_text, tokens, utf8_bytes
from .http import get_json, post_json

NAME = "wecom_app"
LIMIT_BYTES = 2048
DEFAULT_BASE = "https://qyapi.weixin.qq.com"
RATE_LIMITED = frozenset({45009, 45033})
TOKEN_INVALID = frozenset({40014, 42001})  # the reply's errcode, matched exactly


def split(subject: str, body: str) -> list[str]:
    text = f"**{subject}**\n{body}" if subject else body
    return split_text(text, LIMIT_BYTES, utf8_bytes)


def _base(target: Target) -> str:
    return (target.api_base or DEFAULT_BASE).rstrip("/")


def _token(target: Target) -> str:
    def fetch() -> tuple[str, int]:
        data = get_json(f"{_base(target)}/cgi-bin/gettoken", {"corpid": target.corp_id, "corpsecret": target.secret},
                        secrets=target.secrets(), rate_limit_codes=RATE_LIMITED)
        if not data.get("access_token"):
            raise ChannelError(f"{_base(target)}: gettoken 未返回 access_token", permanent=True)
        return str(data["access_token"]), int(data.get("expires_in") or 7200)

    return tokens.token(NAME, _base(target), target.corp_id, fetch)


# The reply's lists of recipients it could not reach, and what each holds.
UNREACHED = (("invaliduser", "成员"), ("invalidparty", "部门"), ("invalidtag", "标签"),
             ("unlicenseduser", "未获许可的成员"))


def send(target: Target, message: Outgoing, settings: Settings) -> str:
    """Send one part; the recipients WeCom said it could not reach, in words ("" when all were)."""
    payload = {"touser": target.to, "msgtype": "markdown", "agentid": int(target.agent_id),
               "markdown": {"content": message.text}}
    def post(access: str) -> Any:
        return post_json(f"{_base(target)}/cgi-bin/message/send?access_token={access}", payload,
                         secrets=[*target.secrets(), access], check_errcode=True, rate_limit_codes=RATE_LIMITED,
                         transient_codes=frozenset({-1}))

    answer = tokens.send_with_token(NAME, _base(target), target.corp_id, lambda: _token(target), post, TOKEN_INVALID)
    return unreached(answer)


def unreached(answer: Any) -> str:
    """``成员 zhangsan、lisi；部门 7`` from a reply's invaliduser/invalidparty/invalidtag."""
    if not isinstance(answer, dict):
        return ""
    found = []
    for key, what in UNREACHED:
        ids = answer.get(key)
        names = [i for i in (ids if isinstance(ids, list) else str(ids or "").split("|")) if str(i).strip()]
        if names:
            found.append(f"{what} {'、'.join(str(n).strip() for n in names)}")
    return "；".join(found)
