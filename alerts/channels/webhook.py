"""通用 JSON webhook: one POST per message, for systems the bureau integrates itself.

Body: ``{"id", "purpose", "subject", "text", "html", "ref_type", "ref_id", "part", "parts"}``.
Headers: ``Idempotency-Key`` (stable across retries, so the receiver can drop a repeat after a
crash between its 200 and our bookkeeping) and, when the profile gives the channel a secret,
``X-Yuqing-Signature: sha256=<hex HMAC-SHA256 of the body>``. No size limit of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from yuqing.settings import Settings

from . import Outgoing, Target
from .http import post_json

NAME = "webhook"


def split(subject: str, body: str) -> list[str]:
    return [body]


def payload(message: Outgoing) -> dict[str, object]:
    return {"id": message.key, "subject": message.subject, "text": message.text, "html": message.html,
            "part": message.part, "parts": message.parts, **message.meta}


def send(target: Target, message: Outgoing, settings: Settings) -> None:
    data = payload(message)
    headers = {"Idempotency-Key": message.key}
    if target.secret:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        mac = hmac.new(target.secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Yuqing-Signature"] = f"sha256={mac}"
    post_json(target.to, data, headers=headers, secrets=target.secrets())
