"""The pipeline's door to storage: blocking database work on one thread, awaited from the loop.

One thread per process keeps SQLite writers in this process in a queue of their own (no lock
contention with ourselves) and keeps the event loop free while a transaction waits for a lock.

Writes that queue up while the thread is busy are committed together: one transaction per batch,
each write inside a savepoint of its own, so one that fails (a lost lease, a constraint) is rolled
back alone and reported to its caller, while the others are committed. Under load this turns a
transaction per article into one per batch; a lone write is still a transaction of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session

from storage.db import Database

R = TypeVar("R")
MAX_BATCH = 32  # writes per transaction: enough to amortise it, short enough not to hold locks long


@dataclass(slots=True)
class _Write:
    work: Callable[[Session], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class Store:
    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-db")
        self._queued: list[_Write] = []
        self._lock = threading.Lock()
        self._flush_scheduled = False

    async def write(self, work: Callable[[Session], R]) -> R:
        """Run ``work`` in a write transaction (committed once it and its batch returned)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        with self._lock:
            self._queued.append(_Write(work, future, loop))
            schedule, self._flush_scheduled = not self._flush_scheduled, True
        if schedule:
            self._thread.submit(self._flush)
        return await future

    async def read(self, work: Callable[[Session], R]) -> R:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._read, work)

    def _flush(self) -> None:
        """One batch of the queued writes (on the database thread); the rest wait their turn
        behind any reads submitted meanwhile."""
        with self._lock:
            batch, self._queued = self._queued[: self.max_batch], self._queued[self.max_batch :]
        outcomes = self._write_one(batch[0]) if len(batch) == 1 else self._write_batch(batch)
        _hand_back_all(batch, outcomes)
        with self._lock:
            self._flush_scheduled = bool(self._queued)
            more = self._flush_scheduled
        if more:
            try:
                self._thread.submit(self._flush)
            except RuntimeError as exc:  # closed meanwhile: the writes still queued will not run
                with self._lock:
                    left, self._queued = self._queued, []
                for write in left:
                    _hand_back(write, False, exc)

    def _write_one(self, write: _Write) -> list[tuple[bool, Any]]:
        try:
            with self.db.write() as session:
                return [(True, write.work(session))]
        except BaseException as exc:
            return [(False, exc)]

    def _write_batch(self, batch: list[_Write]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self.db.write() as session:
                for write in batch:
                    outcomes.append(_in_savepoint(session, write.work))
        except BaseException as exc:
            return [(False, exc)] * len(batch)
        return outcomes

    def _read(self, work: Callable[[Session], R]) -> R:
        with self.db.read(snapshot=False) as session:  # one-query lookups mostly
            return work(session)

    def close(self, wait: bool = True) -> None:
        self._thread.shutdown(wait=wait)


def _in_savepoint(session: Session, work: Callable[[Session], Any]) -> tuple[bool, Any]:
    try:
        with session.begin_nested():
            return True, work(session)
    except Exception as exc:  # rolled back to the savepoint; the batch's other writes stand
        return False, exc


def _hand_back_all(batch: list[_Write], outcomes: list[tuple[bool, Any]]) -> None:
    """Settle a batch's futures with one wake-up of each loop, not one per write."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for write, (ok, value) in zip(batch, outcomes, strict=True):
        by_loop.setdefault(write.loop, []).append((write.future, ok, value))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_all, settled)


def _settle_all(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        _settle(future, ok, value)


def _hand_back(write: _Write, ok: bool, value: Any) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        write.loop.call_soon_threadsafe(_settle, write.future, ok, value)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
