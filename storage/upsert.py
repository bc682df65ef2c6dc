"""Insert-or-ignore behind one function, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

_CHUNK = 200  # rows per statement: well under SQLite's bound-parameter limit


def table_of(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]  # set by SQLModel's metaclass
    return table


def affected(result: Result[Any]) -> int:
    """Rows an UPDATE or INSERT touched."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def insert_ignore(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows, skipping any that would break a unique constraint; returns rows inserted."""
    if not rows:
        return 0
    table = table_of(model)
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    inserted = 0
    key = next(iter(table.primary_key.columns))
    for start in range(0, len(rows), _CHUNK):
        statement = module.insert(table).values(list(rows[start : start + _CHUNK])).on_conflict_do_nothing()
        # RETURNING names exactly the rows written; rowcount is unreliable for multi-row inserts.
        inserted += len(session.execute(statement.returning(key)).all())
    return inserted
