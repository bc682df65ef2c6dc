"""The orchestrator: refresh each source, then finish its pending entries. The single error boundary.

A source's failure is caught here and recorded on the source; it never touches another source. An
entry's failure is caught here and recorded on the entry; it never fails its source. Every run ends
with one ``run_finished`` line carrying the same counts as ``run-once --json``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import structlog
from sqlmodel import Session
from structlog.contextvars import bound_contextvars

from ingest.client import HttpClient
from ingest.cpu import CpuPool
from ingest.errors import IngestError, LeaseLost
from ingest.models import Vocabulary
from ingest.process import EntryContext, LinkLocks, process
from ingest.refresh import record_failure, refresh
from ingest.robots import RobotsCache
from ingest.settings import Settings
from ingest.sources import SourceReader
from ingest.sources.directory import DirectorySource
from ingest.sources.feed import FeedSource
from ingest.store import Store
from storage import leases, runs, sightings, sources
from storage.db import Database
from storage.tables import Sighting, Source

log = structlog.get_logger()
CLAIM_BATCH = 32


@dataclass
class RunCounts:
    sources_ok: int = 0
    sources_failed: int = 0
    sources_not_modified: int = 0
    entries_seen: int = 0
    entries_new: int = 0
    articles_new: int = 0
    articles_duplicate: int = 0
    articles_near_duplicate: int = 0
    articles_failed: int = 0


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    counts: RunCounts
    duration_s: float

    def as_dict(self) -> dict[str, object]:
        return {"run_id": self.run_id, **asdict(self.counts), "duration_s": round(self.duration_s, 3)}

    @property
    def exit_code(self) -> int:
        return 1 if self.counts.sources_failed or self.counts.articles_failed else 0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_dead_local_worker(owner: str) -> bool:
    """Whether ``owner`` names a process on this machine that no longer exists (killed, crashed).

    Its leases can be taken over at once instead of after they expire. Workers on other machines
    cannot be checked this way and are left to their lease's expiry.
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return False


@dataclass
class _Run:
    """What one run's tasks share."""

    store: Store
    client: HttpClient
    robots: RobotsCache | None
    cpu: CpuPool
    counts: RunCounts
    started: datetime
    entry_slots: asyncio.Semaphore
    entries: EntryContext


