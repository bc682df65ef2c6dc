"""The orchestrator: refresh sources, then finish their pending entries. The single error boundary.

A pass refreshes a set of sources and drains the pending entries of a set of sources. ``run-once``
makes one pass over every enabled source; the daemon makes one pass per tick over the sources that
are due (and those with entries left to finish) — the same code path.

A source's failure is caught here and recorded on the source; it never touches another source. An
entry's failure is caught here and recorded on the entry; it never fails its source. Every pass with
work ends with one ``run_finished`` line carrying the same counts as ``run-once --json``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import structlog
from sqlmodel import Session
from structlog.contextvars import bound_contextvars

from ingest import media, metrics
from ingest.clock import Clock, SystemClock
from ingest.errors import IngestError, LeaseLost
from ingest.hosts import host_of_pause, is_pause, pause_until
from ingest.process import process
from ingest.progress import Observer, Silent
from ingest.refresh import NETWORK_CODES, failure_outcome, record_failure, refresh
from ingest.runtime import Runtime
from ingest.schedule import Bounds
from ingest.settings import Settings
from ingest.sources import SourceReader
from ingest.sources.directory import DirectorySource
from ingest.sources.feed import FeedSource
from ingest.urls import host_of
from storage import hosts, leases, runs, sightings, sources
from storage.db import Database
from storage.sources import DEGRADED_AFTER
from storage.tables import Sighting, Source

log = structlog.get_logger()
CLAIM_BATCH = 4  # entries of one source claimed at a time
WAIT_FOR_OTHERS_S = 0.2  # run-once --due: how often to look again while others refresh
OUTAGE_HOSTS = 3  # network failures on this many hosts, and no answer from any: the network is down
CLAIM_SOURCES = 4  # due sources a lane claims at a time


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
    sources_deferred: int = 0
    articles_updated: int = 0
    entries_blocked: int = 0  # left out by their source's filters: before any fetch, or on their text


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
    """``host:pid:namespace:random``: unique per process, and enough to tell whether it still runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{_pid_namespace()}:{uuid.uuid4().hex[:8]}"


