"""A small HTTP site on 127.0.0.1 for the crawler tests and bench/bench_crawl.py (not shipped).

Routes map a path (query string included when given) to a :class:`Page` or to a function
that writes the response itself (hanging, huge and redirecting endpoints). Every request is
counted, so tests can assert what was fetched and how often.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from servers import serving


@dataclass
class Page:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: str = ""  # answer 304 when If-None-Match matches
    gate: threading.Event | None = None  # the answer waits until the test opens it (or the site stops)


Route = Page | Callable[[BaseHTTPRequestHandler], None]


class TestSite:
    """Serves ``routes``; ``hits`` counts requests per path, ``requests`` keeps their headers."""

    __test__ = False  # not a pytest test class

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                site.hits[self.path] += 1
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    route = Page("<html><body>not found</body></html>", status=404)
                if callable(route):
                    route(self)
                    return
                site.send(self, route)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients hanging up (size cap, timeouts) are part of the tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = serving(self.server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def send(self, handler: BaseHTTPRequestHandler, page: Page) -> None:
        while page.gate is not None and not page.gate.wait(0.05) and not self.stopping.is_set():
            pass
        if page.delay:
            time.sleep(page.delay)
        if page.etag and handler.headers.get("If-None-Match") == page.etag:
            handler.send_response(304)
            handler.send_header("ETag", page.etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        body = page.body.encode("utf-8") if isinstance(page.body, str) else page.body
        handler.send_response(page.status)
        handler.send_header("Content-Type", page.content_type)
        handler.send_header("Content-Length", str(len(body)))
        if page.etag:
            handler.send_header("ETag", page.etag)
        for key, value in page.headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body)

    def start(self) -> TestSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def hang(site: TestSite) -> Callable[[BaseHTTPRequestHandler], None]:
    """An endpoint that accepts the request and never answers (until the site stops)."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        site.stopping.wait(120)

    return handler


def redirect_to(target: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", target)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handler


def huge(megabytes: int) -> Callable[[BaseHTTPRequestHandler], None]:
    """A page of ``megabytes`` MB sent in chunks without announcing its length up front."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"<p>" + b"x" * (1024 * 1024 - 7) + b"</p>\n"
        try:
            h.wfile.write(b"<html><body><h1>big</h1>")
            for _ in range(megabytes):
                h.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True

    return handler