class Pipeline:
    def __init__(self, settings: Settings, db: Database, processes: int, owner: str | None = None) -> None:
        self.settings = settings
        self.db = db
        self.processes = processes
        self.owner = owner or worker_name()

    async def run_once(self, names: Sequence[str] = (), trigger: str = "run-once") -> RunSummary:
        clock = time.monotonic()
        store = Store(self.db)
        try:
            started = datetime.now(UTC)
            await self._reap_dead_workers(store, started)
            chosen = await store.read(lambda session: sources.enabled_sources(session, names))
            run_id = await store.write(lambda session: runs.start(session, trigger, self.owner, started))
            log.info("run_started", run_id=run_id, trigger=trigger, sources=len(chosen), owner=self.owner)
            counts = RunCounts()
            await self._run_sources(chosen, store, counts, started)
            summary = RunSummary(run_id, counts, time.monotonic() - clock)
            await store.write(
                lambda session: runs.finish(
                    session, run_id, asdict(counts), datetime.now(UTC), summary.duration_s
                )
            )
            log.info("run_finished", **summary.as_dict())
            return summary
        finally:
            store.close()

    async def _reap_dead_workers(self, store: Store, now: datetime) -> None:
        owners = await store.read(lambda session: leases.live_owners(session, now))
        for dead in sorted(owner for owner in owners if is_dead_local_worker(owner)):
            freed = await store.write(partial(leases.release_owner, owner=dead))
            log.warning("leases_taken_over", dead_owner=dead, rows=freed)

    async def _run_sources(
        self, chosen: list[Source], store: Store, counts: RunCounts, started: datetime
    ) -> None:
        fetch = self.settings.fetch
        cpu = CpuPool(self.processes)
        try:
            async with HttpClient(fetch) as client:
                robots = RobotsCache(client) if fetch.respect_robots_txt else None
                slots = asyncio.Semaphore(fetch.concurrency + 2 * max(self.processes, 1))
                words = Vocabulary(
                    self.settings.normalize.related_labels, self.settings.normalize.paywall_phrases
                )
                entries = EntryContext(store, cpu, self.owner, LinkLocks(), words)
                run = _Run(store, client, robots, cpu, counts, started, slots, entries)
                outcomes = await asyncio.gather(
                    *(self._source(run, s) for s in chosen), return_exceptions=True
                )
        finally:
            cpu.close()
        for outcome in outcomes:
            if isinstance(outcome, Exception):  # a bug past every boundary: keep the other sources' work
                log.error("source_crashed", error=repr(outcome))

    def _reader(self, run: _Run, source: Source) -> SourceReader:
        if source.kind == "directory" and source.path is not None:
            return DirectorySource(Path(source.path), run.client, run.robots, run.cpu)
        assert source.url is not None, f"feed source {source.name} has no url"
        return FeedSource(source.url, run.client, run.robots, run.cpu)

    async def _source(self, run: _Run, source: Source) -> None:
        with bound_contextvars(source=source.name):
            reader = self._reader(run, source)
            await self._refresh(run, source, reader)
            try:
                await self._drain(run, source, reader)
            except Exception as exc:  # the database, most likely: the next run picks the entries up
                error = _as_ingest_error(exc)
                log.error("entries_interrupted", error_code=error.code, error=error.message)

    async def _refresh(self, run: _Run, source: Source, reader: SourceReader) -> None:
        """Poll one source; whatever happens is counted, recorded on the source and logged once."""
        assert source.id is not None
        source_id, now, clock = source.id, datetime.now(UTC), time.monotonic()
        lease_until = now + timedelta(seconds=self.settings.fetch.timeout * 2 + 60)
        interval = source.interval_s or self.settings.schedule.default_interval
        try:
            if not await run.store.write(
                lambda s: sources.try_lease(s, source_id, self.owner, now, lease_until)
            ):
                _log_refresh("skipped", clock, reason="another worker holds its lease")
                return
            refreshed = await refresh(source, reader, run.store, self.owner, now, interval)
        except LeaseLost as exc:
            _log_refresh("skipped", clock, reason=exc.message)
            return
        except Exception as exc:
            error = _as_ingest_error(exc)
            run.counts.sources_failed += 1
            _log_refresh("failed", clock, error_code=error.code, error=error.message)
            await self._record_failure(run, source, error, now, interval)
            return
        if refreshed.status == "not_modified":
            run.counts.sources_not_modified += 1
        else:
            run.counts.sources_ok += 1
        run.counts.entries_seen += refreshed.entries_seen
        run.counts.entries_new += refreshed.entries_new
        _log_refresh(
            refreshed.status,
            clock,
            entries_seen=refreshed.entries_seen,
            entries_new=refreshed.entries_new,
            http_status=refreshed.poll.status,
            bytes=refreshed.poll.size,
            error_code=None,
        )

    async def _record_failure(
        self, run: _Run, source: Source, error: IngestError, now: datetime, interval: float
    ) -> None:
        try:
            await record_failure(run.store, source, self.owner, error, now, interval)
        except Exception as exc:  # the failure stays in the log; the lease expires by itself
            problem = _as_ingest_error(exc)
            log.error("failure_not_recorded", error_code=problem.code, error=problem.message)

    async def _drain(self, run: _Run, source: Source, reader: SourceReader) -> None:
        """Process the source's pending entries (new ones and any left by an earlier run)."""
        assert source.id is not None
        while batch := await run.store.write(lambda session: self._claim(session, run, source.id or 0)):
            await asyncio.gather(
                *(self._entry(run, sighting, reader, source.full_text) for sighting in batch)
            )

    async def _entry_failed(self, run: _Run, sighting: Sighting, error: IngestError) -> None:
        assert sighting.id is not None
        sighting_id, now = sighting.id, datetime.now(UTC)
        run.counts.articles_failed += 1
        log.warning("entry_failed", error_code=error.code, error=error.message, attempt=sighting.attempts + 1)
        try:
            await run.store.write(
                lambda s: sightings.fail(s, sighting_id, self.owner, error.code, error.message, now)
            )
        except Exception as exc:  # still pending or leased: retried once the lease expires
            problem = _as_ingest_error(exc)
            log.error("failure_not_recorded", error_code=problem.code, error=problem.message)

    def _claim(self, session: Session, run: _Run, source_id: int) -> list[Sighting]:
        now = datetime.now(UTC)
        # The lease outlives the entry's work: robots.txt, the page (with redirects) and extraction.
        lease_until = now + timedelta(seconds=self.settings.fetch.timeout * 3 + 120)
        return sightings.claim_pending(
            session,
            [source_id],
            self.owner,
            now,
            lease_until,
            run.started,
            self.settings.max_attempts,
            CLAIM_BATCH,
        )

    async def _entry(self, run: _Run, sighting: Sighting, reader: SourceReader, full_text: bool) -> None:
        assert sighting.id is not None
        sighting_id = sighting.id
        async with run.entry_slots:
            with bound_contextvars(entry_id=sighting_id, link=sighting.link):
                try:
                    done = await process(sighting, reader, full_text, run.entries)
                except LeaseLost as exc:
                    log.warning("entry_lease_lost", error=exc.message)
                    return
                except Exception as exc:
                    await self._entry_failed(run, sighting, _as_ingest_error(exc))
                    return
        if done.outcome == "new":
            run.counts.articles_new += 1
        elif done.outcome == "near_duplicate":
            run.counts.articles_near_duplicate += 1
        else:
            run.counts.articles_duplicate += 1
        log.debug("entry_stored", outcome=done.outcome, article_id=done.article_id, extractor=done.extractor)


def _as_ingest_error(exc: Exception) -> IngestError:
    """Our errors as they are; anything else is a bug, logged with its traceback and given a code."""
    if isinstance(exc, IngestError):
        return exc
    log.exception("unexpected_error", error_type=type(exc).__name__)
    return IngestError("internal", f"{type(exc).__name__}: {exc}")


def _log_refresh(status: str, clock: float, **fields: object) -> None:
    duration_ms = round((time.monotonic() - clock) * 1000, 1)
    level = log.warning if status == "failed" else log.info
    level("source_refreshed", status=status, duration_ms=duration_ms, **fields)
