"""The store against SQLite and a real PostgreSQL server: migrations, aware UTC, constraints."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from yuqing.models import Base, Event, Item, Ticket
from yuqing.store import after_commit, engine_for, migrate, session_scope


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server = request.getfixturevalue("pg_server")
    url = server.url
    engine = engine_for(url)
    with engine.begin() as conn:  # a clean schema for each test
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    return url


def _event(now: datetime, **kw: object) -> Event:
    return Event(title="泽州县煤矿透水", first_seen_at=now, last_seen_at=now, updated_at=now, **kw)


def test_migrations_create_every_table(store_url: str) -> None:
    migrate(store_url)
    tables = set(inspect(engine_for(store_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrations_match_models(store_url: str) -> None:
    """The migration and the models never drift apart (alembic's own comparison)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrate(store_url)
    with engine_for(store_url).connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes; the one there is (item_search's GIN) is
        # PostgreSQL's only (ddl_if) and compared on PostgreSQL.
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []


def test_datetimes_are_aware_utc_round_trip(store_url: str) -> None:
    migrate(store_url)
    shanghai = datetime(2026, 11, 21, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with session_scope(engine_for(store_url)) as s:
        s.add(_event(shanghai))
    with session_scope(engine_for(store_url)) as s:
        ev = s.scalars(select(Event)).one()
        assert ev.first_seen_at.tzinfo is not None
        assert ev.first_seen_at == shanghai
        assert ev.first_seen_at.utcoffset() == timedelta(0)
        assert ev.first_seen_at.hour == 1


def test_naive_datetimes_are_refused(store_url: str) -> None:
    migrate(store_url)
    with pytest.raises(Exception, match="naive datetime"):
        with session_scope(engine_for(store_url)) as s:
            s.add(_event(datetime(2026, 1, 1)))


def test_one_ticket_per_event_and_unique_urls(store_url: str) -> None:
    migrate(store_url)
    now = datetime.now(UTC)
    engine = engine_for(store_url)
    with session_scope(engine) as s:
        ev = _event(now, places=[{"name": "巴公镇", "code": "140525108"}])
        s.add(ev)
        s.flush()
        s.add(Ticket(event_id=ev.id, level="重大", title="t", opened_at=now, detected_at=now, updated_at=now))
        s.add(Item(url="https://a.example/1", url_hash="h1", content_hash="c", fetched_at=now))
        event_id = ev.id
    with pytest.raises(IntegrityError):
        with session_scope(engine) as s:
            s.add(Ticket(event_id=event_id, level="重大", title="t2", opened_at=now, detected_at=now,
                         updated_at=now))
    with pytest.raises(IntegrityError):
        with session_scope(engine) as s:
            s.add(Item(url="https://a.example/1", url_hash="h1", content_hash="d", fetched_at=now))
    with session_scope(engine) as s:
        assert s.get(Event, event_id).places == [{"name": "巴公镇", "code": "140525108"}]


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    migrate(url)
    with engine_for(url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_a_record_history_is_read_through_the_audit_target_index(tmp_path: Path) -> None:
    """The grouping's last notice and every timeline ask the 操作日志 by target (migration 0009)."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    migrate(url)
    with engine_for(url).connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT * FROM audit_log WHERE target_type = 'alert' AND target_id = 7 "
            "ORDER BY at DESC LIMIT 1")))
    assert "ix_audit_log_target" in plan, plan


def test_after_commit_waits_for_the_outermost_commit(tmp_path: Path) -> None:
    """A released SAVEPOINT is not a commit: work enqueued then could reach a worker before
    the rows exist. A rolled-back SAVEPOINT drops only the steps added inside it."""
    engine = engine_for(f"sqlite:///{tmp_path / 'a.db'}")
    ran: list[str] = []
    with session_scope(engine) as s:
        s.execute(text("SELECT 1"))
        after_commit(s, lambda: ran.append("before the savepoints"))
        with s.begin_nested():
            after_commit(s, lambda: ran.append("inside a released savepoint"))
        assert ran == [], "releasing a SAVEPOINT ran the steps before the commit"
        with pytest.raises(ValueError), s.begin_nested():
            after_commit(s, lambda: ran.append("inside a rolled-back savepoint"))
            raise ValueError
        assert ran == []
    assert ran == ["before the savepoints", "inside a released savepoint"]
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        after_commit(s, lambda: ran.append("rolled back"))
        raise RuntimeError
    assert ran == ["before the savepoints", "inside a released savepoint"]
