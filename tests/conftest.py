"""Shared fixtures: a loopback HTTP server, a throwaway database, settings that allow loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from ingest.settings import Settings
from storage import migrate, sources
from storage.db import Database
from storage.sources import SourceSpec
from tests.support.postgres import fresh_database
from tests.support.server import LoopbackServer

# CI replays the same generated examples every run (a red build is always reproducible); a
# developer's runs explore new ones.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    running = LoopbackServer().start()
    yield running
    running.stop()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ingest.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (skipped with the reason when there is no server, failed in CI)."""
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ingest.db'}"
        return
    with fresh_database() as url:
        yield url


def make_settings(db_url: str, sources: list[dict[str, Any]], **sections: Any) -> Settings:
    """Settings for tests: loopback allowed, short timeouts, no robots.txt unless asked."""
    fetch = {
        "allow_networks": ["127.0.0.0/8"],
        "timeout": 5.0,
        "respect_robots_txt": False,
        "per_host_delay": 0,
        **sections.pop("fetch", {}),
    }
    return Settings(database_url=db_url, fetch=fetch, sources=sources, **sections)


@pytest.fixture
def db(any_db_url: str) -> Iterator[Database]:
    """A migrated database (SQLite, then PostgreSQL) with one feed source named ``feed``."""
    database = Database(any_db_url)
    migrate.upgrade(database)
    with database.write() as session:
        sources.sync_declared(
            session, [SourceSpec("feed", "feed", "https://x.example/f", None, None, True, True)]
        )
    yield database
    database.close()
