"""推送渠道 (delivery channels): one module per channel, one small interface, one dispatcher.

Every channel module exposes ``NAME``, ``split(subject, body) -> list[str]`` (the message cut
to the channel's size limit at line ends, each part numbered （1/2）, ready to send) and
``send(target, message, settings)``, which raises :class:`~yuqing.alerts.exceptions.ChannelError`
on failure (with ``retry_after`` when the platform answered with its frequency-limit code). The dashboard channel
needs no module: the Alert row itself is the live notification.

Channels speak plain httpx and smtplib rather than Apprise: Apprise's WeCom and DingTalk
plugins hard-wire the vendors' hosts (so nothing can be pointed at a loopback receiver or an
intranet proxy), cut messages by their own rules, and report only success or failure, while
the delivery log needs the status and the vendor's errcode.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from yuqing.profile import CHANNEL_TYPES, Profile

from ..exceptions import ChannelError

CHANNELS = CHANNEL_TYPES  # one module each, named as the profile names the type
SECRET = "<secret>"
_SECRET_PARAMS = {"key", "access_token", "token", "sign", "secret", "signature", "apikey", "api_key"}


@dataclass
class Target:
    """Where one delivery goes: ``to`` from the Delivery row; secret and gateway from the profile."""

    channel: str
    to: str
    secret: str = ""
    gateway: str = ""
    api_base: str = ""   # an application's API (private deployments: 政务微信, 专有钉钉)
    corp_id: str = ""
    agent_id: str = ""
    tenant_id: str = ""

    @property
    def shown(self) -> str:
        return mask_url(self.to)

    def secrets(self) -> list[str]:
        found = [self.secret] if self.secret else []
        for url in (self.to, self.gateway):
            found += [v for k, v in parse_qsl(urlsplit(url).query) if k.lower() in _SECRET_PARAMS and v]
        return found


@dataclass
class Outgoing:
    """One part of a delivery, as a channel sends it."""

    subject: str
    text: str
    html: str = ""
    attachments: list[Path] = field(default_factory=list)
    key: str = ""  # the delivery's idempotency key plus the part number
    part: int = 1
    parts: int = 1
    meta: dict[str, object] = field(default_factory=dict)


def get_channel(name: str) -> ModuleType:
    """The dispatcher: the module sending through channel ``name``."""
    if name not in CHANNELS:
        raise ChannelError(f"未知推送渠道 {name!r}，应为 {'、'.join(CHANNELS)}", permanent=True)
    return importlib.import_module(f"yuqing.alerts.channels.{name}")


def resolve_target(profile: Profile, channel: str, to: str) -> Target:
    """Find the profile's channel entry with this type and address, for its secret and gateway.

    Secrets stay in the profile (never in the database or the logs); a Delivery row names
    only the channel type and the address (``Channel.to``).
    """
    entries = list(profile.alerts.channels) + list(profile.digests.channels)
    for dept in profile.departments:
        entries += list(dept.channels)
    match = next((c for c in entries if c.type == channel and c.to == to), None)
    if match is None and channel == "sms":
        # Phones of contacts (leaders, section heads) go through the installation's gateway.
        match = next((c for c in entries if c.type == "sms"), None)
    secret = match.secret.get_secret_value() if match and match.secret else ""
    if match is None:
        return Target(channel=channel, to=to)
    return Target(channel=channel, to=to, secret=secret, gateway=match.gateway, api_base=match.api_base,
                  corp_id=match.corp_id, agent_id=match.agent_id, tenant_id=match.tenant_id)


def mask_url(url: str) -> str:
    """Hide webhook keys, tokens and passwords in a URL before it reaches a log or an error."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{SECRET}@{netloc.rsplit('@', 1)[1]}"
    query = [(k, SECRET if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="<>"), ""))


def scrub(text: str, secrets: list[str]) -> str:
    """Replace every secret (and its URL-encoded form) in ``text`` with ``<secret>``."""
    for secret in sorted(set(filter(None, secrets)), key=len, reverse=True):
        text = text.replace(secret, SECRET).replace(quote(secret, safe=""), SECRET)
    return text


# --- splitting to size limits --------------------------------------------------------------

def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def json_bytes(text: str) -> int:
    """Bytes the text takes inside a JSON string serialised with ensure_ascii=False."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


def split_text(text: str, limit: int, measure: Callable[[str], int] = len,
               label: str = "（{i}/{n}）") -> list[str]:
    """Cut ``text`` into parts each at most ``limit`` by ``measure``, at line ends if possible.

    From the second part on each part carries ``label`` so readers see the order. The label's
    room is reserved in every part, so no part exceeds the limit after labelling.
    """
    if measure(text) <= limit:
        return [text]
    room = limit - measure(label.format(i=99, n=99))
    if room <= 0:
        raise ValueError("limit too small for the part label")
    chunks: list[str] = []
    current = ""
    for line in re.split(r"(?<=\n)", text):
        if measure(current + line) <= room:
            current += line
            continue
        if current:
            chunks.append(current)
            current = ""
        while measure(line) > room:  # one line longer than a part: cut it by characters
            cut = _fit(line, room, measure)
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        chunks.append(current)
    n = len(chunks)
    return [label.format(i=i, n=n) + chunk.rstrip("\n") if i > 1 else chunk.rstrip("\n") + label.format(i=i, n=n)
            for i, chunk in enumerate(chunks, 1)]


def _fit(line: str, room: int, measure: Callable[[str], int]) -> int:
    lo, hi = 1, len(line)
    while lo < hi:  # the longest prefix that fits
        mid = (lo + hi + 1) // 2
        if measure(line[:mid]) <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo
