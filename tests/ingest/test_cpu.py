"""The process pool: a worker that dies costs its own job, not the others."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.cpu import CpuPool, _timeout_error
from ingest.errors import ExtractError
from ingest.jobs import parse_job
from tests.conftest import ROOT


def square(value: int) -> int:
    return value * value


def die(_value: int) -> int:
    os._exit(9)  # what an out-of-memory kill or a crash in C code looks like from outside


def test_a_dead_worker_fails_only_its_own_job() -> None:
    async def go() -> tuple[list[object], int]:
        pool = CpuPool(2)
        try:
            jobs = [pool.run(square, n) for n in range(6)] + [pool.run(die, 0)]
            results = await asyncio.gather(*jobs, return_exceptions=True)
            after = await pool.run(square, 7)  # the pool is usable again
        finally:
            pool.close()
        return results, after

    results, after = asyncio.run(go())
    assert results[:6] == [0, 1, 4, 9, 16, 25]
    assert isinstance(results[6], ExtractError) and results[6].code == "extract.worker_crashed"
    assert after == 49


def test_inline_mode_runs_in_a_thread() -> None:
    async def go() -> int:
        pool = CpuPool(0)
        try:
            return await pool.run(square, 3)
        finally:
            pool.close()

    assert asyncio.run(go()) == 9
    with pytest.raises(AssertionError):
        asyncio.run(CpuPool(0).run(square, 3, extra=1))  # type: ignore[call-arg]


def hang(_value: int) -> int:
    while True:  # what a pathological page does to a parser stuck in a loop
        pass


def slow_square(value: int) -> int:
    time.sleep(0.3)
    return value * value


def test_a_runaway_job_is_stopped_and_fails_alone() -> None:
    async def go() -> tuple[list[object], int, float]:
        # 5 s, not less: a retried job's limit includes starting its new process, which a loaded
        # machine has taken more than 1.7 s to do.
        pool = CpuPool(2, job_timeout=5.0)
        started = time.monotonic()
        try:
            jobs = [pool.run(hang, 0)] + [pool.run(slow_square, n) for n in range(4)]
            results = await asyncio.gather(*jobs, return_exceptions=True)
            elapsed = time.monotonic() - started
            after = await pool.run(square, 7)  # the pool is usable again
        finally:
            pool.close()
        return results, after, elapsed

    results, after, elapsed = asyncio.run(go())
    assert isinstance(results[0], ExtractError) and results[0].code == "extract.timeout"
    assert results[1:] == [0, 1, 4, 9]  # the jobs beside it lost their worker and were retried
    assert after == 49
    assert elapsed < 30, "the runaway job was not stopped"


def test_an_overrun_is_named_by_what_was_running() -> None:
    assert _timeout_error(parse_job, 1.0).code == "parse.timeout"
    assert _timeout_error(hang, 1.0).code == "extract.timeout"


_POOL_THEN_WAIT = """
import asyncio, time
from ingest.cpu import CpuPool

async def go():
    pool = CpuPool(1)
    await pool.run(time.sleep, 0.01)
    print("ready", flush=True)
    await asyncio.sleep(120)

asyncio.run(go())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_the_pool_does_not_outlive_a_killed_service() -> None:
    service = subprocess.Popen(
        [sys.executable, "-c", _POOL_THEN_WAIT], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert service.stdout is not None and service.stdout.readline().strip() == "ready"
        pool = _descendants(service.pid)  # the fork server, its worker, the resource tracker
        assert len(pool) >= 3, pool
    finally:
        service.kill()
        service.communicate(timeout=30)  # its output closes once every process holding it is gone
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in pool):
        time.sleep(0.05)
    assert not [pid for pid in pool if _running(pid)], "processes of the pool were left behind"


def _descendants(root: int) -> list[int]:
    listed = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in listed.splitlines():
        pid, parent = (int(field) for field in line.split())
        children.setdefault(parent, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
