"""Killed at any moment: twenty runs over the same corpus, each SIGKILLed at a random point (start-up,
migration, refresh, fetching, extraction, storing), then one run left to finish. Every article is
there exactly once and the database passes its integrity check."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.support.newsroom import Newsroom

RUNS = 20
FEEDS, PER_FEED = 6, 5


def test_twenty_random_kills_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    room = Newsroom(FEEDS, PER_FEED, page_delay=0.05)
    room.next_round()
    database = tmp_path / "ingest.db"
    config = tmp_path / "ingest.toml"
    sources = "".join(f'[[sources]]\nname = "f{i}"\nurl = "{room.feed_url(i)}"\n' for i in range(FEEDS))
    config.write_text(
        f'database_url = "sqlite:///{database}"\n[fetch]\nallow_networks = ["127.0.0.0/8"]\n'
        f"respect_robots_txt = false\nper_host_delay = 0\nper_host_concurrency = 2\n{sources}"
    )
    command = [sys.executable, "-m", "ingest", "run-once", "--workers", "0", "--config", str(config)]
    rng = random.Random(20261127)
    try:
        for _ in range(RUNS):
            process = subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(rng.uniform(0.1, 3.0))
            process.send_signal(signal.SIGKILL)
            process.wait()
        final = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        room.stop()
    assert final.returncode == 0, final.stderr[-3000:]
    expected = FEEDS * PER_FEED
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert (
            connection.execute(
                "SELECT count(*), count(DISTINCT url), count(DISTINCT content_hash) FROM article"
            ).fetchone()
            == (expected,) * 3
        )
        assert (
            connection.execute(
                "SELECT count(*), count(DISTINCT source_id || entry_key) FROM sighting"
            ).fetchone()
            == (expected,) * 2
        )
        assert connection.execute(
            "SELECT count(*) FROM sighting WHERE state != 'done' OR article_id IS NULL"
        ).fetchone() == (0,)
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
