"""CSRF tokens (跨站请求伪造防护) on every form and every state-changing API call.

A random token lives in the signed session cookie (anonymous visitors get one too, for the
login form and the public acknowledgement page). Forms carry it as ``csrf_token``; the
JavaScript sends it as the ``X-CSRF-Token`` header. Every POST, PUT, PATCH and DELETE is
checked by :class:`CSRFMiddleware` before any route runs, so a new route cannot forget it.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FIELD = "csrf_token"
HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token(request: Request) -> str:
    """This session's token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


class CSRFMiddleware:
    """Reject unsafe requests whose token does not match the session's (403, in Chinese).

    Runs inside the session middleware. It reads the body once to find the form field and
    replays it to the route, so routes use ordinary ``Form`` parameters.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        expected = scope.get("session", {}).get("csrf", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get(HEADER, "")
        body = b""
        more = True
        chunks: list[Message] = []
        while more:
            message = await receive()
            chunks.append(message)
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if not given and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            given = parse_qs(body.decode("utf-8", "replace")).get(FIELD, [""])[0]
        elif not given and headers.get("content-type", "").startswith("multipart/form-data"):
            given = _multipart_field(body, FIELD)
        # As bytes: compare_digest raises TypeError on a non-ASCII str (a 500 instead of a 403).
        if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
            response = PlainTextResponse("表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。", 403)
            await response(scope, receive, send)
            return

        async def replay() -> Message:
            if chunks:
                return chunks.pop(0)
            return {"type": "http.request", "body": b"", "more_body": False}

        await self.app(scope, replay, send)


def _multipart_field(body: bytes, name: str) -> str:
    marker = f'name="{name}"'.encode()
    at = body.find(marker)
    if at < 0:
        return ""
    start = body.find(b"\r\n\r\n", at)
    end = body.find(b"\r\n", start + 4)
    return body[start + 4:end].decode("utf-8", "replace") if start >= 0 and end >= 0 else ""
