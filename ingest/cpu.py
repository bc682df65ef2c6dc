"""CPU work off the event loop: feed parsing, extraction, normalisation, in a process pool.

Jobs (:mod:`ingest.jobs`) are plain module-level functions of picklable values. With
``processes=0`` they run in a thread instead (tests, and one-off commands where starting processes
costs more than it saves).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

from ingest.errors import ExtractError, IngestError, ParseError
from ingest.jobs import parse_job
from ingest.lifeline import die_with_parent

DEFAULT_JOB_TIMEOUT = 30.0  # seconds; real pages take well under one
# What the workers import before forking (once, in the fork server): the stages the jobs run. The
# main process never imports them, so it does not carry trafilatura, the language model or numpy.
STAGES = [
    "ingest.extract",
    "ingest.normalize",
    "ingest.parse",
    "ingest.fingerprint",
    "ingest.lifeline",
    "ingest.preload",
]
P = ParamSpec("P")
R = TypeVar("R")


def default_processes() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class CpuPool:
    """Runs jobs in worker processes; a crashed or runaway worker costs one job, not the rest.

    Every job has a time limit. One that overruns it is failed (``extract.timeout``, or
    ``parse.timeout`` for a feed) and its worker is killed, since only that frees the core; the
    jobs that were running beside it lose their worker too and are retried, each alone. With
    ``processes=0`` (a thread) an overrunning job is failed but cannot be stopped.
    """

    def __init__(self, processes: int, job_timeout: float = DEFAULT_JOB_TIMEOUT) -> None:
        self.processes = processes
        self.job_timeout = job_timeout
        self._executor: Executor | None = None
        self._quarantine = asyncio.Semaphore(max(processes, 1))

    def _context(self) -> multiprocessing.context.BaseContext:
        # forkserver: workers fork from a clean process that has already imported the stages
        # (fast start), never from this threaded one (fork would copy held locks).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["ingest.cpu", *STAGES])
        return context

    def _started(self) -> Executor:
        if self._executor is None:
            if self.processes == 0:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-cpu")
            else:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes, mp_context=self._context(), initializer=die_with_parent
                )
        return self._executor

    async def run(self, job: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        assert not kwargs, "jobs take positional arguments only"
        executor = self._started()
        try:
            return await self._limited(executor, job, *args, **kwargs)
        except BrokenProcessPool:
            # A worker died (killed, out of memory, a crash in C code, or stopped for overrunning
            # its limit) and every job in flight failed with it; nothing tells which one did it.
            self._discard(executor)
        return await self._run_alone(job, *args, **kwargs)

    async def _limited(self, executor: Executor, job: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        future = asyncio.get_running_loop().run_in_executor(executor, job, *args)
        try:
            return await asyncio.wait_for(future, self.job_timeout)
        except TimeoutError:
            self._discard(executor, kill=True)
            raise _timeout_error(job, self.job_timeout) from None

    def _discard(self, executor: Executor, kill: bool = False) -> None:
        if self._executor is executor:
            self._executor = None
        if kill:
            _kill_workers(executor)
        # Not cancel_futures: jobs still queued must fail with BrokenProcessPool (and be retried),
        # not be cancelled, which would look like the whole task was.
        executor.shutdown(wait=False)

    async def _run_alone(self, job: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """The second try, in a process of its own: only the job that kills its worker again is
        lost, whatever else was running when it did."""
        async with self._quarantine:
            alone = ProcessPoolExecutor(
                max_workers=1, mp_context=self._context(), initializer=die_with_parent
            )
            try:
                return await self._limited(alone, job, *args, **kwargs)
            except BrokenProcessPool:
                raise ExtractError(
                    "worker_crashed", "the worker process died while handling this entry"
                ) from None
            finally:
                alone.shutdown(wait=False, cancel_futures=True)

    def close(self, wait: bool = True) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None


def _kill_workers(executor: Executor) -> None:
    """Stop a process pool's workers now (a job in one of them overran its limit).

    ProcessPoolExecutor has no public way to do this before Python 3.14 (``terminate_workers``);
    its ``_processes`` map is the documented-in-source seam every workaround uses.
    """
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        process.kill()


def _timeout_error(job: Callable[..., object], limit: float) -> IngestError:
    if job is parse_job:
        return ParseError("timeout", f"parsing the feed took longer than {limit:g}s; stopped")
    return ExtractError("timeout", f"extraction took longer than {limit:g}s; stopped")
