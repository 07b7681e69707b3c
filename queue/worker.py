"""RQ workers. Loads jieba and the models once in the parent, so each forked job inherits them."""

from __future__ import annotations

import importlib
import logging

from rq import Worker

from yuqing.runtime import get_runtime

from .dispatch import QUEUE_NAMES

log = logging.getLogger(__name__)

# Subsystems that want to load heavy state before the first fork name a ``preload()`` here.
PRELOAD = ("yuqing.analysis.jobs",)


def preload() -> None:
    for name in PRELOAD:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        hook = getattr(module, "preload", None)
        if hook:
            hook()


def run_worker(queues: list[str] | None = None, burst: bool = False, name: str | None = None) -> bool:
    """Work the given queues (all by default) until stopped; with ``burst``, until empty."""
    rt = get_runtime()
    preload()
    worker = Worker(queues or list(QUEUE_NAMES), connection=rt.get_redis(), name=name)
    # with_scheduler: delayed jobs (deadline reminders) and retry waits need a scheduler.
    return worker.work(burst=burst, with_scheduler=True, logging_level=rt.settings.log_level)
