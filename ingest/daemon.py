"""``ingest daemon``: tick, pass, repeat, until SIGTERM or SIGINT; then stop cleanly.

APScheduler 3 only ticks (one job, never two at once, missed ticks coalesced); the database decides
what is due. On a signal the daemon stops ticking, lets the pass in flight finish within
``daemon.shutdown_grace``, cancels what is left, gives back every lease it holds so that another
worker (or the next start) takes the work over at once, closes the pool, the client and the
database, logs one ``daemon_stopped`` line, and exits 0.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ingest.errors import ConfigError
from ingest.monitor import Heartbeat, Monitor
from ingest.pipeline import Pipeline, RunCounts
from ingest.runtime import Runtime
from ingest.websub import WebSub
from storage import leases

log = structlog.get_logger()
RELEASE_TIMEOUT = 5.0  # seconds to give back leases at shutdown (a locked database must not hang us)


@dataclass
class DaemonCounts:
    ticks: int = 0
    passes: int = 0
    sources_refreshed: int = 0
    articles_new: int = 0
    articles_failed: int = 0
    interrupted: int = 0  # passes cancelled at the end of the grace period
    leases_released: int = 0


class Daemon:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.counts = DaemonCounts()
        self._stopping = asyncio.Event()
        self._current: asyncio.Task[None] | None = None
        self._again = False  # one more pass as soon as this one ends
        self.heartbeat = Heartbeat(self.settings.schedule.tick)
        self.monitor: Monitor | None = None

    def stop(self, why: str = "requested") -> None:
        if not self._stopping.is_set():
            log.info("daemon_stopping", reason=why, grace_s=self.settings.daemon.shutdown_grace)
            self._stopping.set()
            self.pipeline.stopping.set()  # the pass in flight starts nothing new

    async def run(self) -> DaemonCounts:
        self._listen()  # first: a listener that cannot bind is a config error, before anything starts
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, signal.Signals(sig).name)
        runtime = self.pipeline.runtime()
        scheduler = AsyncIOScheduler(event_loop=loop)
        self._every_tick(scheduler, "tick", self._tick, runtime)
        if self.settings.websub.callback_url:
            self._start_websub(runtime, scheduler)
        log.info("daemon_started", owner=self.pipeline.owner, tick_s=self.settings.schedule.tick)
        scheduler.start()
        try:
            await self._stopping.wait()
        finally:
            # Paused, not shut down, while the pass in flight finishes: APScheduler's asyncio
            # executor cancels the jobs still running when it shuts down, which would cut the
            # grace period to nothing.
            scheduler.pause()
            await self._finish_current()
            scheduler.shutdown(wait=False)
            await self._release(runtime)
            await runtime.close(wait=False)
            if self.monitor is not None:
                self.monitor.stop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        log.info("daemon_stopped", uptime_s=round(time.monotonic() - started, 1), **asdict(self.counts))
        return self.counts

    def _listen(self) -> None:
        address = self.settings.daemon.http_listen
        if not address:
            return
        self.monitor = Monitor(address, self.pipeline.db, self.heartbeat)
        try:
            self.monitor.start()
        except OSError as exc:
            self.monitor = None
            raise ConfigError(
                "http_listen",
                f"daemon.http_listen = {address!r}: cannot listen there ({exc.strerror or exc})",
            ) from None

    def _every_tick(
        self, scheduler: AsyncIOScheduler, name: str, job: Callable[[Any], Awaitable[None]], argument: Any
    ) -> None:
        """Run ``job(argument)`` now and every tick; never two at once, missed runs coalesced."""
        scheduler.add_job(
            job,
            "interval",
            args=[argument],
            seconds=self.settings.schedule.tick,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=self.pipeline.clock.now(),
            id=name,
        )

    def _start_websub(self, runtime: Runtime, scheduler: AsyncIOScheduler) -> None:
        """Hubs call back on the listener; subscriptions are looked after on a job of their own,
        so that a long pass does not hold up a renewal. A push queues entries and ticks at once."""

        def wake() -> None:
            if self._stopping.is_set():
                return
            if self._current is not None:  # a pass is running: another follows it at once
                self._again = True
            else:
                scheduler.modify_job("tick", next_run_time=self.pipeline.clock.now())

        websub = WebSub(self.settings.websub, self.settings.fetch.max_feed_bytes, runtime, wake)
        assert self.monitor is not None  # the settings require daemon.http_listen with a callback
        self.monitor.callbacks = websub
        self._every_tick(scheduler, "websub", _logged_websub, websub)

    async def _tick(self, runtime: Runtime) -> None:
        self._again = True
        while self._again and not self._stopping.is_set():
            self._again = False  # set by a WebSub push that arrives during the pass
            await self._pass(runtime)

    async def _pass(self, runtime: Runtime) -> None:
        self.counts.ticks += 1
        self._current = asyncio.current_task()
        self.heartbeat.tick_started()
        try:
            summary = await self.pipeline.tick(runtime)
        except asyncio.CancelledError:
            self.counts.interrupted += 1
            raise
        except Exception:  # a pass that crashed must not stop the daemon; the next tick tries again
            log.exception("tick_failed")
            return
        finally:
            self._current = None
            self.heartbeat.tick_ended()
        if summary is not None:
            self._count(summary.counts)

    def _count(self, counts: RunCounts) -> None:
        self.counts.passes += 1
        self.counts.sources_refreshed += (
            counts.sources_ok + counts.sources_not_modified + counts.sources_failed
        )
        self.counts.articles_new += counts.articles_new
        self.counts.articles_failed += counts.articles_failed

    async def _finish_current(self) -> None:
        task = self._current
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=self.settings.daemon.shutdown_grace)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=5)

    async def _release(self, runtime: Runtime) -> None:
        """Give back every lease this worker holds: its unfinished work is free for others now."""
        try:
            owner = self.pipeline.owner
            self.counts.leases_released = await asyncio.wait_for(
                runtime.store.write(lambda session: leases.release_owner(session, owner)), RELEASE_TIMEOUT
            )
        except Exception:  # the leases expire by themselves; say so and go on stopping
            log.exception(
                "leases_not_released",
                expire_by=self.pipeline.entry_lease_until(self.pipeline.clock.now()).isoformat(),
            )


async def _logged_websub(websub: WebSub) -> None:
    try:
        await websub.maintain()
    except Exception:  # the database away, most likely: the next round tries again
        log.exception("websub_maintenance_failed")
