"""电子邮件 (e-mail over SMTP): plain text and HTML alternatives, inline chart, attachments.

The Message-ID is derived from the delivery's idempotency key, so a repeat sent after a crash
between the server's 250 and our bookkeeping is recognisably the same message. Images the
HTML names as ``cid:<file name>`` travel inline; every other file is an attachment.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import cast

from yuqing.settings import Settings

from ..exceptions import ChannelError
from . import Outgoing, Target

NAME = "email"


def split(subject: str, body: str) -> list[str]:
    return [body]  # mail has no practical size limit for our texts


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")


def plain(text: str) -> str:
    """The plain-text part as a person reads it: the Markdown our IM texts use, spelled out
    (``**等级**`` → 等级, ``[标题](url)`` → 标题 url, ``- `` → ``· ``)."""
    text = _LINK.sub(r"\1 \2", _BOLD.sub(r"\1", text))
    return "\n".join("· " + line[2:] if line.startswith("- ") else line for line in text.splitlines())


def build(target: Target, message: Outgoing, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = target.to
    msg["Subject"] = message.subject
    msg["Date"] = formatdate(localtime=False)
    digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
    domain = settings.smtp_from.rsplit("@", 1)[-1] or "yuqing.local"
    msg["Message-ID"] = f"<{digest}@{domain}>"
    msg["X-Yuqing-Delivery"] = message.key
    msg.set_content(plain(message.text))
    inline = []
    if message.html:
        msg.add_alternative(message.html, subtype="html")
        html_part = cast(list[EmailMessage], msg.get_payload())[-1]  # the alternative just added
        for path in message.attachments:
            if f"cid:{path.name}" in message.html:
                maintype, subtype = (mimetypes.guess_type(path.name)[0] or "image/png").split("/")
                html_part.add_related(path.read_bytes(), maintype, subtype, cid=f"<{path.name}>",
                                      filename=path.name)
                inline.append(path)
    for path in message.attachments:
        if path in inline:
            continue
        if not path.exists():
            raise ChannelError(f"附件不存在: {path}", permanent=True)
        maintype, subtype = (mimetypes.guess_type(path.name)[0] or "application/octet-stream").split("/")
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def send(target: Target, message: Outgoing, settings: Settings) -> None:
    if not settings.smtp_host:
        raise ChannelError("未配置 SMTP 服务器（设置项 smtp_host），邮件无法发送", permanent=True)
    msg = build(target, message, settings)
    password = settings.smtp_password.get_secret_value()
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, password)
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise ChannelError(f"收件人被拒绝: {', '.join(exc.recipients)}", permanent=True) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise ChannelError(f"SMTP 认证失败（{exc.smtp_code}）", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        if password:
            text = text.replace(password, "<secret>")
        raise ChannelError(f"SMTP {exc.smtp_code} {text}",
                           permanent=500 <= exc.smtp_code < 600) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"SMTP {settings.smtp_host}:{settings.smtp_port} 连接失败: {type(exc).__name__}") from None
