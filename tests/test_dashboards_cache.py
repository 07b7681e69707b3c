"""The fragment cache: reuse while the fingerprint holds, rebuild when it moves, one rebuild at a time."""

from __future__ import annotations

import threading
import time

from yuqing.dashboards.cache import FragmentCache


def test_reuses_until_the_fingerprint_moves_or_time_passes() -> None:
    cache = FragmentCache(seconds=0.2)
    builds: list[int] = []

    def build() -> str:
        builds.append(1)
        return f"v{len(builds)}"

    assert cache.get("q", "a", build) == "v1"
    assert cache.get("q", "a", build) == "v1"
    assert cache.get("q", "b", build) == "v2"  # a review moved the fingerprint: at once
    time.sleep(0.25)
    assert cache.get("q", "b", build) == "v3"


def test_one_rebuild_while_others_serve_the_last_copy() -> None:
    cache = FragmentCache(seconds=0.0)  # always due for refresh
    cache.get("q", "a", lambda: "old")
    started, release = threading.Event(), threading.Event()
    builds = []

    def slow() -> str:
        builds.append(1)
        started.set()
        release.wait(5)
        return "new"

    worker = threading.Thread(target=lambda: cache.get("q", "a", slow))
    worker.start()
    started.wait(5)
    assert cache.get("q", "a", slow) == "old"  # not a second rebuild
    release.set()
    worker.join(5)
    assert builds == [1]
