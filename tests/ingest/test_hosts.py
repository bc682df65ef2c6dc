"""Politeness shared through the database: two workers, one host, one spacing and one pause."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlmodel import col, select

from ingest.clock import SystemClock
from ingest.hosts import HostGate, HostHeld
from ingest.runtime import shared_ledger
from ingest.store import Store
from storage import hosts, migrate
from storage.db import Database
from storage.tables import Host

SPACING = 0.25


@pytest.fixture
def db(any_db_url: str) -> Database:
    database = Database(any_db_url)
    migrate.ensure_schema(database)
    return database


def _worker(db: Database) -> tuple[Store, HostGate]:
    store = Store(db)
    return store, HostGate(4, SPACING, SystemClock(), ledger=shared_ledger(store))


def test_spacing_holds_across_workers(db: Database) -> None:
    """Two gates (two workers) asking at once for the same host start one spacing apart."""
    starts: list[float] = []

    async def ask(gate: HostGate) -> None:
        async with gate.request("news.example"):
            starts.append(time.time())

    async def go() -> None:
        first, second = _worker(db), _worker(db)
        try:
            await asyncio.gather(*(ask(gate) for _, gate in (first, second) for _ in range(3)))
        finally:
            for store, _ in (first, second):
                store.close()

    asyncio.run(go())
    starts.sort()
    assert len(starts) == 6
    # time.time() against the booked wall-clock starts: allow the clock's own jitter, nothing more
    assert all(later - earlier >= SPACING - 0.01 for earlier, later in pairwise(starts))
    db.close()


def test_a_pause_another_worker_recorded_stops_the_next_request(db: Database) -> None:
    until = datetime.now(UTC) + timedelta(minutes=5)
    with db.write() as session:
        hosts.hold(session, "news.example", until)

    async def go() -> None:
        store, gate = _worker(db)
        try:
            async with gate.request("other.example"):
                pass
            with pytest.raises(HostHeld) as held:
                async with gate.request("news.example"):
                    pytest.fail("a request was let through during the pause")
            assert held.value.until == until
            with pytest.raises(HostHeld):  # known locally from now on, without asking again
                async with gate.request("news.example"):
                    pass
        finally:
            store.close()

    asyncio.run(go())
    db.close()


def test_a_new_host_met_by_four_workers_at_once_is_created_once(db: Database) -> None:
    async def touch(gate: HostGate) -> None:
        async with gate.request("fresh.example"):
            pass

    async def go() -> None:
        workers = [_worker(db) for _ in range(4)]
        try:
            await asyncio.gather(*(touch(gate) for _, gate in workers))
        finally:
            for store, _ in workers:
                store.close()

    asyncio.run(go())
    with db.read() as session:
        rows = session.exec(select(Host).where(col(Host.host) == "fresh.example")).all()
    assert len(rows) == 1
    assert rows[0].next_allowed_at is not None
    db.close()


def test_with_no_spacing_nothing_is_booked_and_pauses_are_still_seen(db: Database) -> None:
    """per_host_delay = 0: requests write nothing to the host's row (no booking to keep), and a pause
    another worker records is seen within PEEK_EVERY — the row is read, at most once a second."""
    from ingest.hosts import PEEK_EVERY

    async def go() -> None:
        store = Store(db)
        gate = HostGate(4, 0.0, SystemClock(), ledger=shared_ledger(store))
        try:
            for _ in range(20):
                async with gate.request("quick.example"):
                    pass
            with db.read() as session:
                assert session.get(Host, "quick.example") is None, "a booking was written"
            with db.write() as session:  # another worker is told to wait
                hosts.hold(session, "quick.example", datetime.now(UTC) + timedelta(minutes=5))
            await asyncio.sleep(PEEK_EVERY + 0.05)
            with pytest.raises(HostHeld):
                async with gate.request("quick.example"):
                    pytest.fail("a request was let through during the pause")
        finally:
            store.close()

    asyncio.run(go())
    db.close()