def _pid_namespace() -> str:
    """The process-id namespace: containers sharing a host name (host networking) do not share it."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "-"


def is_dead_local_worker(owner: str) -> bool:
    """Whether ``owner`` names a process on this machine, in our pid namespace, that no longer exists
    (killed, crashed).

    Its leases can be taken over at once instead of after they expire. Workers on other machines
    or in other containers cannot be checked this way and are left to their lease's expiry.
    """
    parts = owner.split(":")
    if len(parts) != 4:
        return False
    host, pid_text, namespace, _ = parts
    if host != socket.gethostname() or namespace != _pid_namespace() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return False


@dataclass
class _Pass:
    """What one pass's tasks share."""

    runtime: Runtime
    counts: RunCounts
    started: datetime
    entry_slots: asyncio.Semaphore
    retry_delay: timedelta = timedelta(0)  # how long a failed entry waits before its next try
    network_failures: list[tuple[Source, IngestError, float]] = field(default_factory=list)
    network_reached: bool = False  # some host answered (even with an error) this pass
    paused: set[int] = field(default_factory=set)  # sources whose host asked for a pause this pass
    readers: dict[int, SourceReader] = field(default_factory=dict)
    claimed: int = 0  # entries claimed so far this pass


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        processes: int,
        owner: str | None = None,
        clock: Clock | None = None,
        progress: Observer | None = None,
    ) -> None:
        self.settings = settings
        self.progress = progress or Silent()
        self.stopping = asyncio.Event()  # set by the daemon on SIGTERM: no new work is started
        self.db = db
        self.processes = processes
        self.owner = owner or worker_name()
        self.clock = clock or SystemClock()
        schedule = settings.schedule
        websub = settings.websub
        self.bounds = Bounds(
            schedule.default_interval,
            schedule.min_interval,
            schedule.max_interval,
            websub.poll_interval if websub.callback_url else None,
        )

    def source_lease_until(self, now: datetime) -> datetime:
        """A source's lease outlives its refresh: the feed (a deadline each for it and a retried
        hop) and the database work after it, with the margin."""
        return now + timedelta(seconds=self.settings.fetch.timeout * 2 + self.settings.schedule.lease_margin)

    def entry_lease_until(self, now: datetime) -> datetime:
        """An entry's lease outlives its work: robots.txt, the page (with redirects) and extraction."""
        return now + timedelta(seconds=self.settings.fetch.timeout * 3 + self.settings.schedule.lease_margin)

    def runtime(self) -> Runtime:
        return Runtime.open(self.settings, self.db, self.processes, self.owner, self.clock)

    async def run_once(self, names: Sequence[str] = (), trigger: str = "run-once") -> RunSummary:
        """Poll every enabled source (or the named ones) whatever its schedule; finish all pending work."""
        async with self.runtime() as runtime:
            await self._reap_dead_workers(runtime)
            chosen = await runtime.store.read(lambda session: sources.enabled_sources(session, names))
            summary = await self.run_pass(runtime, chosen, chosen, trigger)
            assert summary is not None
            return summary

    async def run_due(self) -> RunSummary:
        """One daemon tick as a command: the sources that are due, and the entries left to finish.

        Workers started together (cron on several machines) each claim different sources.
        """
        async with self.runtime() as runtime:
            await self._reap_dead_workers(runtime)
            give_up = time.monotonic() + self.settings.schedule.tick
            while not self.stopping.is_set():
                summary = await self.tick(runtime, trigger="run-once")
                if summary is not None:
                    return summary
                # Nothing free yet; another worker refreshing sources now is about to queue
                # entries. Wait for it a tick at most: its lease may belong to a dead worker.
                elsewhere = partial(sources.refreshing_elsewhere, owner=self.owner, now=self.clock.now())
                if time.monotonic() > give_up or not await runtime.store.read(elsewhere):
                    break
                await asyncio.sleep(WAIT_FOR_OTHERS_S)
            summary = await self.tick(runtime, always=True, trigger="run-once")
            assert summary is not None
            return summary

    async def tick(
        self, runtime: Runtime, always: bool = False, trigger: str = "daemon"
    ) -> RunSummary | None:
        """The daemon's pass: the sources that are due, and any source with entries to finish.

        None when there is nothing to do, unless ``always`` (a pass with nothing in it is recorded).
        """
        await self._reap_dead_workers(runtime)  # a predecessor on this machine that was killed
        now = self.clock.now()
        due = await self._claim_due(runtime)
        enabled = await runtime.store.read(sources.enabled_sources)
        retry_delay = timedelta(seconds=self.settings.schedule.min_interval)
        with_work = await runtime.store.read(
            partial(
                sightings.sources_with_work,
                now=now,
                retry_before=now - retry_delay,
                max_attempts=self.settings.max_attempts,
            )
        )
        if not due and not with_work and not always:
            return None
        # Sources claimed later in the pass are drained too: the drain list is read after refreshing.
        return await self.run_pass(
            runtime, due, [s for s in enabled if s.id in with_work], trigger, retry_delay, claim_more=True
        )

    async def _claim_due(
        self, runtime: Runtime, due_by: datetime | None = None, exclude: Collection[int] = ()
    ) -> list[Source]:
        """Lease a few due sources. Small batches, taken as lanes free up, share the due sources
        fairly among workers that tick at the same moment instead of one taking them all."""
        now = self.clock.now()
        until, taken_over = self.source_lease_until(now), list[int]()
        claimed = await runtime.store.write(
            lambda session: sources.claim_due(
                session, self.owner, now, until, CLAIM_SOURCES, due_by, exclude, taken_over
            )
        )
        metrics.TAKEOVERS.labels("source").inc(len(taken_over))
        return claimed

    async def run_pass(
        self,
        runtime: Runtime,
        refresh_these: list[Source],
        drain_these: list[Source],
        trigger: str,
        retry_delay: timedelta = timedelta(0),
        claim_more: bool = False,
    ) -> RunSummary | None:
        """Refresh ``refresh_these`` (and, with ``claim_more``, whatever else is due while lanes are
        free), then drain ``drain_these`` and every source refreshed (and, with ``claim_more``, any
        source whose entries became free meanwhile: queued by other workers, or given back)."""
        clock = time.monotonic()
        store, started = runtime.store, self.clock.now()
        run_id = await store.write(lambda session: runs.start(session, trigger, self.owner, started))
        log.info("run_started", run_id=run_id, trigger=trigger, sources=len(refresh_these), owner=self.owner)
        for host, until in (await store.read(lambda session: hosts.holds(session, started))).items():
            runtime.client.gate.hold(host, until)  # pauses other workers were asked for
        fetch = self.settings.fetch
        slots = asyncio.Semaphore(fetch.concurrency + 2 * max(self.processes, 1))
        work = _Pass(runtime, RunCounts(), started, slots, retry_delay)
        # Sources are drained a few at a time, each claiming small batches: a worker leases only
        # what it is about to work on, and the rest stays free for the other workers. A source's
        # drain starts as soon as its refresh ends: one slow feed does not hold up the others' pages.
        lanes = asyncio.Semaphore(self.settings.fetch.concurrency)
        refreshing = {source.id for source in refresh_these}
        async with asyncio.TaskGroup() as drains:

            def drain(source: Source) -> None:
                drains.create_task(_logged(self._drain(work, source, lanes)))

            for source in drain_these:
                if source.id not in refreshing:
                    drain(source)
            await self._refresh_all(work, refresh_these, claim_more, then=drain)
            await self._settle_network_failures(work)
        claimed = work.claimed
        while claim_more and claimed and not self.stopping.is_set():
            claimed = await self._drain_all(work, await self._with_free_work(work), lanes)
        summary = RunSummary(run_id, work.counts, time.monotonic() - clock)
        finished = self.clock.now()
        await store.write(
            lambda session: runs.finish(session, run_id, asdict(work.counts), finished, summary.duration_s)
        )
        log.info("run_finished", **summary.as_dict())
        return summary

    async def _refresh_all(
        self, work: _Pass, first: list[Source], claim_more: bool, then: Callable[[Source], None]
    ) -> None:
        """Refresh ``first``, all at once; with ``claim_more``, in lanes that claim more due sources
        as they run out, until none is due. ``then`` is called with each source once refreshed."""
        queue = deque(first)
        taken = {source.id for source in first if source.id is not None}
        self.progress.sources_queued(len(first))

        async def lane() -> None:
            while not self.stopping.is_set():
                if not queue:
                    # Only what was due when the pass began, and never twice in one pass: the
                    # refresh phase ends even when sources fall due as fast as lanes poll them.
                    more = await self._claim_due(work.runtime, work.started, taken) if claim_more else []
                    if not more:
                        return
                    taken.update(source.id for source in more if source.id is not None)
                    queue.extend(more)
                    self.progress.sources_queued(len(more))
                    continue
                source = queue.popleft()
                await self._refresh(work, source)
                then(source)

        lanes = self.settings.fetch.concurrency if claim_more else len(first)
        await _gather_logged(lane() for _ in range(lanes))

    async def _reap_dead_workers(self, runtime: Runtime) -> None:
        now = self.clock.now()
        owners = await runtime.store.read(lambda session: leases.live_owners(session, now))
        for dead in sorted(owner for owner in owners if is_dead_local_worker(owner)):
            freed = await runtime.store.write(partial(leases.release_owner, owner=dead))
            log.warning("leases_taken_over", dead_owner=dead, rows=freed)

    def _reader(self, work: _Pass, source: Source) -> SourceReader:
        assert source.id is not None
        if source.id not in work.readers:
            runtime = work.runtime
            if source.kind == "directory" and source.path is not None:
                reader: SourceReader = DirectorySource(
                    Path(source.path), runtime.client, runtime.robots, runtime.cpu
                )
            else:
                assert source.url is not None, f"feed source {source.name} has no url"
                reader = FeedSource(source.url, runtime.client, runtime.robots, runtime.cpu)
            work.readers[source.id] = reader
        return work.readers[source.id]

    async def _refresh(self, work: _Pass, source: Source) -> None:
        try:
            await self._refresh_one(work, source)
        finally:
            self.progress.source_done()

    async def _refresh_one(self, work: _Pass, source: Source) -> None:
        """Poll one source; whatever happens is counted, recorded on the source and logged once."""
        assert source.id is not None
        if self.stopping.is_set():
            return
        with bound_contextvars(source=source.name):
            source_id, now, clock = source.id, self.clock.now(), time.monotonic()
            lease_until = self.source_lease_until(now)
            store = work.runtime.store
            try:
                if not await store.write(
                    lambda s: sources.try_lease(s, source_id, self.owner, now, lease_until)
                ):
                    _log_refresh("skipped", clock, reason="another worker holds its lease")
                    return
                done = await refresh(source, self._reader(work, source), store, self.owner, now, self.bounds)
            except LeaseLost as exc:
                _log_refresh("skipped", clock, reason=exc.message)
                return
            except Exception as exc:
                await self._refresh_failed(work, source, _as_ingest_error(exc), now, clock)
                return
            counts = work.counts
            if source.kind == "feed":
                await self._network_answered(work)
            if done.status == "not_modified":
                counts.sources_not_modified += 1
            else:
                counts.sources_ok += 1
            counts.entries_seen += done.entries_seen
            counts.entries_new += done.entries_new
            counts.entries_blocked += done.entries_blocked
            metrics.BLOCKED.labels("feed").inc(done.entries_blocked)
            if done.moved_from:
                log.warning("source_moved", old_url=done.moved_from, new_url=done.poll.final_url)
            _log_refresh(
                done.status,
                clock,
                entries_seen=done.entries_seen,
                entries_new=done.entries_new,
                entries_blocked=done.entries_blocked,
                http_status=done.poll.status,
                bytes=done.poll.size,
                error_code=None,
                next_poll_at=done.plan.next_at.isoformat(),
                interval_s=round(done.plan.interval_s),
                interval_reason=done.plan.reason,
            )

    async def _refresh_failed(
        self, work: _Pass, source: Source, error: IngestError, now: datetime, clock: float
    ) -> None:
        if error.code in NETWORK_CODES and not work.network_reached:
            # Counted or not depends on whether every other host failed the same way: decided
            # once some host answers, or the refreshes are over (a network down for everyone is
            # nobody's fault). Held until then, with the source's lease.
            work.network_failures.append((source, error, clock))
            return
        if error.code not in NETWORK_CODES:
            await self._network_answered(work)  # an answer, even an error, means the network works
        await self._conclude(work, source, error, now, clock, outage=False)

    async def _network_answered(self, work: _Pass) -> None:
        """Some host answered: the network works, so the failures held so far are the hosts'."""
        if work.network_reached:
            return
        work.network_reached = True
        held, work.network_failures = work.network_failures, []
        for source, error, clock in held:
            await self._conclude(work, source, error, self.clock.now(), clock, outage=False)

    async def _settle_network_failures(self, work: _Pass) -> None:
        hosts_failed = {host_of(source.url or "") for source, _, _ in work.network_failures}
        outage = len(hosts_failed) >= OUTAGE_HOSTS and not work.network_reached
        if outage:
            log.warning(
                "network_down", hosts=len(hosts_failed), reason="every host failed alike; not counted"
            )
        for source, error, clock in work.network_failures:
            await self._conclude(work, source, error, self.clock.now(), clock, outage)

    async def _conclude(
        self, work: _Pass, source: Source, error: IngestError, now: datetime, clock: float, outage: bool
    ) -> None:
        """Count, log once and record a failed refresh; share a pause the host asked for."""
        with bound_contextvars(source=source.name):
            outcome = replace(
                failure_outcome(source, error, now, self.bounds, outage),
                duration_ms=round((time.monotonic() - clock) * 1000, 1),
            )
            if outcome.status == "deferred":
                work.counts.sources_deferred += 1
            else:
                work.counts.sources_failed += 1
            if outcome.counted and outcome.failures == DEGRADED_AFTER:
                log.warning("source_degraded", failures=outcome.failures, reason=error.message)
            if is_pause(error):
                await self._remember_pause(work, error)
            next_poll = outcome.schedule.next_fetch_at
            _log_refresh(
                outcome.status,
                clock,
                error_code=error.code,
                error=error.message,
                next_poll_at=next_poll.isoformat() if next_poll else None,
                interval_reason=outcome.schedule.reason,
                counted=outcome.counted,
            )
            await self._record(work, source, outcome)

    async def _record(self, work: _Pass, source: Source, outcome: sources.RefreshOutcome) -> None:
        try:
            await record_failure(work.runtime.store, source, self.owner, outcome)
        except Exception as exc:  # the failure stays in the log; the lease expires by itself
            problem = _as_ingest_error(exc)
            log.error("failure_not_recorded", error_code=problem.code, error=problem.message)

    async def _remember_pause(self, work: _Pass, error: IngestError) -> None:
        """A pause a host asked for is shared with every worker through the database."""
        host, until = host_of_pause(error), pause_until(error, self.clock.now())
        work.runtime.client.gate.hold(host, until)
        await work.runtime.store.write(lambda session: hosts.hold(session, host, until))

    async def _drain_all(self, work: _Pass, these: list[Source], lanes: asyncio.Semaphore) -> int:
        """Drain ``these``; how many entries were claimed."""
        before = work.claimed
        await _gather_logged(self._drain(work, source, lanes) for source in these)
        return work.claimed - before

    async def _with_free_work(self, work: _Pass) -> list[Source]:
        now = self.clock.now()
        with_work = await work.runtime.store.read(
            partial(
                sightings.sources_with_work,
                now=now,
                retry_before=work.started - work.retry_delay,
                max_attempts=self.settings.max_attempts,
            )
        )
        enabled = await work.runtime.store.read(sources.enabled_sources)
        return [s for s in enabled if s.id in with_work and s.id not in work.paused]

    async def _drain(self, work: _Pass, source: Source, lanes: asyncio.Semaphore) -> None:
        """Process the source's pending entries (new ones and any left by an earlier run)."""
        assert source.id is not None
        async with lanes:
            await self._drain_one(work, source)

    async def _drain_one(self, work: _Pass, source: Source) -> None:
        with bound_contextvars(source=source.name):
            try:
                reader = self._reader(work, source)
                while not self._stopped(work, source) and (
                    batch := await work.runtime.store.write(lambda s: self._claim(s, work, source.id or 0))
                ):
                    work.claimed += len(batch)
                    self.progress.entries_queued(len(batch))
                    await asyncio.gather(*(self._entry(work, sighting, reader, source) for sighting in batch))
            except Exception as exc:  # the database, most likely: the next pass picks the entries up
                error = _as_ingest_error(exc)
                log.error("entries_interrupted", error_code=error.code, error=error.message)

    def _stopped(self, work: _Pass, source: Source) -> bool:
        """No more entries of this source in this pass: the daemon is stopping, or the host paused us."""
        return self.stopping.is_set() or source.id in work.paused

    def _claim(self, session: Session, work: _Pass, source_id: int) -> list[Sighting]:
        now = self.clock.now()
        lease_until = self.entry_lease_until(now)
        retry_before = work.started - work.retry_delay
        taken_over: list[int] = []
        claimed = sightings.claim_pending(
            session,
            [source_id],
            self.owner,
            now,
            lease_until,
            retry_before,
            self.settings.max_attempts,
            CLAIM_BATCH,
            taken_over,
        )
        metrics.TAKEOVERS.labels("entry").inc(len(taken_over))
        return claimed

    async def _entry(self, work: _Pass, sighting: Sighting, reader: SourceReader, source: Source) -> None:
        try:
            await self._entry_one(work, sighting, reader, source)
        finally:
            self.progress.entry_done()

    async def _entry_one(self, work: _Pass, sighting: Sighting, reader: SourceReader, source: Source) -> None:
        assert sighting.id is not None
        async with work.entry_slots:
            with bound_contextvars(entry_id=sighting.id, link=sighting.link):
                try:
                    done = await process(
                        sighting, reader, source.full_text, work.runtime.entries, source.url, source.filters
                    )
                except LeaseLost as exc:
                    log.warning("entry_lease_lost", error=exc.message)
                    return
                except Exception as exc:
                    await self._entry_failed(work, sighting, _as_ingest_error(exc))
                    return
        counts = work.counts
        if done.outcome == "blocked":  # by the source's filters, on the article's text: nothing stored
            counts.entries_blocked += 1
            metrics.BLOCKED.labels("body").inc()
            return
        if done.outcome == "duplicate":
            metrics.DUPLICATES.inc()
        elif done.outcome != "unchanged":
            metrics.ARTICLES.labels(done.outcome).inc()
        if done.outcome == "new":
            counts.articles_new += 1
        elif done.outcome == "near_duplicate":
            counts.articles_near_duplicate += 1
        elif done.outcome == "updated":
            counts.articles_updated += 1
        elif done.outcome == "duplicate":
            counts.articles_duplicate += 1
        log.debug("entry_stored", outcome=done.outcome, article_id=done.article_id, extractor=done.extractor)
        await media.after_entry(work.runtime, sighting, done, source)

    async def _entry_failed(self, work: _Pass, sighting: Sighting, error: IngestError) -> None:
        assert sighting.id is not None
        sighting_id, now, store = sighting.id, self.clock.now(), work.runtime.store
        try:
            if is_pause(error):
                # Put off, not failed; the rest of the source waits for the next pass too.
                await self._remember_pause(work, error)
                until = pause_until(error, now)
                work.paused.add(sighting.source_id)
                await store.write(lambda s: sightings.defer(s, [sighting_id], self.owner, until))
                log.info("entry_deferred", until=until.isoformat(), reason=error.message)
                return
            work.counts.articles_failed += 1
            metrics.ENTRY_FAILURES.labels(error.code).inc()
            log.warning(
                "entry_failed", error_code=error.code, error=error.message, attempt=sighting.attempts + 1
            )
            await store.write(
                lambda s: sightings.fail(s, sighting_id, self.owner, error.code, error.message, now)
            )
        except Exception as exc:  # still pending or leased: retried once the lease expires
            problem = _as_ingest_error(exc)
            log.error("failure_not_recorded", error_code=problem.code, error=problem.message)


async def _logged(work: Awaitable[None]) -> None:
    """A task that never takes its siblings down: a bug past every boundary is logged."""
    try:
        await work
    except Exception as exc:
        log.error("source_crashed", error=repr(exc))


async def _gather_logged(tasks: Iterable[Awaitable[None]]) -> None:
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception):  # a bug past every boundary: keep the other sources' work
            log.error("source_crashed", error=repr(outcome))


def _as_ingest_error(exc: Exception) -> IngestError:
    """Our errors as they are; anything else is a bug, logged with its traceback and given a code."""
    if isinstance(exc, IngestError):
        return exc
    log.exception("unexpected_error", error_type=type(exc).__name__)
    return IngestError("internal", f"{type(exc).__name__}: {exc}")


def _log_refresh(status: str, clock: float, **fields: object) -> None:
    if status != "skipped":  # another worker polled it: not a poll of ours
        metrics.POLLS.labels(status).inc()
    duration_ms = round((time.monotonic() - clock) * 1000, 1)
    level = log.warning if status == "failed" else log.info
    level("source_refreshed", status=status, duration_ms=duration_ms, **fields)
