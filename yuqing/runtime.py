"""The process's runtime: settings, store engine, profile, Redis connection and clock.

RQ jobs are plain functions that take ids; each looks up what it needs here. Built lazily
from the settings (environment / TOML) the first time a job asks, so a worker started with
the same environment as the web server sees the same store and Redis. Tests install their
own with :func:`set_runtime`.
"""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from .clock import Clock, SystemClock
from .profile import Profile, load_profile
from .settings import Settings, load_settings
from .store import engine_for, session_scope
from .tasks.connection import connect

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    profile: Profile
    clock: Clock = field(default_factory=SystemClock)
    redis: Redis | None = None

    @property
    def engine(self) -> Engine:
        return engine_for(self.settings.sqlalchemy_url)

    def session(self) -> AbstractContextManager[Session]:
        """``with rt.session() as s:`` a short transaction that commits on success."""
        return session_scope(self.engine)

    def new_session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def now(self) -> datetime:
        return self.clock.now()

    def get_redis(self) -> Redis:
        if self.redis is None:
            self.redis = connect(self.settings)
        return self.redis


_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            settings = load_settings()
            _runtime = Runtime(settings=settings, profile=load_profile(settings.profile))
        return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    with _lock:
        _runtime = runtime
