"""Real `yuqing worker` processes for the fault tests: start, find the work horse, SIGKILL.

A worker is started in its own session, so its process group holds the worker and its
scheduler process; the forked work horse puts itself in a group of its own (RQ calls
setpgrp), which is how :meth:`WorkerProcess.horse` tells it apart.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rq import Worker
from sqlalchemy import event


def worker_env(rt: Any, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    s = rt.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({
        "YUQING_DATA_DIR": str(s.data_dir), "YUQING_DATABASE_URL": s.sqlalchemy_url,
        "YUQING_REDIS_URL": s.redis_url, "YUQING_SMTP_HOST": s.smtp_host,
        "YUQING_SMTP_PORT": str(s.smtp_port), "YUQING_SECRET_KEY": "test-secret-key-for-signing-0123456789",
        "YUQING_PROFILE": "zezhou-emergency", "YUQING_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].decode().split()
    except (OSError, IndexError):
        return None


def gone(pid: int) -> bool:
    """No such process, or only a zombie left of it."""
    fields = _stat(pid)
    return fields is None or fields[0] in ("Z", "X")


TESTS = Path(__file__).resolve().parent


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path, print_stand_in: bool = False) -> None:
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()
        command = "yuqing"
        if print_stand_in:  # the same command, Chromium's print stood in for (tests/chromium_stand_in.py)
            command = "chromium_stand_in"
            env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen([sys.executable, "-m", command, "worker"], env=env, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid

    def registered(self, redis: Any) -> bool:  # type: ignore[no-untyped-def]
        return any(w.pid == self.pid for w in Worker.all(connection=redis))

    def children(self) -> list[int]:
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                fields = _stat(int(entry))
                if fields and int(fields[1]) == self.pid and fields[0] not in ("Z", "X"):
                    out.append(int(entry))
        return out

    def horse(self) -> int | None:
        """The work horse: the child that leads its own process group."""
        for pid in self.children():
            fields = _stat(pid)
            if fields and int(fields[2]) == pid:
                return pid
        return None

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill_horse(self) -> int:
        horse = self.horse()
        assert horse, "no work horse to kill"
        os.kill(horse, signal.SIGKILL)
        wait_for(f"horse {horse} to die", lambda: gone(horse), timeout=10)
        return horse

    def kill(self) -> list[int]:
        """SIGKILL the worker, its scheduler and its horse at once (a cgroup kill, the OOM
        killer taking everything); returns the pids that were killed."""
        pids = [self.pid, *self.children()]
        horse = self.horse()
        os.killpg(self.pid, signal.SIGKILL)
        if horse:
            os.kill(horse, signal.SIGKILL)
        self.proc.wait(10)
        for pid in pids:
            wait_for(f"process {pid} to die", lambda pid=pid: gone(pid), timeout=10)
        self._out.close()
        return pids

    def kill_worker_only(self) -> list[int]:
        """SIGKILL the worker process alone (the OOM killer's pick); returns its children, which
        must not outlive it (an orphaned horse would go on with a job handed to someone else)."""
        children = self.children()
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._out.close()
        return children

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), the way the supervisor stops a worker; SIGKILL if it hangs."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        else:
            self.proc.wait()
        for pid in self.children():  # nothing may outlive a test
            os.kill(pid, signal.SIGKILL)
        self._out.close()


class WorkerPool:
    """Worker processes started by one test, all stopped at its end (``stop_all``); with
    ``print_stand_in``, Chromium's print is stood in for in each (tests/chromium_stand_in.py)."""

    def __init__(self, folder: Path, print_stand_in: bool = False) -> None:
        self.folder, self.started = folder, []  # type: ignore[var-annotated]
        self.print_stand_in = print_stand_in

    def start(self, rt: Any, **env: str) -> WorkerProcess:
        """A worker on ``rt``'s store and Redis, once it has registered."""
        return self.start_together(rt, 1, **env)[0]

    __call__ = start

    def start_together(self, rt: Any, count: int, **env: str) -> list[WorkerProcess]:
        """``count`` workers started at once (each loads jieba and the models for seconds),
        returned once every one has registered."""
        started = [WorkerProcess(worker_env(rt, **env), self.folder / f"worker-{len(self.started) + n + 1}.log",
                                 self.print_stand_in)
                   for n in range(count)]
        self.started += started
        for w in started:
            wait_for("the worker to register", lambda w=w: w.registered(rt.redis) or w.proc.poll() is not None)
            assert w.proc.poll() is None, w.text()[-3000:]
        return started

    def stop_all(self) -> None:
        for w in self.started:
            w.stop()


def job_status(rt: Any, job_id: str) -> str:
    from rq.job import Job

    return Job.fetch(job_id, connection=rt.redis).get_status(refresh=True).value


def db_file(rt: Any) -> Path:
    return Path(rt.settings.sqlalchemy_url.split("///", 1)[1])


@contextmanager
def short_busy_timeout(engine: Any, ms: int = 500) -> Iterator[None]:
    """``engine``'s connections wait ``ms`` for a held SQLite write lock instead of the store's
    30 s (``SQLITE_BUSY_MS``): the same "database is locked" answer, without the 30 s wait."""

    def short_wait(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute(f"PRAGMA busy_timeout = {ms}")

    event.listen(engine, "connect", short_wait)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", short_wait)
        engine.dispose()


class SqliteWriteLock:
    """Another connection holding the database's write lock (BEGIN IMMEDIATE): every writer
    waits on SQLite's busy timeout until :meth:`release`. Readers go on (WAL)."""

    def __init__(self, url: str) -> None:
        self.conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None, timeout=30)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.conn.close()


def holds_file(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (the horse has reached the database)."""
    target = str(path.resolve())
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == target for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


# ---- PostgreSQL ---------------------------------------------------------------------------

def _pg_ctl(server: Any, *args: str) -> None:
    from servers import _pg_bin

    server._run([_pg_bin("pg_ctl"), "-D", str(server.folder / "data"), *args])


def pg_stop(server: Any) -> None:
    _pg_ctl(server, "-m", "fast", "-w", "stop")


def pg_start(server: Any) -> None:
    # The options PostgresServer.start used, on the same data folder.
    _pg_ctl(server, "-w", "-l", str(server.folder / "pg.log"), "-o",
            f"-p {server.port} -k {server.folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")


class PgWriteLock:
    """Another session holding ``LOCK TABLE ... IN EXCLUSIVE MODE``: reads go on, every write
    to the table waits (PostgreSQL has no busy timeout: it waits until :meth:`release`)."""

    def __init__(self, url: str, table: str) -> None:
        from sqlalchemy import create_engine, text

        self.engine = create_engine(url)
        self.conn = self.engine.connect()
        self.conn.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))

    def waiters(self) -> int:
        """Sessions waiting on a lock, i.e. jobs stuck at their write."""
        from sqlalchemy import text

        with self.engine.connect() as other:
            return other.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                     " AND datname = current_database()")) or 0

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()
