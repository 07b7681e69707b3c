"""Crawler nodes that join and leave (分布式采集节点), on scrapy-redis's shared queue.

- :class:`ReliableQueue`: popping a request moves it, atomically, from the source's shared
  queue to this node's own processing list (``RPOPLPUSH``); it leaves that list only when
  the request is done: its callback's items are stored (``item_scraped``/``item_dropped``),
  or it failed (the spider's errback), or it was handed on (a retry or redirect pushed anew).
- :class:`NodeExtension`: the node's heartbeat (a key with a short TTL); every few seconds it
  hands the processing lists of nodes whose heartbeat is gone (a SIGKILLed node) back to the
  shared queue, so their in-flight requests are fetched by the others and nothing is lost.
  When the node finds nothing to do it does not close: with ``--stay`` it waits until told
  to stop (``yuqing crawl --stop KEY`` sets the source's stop key, or SIGTERM); without, it
  closes once the shared queue and every node's processing list have been empty for
  :data:`IDLE_GRACE` seconds (a crawl job, which must end).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy_redis.queue import FifoQueue

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0
HEARTBEAT_TTL = 15  # seconds without a heartbeat before a node counts as dead (a long parse must not look like death)
IDLE_GRACE = 3.0
RAW = "_yuqing_raw"  # request.meta: the bytes this request was popped as
PENDING = "_yuqing_pending"  # request.meta: [items not yet through the pipelines, output done]


def node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def stop_key(spider_name: str) -> str:
    return f"yuqing:crawl:{spider_name}:stop"


class ReliableQueue(FifoQueue):
    """The shared FIFO of one source, with a processing list per node."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.node = node_id()
        self.processing = f"{self.key}:processing:{self.node}"
        self.spider.yuqing_queue = self
        self.beat()  # alive before the first pop: others must never take a live node's list

    def alive_key(self, node: str) -> str:
        return f"{self.key}:alive:{node}"

    def beat(self) -> None:
        self.server.set(self.alive_key(self.node), "1", ex=HEARTBEAT_TTL)

    def push(self, request: Any) -> None:
        handed_on = request.meta.pop(RAW, None)  # a retry or redirect of a popped request
        request.meta.pop(PENDING, None)
        super().push(request)
        if handed_on is not None:
            self.ack_raw(handed_on)

    def pop(self, timeout: int = 0) -> Any:
        data = self.server.rpoplpush(self.key, self.processing)
        if not data:
            return None
        request = self._decode_request(data)
        request.meta[RAW] = data
        return request

    def ack_raw(self, data: bytes) -> None:
        self.server.lrem(self.processing, 1, data)

    def ack(self, request: Any) -> None:
        data = request.meta.pop(RAW, None)
        if data is not None:
            self.ack_raw(data)

    def pattern(self) -> str:
        return f"{self.key}:processing:*"


def ack(spider: Any, request: Any) -> None:
    """This request is done (stored, failed or handed on): off the node's processing list."""
    queue = getattr(spider, "yuqing_queue", None)
    if queue is not None and request is not None:
        queue.ack(request)


class AckMiddleware:
    """Spider middleware: a request whose callback yielded items is done once every item has
    been through the pipelines (the store flushes each item in distributed mode)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self._item_done, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Any) -> AckMiddleware:
        if not crawler.settings.getbool("YUQING_DISTRIBUTED"):
            raise NotConfigured
        return cls(crawler)

    async def process_spider_output_async(self, response: Any, result: Any) -> Any:
        state = response.request.meta.setdefault(PENDING, [0, False])
        async for out in result:
            if not isinstance(out, Request):  # an item: done when the pipelines are
                state[0] += 1
            yield out
        state[1] = True
        self._maybe_ack(response.request, state)

    def process_spider_output(self, response: Any, result: Any) -> Any:
        state = response.request.meta.setdefault(PENDING, [0, False])
        for out in result:
            if not isinstance(out, Request):
                state[0] += 1
            yield out
        state[1] = True
        self._maybe_ack(response.request, state)

    def _item_done(self, item: Any = None, response: Any = None, spider: Any = None, **_: Any) -> None:
        request = getattr(response, "request", None)
        state = request.meta.get(PENDING) if request is not None else None
        if state is None:
            return
        state[0] -= 1
        self._maybe_ack(request, state)

    def _maybe_ack(self, request: Any, state: list[Any]) -> None:
        if state[1] and state[0] <= 0:
            ack(self.crawler.spider, request)


class NodeExtension:
    """Heartbeat, recovery of dead nodes' requests, and the idle behaviour."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stay = crawler.settings.getbool("YUQING_STAY")
        self.node = node_id()
        self.idle_since: float | None = None
        self.loop: Any = None
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.idle, signal=signals.spider_idle)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> NodeExtension:
        if not crawler.settings.getbool("YUQING_DISTRIBUTED"):
            raise NotConfigured
        return cls(crawler)

    def _queue(self) -> ReliableQueue | None:
        return getattr(self.crawler.spider, "yuqing_queue", None)

    def opened(self, spider: Any) -> None:
        # local: no twisted.internet module loads before Scrapy has installed its reactor
        from twisted.internet import task

        self.beat()
        self.loop = task.LoopingCall(self.beat)
        self.loop.start(HEARTBEAT_SECONDS, now=False)

    def beat(self) -> None:
        queue = self._queue()
        if queue is None:
            return
        try:
            queue.beat()
            self.recover(queue)
        except Exception as exc:  # noqa: BLE001 - Redis hiccup: the next beat tries again
            log.warning("crawler node heartbeat failed: %s", exc)

    def recover(self, queue: ReliableQueue) -> int:
        """Hand the processing lists of dead nodes back to the shared queue."""
        moved = 0
        prefix = f"{queue.key}:processing:"
        for raw_key in queue.server.scan_iter(match=queue.pattern()):
            key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            node = key[len(prefix):]
            if node == self.node or queue.server.exists(queue.alive_key(node)):
                continue
            while queue.server.rpoplpush(key, queue.key):
                moved += 1
        if moved:
            self.crawler.stats.inc_value("yuqing/recovered_requests", moved)
            log.warning("%d requests of dead crawler nodes handed back to the shared queue", moved)
        return moved

    def idle(self, spider: Any) -> None:
        queue = self._queue()
        if queue is None:
            return
        # Idle means nothing in flight here: whatever is still listed as ours is done.
        queue.server.delete(queue.processing)
        if queue.server.exists(stop_key(spider.name)):
            return  # told to stop: close
        busy = len(queue) > 0 or any(queue.server.llen(k) for k in queue.server.scan_iter(match=queue.pattern()))
        if self.stay or busy:
            self.idle_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < IDLE_GRACE:
            raise DontCloseSpider

    def closed(self, spider: Any) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        queue = self._queue()
        if queue is None:
            return
        try:
            while queue.server.rpoplpush(queue.processing, queue.key):
                pass  # closed with requests unfinished (SIGTERM mid-crawl): others take them
            queue.server.delete(queue.alive_key(self.node))
        except Exception as exc:  # noqa: BLE001 - the heartbeat expires by itself
            log.warning("crawler node could not sign off: %s", exc)
