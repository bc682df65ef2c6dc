"""Schema migrations (Alembic), run programmatically on our own connection."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import OperationalError

from storage.db import Database, StorageError

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: serialises concurrent upgrades of one PostgreSQL database.
_PG_LOCK_KEY = 4_152_773_001


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "the migrations directory has no revision"
    return revision


def current(db: Database) -> str | None:
    try:
        with db.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise StorageError(f"cannot open the database {db.url}: {exc.orig}") from None


def upgrade(db: Database, only_if_empty: bool = False, target: str = "head") -> tuple[str | None, str]:
    """Bring the schema to the newest revision (or ``target``, an older one); returns (before, after).

    Everything is decided inside one locked transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
    advisory lock), so processes starting together on a new database queue up: the first creates
    the schema, the others find it done. With ``only_if_empty`` a database that is neither empty nor
    ingest's, or is behind, is left alone and refused.
    """
    config = _config()
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        before = MigrationContext.configure(connection).get_current_revision()
        if only_if_empty and before != head():
            _refuse_unless_empty(db, connection, before)
        config.attributes["connection"] = connection
        command.upgrade(config, target)
    return before, head() if target == "head" else target


def _refuse_unless_empty(db: Database, connection: Connection, revision: str | None) -> None:
    if revision is None:
        if inspect(connection).get_table_names():
            raise StorageError(f"{db.url} holds tables that are not ingest's; point database_url elsewhere")
        return
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if revision in known:
        raise StorageError(
            f"the database schema is at {revision}, older than this release: run `ingest db upgrade`"
        )
    raise StorageError(f"the database schema {revision} is newer than this release of ingest; upgrade ingest")


def ensure_schema(db: Database) -> None:
    """Create the schema in an empty database; refuse one that is behind or ahead, naming the fix."""
    if current(db) != head():
        upgrade(db, only_if_empty=True)
