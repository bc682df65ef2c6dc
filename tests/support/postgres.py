"""A fresh PostgreSQL database per test, on the server CI starts (or this machine's).

The server comes from $INGEST_TEST_POSTGRES_URL, else postgresql+psycopg://postgres@127.0.0.1:5432/postgres.
When it cannot be reached, PostgreSQL tests are skipped with the reason — except in CI ($CI set),
where they fail: CI must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy.engine import make_url

DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("INGEST_TEST_POSTGRES_URL") or DEFAULT


def _libpq(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def available() -> str | None:
    """None when the server answers; otherwise why not."""
    try:
        with psycopg.connect(_libpq(server_url()), connect_timeout=3, autocommit=True) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {server_url()} is not reachable ({str(exc).strip().splitlines()[0]})"
    return None


def require() -> None:
    reason = available()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the PostgreSQL tests (.ci/run starts the server)")
    pytest.skip(reason)


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    require()
    name = f"ingest_test_{uuid.uuid4().hex[:12]}"
    admin = _libpq(server_url())
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(server_url())
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
