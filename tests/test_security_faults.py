"""Issue 18, items 4 and 7: faults that must be loud (a store that cannot be written, a killed
embedded Redis, a crashed child) and secrets that must not be weak, world-readable or printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import event, select

from yuqing.dashboards.app import create_app
from yuqing.exceptions import SettingsError
from yuqing.models import Delivery
from yuqing.runner import REDIS_ALERT_AFTER, RESTART_BACKOFF, Child, RedisWatch, Supervisor
from yuqing.settings import Settings, load_settings, mask_url, secure_data_dir
from yuqing.status import collect_status, health
from yuqing.tasks.connection import EmbeddedRedis


@pytest.fixture
def read_only_store(runtime):  # type: ignore[no-untyped-def]
    """Every connection of the store refuses writes, as a read-only SQLite file or a full disk does."""
    engine = runtime.engine

    def query_only(dbapi_connection, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA query_only = ON")

    event.listen(engine, "checkout", query_only)
    yield runtime
    event.remove(engine, "checkout", query_only)
    engine.dispose()


def test_status_and_healthz_report_a_store_that_cannot_be_written(read_only_store) -> None:  # type: ignore[no-untyped-def]
    rt = read_only_store
    report = collect_status(rt)
    assert not report["ok"]
    assert any(p.startswith("数据库无法写入") for p in report["problems"])
    assert health(rt)["ok"] is False
    with TestClient(create_app(rt)) as client:
        r = client.get("/healthz")
    assert r.status_code == 503 and "数据库无法写入（只读或磁盘已满）：OperationalError" in r.json()["problems"]


def test_healthz_writes_a_heartbeat_when_the_store_is_fine(runtime) -> None:  # type: ignore[no-untyped-def]
    from yuqing.models import Heartbeat

    health(runtime)
    with runtime.session() as s:
        assert s.get(Heartbeat, "healthz").at == runtime.now()


def test_a_killed_embedded_redis_is_restarted_with_back_off(runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = EmbeddedRedis(tmp_path / "r").start()
    try:
        Redis.from_url(server.url).set("k", "v")
        watch = RedisWatch(server, runtime)
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(10)
        now = time.monotonic()
        watch.check(now)  # notices, schedules the restart, does not block
        assert watch.due_at == pytest.approx(now + RESTART_BACKOFF[0])
        watch.check(now + RESTART_BACKOFF[0])
        assert Redis.from_url(server.url).ping()
        assert Redis.from_url(server.url).get("k") == b"v"  # append-only file: nothing lost
    finally:
        server.stop()


def test_repeated_redis_failures_reach_the_administrator(runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        folder = tmp_path
        process = subprocess.Popen([sys.executable, "-c", "pass"])

        def start(self) -> None:
            raise RuntimeError("内嵌 Redis 启动失败")

    Broken.process.wait()
    watch = RedisWatch(Broken(), runtime)
    now = time.monotonic()
    for _ in range(REDIS_ALERT_AFTER):
        watch.check(now)
        now += 60
        watch.check(now)
    assert watch.alerted
    with runtime.session() as s:
        subjects = set(s.scalars(select(Delivery.subject).where(Delivery.purpose == "system")))
    assert subjects == {"【系统告警】内嵌 Redis 反复退出"}


def test_one_child_back_off_does_not_hold_up_another(tmp_path: Path) -> None:
    sup = Supervisor(env=dict(os.environ), log_dir=tmp_path)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    sup.children = [Child("scheduler", [sys.executable, "-c", "raise SystemExit(1)"]), Child("worker-1", sleeper)]
    sup.start()
    try:
        sup.children[0].process.wait(10)
        sup.children[0].restarts = 4  # a crash-looping scheduler: a 30 s back-off
        sup.children[1].process.kill()
        sup.children[1].process.wait(10)
        started = time.monotonic()
        sup.watch_once(started)
        assert time.monotonic() - started < 1  # no sleeping inside the watch
        sup.watch_once(started + RESTART_BACKOFF[0])
        assert sup.children[1].process.poll() is None  # the worker is back after 1 s, not 30 s
        assert sup.children[0].due_at == pytest.approx(started + RESTART_BACKOFF[-1])
    finally:
        sup.stop(timeout=5)


# ---- secrets and files ---------------------------------------------------------------------

@pytest.mark.parametrize("value", ["a", "x" * 31])
def test_a_short_secret_key_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="^环境变量 YUQING_SECRET_KEY: 设置项 secret_key 无效：密钥至少 32 字节") as err:
        load_settings(environ={"YUQING_SECRET_KEY": value, "YUQING_DATA_DIR": str(tmp_path)})
    assert f"'{value}'" not in str(err.value)  # the secret itself is not echoed


def test_an_empty_secret_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(SettingsError, match="密钥文件内容过短（0 字节，至少 32 字节）"):
        Settings(data_dir=tmp_path).secret()


def test_passwords_inside_urls_are_masked_everywhere_they_are_printed() -> None:
    s = Settings(database_url="postgresql://yuqing:s3cret@db:5432/yuqing", redis_url="redis://:hunter2@redis:6379/0")
    shown = s.shown()
    assert shown["database_url"] == "postgresql://yuqing:***@db:5432/yuqing"
    assert shown["redis_url"] == "redis://:***@redis:6379/0"
    assert mask_url("Error 111 connecting to redis://:hunter2@redis:6379/0.") == \
        "Error 111 connecting to redis://:***@redis:6379/0."


def test_smtp_login_over_plain_tcp_is_warned() -> None:
    plain = Settings(smtp_host="mail.example.gov.cn", smtp_user="yuqing", smtp_password="pw")
    assert "明文" in plain.plain_smtp_warning()
    assert Settings(smtp_host="mail.example.gov.cn", smtp_user="yuqing", smtp_starttls=True).plain_smtp_warning() == ""


@pytest.mark.slow  # imports the CLI in a child process: 5 s on the 2-core machine
def test_the_data_folder_is_closed_to_other_accounts(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    secure_data_dir(folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    code = subprocess.run([sys.executable, "-c", "import os, sys; from yuqing.cli import main; "
                           "sys.argv = ['yuqing', '--help']; os.umask(0o022); "
                           "import yuqing.cli as c; c.app = lambda **k: print(oct(os.umask(0)))  or 0; main()"],
                          capture_output=True, text=True, timeout=60)
    assert code.stdout.strip() == "0o77"


# ---- drills under a real `yuqing run` (bench/bench_faults.py) ---------------------------------

def _children(pid: int) -> list[tuple[int, str]]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append((int(entry.name), cmd))
    return out


def _health(url: str) -> dict:
    import requests

    try:
        return requests.get(f"{url}/healthz", timeout=5).json()
    except Exception:  # noqa: BLE001 - not up yet
        return {}


def _until(check, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"{what} 在 {timeout:.0f} 秒内未发生"
        time.sleep(0.2)
    return time.monotonic() - started


@pytest.mark.slow
def test_yuqing_run_restarts_a_sigtermed_embedded_redis(tmp_path: Path, record_property) -> None:  # type: ignore[no-untyped-def]
    from servers import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update(YUQING_DATA_DIR=str(tmp_path / "data"), YUQING_SECRET_KEY="drill-secret-key-0123456789-abcdefgh",
               YUQING_WORKERS="1", YUQING_LOG_LEVEL="WARNING")
    run = subprocess.Popen([sys.executable, "-m", "yuqing", "run", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _health(url).get("redis") and (_health(url).get("workers") or 0) >= 1, 120, "yuqing run 就绪")
        redis_pid = next(pid for pid, cmd in _children(run.pid) if "redis-server" in cmd)
        os.kill(redis_pid, signal.SIGTERM)
        _until(lambda: not _health(url).get("redis"), 30, "Redis 停止被发现")
        recovered = _until(lambda: _health(url).get("redis") and (_health(url).get("workers") or 0) >= 1
                           and (_health(url).get("schedulers") or 0) >= 1, 90, "Redis 与 worker、调度器恢复")
        record_property("recovered_s", round(recovered, 1))
        assert any("redis-server" in cmd for _, cmd in _children(run.pid))
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()


def test_the_store_writable_again_is_seen_at_once(runtime, record_property) -> None:  # type: ignore[no-untyped-def]
    engine = runtime.engine

    def query_only(dbapi_connection, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA query_only = ON")

    event.listen(engine, "checkout", query_only)
    unwritable = "数据库无法写入（只读或磁盘已满）：OperationalError"
    assert unwritable in health(runtime)["problems"]
    event.remove(engine, "checkout", query_only)
    engine.dispose()  # the outage ends (files writable again): new connections write
    back = time.monotonic()
    _until(lambda: unwritable not in health(runtime)["problems"], 30, "数据库恢复被发现")
    record_property("recovered_s", round(time.monotonic() - back, 2))
