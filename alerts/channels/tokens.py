"""Access tokens of the applications' platforms (WeCom 应用, DingTalk 应用), kept in Redis.

Both platforms hand out a token valid for 7,200 s and limit how often one may be asked for;
every delivery job runs in a fresh work horse, so the token is kept in Redis (transient state,
like every other thing there) for its life less five minutes, and asked for again when the
platform says it expired. The key names the platform, its API base and the application's id,
never the secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from yuqing.runtime import get_runtime

from ..exceptions import ChannelError

T = TypeVar("T")
MARGIN = 300  # seconds before the platform's expiry that the token is no longer used


def _key(kind: str, base: str, app_id: str) -> str:
    return "yuqing:token:" + kind + ":" + hashlib.sha256(f"{base}|{app_id}".encode()).hexdigest()[:24]


def token(kind: str, base: str, app_id: str, fetch: Callable[[], tuple[str, int]]) -> str:
    """The cached token, or a new one from ``fetch() -> (token, expires_in seconds)``."""
    redis = get_runtime().get_redis()
    key = _key(kind, base, app_id)
    held = redis.get(key)
    if isinstance(held, bytes):
        return held.decode()
    fresh, expires_in = fetch()
    redis.set(key, fresh, ex=max(60, int(expires_in) - MARGIN))
    return fresh


def _is_code(code: int | str | None, codes: frozenset[int]) -> bool:
    """The reply's code is one of ``codes`` (a platform may send it as a number or as digits)."""
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        code = int(code)
    return isinstance(code, int) and not isinstance(code, bool) and code in codes


def forget(kind: str, base: str, app_id: str) -> None:
    """The platform said the token is no longer valid: the next send asks for a new one."""
    get_runtime().get_redis().delete(_key(kind, base, app_id))


def send_with_token(kind: str, base: str, app_id: str, token_of: Callable[[], str], post: Callable[[str], T],
                    invalid: frozenset[int]) -> T:
    """``post(access_token)`` and its answer; a token the platform calls invalid or expired
    (its reply code, ``errcode``, is one of ``invalid``: exactly, so 880 is not 88) is
    forgotten and the send tried once more with a fresh one."""
    attempt = 1
    while True:
        access = token_of()
        try:
            return post(access)
        except ChannelError as exc:
            if attempt == 2 or not _is_code(exc.code, invalid):
                raise
            forget(kind, base, app_id)
            attempt += 1
