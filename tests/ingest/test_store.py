"""The store's writes: queued writes share one transaction, and one that fails fails alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import event, text
from sqlmodel import Session

from ingest.store import Store
from storage import migrate
from storage.db import Database


@pytest.fixture
def db(any_db_url: str) -> Database:
    database = Database(any_db_url)
    migrate.ensure_schema(database)
    return database


def _add_host(name: str) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        session.execute(text("INSERT INTO host (host) VALUES (:host)"), {"host": name})
        return name

    return work


def _hosts(db: Database) -> set[str]:
    with db.read() as session:
        return {row[0] for row in session.execute(text("SELECT host FROM host"))}


def test_writes_queued_together_are_committed_in_one_transaction(db: Database) -> None:
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _connection: commits.append(1))
    hold = threading.Event()

    async def go() -> list[object]:
        store = Store(db)
        try:
            # Keep the database thread busy so that the next writes queue up behind it.
            blocker = asyncio.ensure_future(store.write(lambda _session: hold.wait(5)))
            await asyncio.sleep(0.05)
            writes = [asyncio.ensure_future(store.write(_add_host(f"h{i}.example"))) for i in range(10)]
            await asyncio.sleep(0.05)
            hold.set()
            await blocker
            return list(await asyncio.gather(*writes))
        finally:
            store.close()

    names = asyncio.run(go())
    assert names == [f"h{i}.example" for i in range(10)]
    assert _hosts(db) == set(names)
    assert len(commits) == 2, "the ten queued writes were not committed as one batch"
    db.close()


def test_a_failing_write_in_a_batch_is_rolled_back_alone(db: Database) -> None:
    hold = threading.Event()

    def broken(session: Session) -> None:
        session.execute(text("INSERT INTO host (host) VALUES ('broken.example')"))
        raise ValueError("this write fails after writing")

    async def go() -> list[object]:
        store = Store(db)
        try:
            blocker = asyncio.ensure_future(store.write(lambda _session: hold.wait(5)))
            await asyncio.sleep(0.05)
            writes = [
                asyncio.ensure_future(store.write(_add_host("before.example"))),
                asyncio.ensure_future(store.write(broken)),
                asyncio.ensure_future(store.write(_add_host("before.example"))),
                asyncio.ensure_future(store.write(_add_host("after.example"))),
            ]
            await asyncio.sleep(0.05)
            hold.set()
            await blocker
            return list(await asyncio.gather(*writes, return_exceptions=True))
        finally:
            store.close()

    outcomes = asyncio.run(go())
    assert outcomes[0] == "before.example"
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2].__class__.__name__ == "IntegrityError", "a duplicate key must fail that write only"
    assert outcomes[3] == "after.example"
    assert _hosts(db) == {"before.example", "after.example"}
    db.close()


def test_a_lone_write_is_its_own_transaction_and_reads_see_it(db: Database) -> None:
    async def go() -> set[str]:
        store = Store(db)
        try:
            await store.write(_add_host("alone.example"))
            found = await store.read(lambda session: session.execute(text("SELECT host FROM host")).all())
            return {row[0] for row in found}
        finally:
            store.close()

    assert asyncio.run(go()) == {"alone.example"}
    db.close()
