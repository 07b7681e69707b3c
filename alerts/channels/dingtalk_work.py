"""钉钉工作通知 (DingTalk work notices) to named members, for 专有钉钉 and DingTalk itself (浙政钉's
own signed gateway is :mod:`.zwdd_work`).

An enterprise application sends them: ``to`` is the members' userids joined by ``,``;
``corp_id`` is the application's AppKey, ``secret`` its AppSecret, ``agent_id`` its AgentId;
``tenant_id`` the 租户 of a 专有钉钉 deployment (浙政钉), sent with every request when set; and
``api_base`` the deployment's open-platform address (default https://oapi.dingtalk.com).

- ``GET {base}/gettoken?appkey=…&appsecret=…`` → ``{"errcode":0,"access_token":…,"expires_in":7200}``
- ``POST {base}/topapi/message/corpconversation/asyncsend_v2?access_token=…`` with
  ``{"agent_id","userid_list","msg":{"msgtype":"markdown","markdown":{"title","text"}}}``.

Size: the request body is kept under 20,000 bytes as for the robot (the markdown text in
numbered parts). Frequency: errcode 90018 (当前请求过多，被限流), 90002 and 90006 (调用频率超过
限制) are queued and sent again a minute later; 40014/42001 (token invalid or expired) ask
for a new token and send once more.
"""

from __future__ import annotations

from yuqing.settings import Settings

from ..exceptions import ChannelError
from . import Outgoing, Target, json_bytes, split_text, tokens
from .http import get_json, post_json

NAME = "dingtalk_work"
BODY_LIMIT = 20000
ENVELOPE = 1000
DEFAULT_BASE = "https://oapi.dingtalk.com"
RATE_LIMITED = frozenset({90018, 90002, 90006})
TOKEN_INVALID = frozenset({40014, 42001, 88})  # the reply's errcode, matched exactly


def split(subject: str, body: str) -> list[str]:
    text = f"### {subject}\n\n{body}" if subject else body
    return split_text(text, BODY_LIMIT - ENVELOPE, json_bytes)


def _base(target: Target) -> str:
    return (target.api_base or DEFAULT_BASE).rstrip("/")


def _tenant(target: Target) -> dict[str, str]:
    return {"tenantId": target.tenant_id} if target.tenant_id else {}


def _token(target: Target) -> str:
    def fetch() -> tuple[str, int]:
        data = get_json(f"{_base(target)}/gettoken", {"appkey": target.corp_id, "appsecret": target.secret,
                                                      **_tenant(target)},
                        secrets=target.secrets(), rate_limit_codes=RATE_LIMITED)
        if not data.get("access_token"):
            raise ChannelError(f"{_base(target)}: gettoken 未返回 access_token", permanent=True)
        return str(data["access_token"]), int(data.get("expires_in") or 7200)

    return tokens.token(NAME, _base(target), target.corp_id + target.tenant_id, fetch)


def send(target: Target, message: Outgoing, settings: Settings) -> None:
    payload: dict[str, object] = {
        "agent_id": int(target.agent_id), "userid_list": target.to, **_tenant(target),
        "msg": {"msgtype": "markdown", "markdown": {"title": (message.subject or "舆情预警")[:64], "text": message.text}}}
    def post(access: str) -> None:
        post_json(f"{_base(target)}/topapi/message/corpconversation/asyncsend_v2?access_token={access}", payload,
                  secrets=[*target.secrets(), access], check_errcode=True, rate_limit_codes=RATE_LIMITED,
                  transient_codes=frozenset({-1}))

    tokens.send_with_token(NAME, _base(target), target.corp_id + target.tenant_id, lambda: _token(target), post, TOKEN_INVALID)
