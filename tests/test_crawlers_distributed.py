"""--distributed: crawler processes share one source's request queue and duplicate filter
through the one Redis (scrapy-redis); every article is fetched once and stored once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from testsite import Page, TestSite

from yuqing.crawlers.jobs import child_env
from yuqing.crawlers.sources import upsert_sources
from yuqing.models import Item, Source
from yuqing.runtime import Runtime

ARTICLES = 40


@pytest.mark.slow  # two real crawls in child processes
def test_two_crawlers_one_redis(runtime: Runtime, tmp_path: Path) -> None:
    links = "".join(f'<li><a href="/a/{i}.html">{i}</a></li>' for i in range(ARTICLES))
    site = TestSite({"/list.html": Page(f'<ul class="news">{links}</ul>')})
    gate = threading.Event()
    for i in range(ARTICLES):
        site.routes[f"/a/{i}.html"] = Page(f"<h1>第{i}条新闻</h1><div class='c'>正文{i}</div>", gate=gate)
    site.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        upsert_sources(runtime, [{"key": "shared", "name": "共享队列", "kind": "listing", "tier": "local",
                                  "urls": [f"{site.url}/list.html"], "obey_robots": False,
                                  "listing": {"links": "ul.news a::attr(href)", "title": "h1::text", "body": ".c"}}])
        with runtime.session() as s:
            source_id = s.scalars(select(Source.id)).one()
        env = _patient_env(runtime)
        reports = [tmp_path / f"r{n}.json" for n in range(2)]
        def crawler(path: Path) -> subprocess.Popen[bytes]:
            return subprocess.Popen([sys.executable, "-m", "yuqing.crawlers.run", str(source_id), "--distributed",
                                     "--now", runtime.now().isoformat(), "--report", str(path)],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        # The second node joins once the first has filled the shared queue and started on it, as a
        # node joining a running crawl does; started together, one could find the queue still
        # empty, go idle and close before the list page had been parsed. The articles are held
        # until the second node has taken requests of its own, so however slowly it starts (a
        # loaded machine) the first cannot have finished the crawl alone.
        procs.append(crawler(reports[0]))
        _until(lambda: any(path.startswith("/a/") for path in list(site.hits)))
        procs.append(crawler(reports[1]))
        _until(lambda: runtime.redis.llen(_processing(procs[1])) > 0 or procs[1].poll() is not None)
        gate.set()
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-2000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        site.stop()
    stats = [json.loads(p.read_text())["stats"] for p in reports]
    assert all(st.get("scheduler/enqueued/redis") for st in stats)  # both used the shared queue
    fetched = [sum(1 for path in site.hits if path.startswith("/a/")) for _ in stats]
    assert fetched[0] == ARTICLES
    assert all(site.hits[f"/a/{i}.html"] == 1 for i in range(ARTICLES)), "an article was fetched twice"
    per_process = [st.get("yuqing/items_new", 0) for st in stats]
    assert sum(per_process) == ARTICLES and min(per_process) > 0, per_process  # the work was shared
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == ARTICLES
    assert runtime.redis.ttl("yuqing:crawl:listing-shared:dupefilter") > 0


@pytest.mark.slow  # three real crawls in child processes, one killed
def test_nodes_join_leave_and_a_killed_node_loses_nothing(runtime: Runtime, tmp_path: Path) -> None:
    """Three nodes with --stay on one Redis: the first starts the crawl, two join it late, one
    of those is SIGKILLed mid-crawl. Its in-flight requests go to the others, every article is
    stored once, the late survivor took a share, and the survivors wait until told to stop."""
    count = 60
    links = "".join(f'<li><a href="/a/{i}.html">{i}</a></li>' for i in range(count))
    site = TestSite({"/list.html": Page(f'<ul class="news">{links}</ul>')})
    gate = threading.Event()
    for i in range(count):
        site.routes[f"/a/{i}.html"] = Page(f"<h1>第{i}条新闻</h1><div class='c'>正文{i}</div>", gate=gate)
    site.start()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        upsert_sources(runtime, [{"key": "shared", "name": "共享队列", "kind": "listing", "tier": "local",
                                  "urls": [f"{site.url}/list.html"], "obey_robots": False,
                                  "listing": {"links": "ul.news a::attr(href)", "title": "h1::text", "body": ".c"}}])
        with runtime.session() as s:
            source_id = s.scalars(select(Source.id)).one()
        env = _patient_env(runtime)

        def node(name: str) -> subprocess.Popen[bytes]:
            return subprocess.Popen([sys.executable, "-m", "yuqing.crawlers.run", str(source_id), "--distributed",
                                     "--stay", "--now", runtime.now().isoformat(),
                                     "--report", str(tmp_path / f"{name}.json")],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def articles_fetched() -> int:
            return sum(n for path, n in list(site.hits.items()) if path.startswith("/a/"))

        def stored() -> int:
            with runtime.session() as s:
                return s.scalar(select(func.count()).select_from(Item)) or 0

        # The articles are held until both late nodes hold requests of their own: the one to be
        # killed then dies with requests it cannot have finished, and the late survivor has a
        # share, however slowly the nodes start on a loaded machine.
        procs["first"] = node("first")
        _until(lambda: articles_fetched() > 0)
        procs["killed"], procs["late"] = node("killed"), node("late")
        for late in (procs["killed"], procs["late"]):
            _until(lambda late=late: runtime.redis.llen(_processing(late)) > 0 or late.poll() is not None)
        procs["killed"].kill()
        procs["killed"].wait(10)
        gate.set()
        _until(lambda: stored() >= count, timeout=120)
        time.sleep(2)
        assert procs["first"].poll() is None and procs["late"].poll() is None  # idle, but staying
        runtime.redis.set("yuqing:crawl:listing-shared:stop", "1", ex=120)  # yuqing crawl --stop
        for name in ("first", "late"):
            _, err = procs[name].communicate(timeout=60)
            assert procs[name].returncode == 0, err[-2000:]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        site.stop()
    stats = {name: json.loads((tmp_path / f"{name}.json").read_text())["stats"] for name in ("first", "late")}
    assert not (tmp_path / "killed.json").exists()
    with runtime.session() as s:
        urls = list(s.scalars(select(Item.url)))
    assert len(urls) == len(set(urls)) == count  # nothing lost, nothing stored twice
    assert all(site.hits[f"/a/{i}.html"] >= 1 for i in range(count))
    again = sum(site.hits[f"/a/{i}.html"] - 1 for i in range(count))
    recovered = sum(st.get("yuqing/recovered_requests", 0) for st in stats.values())
    assert recovered > 0 and again <= recovered  # only what the killed node held is fetched again
    assert stats["late"].get("yuqing/items_new", 0) > 0  # the late node took a share
    assert runtime.redis.llen("yuqing:crawl:listing-shared:requests") == 0


def _patient_env(runtime: Runtime) -> dict[str, str]:
    """The crawl children's environment, with a request timeout longer than the test holds an
    answer at its gate (a timed-out request would be retried and fetched twice)."""
    return child_env(runtime.settings.model_copy(update={"crawl_timeout": 180}))


def _processing(proc: subprocess.Popen[bytes]) -> str:
    """The node's processing list: the requests it has taken from the shared queue."""
    return f"yuqing:crawl:listing-shared:requests:processing:{socket.gethostname()}:{proc.pid}"


def _until(condition: Callable[[], object], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
