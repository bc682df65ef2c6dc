"""Opening the database for a command: at the current schema, with the config's sources synced."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ingest.errors import ConfigError
from ingest.settings import Settings, SourceConfig
from storage import migrate
from storage import sources as source_store
from storage.db import Database
from storage.sources import SourceSpec


def spec_of(source: SourceConfig) -> SourceSpec:
    return SourceSpec(
        name=source.name,
        kind=source.kind,
        url=source.url,
        path=str(source.path) if source.path else None,
        interval_s=source.interval,
        full_text=source.full_text,
        enabled=source.enabled,
        filters=json.dumps({"keep": list(source.keep), "block": list(source.block)}, ensure_ascii=False)
        if source.keep or source.block
        else None,
        download_enclosures=source.download_enclosures,
    )


def open_database(settings: Settings) -> Database:
    """The database at the current schema (an empty one is created), with the config's sources synced."""
    db = Database(settings.database_url)
    migrate.ensure_schema(db)
    with db.write() as session:
        source_store.sync_declared(session, [spec_of(s) for s in settings.sources])
    return db


def with_db(settings: Settings, work: Callable[[Database], Any]) -> Any:
    db = open_database(settings)
    try:
        return work(db)
    finally:
        db.close()


def check_source_names(names: Sequence[str], known: set[str]) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            "unknown_source",
            f"no source named {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known)) or 'none'})",
        )
