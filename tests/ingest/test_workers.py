"""Several worker processes on one database, as in production: each due feed is polled once per
round, each article stored once, and a killed worker's leases are taken over after they expire.

The workers are real ``ingest run-once --due`` processes against a loopback server that counts
every request; rounds are made by publishing new items and making every source due again.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from ingest.pipeline import _pid_namespace, is_dead_local_worker, worker_name
from storage import migrate
from storage.db import Database
from storage.tables import Article, Sighting, Source
from storage.types import utcnow
from tests.conftest import ROOT
from tests.ingest.test_cli import json_lines
from tests.support.newsroom import Newsroom

FEEDS = 200
PER_ROUND = 2
WORKERS = 4
# A worker "on another machine": its leases cannot be checked locally, only waited out.
ELSEWHERE = (
    "import socket, sys; socket.gethostname = lambda: 'machine-b'; "
    "from ingest.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.fixture
def room() -> Iterator[Newsroom]:
    newsroom = Newsroom(FEEDS, PER_ROUND)
    yield newsroom
    newsroom.stop()


def _config(tmp_path: Path, db_url: str, room: Newsroom, fetch: str = "", schedule: str = "") -> Path:
    sources = "".join(f'[[sources]]\nname = "feed-{i}"\nurl = "{room.feed_url(i)}"\n' for i in range(FEEDS))
    config = tmp_path / "ingest.toml"
    config.write_text(
        f'database_url = "{db_url}"\n'
        '[fetch]\nallow_networks = ["127.0.0.0/8"]\nrespect_robots_txt = false\nper_host_delay = 0\n'
        f"per_host_concurrency = 4\n{fetch}\n[schedule]\n{schedule}\n{sources}"
    )
    return config


def _start(
    config: Path, runner: list[str] | None = None, log: IO[str] | None = None
) -> subprocess.Popen[str]:
    """A worker; its output is piped unless ``log`` is given (a process nobody reads from must not
    block on a full pipe)."""
    command = [*(runner or [sys.executable, "-m", "ingest"]), "run-once", "--due", "--json", "--workers", "0"]
    output = log or subprocess.PIPE
    return subprocess.Popen(
        [*command, "--config", str(config)], cwd=ROOT, stdout=output, stderr=output, text=True
    )


def _workers(config: Path, count: int) -> list[dict[str, object]]:
    """Start ``count`` workers at once; wait for all; their summaries."""
    processes = [_start(config) for _ in range(count)]
    summaries = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        assert "database is locked" not in err and "Traceback" not in err, err[-3000:]
        summaries.extend(json_lines(out))
    return summaries


def _make_all_due(db: Database) -> None:
    with db.write() as session:
        session.execute(update(Source).values(next_fetch_at=utcnow() - timedelta(seconds=1)))


def _stored_urls(db: Database) -> Counter[str]:
    with db.read() as session:
        return Counter(session.exec(select(Article.url)).all())


def _unfinished(db: Database) -> int:
    with db.read() as session:
        return session.exec(select(func.count()).where(col(Sighting.state) != "done")).one()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_four_workers_three_rounds_each_feed_once_each_article_once(
    backend: str, tmp_path: Path, room: Newsroom, request: pytest.FixtureRequest
) -> None:
    db_url = (
        f"sqlite:///{tmp_path / 'ingest.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    )
    config = _config(tmp_path, db_url, room)
    db = Database(db_url)
    try:
        for round_ in (1, 2, 3):
            room.next_round()
            before = room.hits()
            if round_ > 1:
                _make_all_due(db)
            summaries = _workers(config, WORKERS)
            polled = room.hits() - before
            assert {polled[room.feed_path(i)] for i in range(FEEDS)} == {1}, f"round {round_}"
            stored = _stored_urls(db)
            assert set(stored) == room.published() and set(stored.values()) == {1}, f"round {round_}"
            assert sum(int(str(s["articles_new"])) for s in summaries) == FEEDS * PER_ROUND
            assert sum(int(str(s["sources_ok"])) for s in summaries) == FEEDS
            assert _unfinished(db) == 0
        pages = room.hits()
        assert {pages[path] for path in pages if path.startswith("/a/")} == {1}  # no page fetched twice
        shares = [int(str(s["sources_ok"])) for s in summaries]
        assert sum(1 for share in shares if share) >= 2, f"one worker took every source: {shares}"
    finally:
        db.close()


@pytest.mark.postgres
@pytest.mark.parametrize("moment", ["refreshing", "draining"])
def test_a_killed_workers_leases_are_taken_over_after_they_expire(
    moment: str, tmp_path: Path, pg_url: str
) -> None:
    # Slow answers keep the victim busy long enough to be killed in the middle of its work.
    room = Newsroom(FEEDS, PER_ROUND, page_delay=0.05)
    if moment == "refreshing":
        for i in range(FEEDS):
            room.server.add(room.feed_path(i), room.slow_feed(0.1))
    config = _config(tmp_path, pg_url, room, fetch='timeout = "3s"', schedule='lease_margin = "1s"')
    db = Database(pg_url)
    migrate.upgrade(db)
    try:
        room.next_round()
        with (tmp_path / "victim.log").open("w") as log:
            victim = _start(config, [sys.executable, "-c", ELSEWHERE], log)
            held = _wait_for_leases(db, "machine-b:%", Source if moment == "refreshing" else Sighting)
            victim.kill()
            victim.wait()
        held_feeds, held_pages = _leased_by(db, "machine-b:%")
        assert held_feeds or held_pages, "the kill should land while the victim holds leases"
        assert held > 0
        killed_at = time.time()

        _workers(config, WORKERS - 1)  # the others take everything but the victim's live leases
        _wait_until_expired(db)
        _workers(config, WORKERS - 1)  # now its work is taken over

        stored = _stored_urls(db)
        assert set(stored) == room.published() and set(stored.values()) == {1}
        assert _unfinished(db) == 0
        # Nobody touched the victim's leased work before its lease expired (whenever that was).
        offset = time.time() - time.monotonic()  # the server stamps requests with the monotonic clock
        for url, expiry in {**held_feeds, **held_pages}.items():
            path = url.removeprefix(room.server.url(""))
            later = [
                seen.at + offset for seen in room.server.requests_to(path) if seen.at + offset > killed_at
            ]
            assert all(moment >= expiry.timestamp() - 0.05 for moment in later), url
        hits = room.hits()
        for i in range(FEEDS):  # only a feed the victim was fetching may have been fetched twice
            assert hits[room.feed_path(i)] == 1 or (
                room.feed_url(i) in held_feeds and hits[room.feed_path(i)] == 2
            )
        for path, count in hits.items():
            if path.startswith("/a/"):
                assert count == 1 or (room.server.url(path) in held_pages and count == 2), path
    finally:
        db.close()
        room.stop()


def _wait_for_leases(db: Database, owner: str, model: type[Source] | type[Sighting]) -> int:
    """Wait until ``owner`` holds a lease on some row of ``model``; how many it holds then."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with db.read() as session:
            held = session.exec(
                select(func.count()).select_from(model).where(col(model.lease_owner).like(owner))
            ).one()
            done = session.exec(select(func.count()).select_from(Article)).one()
        if held and (model is Source or done >= 10):
            return int(held)
        time.sleep(0.02)
    pytest.fail(f"no lease on {model.__name__} taken by {owner}")


