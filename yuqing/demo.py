"""The demo (演示): a local news site, RSS feed and social JSON feed on 127.0.0.1 whose posts
appear over a few minutes, telling a coal-mine flooding that grows into a 重大 event, and an
SMTP sink that keeps the e-mails the departments would receive.

Only the demo uses this; the product's crawlers fetch it like any other site.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from .clock import SHANGHAI
from .exceptions import YuqingError

if TYPE_CHECKING:
    from aiosmtpd.smtp import Envelope

log = logging.getLogger(__name__)

# The demo's accounts share it; outside the demo no account may use it (dashboards/auth.py).
DEMO_PASSWORD = "yuqing-demo"


@dataclass(frozen=True)
class DemoPost:
    id: str
    at: float
    channel: str
    author: str
    title: str
    text: str
    reposts: int = 0
    comments: int = 0
    likes: int = 0


def load_posts() -> list[DemoPost]:
    raw = resources.files("yuqing").joinpath("data/demo_posts.yaml").read_text(encoding="utf-8")
    return [DemoPost(**p) for p in yaml.safe_load(raw)["posts"]]


# How often the served site looks for stop(): http.server's default, 0.5 s, was half a second of
# every stop (the demo's exit, each test that crawls it).
SHUTDOWN_POLL = 0.02


class DemoSite:
    """Serves the posts whose time has come. ``speed`` > 1 makes the story run faster."""

    def __init__(self, port: int = 0, speed: float = 1.0, start: datetime | None = None) -> None:
        self.posts = load_posts()
        self.speed = speed
        self.started = start or datetime.now(UTC)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                status, ctype, body = site.page(self.path.split("?", 1)[0])
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL},
                                       daemon=True, name="demo-site")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DemoSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def published(self, post: DemoPost) -> datetime:
        return self.started + timedelta(seconds=post.at / self.speed)

    def visible(self, channel: str) -> list[DemoPost]:
        now = datetime.now(UTC)
        shown = [p for p in self.posts if p.channel == channel and self.published(p) <= now]
        return sorted(shown, key=lambda p: p.at, reverse=True)

    def _local(self, post: DemoPost) -> str:
        return self.published(post).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")

    def page(self, path: str) -> tuple[int, str, str]:
        if path == "/robots.txt":
            return 200, "text/plain", "User-agent: *\nAllow: /\n"
        if path in ("/", "/news/", "/news"):
            rows = "".join(
                f'<li><a href="/news/{p.id}.html">{html.escape(p.title)}</a>'
                f' <span class="time">{self._local(p)}</span></li>' for p in self.visible("news"))
            return 200, "text/html; charset=utf-8", _page("晋城新闻网 · 本地新闻", f'<ul class="news">{rows}</ul>')
        if path.startswith("/news/") and path.endswith(".html"):
            post = self._find(path[6:-5], "news")
            if post is None:
                return 404, "text/html; charset=utf-8", _page("未找到", "<p>页面不存在</p>")
            body = (f"<h1>{html.escape(post.title)}</h1><div class='time'>{self._local(post)}</div>"
                    f"<div class='author'>{html.escape(post.author)}</div>"
                    f"<div class='content'><p>{html.escape(post.text)}</p></div>")
            return 200, "text/html; charset=utf-8", _page(post.title, body)
        if path == "/rss.xml":
            return 200, "application/rss+xml; charset=utf-8", self.rss()
        if path == "/api/posts.json":
            return 200, "application/json; charset=utf-8", self.social_json()
        if path.startswith("/weibo/"):
            post = self._find(path[7:], "social")
            if post is None:
                return 404, "text/html; charset=utf-8", _page("未找到", "<p>页面不存在</p>")
            return 200, "text/html; charset=utf-8", _page(post.author, f"<p>{html.escape(post.text)}</p>")
        if path.startswith("/rss/"):
            post = self._find(path[5:].removesuffix(".html"), "rss")
            if post is None:
                return 404, "text/html; charset=utf-8", _page("未找到", "<p>页面不存在</p>")
            return 200, "text/html; charset=utf-8", _page(post.title, f"<h1>{html.escape(post.title)}</h1>"
                                                          f"<p>{html.escape(post.text)}</p>")
        return 404, "text/html; charset=utf-8", _page("未找到", "<p>页面不存在</p>")

    def _find(self, post_id: str, channel: str) -> DemoPost | None:
        return next((p for p in self.visible(channel) if p.id == post_id), None)

    def rss(self) -> str:
        entries = "".join(
            f"<item><title>{html.escape(p.title)}</title><link>{self.url}/rss/{p.id}.html</link>"
            f"<guid>{self.url}/rss/{p.id}.html</guid><author>{html.escape(p.author)}</author>"
            f"<pubDate>{format_datetime(self.published(p))}</pubDate>"
            f"<description>{html.escape(p.text)}</description></item>" for p in self.visible("rss"))
        return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>山西日报 · 要闻</title><link>{self.url}/</link><description>演示</description>"
                f"{entries}</channel></rss>")

    def social_json(self) -> str:
        posts = [{"id": p.id, "url": f"{self.url}/weibo/{p.id}", "title": p.title, "text": p.text,
                  "author": p.author, "published_at": self.published(p).isoformat(),
                  "reposts": p.reposts, "comments": p.comments, "likes": p.likes}
                 for p in self.visible("social")]
        return json.dumps({"posts": posts}, ensure_ascii=False)

    def sources(self) -> list[dict[str, Any]]:
        """The three demo sources, in the source YAML format of yuqing.crawlers.sources."""
        return [
            {"key": "demo-news", "name": "晋城新闻网（演示）", "kind": "listing", "tier": "local",
             "urls": [f"{self.url}/news/"], "interval_minutes": 1,
             "listing": {"links": "ul.news a::attr(href)", "title": "h1::text", "time": ".time::text",
                         "author": ".author::text", "body": ".content"}},
            {"key": "demo-rss", "name": "山西日报要闻（演示）", "kind": "feed", "tier": "provincial",
             "urls": [f"{self.url}/rss.xml"], "interval_minutes": 1},
            {"key": "demo-social", "name": "社交平台话题（演示）", "kind": "json_api", "tier": "social",
             "urls": [f"{self.url}/api/posts.json"], "interval_minutes": 1, "item_changes": True,
             "json_api": {"items": "posts", "url": "url", "title": "title", "text": "text",
                          "author": "author", "published_at": "published_at",
                          "engagement": {"reposts": "reposts", "comments": "comments", "likes": "likes"}}},
        ]


STATE_FILE = "demo-state.json"


def resume_site(data_dir: Path, speed: float = 1.0) -> tuple[DemoSite, bool]:
    """The demo site of this data folder, and whether it continues an earlier run.

    The posts' addresses carry the site's port and their times the story's start: a second
    run on a fresh port and clock would publish every post again under new URLs (12 items
    become 22). So the first run records its port, start and speed in the data folder, and
    later runs serve the same story at the same addresses; deleting the data folder starts over.
    """
    path = data_dir / STATE_FILE
    state: dict[str, Any] = {}
    if path.is_file():
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            state = {}
    if state:
        try:
            site = DemoSite(port=int(state["port"]), speed=float(state["speed"]),
                            start=datetime.fromisoformat(state["started"]))
        except OSError as exc:
            raise YuqingError(f"演示站点原用端口 {state['port']} 已被占用（{exc.strerror}），无法接续上次的演示",
                              hint="先停止占用该端口的程序；或删除数据目录（或其中的 "
                                   f"{STATE_FILE} 与 yuqing.db）重新开始演示。") from None
        return site, True
    site = DemoSite(speed=speed)
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"port": site.port, "speed": speed, "started": site.started.isoformat()}),
                    encoding="utf-8")
    return site, False


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title></head><body>{body}</body></html>")


class MailSink:
    """An SMTP server on loopback that files every message under ``folder`` as .eml."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.controller: Any = None

    def start(self) -> MailSink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:  # noqa: N802
                name = f"{time.time_ns()}.eml"
                content = cast(bytes, envelope.content)  # bytes: the controller does not decode
                (sink.folder / name).write_bytes(content)
                msg = message_from_bytes(content)
                subject = str(make_header(decode_header(msg.get("Subject", ""))))
                print(f"[演示邮箱] 收到邮件 → {', '.join(envelope.rcpt_tos)}：{subject}", flush=True)
                return "250 OK"

        if not self.port:
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()

    def messages(self) -> list[Any]:
        return [message_from_bytes(p.read_bytes()) for p in sorted(self.folder.glob("*.eml"))]
