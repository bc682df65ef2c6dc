"""Scaling out: articles per second with 1, 2 and 4 workers on one PostgreSQL, and what
coordinating through PostgreSQL costs one worker compared with SQLite — all in one run.

    python bench/scale.py [--feeds 100] [--per-feed 6] [--repeats 2] [--pool 0] [--verbose]

A loopback site publishes ``feeds`` feeds of ``per-feed`` article pages each (72 KB pages: a long
article inside a heavy news template, about 18 ms of trafilatura each). Every configuration starts
from an empty database and runs N real ``ingest run-once --due --workers P`` processes at once. With
``--pool 0`` (the default) each worker extracts in a thread of its own process, so one worker holds
about one core and the table shows throughput rising until the cores are used; with ``--pool 1``
each worker also has an extraction process, and one worker alone already fills this 2-core machine. The figure is stored articles divided
by the span from the first run's start to the last run's end, read from the ``run`` table (so the
interpreter's start-up is not counted); the best of ``repeats`` tries, configurations interleaved.
Each try also checks the work: every feed fetched once, every article stored once.

Needs PostgreSQL: $INGEST_TEST_POSTGRES_URL, else postgresql+psycopg://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from storage.db import Database  # noqa: E402
from storage.tables import Article, Run  # noqa: E402
from tests.support.newsroom import Newsroom  # noqa: E402
from tests.support.postgres import available, fresh_database  # noqa: E402

CONFIGURATIONS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 4))


@dataclass(frozen=True)
class Result:
    articles: int
    span_s: float

    @property
    def rate(self) -> float:
        return self.articles / self.span_s


@contextmanager
def database(backend: str, scratch: Path) -> Iterator[str]:
    if backend == "sqlite":
        path = scratch / f"scale-{os.urandom(4).hex()}.db"
        yield f"sqlite:///{path}"
        return
    with fresh_database() as url:
        yield url


def run(room: Newsroom, url: str, workers: int, scratch: Path, pool: int, verbose: bool) -> Result:
    sources = "".join(
        f'[[sources]]\nname = "feed-{i}"\nurl = "{room.feed_url(i)}"\n' for i in range(room.feeds)
    )
    config = scratch / "ingest.toml"
    config.write_text(
        f'database_url = "{url}"\n[fetch]\nallow_networks = ["127.0.0.0/8"]\nrespect_robots_txt = false\n'
        f"per_host_delay = 0\nper_host_concurrency = 8\n{sources}"
    )
    before = room.hits()
    command = [sys.executable, "-m", "ingest", "run-once", "--due", "--json", "--workers", str(pool)]
    processes = [
        subprocess.Popen(
            [*command, "--config", str(config), "--log-level", "warning"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for process in processes:
        out, err = process.communicate(timeout=1800)
        if process.returncode != 0:
            raise SystemExit(f"a worker failed ({process.returncode}): {err[-2000:]}")
        summary = json.loads(out.strip().splitlines()[-1])
        if verbose:
            print(f"    worker: {summary}", file=sys.stderr)
    fetched = room.hits() - before
    if any(fetched[room.feed_path(i)] != 1 for i in range(room.feeds)):
        raise SystemExit("a feed was not fetched exactly once")
    db = Database(url)
    try:
        with db.read() as session:
            articles = session.exec(select(func.count()).select_from(Article)).one()
            distinct = session.exec(select(func.count(func.distinct(Article.url)))).one()
            first = session.exec(select(func.min(Run.started_at))).one()
            last = session.exec(select(func.max(Run.finished_at))).one()
    finally:
        db.close()
    expected = room.feeds * room.per_round
    if articles != expected or distinct != expected or first is None or last is None:
        raise SystemExit(f"stored {articles} articles ({distinct} distinct), expected {expected}")
    return Result(articles, (last - first).total_seconds())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--per-feed", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--pool", type=int, default=0, help="extraction processes per worker (0: a thread)")
    parser.add_argument("--verbose", action="store_true", help="print every worker's summary")
    args = parser.parse_args()
    if (reason := available()) is not None:
        print(f"bench/scale.py needs PostgreSQL: {reason}", file=sys.stderr)
        return 2
    room = Newsroom(args.feeds, args.per_feed, real_pages=True)
    room.next_round()
    best: dict[tuple[str, int], Result] = {}
    try:
        with tempfile.TemporaryDirectory() as scratch_dir:
            scratch = Path(scratch_dir)
            for attempt in range(args.repeats):
                for backend, workers in CONFIGURATIONS:
                    with database(backend, scratch) as url:
                        result = run(room, url, workers, scratch, args.pool, args.verbose)
                    key = (backend, workers)
                    print(
                        f"  try {attempt + 1}: {backend} x{workers}: {result.rate:.1f} articles/s",
                        file=sys.stderr,
                    )
                    if key not in best or result.rate > best[key].rate:
                        best[key] = result
    finally:
        room.stop()
    report(best, args.feeds, args.per_feed, os.cpu_count() or 1, args.pool)
    return 0


def report(best: dict[tuple[str, int], Result], feeds: int, per_feed: int, cores: int, pool: int) -> None:
    print(f"corpus: {feeds} feeds, {feeds * per_feed} article pages of 72 KB, loopback; {cores} cores")
    print(
        f"each worker: run-once --due --workers {pool} ({'extraction in a thread' if pool == 0 else f'{pool} extraction process(es)'})"
    )
    print(f"{'database':<12}{'workers':>8}{'articles':>10}{'span s':>9}{'articles/s':>12}{'vs 1 worker':>13}")
    one = best[("postgresql", 1)].rate
    for (backend, workers), result in best.items():
        ratio = f"{result.rate / one:.2f}x" if backend == "postgresql" else ""
        print(
            f"{backend:<12}{workers:>8}{result.articles:>10}{result.span_s:>9.1f}{result.rate:>12.1f}{ratio:>13}"
        )
    cost = 1 - best[("postgresql", 1)].rate / best[("sqlite", 1)].rate
    print(f"coordination cost at one worker, PostgreSQL vs SQLite: {cost * 100:+.1f}% (target: under 5%)")


if __name__ == "__main__":
    sys.exit(main())
