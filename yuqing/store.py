"""The store: SQLAlchemy engine and sessions; SQLite (WAL) by default, PostgreSQL by URL.

The database is the source of truth for items, events, tickets, deadlines and audit
history. Migrations (Alembic) create and upgrade it; nothing calls ``create_all``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Table, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine.interfaces import DBAPIConnection

log = logging.getLogger(__name__)

SQLITE_BUSY_MS = 30_000
SQLITE_MMAP_BYTES = 2**31 - 2**16  # SQLite's default build caps the map just under 2 GiB


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: object) -> None:
    # Several processes (web, workers, scheduler) share one file: WAL lets readers run
    # beside a writer, and the busy timeout makes a writer wait instead of failing.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Read the file through a memory map: a store of a million items is far past SQLite's 2 MB
    # page cache, which is per connection (every new one, and every forked job, starts cold), so
    # every page touched was a read() syscall (analysis ran 1.7x faster with this on a 1 GB store).
    cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the data folder: owner only
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


_ENGINES: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One engine per URL per process, so jobs share a pool instead of opening their own."""
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A short transaction: commit on success, roll back on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def write_lock_first(session: Session) -> None:
    """Take the store's write lock as the transaction's first act (SQLite: ``BEGIN IMMEDIATE``;
    PostgreSQL: nothing, its row locks and unique indexes already order such writers), for a
    transaction that reads, decides and then writes what another process may be deciding at
    once. On SQLite the default transaction starts at its first write, on the snapshot its
    reads began: where another writer committed meanwhile, that write fails at once with
    "database is locked" (a stale snapshot is not waited out by the busy timeout). Begun with
    the lock, the second waits for the first and then reads what it wrote."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def insert_ignoring(session: Session, table: Table, unique: list[str]) -> Any:
    """``INSERT … ON CONFLICT (unique) DO NOTHING`` in the session's dialect (SQLite or
    PostgreSQL): rows another process stored first are skipped, not an error, and
    ``RETURNING`` gives only the rows this statement inserted."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=unique)


_AFTER_COMMIT = "yuqing.store.after_commit"


def after_commit(session: Session, fn: Callable[[], object]) -> None:
    """Run ``fn`` once ``session`` commits; forget it if the session rolls back.

    For enqueueing work about rows this session writes: a job enqueued before the commit
    could reach a worker that cannot see the row yet. A step that fails (Redis down) is
    logged and dropped; the periodic sweeps recover such work from the database.

    Only the outermost commit runs the steps: SQLAlchemy also fires ``after_commit`` when a
    SAVEPOINT (``begin_nested``) is released, which would enqueue work, or print a 专报, before
    the rows are committed. A rolled-back SAVEPOINT drops only the steps added inside it.
    """
    steps: list[tuple[SessionTransaction | None, Callable[[], object]]] | None = session.info.get(_AFTER_COMMIT)
    if steps is None:
        steps = session.info[_AFTER_COMMIT] = []
        event.listen(session, "after_commit", _run_after_commit)
        event.listen(session, "after_soft_rollback", _drop_after_rollback)
    steps.append((session.get_nested_transaction() or session.get_transaction(), fn))


def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: nothing is committed yet
    steps = session.info.get(_AFTER_COMMIT) or []
    pending, steps[:] = list(steps), []
    for _, step in pending:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - Redis down: the sweeps recover from the database
            log.warning("after-commit step failed (%s); the sweep will recover it", exc)


def _drop_after_rollback(session: Session, previous: SessionTransaction) -> None:
    steps = session.info.get(_AFTER_COMMIT)
    if not steps:
        return
    if previous.parent is None:
        steps.clear()
        return
    steps[:] = [(tx, fn) for tx, fn in steps if not _inside(tx, previous)]


def _inside(tx: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while tx is not None:
        if tx is outer:
            return True
        tx = tx.parent
    return False


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # local: Alembic loads only where the schema is migrated

    folder = resources.files("yuqing").joinpath("migrations")
    cfg = Config()
    cfg.set_main_option("script_location", str(folder))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` through the Alembic migrations."""
    from alembic import command  # local: as above

    engine_for(url)  # make sure the SQLite folder exists
    command.upgrade(alembic_config(url), revision)


def schema_ready(url: str) -> bool:
    """Whether ``yuqing init`` has made this database; never creates a file or a folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path and path != ":memory:" and not Path(path).is_file():
            return False  # connecting would leave an empty yuqing.db behind
    try:
        return inspect(engine_for(url)).has_table("alembic_version")
    except Exception:  # noqa: BLE001 - unreachable is the caller's next error, not "not initialised"
        return True


def dispose_all() -> None:
    """Drop pooled connections inherited across a fork, without closing the parent's."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)


_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy",
                     "unable to open database file", "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """The database was locked, unreachable or restarting: the job is fine, try it later."""
    if isinstance(exc, (DisconnectionError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    orig = getattr(exc, "orig", None)
    if type(orig).__module__.startswith("sqlite3"):
        # SQLite also says OperationalError for "no such table": a bug, not an outage.
        return any(text in str(orig).lower() for text in _SQLITE_TRANSIENT)
    return True  # PostgreSQL (psycopg): connection refused, shut down, serialization failure
