"""The pipeline's door to storage: blocking database work on one thread, awaited from the loop.

One thread per process keeps SQLite writers in this process in a queue of their own (no lock
contention with ourselves) and keeps the event loop free while a transaction waits for a lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlmodel import Session

from storage.db import Database

R = TypeVar("R")


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-db")

    async def write(self, work: Callable[[Session], R]) -> R:
        """Run ``work`` in one write transaction (committed when it returns)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._write, work)

    async def read(self, work: Callable[[Session], R]) -> R:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._read, work)

    def _write(self, work: Callable[[Session], R]) -> R:
        with self.db.write() as session:
            return work(session)

    def _read(self, work: Callable[[Session], R]) -> R:
        with self.db.read(snapshot=False) as session:  # one-query lookups mostly
            return work(session)

    def close(self, wait: bool = True) -> None:
        self._thread.shutdown(wait=wait)
