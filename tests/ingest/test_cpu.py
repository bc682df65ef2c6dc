"""The process pool: a worker that dies costs its own job, not the others."""

from __future__ import annotations

import asyncio
import os

import pytest

from ingest.cpu import CpuPool
from ingest.errors import ExtractError


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
