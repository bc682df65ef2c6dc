"""CPU work off the event loop: feed parsing, extraction, normalisation, in a process pool.

Jobs are plain module-level functions of picklable values. With ``processes=0`` they run in a
thread instead (tests, and one-off commands where starting processes costs more than it saves).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import datetime
from typing import ParamSpec, TypeVar

from ingest.dedupe import assign_keys
from ingest.errors import ExtractError
from ingest.extract import extract
from ingest.fingerprint import bands
from ingest.models import ArticleDraft, Entry, EntryHints, Page, ParsedFeed, Vocabulary
from ingest.normalize import normalize
from ingest.parse import parse_feed

NO_WORDS = Vocabulary()
P = ParamSpec("P")
R = TypeVar("R")


def parse_job(body: bytes, url: str, content_type: str | None) -> tuple[ParsedFeed, list[Entry]]:
    feed = parse_feed(body, url, content_type)
    return feed, assign_keys(feed.entries)


def article_job(
    page: Page | None,
    hints: EntryHints,
    fallback_url: str,
    fetched_at_iso: str,
    words: Vocabulary = NO_WORDS,
) -> ArticleDraft:
    fetched_at = page.fetched_at if page is not None else datetime.fromisoformat(fetched_at_iso)
    url = page.final_url if page is not None else fallback_url
    draft = normalize(
        extract(page, hints), hints, url, fetched_at, words.related_labels, words.paywall_phrases
    )
    if not draft.text:
        raise ExtractError("empty", f"nothing of {url} is left once boilerplate lines are removed")
    return replace(draft, bands=bands(draft.text))


def default_processes() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class CpuPool:
    """Runs jobs in worker processes; a crashed worker costs one job, not the rest of the run."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: Executor | None = None
        self._quarantine = asyncio.Semaphore(max(processes, 1))

    def _context(self) -> multiprocessing.context.BaseContext:
        # forkserver: workers fork from a clean process that has already imported the stages
        # (fast start), never from this threaded one (fork would copy held locks).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["ingest.cpu"])
        return context

    def _started(self) -> Executor:
        if self._executor is None:
            if self.processes == 0:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-cpu")
            else:
                self._executor = ProcessPoolExecutor(max_workers=self.processes, mp_context=self._context())
        return self._executor

    async def run(self, job: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        assert not kwargs, "jobs take positional arguments only"
        executor = self._started()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, job, *args)
        except BrokenProcessPool:
            # A worker died (killed, out of memory, a crash in C code) and every job in flight
            # failed with it; nothing tells which one killed it.
            if self._executor is executor:
                self._executor = None
                executor.shutdown(wait=False, cancel_futures=True)
        return await self._run_alone(job, *args, **kwargs)

    async def _run_alone(self, job: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """The second try, in a process of its own: only the job that kills its worker again is
        lost, whatever else was running when it did."""
        async with self._quarantine:
            alone = ProcessPoolExecutor(max_workers=1, mp_context=self._context())
            try:
                return await asyncio.get_running_loop().run_in_executor(alone, job, *args)
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
