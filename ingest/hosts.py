"""Politeness per host, shared by feed and page requests: how many at once, how far apart, and
pauses the host asked for.

- at most ``per_host_concurrency`` requests in flight per host;
- at least ``per_host_delay`` (or the host's robots.txt Crawl-delay, when longer) between the starts
  of two requests to the same host — real time. With a *ledger* (the pipeline always has one) each
  start is booked in the database, so the spacing holds across every worker sharing it; without
  one (a bare client) it holds within the process, by the monotonic clock;
- no request at all while the host holds us off (Retry-After on a 429 or 503): those requests are
  refused with :class:`HostHeld` at once instead of waiting, by the scheduler's clock. A pause
  another worker recorded comes back with the booking, so it stops this worker's next request.

The concurrency bound is per process: N workers may have N × ``per_host_concurrency`` requests in
flight to one host, each start still spaced by the shared delay.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import structlog

from ingest.clock import Clock
from ingest.errors import FetchError, HTTPStatusError, IngestError
from ingest.urls import host_of
from storage.hosts import Turn

log = structlog.get_logger()
# A pause shorter than this ("Retry-After: 0", a date already past) still waits this long: work put
# off for a pause must not come straight back and ask again.
MIN_PAUSE = 30.0
# With no spacing to keep there is nothing to book: the host's row is only read, for pauses other
# workers recorded, at most this often (seconds) per host.
PEEK_EVERY = 1.0

# Books the next request start to a host, given the spacing: (host, seconds) -> Turn. A spacing of
# 0 books nothing and only reads the host's pause.
Ledger = Callable[[str, float], Awaitable[Turn]]


class HostHeld(FetchError):
    """The host asked for a pause that has not ended: nothing is sent, nothing counts as failed."""

    def __init__(self, host: str, until: datetime) -> None:
        super().__init__("host_held", f"{host} asked not to be contacted before {until.isoformat()}")
        self.host = host
        self.until = until


class HostGate:
    def __init__(
        self, per_host_concurrency: int, min_delay: float, clock: Clock, ledger: Ledger | None = None
    ) -> None:
        self._concurrency = per_host_concurrency
        self._min_delay = min_delay
        self._clock = clock
        self._ledger = ledger
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self._delays: dict[str, float] = {}
        self._holds: dict[str, datetime] = {}
        self._peeked: dict[str, float] = {}  # host -> when its shared pause was last read (monotonic)

    def hold(self, host: str, until: datetime) -> None:
        if host not in self._holds or self._holds[host] < until:
            self._holds[host] = until

    def held_until(self, host: str) -> datetime | None:
        until = self._holds.get(host)
        return until if until is not None and until > self._clock.now() else None

    def set_delay(self, host: str, seconds: float) -> None:
        """A host-specific minimum delay (robots.txt Crawl-delay), when longer than the default."""
        self._delays[host] = max(seconds, self._min_delay)

    @asynccontextmanager
    async def request(self, host: str) -> AsyncIterator[None]:
        """Wait for the host's turn; raises HostHeld while the host holds us off."""
        self._refuse_if_held(host)
        slot = self._slots.setdefault(host, asyncio.Semaphore(self._concurrency))
        async with slot:
            await self._space(host)
            self._refuse_if_held(host)  # a pause may have begun while we waited
            yield

    def _refuse_if_held(self, host: str) -> None:
        if (until := self.held_until(host)) is not None:
            raise HostHeld(host, until)

    async def _space(self, host: str) -> None:
        delay = self._delays.get(host, self._min_delay)
        if self._ledger is not None:
            await self._space_shared(host, delay)
            return
        await self._space_locally(host, delay)

    async def _space_locally(self, host: str, delay: float) -> None:
        while True:
            now = time.monotonic()
            start = self._next_start.get(host, now)
            if start <= now:
                self._next_start[host] = now + delay
                return
            await asyncio.sleep(start - now)

    async def _space_shared(self, host: str, delay: float) -> None:
        assert self._ledger is not None
        if delay <= 0:
            now = time.monotonic()
            if now - self._peeked.get(host, -PEEK_EVERY) < PEEK_EVERY:
                return
            self._peeked[host] = now
        try:
            turn = await self._ledger(host, delay)
        except Exception as exc:  # the database, not the host: never the source's or entry's fault
            log.warning("host_turn_unbooked", host=host, error=f"{type(exc).__name__}: {exc}"[:300])
            await self._space_locally(host, delay)
            return
        if turn.held_until is not None:
            self.hold(host, turn.held_until)
            self._refuse_if_held(host)
        wait = (turn.start_at - datetime.now(UTC)).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)


def is_pause(error: IngestError) -> bool:
    """A host's request to wait: a pause already known, any 429, or a 503 with Retry-After."""
    if isinstance(error, HostHeld):
        return True
    if not isinstance(error, HTTPStatusError):
        return False
    return error.status == 429 or (error.status == 503 and error.retry_after is not None)


def pause_until(error: IngestError, now: datetime) -> datetime:
    """When the pause ``error`` asks for ends (at least MIN_PAUSE from now)."""
    if isinstance(error, HostHeld):
        return max(error.until, now + timedelta(seconds=MIN_PAUSE))
    asked = error.retry_after if isinstance(error, HTTPStatusError) and error.retry_after else 0.0
    return now + timedelta(seconds=max(asked, MIN_PAUSE))


def host_of_pause(error: IngestError) -> str:
    return error.host if isinstance(error, HostHeld) else host_of(getattr(error, "url", ""))
