"""Shared fixtures: a real Redis per session (flushed per test), a migrated SQLite store per
test, PostgreSQL on demand, an SMTP sink and a webhook receiver on loopback, and a manual
clock so tests move time instead of sleeping."""

from __future__ import annotations

import copy
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import factories
import pytest
from chromium_stand_in import STAND_IN_PDF
from factories import postgres_runtime
from redis import Redis
from servers import HttpReceiver, PostgresServer, RedisServer, SmtpSink

from yuqing.clock import ManualClock
from yuqing.profile import Profile, load_profile
from yuqing.runtime import Runtime, set_runtime
from yuqing.settings import Settings, load_settings
from yuqing.store import migrate

REPO = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server: RedisServer) -> Redis:
    conn = Redis.from_url(redis_server.url)
    conn.flushall()
    return conn


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp(smtp_sink: SmtpSink) -> SmtpSink:
    smtp_sink.messages.clear()
    return smtp_sink


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("pg")).start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> ManualClock:
    """2026-11-21 08:00 in Shanghai."""
    return ManualClock(datetime(2026, 11, 21, 8, 0, tzinfo=SHANGHAI))


@pytest.fixture
def profile() -> Profile:
    return load_profile("zezhou-emergency")


@pytest.fixture
def settings(tmp_path: Path, redis_server: RedisServer, smtp_sink: SmtpSink) -> Settings:
    """Loopback Redis and SMTP, a fixed secret, and argon2's cheapest cost (``password_hash``):
    the product's default costs about 0.5 s of a core per hash or check on the 2-core machine,
    paid for every seeded account and every sign-in; what is under test is that the password is
    hashed and checked, not its cost (test_security_sessions checks the default)."""
    return load_settings(environ={}, data_dir=tmp_path / "data", redis_url=redis_server.url,
                         smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                         base_url="http://127.0.0.1:8000", secret_key="test-secret-key-for-signing-0123456789",
                         password_hash="CHEAPEST")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated once per session; each test gets a copy of the file, which is
    what Alembic would build again (a few seconds per test) at the cost of a file copy."""
    path = tmp_path_factory.mktemp("template") / "yuqing.db"
    migrate(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # fold the WAL into the file, so the file alone is the store
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def copy_template(template: Path, url: str) -> None:
    """Give the SQLite store at ``url`` the migrated template's schema."""
    target = Path(url.split("///", 1)[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)  # a log of the store replaced must not be replayed onto the copy
    shutil.copyfile(template, target)


@pytest.fixture
def runtime(settings: Settings, profile: Profile, clock: ManualClock, redis: Redis,
            smtp: SmtpSink, sqlite_template: Path) -> Iterator[Runtime]:
    """A migrated SQLite store, the zezhou profile, the manual clock and a flushed Redis,
    installed as the process runtime so jobs run in-process see them."""
    copy_template(sqlite_template, settings.sqlalchemy_url)
    rt = Runtime(settings=settings, profile=profile, clock=clock, redis=redis)
    set_runtime(rt)
    yield rt
    set_runtime(None)
    rt.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, runtime: Runtime) -> Iterator[Runtime]:
    """``runtime`` on SQLite, then on a freshly migrated PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield runtime
        return
    with postgres_runtime(request.getfixturevalue("pg_server"), runtime, f"yuqing_{request.module.__name__}") as rt:
        yield rt


@pytest.fixture(scope="session")
def seeded_stores(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[Any, ...], tuple[Path, dict[str, Any]]]:
    """SQLite stores already holding the seeded story, by (clock, profile): seeding hashes five
    passwords with argon2 and writes a few hundred rows, the same every time."""
    return {}


@pytest.fixture
def story(runtime: Runtime, seeded_stores: dict[tuple[Any, ...], tuple[Path, dict[str, Any]]],
          tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The dashboards' seeded day (tests/dashboard_seed.py) with its sign-in accounts. Seeded once
    per clock reading and profile; later tests get a copy of that store."""
    key = (runtime.clock.now(), runtime.profile.source_path, runtime.settings.database_url)
    if runtime.settings.database_url:  # not SQLite: seed it
        return factories.story(runtime)
    runtime.engine.dispose()  # no connection may hold the file while it is replaced or copied
    if key in seeded_stores:
        path, ids = seeded_stores[key]
        copy_template(path, runtime.settings.sqlalchemy_url)
        return copy.deepcopy(ids)
    ids = factories.story(runtime)
    runtime.engine.dispose()
    path = tmp_path_factory.mktemp("story") / "yuqing.db"
    seeded = runtime.settings.sqlalchemy_url.split("///", 1)[1]
    with sqlite3.connect(seeded) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(seeded, path)
    seeded_stores[key] = (path, copy.deepcopy(ids))
    return ids


@pytest.fixture
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """``workers(rt, **env)`` starts a real `yuqing worker` process on ``rt``'s store and Redis,
    ``workers.start_together(rt, n, **env)`` several at once (tests/reliability_procs.py); every
    one still running is stopped at the test's end. In a test under ``print_stand_in`` the
    workers' print is stood in for too (tests/chromium_stand_in.py)."""
    from reliability_procs import WorkerPool

    stand_in = "print_stand_in" in request.fixturenames and "chromium_print" not in request.fixturenames
    pool = WorkerPool(tmp_path, print_stand_in=stand_in)
    yield pool
    pool.stop_all()


@pytest.fixture
def chromium_print() -> None:
    """Asked for by a test that reads a printed PDF: ``print_stand_in`` steps aside for it."""


@pytest.fixture
def print_stand_in(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chromium's print of issued documents (专报, 续报, 终报, 日报) and response reports stood in
    for by a fixed PDF, for test files that route, mail and count documents but read no PDF
    (``pytestmark = pytest.mark.usefixtures("print_stand_in")``): on the 2-core machine each
    document took two or three prints and a pdftotext, about 10 s under load. Everything around
    the print is as before: it runs after the commit, the mail waits for it and carries the
    file; worker processes the test starts (``workers``) print through the same stand-in. What
    Chromium prints is tested where it is read: test_documents_pdf.py,
    test_documents_render.py, test_dashboards_reports.py, test_alerts_digests.py and, with
    ``chromium_print``, the 专报 mail test of test_queue_referrals.py."""
    if "chromium_print" in request.fixturenames:
        return
    monkeypatch.setattr("yuqing.documents.issued.html_to_pdf", lambda page: STAND_IN_PDF)
    monkeypatch.setattr("yuqing.dashboards.reports.html_to_pdf", lambda page: STAND_IN_PDF)
    monkeypatch.setattr("yuqing.dashboards.routes.liaison.html_to_pdf", lambda page: STAND_IN_PDF)


@pytest.fixture
def drain(runtime: Runtime):  # type: ignore[no-untyped-def]
    """Run every queued job in this process with a real RQ SimpleWorker until the queues are empty."""
    from rq import SimpleWorker

    from yuqing.tasks.dispatch import QUEUE_NAMES

    def run(queues: tuple[str, ...] = QUEUE_NAMES, rounds: int = 20) -> int:
        from rq import Queue

        done = 0
        for _ in range(rounds):
            pending = sum(Queue(q, connection=runtime.redis).count for q in queues)
            if not pending:
                break
            worker = SimpleWorker(list(queues), connection=runtime.redis)
            worker.work(burst=True)
            done += pending
        return done

    return run
