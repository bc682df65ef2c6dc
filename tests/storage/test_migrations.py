"""Migrations on SQLite and PostgreSQL: an empty database, and one written by the previous release.

``previous_release.json`` holds every row the previous release stored after a real run over the
seeds and four feeds (see make_previous_release.py); it is loaded at that release's revision and
upgraded with ``ingest db upgrade``, then used by the current release.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, LargeBinary, MetaData, text
from sqlalchemy.types import DateTime
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (the tables, on SQLModel.metadata)
from storage import migrate
from storage.db import Database
from storage.search import outside_search_index
from tests.conftest import FIXTURES, ROOT
from tests.ingest.test_cli import ingest, json_lines

PREVIOUS = json.loads((FIXTURES / "migrations" / "previous_release.json").read_text())


def _config(tmp_path: Path, db_url: str) -> Path:
    config = tmp_path / "ingest.toml"
    config.write_text(f'database_url = "{db_url}"\n[[sources]]\nname = "seeds"\npath = "{ROOT / "seeds"}"\n')
    return config


def test_ingest_db_upgrade_builds_an_empty_database_exactly_as_the_code_expects(
    any_db_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, any_db_url)
    first = ingest("db", "upgrade", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert json_lines(first.stderr)[-1]["after"] == migrate.head()
    again = ingest("db", "upgrade", "--config", str(config))
    assert again.returncode == 0 and json_lines(again.stderr)[-1]["before"] == migrate.head()
    db = Database(any_db_url)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_object": outside_search_index}
        )
        assert compare_metadata(context, SQLModel.metadata) == []
    db.close()


def test_a_database_from_the_previous_release_is_upgraded_and_used(any_db_url: str, tmp_path: Path) -> None:
    db = Database(any_db_url)
    migrate.upgrade(db, target=PREVIOUS["revision"])
    with db.engine.begin() as connection:
        _load(connection, PREVIOUS["tables"])
    db.close()
    config = _config(tmp_path, any_db_url)

    upgraded = ingest("db", "upgrade", "--config", str(config))
    assert upgraded.returncode == 0, upgraded.stderr
    assert json_lines(upgraded.stderr)[-1]["before"] == PREVIOUS["revision"]

    exported = ingest("export", "--config", str(config))
    assert exported.returncode == 0, exported.stderr
    articles = json_lines(exported.stdout)
    before = {row["content_hash"]: row["text"] for row in PREVIOUS["tables"]["article"]}
    assert {a["content_hash"]: a["text"] for a in articles} == before  # nothing lost, nothing altered

    rebuilt = ingest("reprocess", "--json", "--config", str(config))  # old raw pages, new extractor
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json_lines(rebuilt.stdout)[0]["failed"] == 0

    again = ingest("run-once", "--json", "--workers", "0", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert json_lines(again.stdout)[0]["articles_new"] == 0  # the seeds were stored by the old release


def _load(connection: Connection, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Insert the dumped rows into the tables as the older revision made them."""
    metadata = MetaData()
    metadata.reflect(connection)
    for table in metadata.sorted_tables:
        rows = tables.get(table.name, [])
        if not rows:
            continue
        connection.execute(table.insert(), [_typed(table.columns, row) for row in rows])
        if connection.dialect.name == "postgresql" and "id" in table.columns:
            # Rows came with their ids: move the sequence past them, as the old inserts had.
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
                )
            )


def _typed(columns: Any, row: dict[str, Any]) -> dict[str, Any]:
    return {name: _value(columns[name].type, value) for name, value in row.items()}


def _value(column_type: Any, value: Any) -> Any:
    if isinstance(value, dict) and isinstance(column_type, LargeBinary):
        return base64.b64decode(value["base64"])
    if isinstance(value, str) and isinstance(column_type, DateTime):
        return datetime.fromisoformat(value)
    return value
