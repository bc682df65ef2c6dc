"""Engines and transactions.

SQLite is set up for several writers: WAL (readers never block the writer), a long busy timeout,
and every write transaction opened with ``BEGIN IMMEDIATE`` so the write lock is taken up front.
A deferred transaction that reads and then writes can fail with "database is locked" when another
writer got in between; an immediate one waits its turn instead.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 60_000
PG_CONNECT_TIMEOUT_S = 10
PG_POOL_RECYCLE_S = 1800  # reconnect before idle connections are cut by firewalls and proxies
_READONLY = "ingest_readonly"


class StorageError(Exception):
    """The database cannot be used: bad URL, unreachable server, schema too old or too new."""


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session inside one write transaction, committed on success, rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self, snapshot: bool = True) -> Iterator[Session]:
        """A session for reads only: on SQLite it takes no write lock.

        ``snapshot=False`` (PostgreSQL): no transaction around the reads, each statement sees what
        is committed when it runs; it saves the BEGIN and COMMIT round trips of the pipeline's
        many one-query lookups. Keep the default for anything that reads several statements as
        one picture or streams with a server-side cursor.
        """
        options: dict[str, Any] = {_READONLY: True}
        if not snapshot and not self.is_sqlite:
            options["isolation_level"] = "AUTOCOMMIT"
        connection = self.engine.connect().execution_options(**options)
        try:
            with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                yield session
        finally:
            connection.close()

    def problem(self) -> str | None:
        """Why the database cannot be used right now (a readiness check), or None when it can.

        A pooled connection to a server that went away fails here and is discarded (the next
        check connects afresh); a database file that was removed shows too.
        """
        database = self.engine.url.database
        if self.is_sqlite and database and database != ":memory:" and not Path(database).exists():
            return f"the database file {database} is missing"
        try:
            # Read-only: on SQLite a plain BEGIN, never the write lock the pipeline's writers hold.
            with self.engine.connect().execution_options(**{_READONLY: True}) as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error: the answer is "not ready", with the reason
            first_line = (str(exc).strip().splitlines() or [""])[0]
            return f"{type(exc).__name__}: {first_line}"
        return None

    def close(self) -> None:
        self.engine.dispose()


def serialize(session: Session, key: int) -> None:
    """Queue this transaction behind any other holding ``key`` until it ends.

    PostgreSQL: a transaction-scoped advisory lock. SQLite needs none: its write transactions
    already run one at a time (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError and ValueError alike
        raise StorageError(f"database_url {url!r} is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    try:
        # A server that does not answer must not hang a worker (or a readiness check) for minutes.
        # No pre-ping: it would cost a round trip per transaction, and the pipeline makes several
        # per article. After a server restart a pooled connection fails once, is discarded by
        # SQLAlchemy, and the work it carried is retried like any other failure.
        return create_engine(
            url, pool_recycle=PG_POOL_RECYCLE_S, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S}
        )
    except Exception as exc:  # a missing driver or a malformed URL
        raise StorageError(f"cannot use database_url {url!r}: {exc}") from None


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself instead of pysqlite's implicit one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL, waiting while another process holds the lock the switch needs: processes
    starting together on a new database file may each try it at once, and SQLite can answer
    "database is locked" at once there instead of waiting on its busy handler."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_on_begin(connection: Connection) -> None:
    readonly = connection.get_execution_options().get(_READONLY, False)
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
