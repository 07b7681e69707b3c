"""短信网关 (SMS gateway over HTTP): ``POST <channel.gateway>`` with ``{"phone", "text", "id"}``.

The gateway is the installation's own (operators' SMS platforms sit behind one); the profile's
sms channel names it (``gateway``) and its token (``secret``, sent as ``Authorization: Bearer``).
``id`` is stable across retries so the gateway can drop repeats. Any 2xx means accepted.
Size: one SMS carries 140 octets of user data (3GPP TS 23.040); Chinese text is UCS-2, two
octets a character, so 70 characters a segment. Each segment is sent as its own message,
numbered, and a long text is cut to ``MAX_SEGMENTS`` with a pointer to the system.
"""

from __future__ import annotations

from yuqing.settings import Settings

from ..exceptions import ChannelError
from . import Outgoing, Target, split_text
from .http import post_json

NAME = "sms"
SEGMENT_CHARS = 70
MAX_SEGMENTS = 4
MORE = "…（详见舆情系统）"


def split(subject: str, body: str) -> list[str]:
    text = " ".join(f"{subject}：{body}".split()) if subject else " ".join(body.split())
    budget = (SEGMENT_CHARS - len("(99/99)")) * MAX_SEGMENTS
    if len(text) > budget:
        text = text[: budget - len(MORE)] + MORE
    return split_text(text, SEGMENT_CHARS, len, label="({i}/{n})")


def send(target: Target, message: Outgoing, settings: Settings) -> None:
    if not target.gateway:
        raise ChannelError("画像中没有配置短信网关（alerts.channels 中 type: sms 的 gateway）", permanent=True)
    headers = {"Authorization": f"Bearer {target.secret}"} if target.secret else {}
    post_json(target.gateway, {"phone": target.to, "text": message.text, "id": message.key},
              headers=headers, secrets=target.secrets())
