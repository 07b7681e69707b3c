"""A tiny per-process cache for page fragments that every user sees alike (the alert queue,
the ticket board): reused for a few seconds while their fingerprint is unchanged.

Single flight: when an entry is due for refresh, one request rebuilds it while the others
keep serving the previous copy of the same fingerprint, so a crowd of monitors arriving at
once does not rebuild the same page twenty times.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass
class _Entry:
    key: Hashable
    value: str
    fresh_until: float


@dataclass
class FragmentCache:
    seconds: float = 5.0
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def get(self, name: str, key: Hashable, build: Callable[[], str]) -> str:
        entry = self._entries.get(name)
        if entry is not None and entry.key == key and entry.fresh_until > time.monotonic():
            return entry.value
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        if entry is not None and entry.key == key:
            if not lock.acquire(blocking=False):
                return entry.value  # someone is rebuilding this very fingerprint: serve the last copy
        else:
            lock.acquire()
        try:
            entry = self._entries.get(name)
            if entry is not None and entry.key == key and entry.fresh_until > time.monotonic():
                return entry.value
            value = build()
            self._entries[name] = _Entry(key, value, time.monotonic() + self.seconds)
            return value
        finally:
            lock.release()
