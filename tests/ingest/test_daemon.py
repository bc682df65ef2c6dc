"""The daemon's behaviour on a controllable clock against a real server on loopback that counts.

No test sleeps through real intervals: the clock jumps to the next poll that is due.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from ingest.clock import ManualClock
from ingest.opening import open_database
from ingest.pipeline import Pipeline
from ingest.settings import Settings
from storage import sources as source_store
from storage.sources import SourceSpec
from storage.tables import Source
from tests.conftest import ROOT, make_settings
from tests.ingest.test_cli import start_daemon
from tests.support.server import LoopbackServer, Route, Seen

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """Every test of this module runs on SQLite and on PostgreSQL."""
    return any_db_url


def rss(items: str, channel: str = "") -> bytes:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link><description>d</description>{channel}{items}</channel></rss>'.encode()


def item(n: int, when: datetime) -> str:
    return f"<item><title>Item {n}</title><guid>item-{n}</guid><description>Item {n} text.</description><pubDate>{format_datetime(when)}</pubDate></item>"


def drive(
    settings: Settings,
    clock: ManualClock,
    until: datetime,
    on_tick: Callable[[], None] | None = None,
    max_step: timedelta | None = None,
) -> list[Any]:
    """Tick at every due time (and at least every ``max_step``) until ``until``; the pass summaries."""
    db = open_database(settings)
    pipeline = Pipeline(settings, db, processes=0, clock=clock)
    summaries = []

    async def go() -> None:
        async with pipeline.runtime() as runtime:
            while clock.now() < until:
                summary = await pipeline.tick(runtime)
                if summary is not None:
                    summaries.append(summary)
                if on_tick is not None:
                    on_tick()
                step = max(_next_due(settings, clock.now()), clock.now() + timedelta(seconds=1))
                clock.set(step if max_step is None else min(step, clock.now() + max_step))

    try:
        asyncio.run(go())
    finally:
        db.close()
    return summaries


def _next_due(settings: Settings, now: datetime) -> datetime:
    db = open_database(settings)
    try:
        with db.read() as session:
            dues = [
                s.next_fetch_at for s in session.exec(select(Source)).all() if s.enabled and s.next_fetch_at
            ]
    finally:
        db.close()
    return min(dues, default=now + timedelta(days=1))


def state(settings: Settings) -> dict[str, Source]:
    db = open_database(settings)
    try:
        with db.read() as session:
            return {s.name: s for s in session.exec(select(Source)).all()}
    finally:
        db.close()


def test_a_changing_feed_is_polled_more_often_than_a_still_one(server: LoopbackServer, db_url: str) -> None:
    clock = ManualClock(START)
    published: list[datetime] = []

    def changing(_seen: Seen) -> Route:
        published.append(clock.now())  # something new on every poll
        items = "".join(
            item(n, when) for n, when in enumerate(published[-20:], start=max(0, len(published) - 20))
        )
        return Route(rss(items), content_type="application/rss+xml")

    still = rss("".join(item(n, START - timedelta(days=7 * n)) for n in range(10)))
    server.add("/changing.rss", changing)
    server.add("/still.rss", Route(still, content_type="application/rss+xml", etag='"still"'))
    settings = make_settings(db_url, [{"name": "changing", "url": server.url("/changing.rss"), "full_text": False},
                                      {"name": "still", "url": server.url("/still.rss"), "full_text": False}])  # fmt: skip
    drive(settings, clock, START + timedelta(days=1))
    changing_polls, still_polls = server.hits["/changing.rss"], server.hits["/still.rss"]
    assert changing_polls > 4 * still_polls, (changing_polls, still_polls)
    assert still_polls >= 2 and server.not_modified["/still.rss"] == still_polls - 1  # asked with validators
    asked = server.requests_to("/still.rss")[-1].headers
    assert asked.get("if-none-match") == '"still"'
    sources = state(settings)
    assert (
        sources["changing"].interval_reason == "adaptive" and sources["still"].interval_reason == "adaptive"
    )


def test_no_request_reaches_a_host_before_its_retry_after(server: LoopbackServer, db_url: str) -> None:
    clock = ManualClock(START)
    answers = iter([Route(b"", status=429, headers={"Retry-After": "3600"})])

    def limited(_seen: Seen) -> Route:
        return next(answers, Route(rss(item(1, START)), content_type="application/rss+xml"))

    server.add("/limited.rss", limited)
    server.add("/other.rss", Route(rss(item(2, START)), content_type="application/rss+xml"))
    # Another source of the same host, due every ten minutes, must wait for the pause too.
    settings = make_settings(db_url, [{"name": "limited", "url": server.url("/limited.rss"), "full_text": False},
                                      {"name": "other", "url": server.url("/other.rss"), "interval": "10m", "full_text": False}])  # fmt: skip
    seen: list[tuple[datetime, int]] = []
    drive(
        settings,
        clock,
        START + timedelta(hours=2),
        on_tick=lambda: seen.append((clock.now(), len(server.requests))),
        max_step=timedelta(minutes=10),  # ticks during the pause, whichever source it deferred
    )
    after_first_tick = seen[0][1]
    during_pause = [count for moment, count in seen[1:] if moment < START + timedelta(seconds=3600)]
    assert during_pause and set(during_pause) == {after_first_tick}, (
        "a request reached the host during its pause"
    )
    assert server.hits["/limited.rss"] >= 2 and server.hits["/other.rss"] >= 3  # both resumed afterwards
    sources = state(settings)
    assert sources["limited"].consecutive_failures == 0  # rate limiting is not the source's fault
    assert sources["limited"].last_status in {"ok", "not_modified"} and sources["other"].last_status in {
        "ok",
        "not_modified",
    }


def test_per_host_concurrency_holds_with_many_sources(server: LoopbackServer, db_url: str) -> None:
    for n in range(8):
        server.add(f"/f{n}.rss", Route(rss(item(n, START)), content_type="application/rss+xml", delay=0.2))
    feeds = [{"name": f"f{n}", "url": server.url(f"/f{n}.rss"), "full_text": False} for n in range(8)]
    settings = make_settings(db_url, feeds, fetch={"per_host_concurrency": 2, "concurrency": 16})
    drive(settings, ManualClock(START), START + timedelta(seconds=1))
    assert sum(server.hits.values()) == 8 and server.max_in_flight == 2


def test_skip_hours_holds(server: LoopbackServer, db_url: str) -> None:
    skip = "<skipHours>" + "".join(f"<hour>{h}</hour>" for h in range(9, 18)) + "</skipHours>"
    server.add("/office.rss", Route(rss(item(1, START), channel=skip), content_type="application/rss+xml"))
    settings = make_settings(
        db_url, [{"name": "office", "url": server.url("/office.rss"), "interval": "10m", "full_text": False}]
    )
    times: list[tuple[datetime, int]] = []
    clock = ManualClock(START)
    drive(
        settings,
        clock,
        START + timedelta(hours=12),
        on_tick=lambda: times.append((clock.now(), server.hits["/office.rss"])),
    )
    # Polled once at 09:00 (nothing said to skip yet), then never again before 18:00.
    assert [count for moment, count in times if moment.hour < 18] == [1] * len(
        [m for m, _ in times if m.hour < 18]
    )
    assert server.hits["/office.rss"] >= 2
    source = state(settings)["office"]
    assert source.next_fetch_at is not None and source.next_fetch_at.hour not in range(9, 18)


def test_a_permanent_move_updates_the_url_and_a_temporary_one_does_not(
    server: LoopbackServer, db_url: str
) -> None:
    server.add("/new.rss", Route(rss(item(1, START)), content_type="application/rss+xml"))
    server.add("/old.rss", Route(status=301, location="/middle.rss"))
    server.add("/middle.rss", Route(status=308, location="/new.rss"))
    server.add("/elsewhere.rss", Route(status=302, location="/new.rss"))
    settings = make_settings(db_url, [{"name": "moved", "url": server.url("/old.rss"), "interval": "10m", "full_text": False},
                                      {"name": "visiting", "url": server.url("/elsewhere.rss"), "interval": "10m", "full_text": False}])  # fmt: skip
    drive(settings, ManualClock(START), START + timedelta(minutes=45))
    sources = state(settings)
    assert sources["moved"].url == server.url("/new.rss")
    assert sources["visiting"].url == server.url("/elsewhere.rss")
    assert server.hits["/old.rss"] == 3  # asked until the move was trusted, then never again
    # The config still says the old address: the move survives a restart.
    db = open_database(settings)
    db.close()
    assert state(settings)["moved"].url == server.url("/new.rss")


def test_failures_back_off_then_degrade_and_a_success_resets(server: LoopbackServer, db_url: str) -> None:
    clock = ManualClock(START)
    healthy = {"now": False}

    def flaky(_seen: Seen) -> Route:
        if healthy["now"]:
            return Route(rss(item(1, START)), content_type="application/rss+xml")
        return Route(b"down", status=500)

    server.add("/flaky.rss", flaky)
    settings = make_settings(db_url, [{"name": "flaky", "url": server.url("/flaky.rss"), "full_text": False}])
    waits: list[float] = []

    def note() -> None:
        source = state(settings)["flaky"]
        if source.poll_interval_s and source.interval_reason == "backoff":
            waits.append(source.poll_interval_s)

    drive(settings, clock, START + timedelta(days=4), on_tick=note)
    source = state(settings)["flaky"]
    assert source.state == "degraded" and source.consecutive_failures >= 10 and source.enabled
    assert waits[1] > 1.5 * waits[0] and waits[2] > 1.5 * waits[1]  # exponential
    assert max(waits) <= 86400 * 1.1  # never beyond max_interval, and still polled
    healthy["now"] = True
    drive(settings, clock, clock.now() + timedelta(days=1, hours=1))
    healed = state(settings)["flaky"]
    assert (healed.state, healed.consecutive_failures, healed.last_error_code) == ("ok", 0, None)


def test_gone_stops_polling_with_a_reason(server: LoopbackServer, db_url: str) -> None:
    server.add("/gone.rss", Route(b"", status=410))
    settings = make_settings(db_url, [{"name": "gone", "url": server.url("/gone.rss"), "full_text": False}])
    drive(settings, ManualClock(START), START + timedelta(days=2))
    assert server.hits["/gone.rss"] == 1
    source = state(settings)["gone"]
    assert (
        source.state == "gone"
        and source.next_fetch_at is None
        and "polling stopped" in (source.last_error_message or "")
    )


def test_sources_list_shows_the_schedule(server: LoopbackServer, db_url: str, tmp_path: Path) -> None:
    server.add("/a.rss", Route(rss(item(1, START)), content_type="application/rss+xml"))
    config = tmp_path / "ingest.toml"
    config.write_text(
        f'database_url = "{db_url}"\n[fetch]\nallow_networks = ["127.0.0.0/8"]\nper_host_delay = 0\nrespect_robots_txt = false\n'
        f'[[sources]]\nname = "a"\nurl = "{server.url("/a.rss")}"\nfull_text = false\n'
    )
    subprocess.run(
        [sys.executable, "-m", "ingest", "run-once", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    listed = json.loads(subprocess.run([sys.executable, "-m", "ingest", "sources", "list", "--json", "--config", str(config)],
                                       cwd=ROOT, capture_output=True, text=True, check=True).stdout)  # fmt: skip
    row = listed[0]
    assert row["state"] == "ok" and row["interval"] and row["interval_reason"] in {"adaptive", "default"}
    assert row["next_fetch_at"] and row["consecutive_failures"] == 0 and row["last_success_at"]


def test_sigterm_during_slow_work_exits_cleanly_and_loses_nothing(
    server: LoopbackServer, tmp_path: Path
) -> None:
    pages = 5
    config, database = _slow_site(server, tmp_path, "slow", pages, delay=1.5, grace="1s")
    daemon = start_daemon(config)
    _wait_for_hit(server, "/slow-0.html")
    daemon.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    _, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err[-3000:]
    assert time.monotonic() - stopped < 1 + 4, "took far longer than the grace period"
    stopped_line = [json.loads(line) for line in err.splitlines() if '"daemon_stopped"' in line]
    assert stopped_line and stopped_line[0]["leases_released"] >= 1
    with sqlite3.connect(database) as connection:
        stored_before = connection.execute("SELECT count(*) FROM article").fetchone()[0]
        assert connection.execute(
            "SELECT count(*) FROM sighting WHERE lease_owner IS NOT NULL"
        ).fetchone() == (0,)
    assert stored_before < pages
    after = subprocess.run([sys.executable, "-m", "ingest", "run-once", "--config", str(config), "--json"], cwd=ROOT,
                           capture_output=True, text=True)  # fmt: skip
    assert after.returncode == 0, after.stderr[-2000:]
    with sqlite3.connect(database) as connection:
        assert connection.execute(
            "SELECT count(*), count(DISTINCT content_hash) FROM article"
        ).fetchone() == (pages, pages)
        assert connection.execute("SELECT count(*) FROM sighting WHERE state = 'done'").fetchone() == (pages,)


def test_config_sync_keeps_a_moved_url() -> None:
    """A declaration unchanged since the move keeps the new address; a new declaration wins."""
    from storage import migrate
    from storage.db import Database

    db = Database("sqlite://")
    migrate.upgrade(db)
    spec = SourceSpec("s", "feed", "https://old.example/f", None, None, True, True)
    with db.write() as session:
        source_store.sync_declared(session, [spec])
        source = session.exec(select(Source)).one()
        source.url = "https://new.example/f"
        session.add(source)
    with db.write() as session:
        source_store.sync_declared(session, [spec])
        assert session.exec(select(Source)).one().url == "https://new.example/f"
        source_store.sync_declared(
            session, [SourceSpec("s", "feed", "https://other.example/f", None, None, True, True)]
        )
        assert session.exec(select(Source)).one().url == "https://other.example/f"
    db.close()


def test_retry_after_zero_on_pages_does_not_loop(server: LoopbackServer, db_url: str) -> None:
    items = "".join(
        f"<item><title>P{n}</title><link>/p{n}.html</link><guid>p{n}</guid></item>" for n in range(3)
    )
    server.add("/f.rss", Route(rss(items), content_type="application/rss+xml"))
    for n in range(3):
        server.add(f"/p{n}.html", Route(b"", status=429, headers={"Retry-After": "0"}))
    settings = make_settings(db_url, [{"name": "f", "url": server.url("/f.rss")}])
    summaries = drive(settings, ManualClock(START), START + timedelta(seconds=5))
    # Only what was in flight when the 429 came (per_host_concurrency), then a pause.
    page_requests = sum(hits for path, hits in server.hits.items() if path.startswith("/p"))
    assert page_requests <= 2
    assert summaries[0].counts.articles_failed == 0


def test_robots_txt_unreachable_defers_pages_without_using_attempts(
    server: LoopbackServer, db_url: str
) -> None:
    server.add("/robots.txt", Route(b"", status=503))
    server.add(
        "/f.rss",
        Route(
            rss("<item><title>P</title><link>/p.html</link><guid>p</guid></item>"),
            content_type="application/rss+xml",
        ),
    )
    server.add("/p.html", Route(b"<html><body><p>page</p></body></html>"))
    settings = make_settings(
        db_url, [{"name": "f", "url": server.url("/f.rss")}], fetch={"respect_robots_txt": True}
    )
    summaries = drive(settings, ManualClock(START), START + timedelta(minutes=3))
    assert server.hits["/p.html"] == 0 and all(s.counts.articles_failed == 0 for s in summaries)
    db = open_database(settings)
    try:
        with db.read() as session:
            from storage.tables import Sighting

            (entry,) = session.exec(select(Sighting)).all()
    finally:
        db.close()
    assert entry.state == "pending" and entry.attempts == 0


def test_a_network_down_for_everyone_is_not_counted(db_url: str) -> None:
    dead = [f"http://127.0.0.{n}:9/feed.xml" for n in (11, 12, 13)]  # nothing listens on port 9
    settings = make_settings(db_url, [{"name": f"d{n}", "url": url} for n, url in enumerate(dead)])
    drive(settings, ManualClock(START), START + timedelta(seconds=1))
    assert {s.consecutive_failures for s in state(settings).values()} == {0}


def test_an_answering_host_means_the_network_is_up(server: LoopbackServer, db_url: str) -> None:
    server.add("/broken.rss", Route(b"oops", status=500))
    feeds = [{"name": f"d{n}", "url": f"http://127.0.0.{n}:9/feed.xml"} for n in (11, 12, 13)]
    settings = make_settings(db_url, [*feeds, {"name": "broken", "url": server.url("/broken.rss")}])
    drive(settings, ManualClock(START), START + timedelta(seconds=1))
    assert {s.consecutive_failures for s in state(settings).values()} == {1}


def test_429_is_never_the_sources_fault_and_503_is(server: LoopbackServer, db_url: str) -> None:
    # Two hosts: a 429 pauses every request to its host, which would defer the other feed instead.
    other = LoopbackServer("127.0.0.2").start()
    server.add("/limited.rss", Route(b"", status=429))
    other.add("/down.rss", Route(b"", status=503, headers={"Retry-After": "7200"}))
    settings = make_settings(db_url, [{"name": "limited", "url": server.url("/limited.rss")},
                                      {"name": "down", "url": other.url("/down.rss")}])  # fmt: skip
    try:
        drive(settings, ManualClock(START), START + timedelta(seconds=1))
    finally:
        other.stop()
    sources = state(settings)
    assert sources["limited"].consecutive_failures == 0 and sources["down"].consecutive_failures == 1
    down_next = sources["down"].next_fetch_at
    assert down_next is not None and down_next >= START + timedelta(seconds=7200)  # Retry-After as a floor
    assert sources["down"].interval_reason == "retry-after"


def test_cache_control_holds_polls_back(server: LoopbackServer, db_url: str) -> None:
    server.add(
        "/cached.rss",
        Route(
            rss(item(1, START)), content_type="application/rss+xml", headers={"Cache-Control": "max-age=7200"}
        ),
    )
    settings = make_settings(
        db_url, [{"name": "cached", "url": server.url("/cached.rss"), "interval": "5m", "full_text": False}]
    )
    drive(settings, ManualClock(START), START + timedelta(hours=4))
    assert server.hits["/cached.rss"] == 2  # at 09:00 and 11:00, not every five minutes
    assert state(settings)["cached"].interval_reason == "cache"


def test_a_feed_without_dates_starts_at_the_default_interval(server: LoopbackServer, db_url: str) -> None:
    items = "".join(
        f"<item><title>N{n}</title><guid>n{n}</guid><description>x</description></item>" for n in range(15)
    )
    server.add("/nodates.rss", Route(rss(items), content_type="application/rss+xml"))
    settings = make_settings(
        db_url, [{"name": "nodates", "url": server.url("/nodates.rss"), "full_text": False}]
    )
    drive(settings, ManualClock(START), START + timedelta(seconds=1))
    source = state(settings)["nodates"]
    assert source.interval_reason == "default" and (source.poll_interval_s or 0) >= 1600


def test_a_gone_source_is_polled_again_once_redeclared(server: LoopbackServer, db_url: str) -> None:
    server.add("/gone.rss", Route(b"", status=410))
    server.add("/new.rss", Route(rss(item(1, START)), content_type="application/rss+xml"))
    settings = make_settings(db_url, [{"name": "s", "url": server.url("/gone.rss"), "full_text": False}])
    drive(settings, ManualClock(START), START + timedelta(seconds=1))
    assert state(settings)["s"].state == "gone"
    moved = make_settings(db_url, [{"name": "s", "url": server.url("/new.rss"), "full_text": False}])
    drive(moved, ManualClock(START + timedelta(hours=1)), START + timedelta(hours=1, seconds=1))
    assert state(moved)["s"].state == "ok" and server.hits["/new.rss"] == 1


def test_a_tick_ends_even_when_sources_fall_due_as_fast_as_they_are_polled(
    server: LoopbackServer, db_url: str
) -> None:
    """Sources due again within the pass are left to the next tick, and the entries get drained."""
    for n in range(6):
        server.add(f"/busy{n}.rss", Route(rss(item(n, START)), content_type="application/rss+xml", delay=0.3))
    sources = [{"name": f"busy{n}", "url": server.url(f"/busy{n}.rss"), "interval": "0.5s", "full_text": False}
               for n in range(6)]  # fmt: skip
    settings = make_settings(db_url, sources, fetch={"concurrency": 1}, schedule={"min_interval": "0.1s"})
    db = open_database(settings)
    pipeline = Pipeline(settings, db, processes=0)

    async def one_tick() -> Any:
        async with pipeline.runtime() as runtime:
            return await asyncio.wait_for(pipeline.tick(runtime), 60)

    try:
        summary = asyncio.run(one_tick())
    finally:
        db.close()
    assert summary.counts.sources_ok == 6 and summary.counts.articles_new == 6
    assert {server.hits[f"/busy{n}.rss"] for n in range(6)} == {1}


def test_sigterm_lets_the_entries_in_flight_finish_within_the_grace_period(
    server: LoopbackServer, tmp_path: Path
) -> None:
    """The pass in flight is not cut short: what is being fetched is stored, nothing new is started."""
    config, database = _slow_site(server, tmp_path, "s", 4, delay=1.0, grace="20s")
    daemon = start_daemon(config)
    _wait_for_hit(server, "/s-0.html")
    daemon.send_signal(signal.SIGTERM)
    _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-3000:]
    (stopped,) = [json.loads(line) for line in err.splitlines() if '"daemon_stopped"' in line]
    assert stopped["interrupted"] == 0 and stopped["passes"] == 1, stopped
    assert '"level": "error"' not in err, "a clean stop logs no error"
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM article WHERE url LIKE '%/s-0.html'").fetchone() == (
            1,
        )


def _slow_site(
    server: LoopbackServer, tmp_path: Path, name: str, pages: int, delay: float, grace: str
) -> tuple[Path, Path]:
    """A feed of ``pages`` pages that each take ``delay`` seconds, one at a time: (config, database)."""
    items = "".join(
        f"<item><title>Slow {n}</title><link>/{name}-{n}.html</link><guid>{name}-{n}</guid></item>"
        for n in range(pages)
    )
    server.add(f"/{name}.rss", Route(rss(items), content_type="application/rss+xml"))
    words = " ".join(f"w{i}" for i in range(150))
    for n in range(pages):
        body = (
            f"<html><body><article><h1>Slow {n}</h1><p>Page {n}. {words} end {n}.</p></article></body></html>"
        )
        server.add(f"/{name}-{n}.html", Route(body.encode(), delay=delay))
    database = tmp_path / "ingest.db"
    config = tmp_path / "ingest.toml"
    config.write_text(
        f'database_url = "sqlite:///{database}"\nworkers = 1\n[daemon]\nshutdown_grace = "{grace}"\n'
        '[fetch]\nallow_networks = ["127.0.0.0/8"]\nper_host_delay = 0\nper_host_concurrency = 1\nrespect_robots_txt = false\n'
        f'[[sources]]\nname = "slow"\nurl = "{server.url(f"/{name}.rss")}"\n'
    )
    return config, database


def _wait_for_hit(server: LoopbackServer, path: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and server.hits[path] == 0:
        time.sleep(0.02)
