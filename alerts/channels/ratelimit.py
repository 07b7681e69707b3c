"""Each platform's published sending rate, kept before it is hit (WeCom and DingTalk robots 20 a
minute, the Feishu bot 100 a minute and 5 a second).

A channel module may declare ``RATE_LIMITS = ((count, seconds), ...)``; before each part the
delivery takes one slot in every window for its target (the robot's URL, hashed: it holds the
key). When a window is full the part waits, queued, until that window ends: the platform's
frequency-limit errcode remains the second guard. Windows are fixed and counted atomically in
Redis by one script, on the runtime's clock (tests move it).
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime

from redis import Redis

# Return the seconds to wait when any window is full; else take a slot in each and return 0.
_TAKE = """
for i = 1, #KEYS do
  local used = tonumber(redis.call('get', KEYS[i]) or '0')
  if used >= tonumber(ARGV[2 * i - 1]) then return ARGV[2 * i] end
end
for i = 1, #KEYS do
  redis.call('incr', KEYS[i])
  redis.call('expire', KEYS[i], 2 * tonumber(ARGV[#ARGV]))
end
return '0'
"""


def take(redis: Redis, channel: str, to: str, limits: tuple[tuple[int, int], ...], now: datetime) -> float:
    """Seconds until a part to ``to`` may go (0: it may go now, and its slots are taken)."""
    if not limits:
        return 0.0
    stamp = now.timestamp()
    who = hashlib.sha256(to.encode()).hexdigest()[:24]
    keys, args = [], []
    for count, seconds in limits:
        bucket = math.floor(stamp / seconds)
        keys.append(f"yuqing:rate:{channel}:{who}:{seconds}:{bucket}")
        args += [count, max(1.0, (bucket + 1) * seconds - stamp)]
    args.append(max(s for _, s in limits))
    return float(redis.eval(_TAKE, len(keys), *keys, *args))  # type: ignore[arg-type]
