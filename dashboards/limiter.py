"""The login limiter (登录限流): per account at an address, per address, and a ceiling for the whole system.

An account is locked only at the address its failures came from: failures from elsewhere
(someone trying the on-duty monitor's name during an emergency) do not lock the owner out at
their own desk. The address's own limit and the system's ceiling hold the guessers back; each
failure is still written to the audit log (``login.failed``) by the caller.

Each attempt takes its slot *before* the password is checked, with one atomic Redis script
over three counters, so 60 simultaneous logins for one account get exactly
``PER_USER`` password checks from one address, not the 19–20 the old count-then-check let through. Windows are
buckets of the injected clock (tests move time), kept in Redis a little longer than a window.
A success clears the account's counter at that address. Password checks (argon2id at the default RFC 9106 low-memory
cost: 64 MiB and about 0.5 s of a core each, 0.49 s measured on a loaded 2-core machine) are
also limited to :data:`CONCURRENT_CHECKS` at once per process, so a flood of failed logins
cannot starve the monitor's pages. Without Redis the store's audit log is counted instead.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import func, select

from yuqing.models import AuditEntry
from yuqing.runtime import Runtime

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
PER_USER = 5        # attempts per account from one address in a window (a success starts again)
PER_IP = 20         # attempts per address in a window, whatever the accounts
GLOBAL_PER_MINUTE = 120  # attempts per minute for the whole system: a ceiling for a botnet
CONCURRENT_CHECKS = 2    # argon2 verifications at once in one web process
CHECK_WAIT = 5.0         # seconds a login waits for a free check before "busy"

_checks = threading.BoundedSemaphore(CONCURRENT_CHECKS)
FAILURES = ("login.failed", "password.change_failed")  # what the store's fallback counts

_TAKE = """
local counts = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  counts[i] = n
end
return counts
"""


@dataclass(frozen=True)
class Verdict:
    """Whether this attempt may check a password; if not, why (in Chinese) and whether it is the first refusal."""

    allowed: bool
    reason: str = ""
    first_refusal: bool = False


def _h(text: str) -> str:
    # Hashed: a username or address in a Redis key name is nobody's business.
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:24]


def _keys(rt: Runtime, username: str, ip: str) -> tuple[list[str], list[int]]:
    now = rt.now().timestamp()
    bucket = int(now // WINDOW.total_seconds())
    minute = int(now // 60)
    ttl = int(WINDOW.total_seconds()) * 2
    # The account's counter is per (account, address): see the module's docstring.
    return ([f"yuqing:login:user:{_h(username)}:{_h(ip)}:{bucket}", f"yuqing:login:ip:{_h(ip)}:{bucket}",
             f"yuqing:login:all:{minute}"], [ttl, ttl, 120])


def take(rt: Runtime, username: str, ip: str) -> Verdict:
    """Take this attempt's slot (atomically); refuse when a limit is already used up."""
    try:
        keys, ttls = _keys(rt, username, ip)
        counts = cast(list[int], rt.get_redis().eval(_TAKE, len(keys), *keys, *ttls))  # a sync client's reply
        user, per_ip, overall = (int(n) for n in counts)
    except Exception as exc:  # noqa: BLE001 - Redis away: fall back to the store's audit log
        log.warning("login limiter: Redis unavailable (%s); counting the audit log", exc)
        return _from_store(rt, username, ip)
    if user > PER_USER:
        return Verdict(False, "该账号在本地址登录失败次数过多，请 15 分钟后再试。", user == PER_USER + 1)
    if per_ip > PER_IP:
        return Verdict(False, "该地址登录尝试过多，请 15 分钟后再试。", per_ip == PER_IP + 1)
    if overall > GLOBAL_PER_MINUTE:
        return Verdict(False, "系统登录请求过多，请稍后再试。", overall == GLOBAL_PER_MINUTE + 1)
    return Verdict(True)


def succeeded(rt: Runtime, username: str, ip: str) -> None:
    """A correct password: the account's counter at this address starts again (the address's does not)."""
    try:
        keys, _ = _keys(rt, username, ip)
        rt.get_redis().delete(keys[0])
    except Exception:  # noqa: BLE001 - the window ends by itself
        log.debug("login limiter: could not reset", exc_info=True)


def _from_store(rt: Runtime, username: str, ip: str) -> Verdict:
    since = rt.now() - WINDOW
    with rt.session() as s:
        def count(*where: Any) -> int:
            return int(s.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action.in_(FAILURES), AuditEntry.at >= since, *where)) or 0)

        if count(AuditEntry.actor == username[:100], AuditEntry.ip == ip) >= PER_USER:
            return Verdict(False, "该账号在本地址登录失败次数过多，请 15 分钟后再试。")
        if count(AuditEntry.ip == ip) >= PER_IP:
            return Verdict(False, "该地址登录尝试过多，请 15 分钟后再试。")
    return Verdict(True)


class Busy(Exception):
    """Every password check slot stayed taken for :data:`CHECK_WAIT` seconds."""


class checking:
    """``with checking():`` around a password verification: at most CONCURRENT_CHECKS at once."""

    def __enter__(self) -> None:
        if not _checks.acquire(timeout=CHECK_WAIT):
            raise Busy()

    def __exit__(self, *exc: object) -> None:
        _checks.release()
