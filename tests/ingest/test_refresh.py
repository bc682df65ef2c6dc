"""A refresh whose lease was taken over saves nothing: fencing, all in one rolled-back transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from ingest.errors import LeaseLost
from ingest.models import Entry, Validators
from ingest.refresh import refresh
from ingest.schedule import Bounds
from ingest.sources import Poll
from ingest.store import Store
from storage import migrate, sources
from storage.db import Database
from storage.sources import SourceSpec
from storage.tables import Sighting, Source

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


class OneEntry:
    async def poll(self, known: Validators) -> Poll:
        entry = Entry("k1", "g1", "https://x.example/1", "lk1", "T", None, "<p>body</p>", None, None, None)
        return Poll(True, Validators(etag='"v2"', body_hash="h2"), (entry,), 200)

    async def load_page(self, link: str) -> object:
        raise AssertionError("not used")


def test_a_lost_lease_rolls_back_entries_and_validators(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'f.db'}")
    migrate.upgrade(db)
    with db.write() as session:
        sources.sync_declared(
            session, [SourceSpec("s", "feed", "https://x.example/f", None, None, True, True)]
        )
        source = session.exec(select(Source)).one()
        assert sources.try_lease(session, source.id or 0, "me", NOW, NOW + timedelta(seconds=1))
        # The lease expires and another worker takes the source over.
        assert sources.try_lease(
            session, source.id or 0, "them", NOW + timedelta(seconds=2), NOW + timedelta(hours=1)
        )

    async def go() -> None:
        store = Store(db)
        try:
            await refresh(source, OneEntry(), store, "me", NOW, Bounds(1800, 300, 86400))  # type: ignore[arg-type]
        finally:
            store.close()

    with pytest.raises(LeaseLost):
        asyncio.run(go())
    with db.read() as session:
        assert session.exec(select(Sighting)).all() == []
        assert session.exec(select(Source)).one().etag is None
    db.close()
