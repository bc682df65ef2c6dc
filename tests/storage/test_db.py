"""SQLite under concurrent writers, migrations, and UTC timestamps."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from storage import migrate
from storage.db import Database, StorageError
from storage.search import outside_search_index
from storage.tables import Run, Source

WRITERS = 4
INCREMENTS = 150


def _increment(url: str) -> None:
    db = Database(url)
    for _ in range(INCREMENTS):
        with db.write() as session:
            run = session.exec(select(Run)).one()  # read, then write, in one transaction
            run.entries_seen += 1
            session.add(run)
    db.close()


def test_concurrent_writers_neither_lose_updates_nor_fail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    db = Database(url)
    migrate.upgrade(db)
    with db.write() as session:
        session.add(Run(trigger="test", owner="t"))
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(url,)) for _ in range(WRITERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * WRITERS  # no "database is locked"
    with db.read() as session:
        assert session.exec(select(Run)).one().entries_seen == WRITERS * INCREMENTS
    db.close()


def test_wal_and_busy_timeout_are_on(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.close()


def test_missing_directories_are_created(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a' / 'b' / 'ingest.db'}")
    migrate.ensure_schema(db)
    assert (tmp_path / "a" / "b" / "ingest.db").exists()
    db.close()


def test_empty_database_is_upgraded_and_upgrade_is_idempotent(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    assert migrate.current(db) is None
    migrate.ensure_schema(db)
    assert migrate.current(db) == migrate.head()
    assert migrate.upgrade(db) == (migrate.head(), migrate.head())
    db.close()


def test_foreign_or_older_schemas_are_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE unrelated (x INTEGER)")
    db = Database(f"sqlite:///{path}")
    with pytest.raises(StorageError, match="not ingest's"):
        migrate.ensure_schema(db)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999')")
    with pytest.raises(StorageError, match="newer than this release"):
        migrate.ensure_schema(db)
    db.close()


def test_bad_urls_are_storage_errors() -> None:
    with pytest.raises(StorageError):
        Database("not a url at all")
    with pytest.raises(StorageError):
        Database("nosuchdb://x")


def test_timestamps_come_back_as_utc(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 't.db'}")
    migrate.upgrade(db)
    paris = timezone(timedelta(hours=2))
    with db.write() as session:
        session.add(
            Source(
                name="s",
                kind="feed",
                url="https://x.example/f",
                next_fetch_at=datetime(2024, 6, 1, 12, tzinfo=paris),
            )
        )
    with db.read() as session:
        stored = session.exec(select(Source)).one().next_fetch_at
    assert stored == datetime(2024, 6, 1, 10, tzinfo=UTC) and stored.tzinfo == UTC
    with pytest.raises(Exception, match="naive datetime"), db.write() as session:
        session.add(
            Source(name="n", kind="feed", url="https://x.example/g", next_fetch_at=datetime(2024, 6, 1))
        )
    db.close()


def test_migrations_build_exactly_the_tables_the_code_uses(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    migrate.upgrade(db)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_object": outside_search_index}
        )
        assert compare_metadata(context, SQLModel.metadata) == []
    db.close()


def test_insert_one_ignore_returns_the_new_key_or_none_on_conflict(tmp_path: Path) -> None:
    from storage.tables import Host
    from storage.upsert import insert_one_ignore

    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    migrate.ensure_schema(db)
    with db.write() as session:
        assert insert_one_ignore(session, Host, {"host": "a.example"}) == "a.example"
        assert insert_one_ignore(session, Host, {"host": "a.example"}) is None
    db.close()
