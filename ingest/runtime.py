"""What passes share: the HTTP client and its host gate, robots.txt, the process pool, the store.

``run-once`` opens one for a single pass; the daemon keeps one open for its whole life, so the pool
stays warm and politeness state (per-host spacing, pauses, robots.txt) carries from tick to tick.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from functools import partial

from ingest.client import HttpClient
from ingest.clock import Clock
from ingest.cpu import CpuPool
from ingest.hosts import HostGate, Ledger
from ingest.models import Vocabulary
from ingest.process import EntryContext, LinkLocks
from ingest.robots import RobotsCache
from ingest.settings import Settings
from ingest.store import Store
from storage import hosts
from storage.db import Database


@dataclass
class Runtime:
    settings: Settings
    store: Store
    client: HttpClient
    cpu: CpuPool
    robots: RobotsCache | None
    entries: EntryContext
    clock: Clock

    @classmethod
    def open(cls, settings: Settings, db: Database, processes: int, owner: str, clock: Clock) -> Runtime:
        store = Store(db)
        fetch = settings.fetch
        gate = HostGate(fetch.per_host_concurrency, fetch.per_host_delay, clock, ledger=shared_ledger(store))
        client = HttpClient(fetch, gate=gate, clock=clock)
        cpu = CpuPool(processes, settings.extract_timeout)
        robots = RobotsCache(client, store) if settings.fetch.respect_robots_txt else None
        words = Vocabulary(settings.normalize.related_labels, settings.normalize.paywall_phrases)
        entries = EntryContext(store, cpu, owner, LinkLocks(), words, clock)
        return cls(settings, store, client, cpu, robots, entries, clock)

    async def close(self, wait: bool = True) -> None:
        """Close everything; ``wait=False`` (shutdown) does not wait for extraction jobs to end."""
        try:
            await self.client.aclose()
        finally:
            self.cpu.close(wait)
            self.store.close(wait)

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: types.TracebackType | None
    ) -> None:
        await self.close()


def shared_ledger(store: Store) -> Ledger:
    """Request starts booked in the database: per-host spacing shared by every worker."""

    async def book(host: str, spacing_s: float) -> hosts.Turn:
        if spacing_s <= 0:  # nothing to space: no write, only the pause another worker may have set
            return await store.read(partial(hosts.peek, host=host))
        return await store.write(partial(hosts.book_turn, host=host, spacing_s=spacing_s))

    return book
