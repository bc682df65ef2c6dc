"""Insert-or-ignore behind one function, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]  # set by SQLModel's metaclass
    return table


def affected(result: Result[Any]) -> int:
    """Rows an UPDATE or INSERT touched."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def insert_ignore(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows, skipping any that would break a unique constraint; returns rows inserted.

    One statement, run with every row as parameters: SQLAlchemy compiles it once (cached across
    calls) and sends the rows in multi-VALUES batches ("insertmanyvalues"). RETURNING names
    exactly the rows written; rowcount is unreliable for such inserts.
    """
    if not rows:
        return 0
    statement = _insert_ignoring(session.get_bind().dialect.name, table_of(model))
    return len(session.connection().execute(statement, [dict(row) for row in rows]).all())


def insert_one_ignore(session: Session, model: type[SQLModel], row: Mapping[str, Any]) -> Any | None:
    """Insert one row unless it breaks a unique constraint: its primary key, or None if it was not
    written (one statement: the key comes back with the insert, no lookup after it)."""
    statement = _insert_ignoring(session.get_bind().dialect.name, table_of(model))
    return session.connection().execute(statement, dict(row)).scalar_one_or_none()


@cache
def _insert_ignoring(dialect: str, table: Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the first key column, built once per table."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    key = next(iter(table.primary_key.columns))
    return module.insert(table).on_conflict_do_nothing().returning(key)