def _leased_by(db: Database, owner: str) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """The feeds and pages ``owner`` holds leases on, with when each lease expires."""
    with db.read() as session:
        feeds = session.exec(
            select(Source.url, Source.lease_expires_at).where(col(Source.lease_owner).like(owner))
        ).all()
        pages = session.exec(
            select(Sighting.link, Sighting.lease_expires_at).where(col(Sighting.lease_owner).like(owner))
        ).all()
    return (
        {url: until for url, until in feeds if url and until},
        {link: until for link, until in pages if link and until},
    )


def _wait_until_expired(db: Database) -> None:
    with db.read() as session:
        ends = [
            *session.exec(select(Source.lease_expires_at).where(col(Source.lease_owner).is_not(None))).all(),
            *session.exec(
                select(Sighting.lease_expires_at).where(col(Sighting.lease_owner).is_not(None))
            ).all(),
        ]
    last = max((end for end in ends if end is not None), default=utcnow())
    time.sleep(max(0.0, (last - utcnow()).total_seconds()) + 0.5)


def test_worker_names_tell_a_dead_local_process_from_anything_else() -> None:
    alive = worker_name()
    assert not is_dead_local_worker(alive)
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    host = alive.split(":")[0]
    assert is_dead_local_worker(f"{host}:{process.pid}:{_pid_namespace()}:abcd1234")
    assert not is_dead_local_worker(f"machine-b:{process.pid}:{_pid_namespace()}:abcd1234")  # elsewhere
    assert not is_dead_local_worker(f"{host}:{process.pid}:other-namespace:abcd1234")  # another container
    assert not is_dead_local_worker("not a worker name")
