"""The command line as users and scripts drive it: exit codes, --json, logs, export, crash safety."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.server import LoopbackServer, Route, Seen

SUMMARY_KEYS = {"run_id", "sources_ok", "sources_failed", "sources_not_modified", "entries_seen", "entries_new",
                "articles_new", "articles_duplicate", "articles_near_duplicate", "articles_failed", "duration_s"}  # fmt: skip
EXPORT_KEYS = {"id", "url", "canonical_url", "title", "author", "published_at", "language", "site_name", "text",
               "content_hash", "duplicate_of", "extractor", "sightings"}  # fmt: skip


def ingest(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def start_daemon(config: Path) -> subprocess.Popen[str]:
    """``ingest daemon`` in the background; its log comes back from ``communicate()``."""
    return subprocess.Popen([sys.executable, "-m", "ingest", "daemon", "--config", str(config)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def write_config(tmp_path: Path, sources: str, extra: str = "") -> Path:
    config = tmp_path / "ingest.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "ingest.db"}"\nworkers = 1\n'
        f'[fetch]\nallow_networks = ["127.0.0.0/8"]\ntimeout = "10s"\nrespect_robots_txt = false\nper_host_delay = 0\n{extra}\n{sources}'
    )
    return config


def test_default_config_run_export_and_list(tmp_path: Path) -> None:
    env = {"INGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'ingest.db'}"}
    first = ingest("run-once", "--json", env=env)
    assert first.returncode == 0, first.stderr
    (summary,) = json_lines(first.stdout)
    assert set(summary) >= SUMMARY_KEYS and summary["articles_new"] == 5
    events = json_lines(first.stderr)
    assert events and all({"event", "level", "timestamp"} <= set(e) for e in events)
    assert [e for e in events if e["event"] == "source_refreshed" and e.get("source") == "seeds"]
    finished = [e for e in events if e["event"] == "run_finished"]
    assert len(finished) == 1 and all(finished[0][k] == summary[k] for k in SUMMARY_KEYS)

    again = json_lines(ingest("run-once", "--json", env=env).stdout)[0]
    assert again["articles_new"] == 0

    exported = json_lines(ingest("export", "--format", "jsonl", env=env).stdout)
    assert len(exported) == 5 and all(set(row) >= EXPORT_KEYS for row in exported)
    assert all(set(row["sightings"][0]) >= {"source", "guid", "link", "first_seen_at"} for row in exported)

    listed = ingest("sources", "list", "--json", env=env)
    assert listed.returncode == 0
    assert json.loads(listed.stdout)[0]["name"] == "seeds" and json.loads(listed.stdout)[0]["state"] == "ok"
    text = ingest("export", "--format", "text", env=env).stdout
    assert "Moussa Keita" in text and "Bamada.net" in text


def test_options_after_the_subcommand(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[[sources]]\nname = "seeds"\npath = "{ROOT / "seeds"}"\n')
    result = ingest("run-once", "--config", str(config), "--log-format", "console", "--json")
    assert result.returncode == 0
    assert "run_finished" in result.stderr and not result.stderr.lstrip().startswith("{")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('unknown_key = 1\n[[sources]]\nname = "a"\n', "unknown_key"),
        ('[fetch]\ntimeout = "later"\n', "fetch.timeout"),
        ('[[sources]]\nname = "a"\n', "exactly one of `url`"),
        (
            '[[sources]]\nname = "a"\nurl = "https://a.example/f"\n[[sources]]\nname = "a"\npath = "x"\n',
            "two sources",
        ),
    ],
)
def test_bad_config_exits_2_with_one_clear_message(tmp_path: Path, config: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(config)
    result = ingest("run-once", "--config", str(path))
    assert result.returncode == 2
    assert message in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_config_and_unknown_source_exit_2(tmp_path: Path) -> None:
    missing = ingest("run-once", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "no such config file" in missing.stderr
    config = write_config(tmp_path, f'[[sources]]\nname = "seeds"\npath = "{ROOT / "seeds"}"\n')
    unknown = ingest("run-once", "--config", str(config), "--source", "nope")
    assert unknown.returncode == 2 and "no source named 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + missing.stderr


def test_bad_database_url_exits_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, "")
    result = ingest("run-once", "--config", str(config), env={"INGEST_DATABASE_URL": "nosuchdb://x"})
    assert result.returncode == 2 and "database" in result.stderr and "Traceback" not in result.stderr


def test_failures_exit_1_and_the_rest_is_stored(tmp_path: Path, server: LoopbackServer) -> None:
    server.add("/home", Route(b"<html><body><p>a home page</p></body></html>"))
    config = write_config(
        tmp_path, f'[[sources]]\nname = "seeds"\npath = "{ROOT / "seeds"}"\n'
        f'[[sources]]\nname = "home"\nurl = "{server.url("/home")}"\n'
    )  # fmt: skip
    result = ingest("run-once", "--config", str(config), "--json")
    summary = json_lines(result.stdout)[0]
    assert result.returncode == 1 and summary["sources_failed"] == 1 and summary["articles_new"] == 5
    failed = [
        e for e in json_lines(result.stderr) if e["event"] == "source_refreshed" and e["source"] == "home"
    ]
    assert failed[0]["status"] == "failed" and failed[0]["error_code"] == "parse.not_a_feed"


PAGES = 24


def _page(seen: Seen) -> Route:
    number = int(seen.path.rsplit("-", 1)[1].split(".")[0])
    words = " ".join(f"word{number}x{i}" for i in range(120))
    body = f"<html><head><title>Story {number}</title></head><body><article><h1>Story {number}</h1>"
    body += f"<p>Story number {number} begins here. {words}.</p><p>It ends with sentence {number}.</p></article></body></html>"
    return Route(body.encode(), delay=0.15)


def test_sigkill_mid_run_loses_nothing_and_duplicates_nothing(tmp_path: Path, server: LoopbackServer) -> None:
    items = "".join(
        f"<item><title>Story {n}</title><link>/story-{n}.html</link><guid>s-{n}</guid></item>"
        for n in range(PAGES)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link><description>d</description>{items}</channel></rss>'
    server.add("/feed.xml", Route(feed.encode(), content_type="application/rss+xml", etag='"v1"'))
    for n in range(PAGES):
        server.add(f"/story-{n}.html", _page)
    config = write_config(tmp_path, f'[[sources]]\nname = "slow"\nurl = "{server.url("/feed.xml")}"\n',
                          extra="per_host_concurrency = 1")  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", "run-once", "--config", str(config)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    database = tmp_path / "ingest.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _count(database, "article") < 3:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stored_before = _count(database, "article")
    assert 3 <= stored_before < PAGES, "the kill should land in the middle of the run"

    result = ingest("run-once", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    summary = json_lines(result.stdout)[0]
    assert summary["sources_not_modified"] == 1  # the validators were saved with the entries
    assert _count(database, "article") == PAGES
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*), count(DISTINCT entry_key) FROM sighting").fetchone() == (
            PAGES,
            PAGES,
        )
        assert connection.execute("SELECT count(*) FROM sighting WHERE state != 'done'").fetchone() == (0,)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _count(database: Path, table: str) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database, timeout=5) as connection:
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def test_bad_environment_json_exits_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, "")
    result = ingest("run-once", "--config", str(config), env={"INGEST_FETCH__ALLOW_NETWORKS": "garbage"})
    assert result.returncode == 2 and "$INGEST_FETCH__ALLOW_NETWORKS" in result.stderr
    assert "Traceback" not in result.stderr


def test_two_concurrent_runs_store_everything_exactly_once(tmp_path: Path, server: LoopbackServer) -> None:
    items = "".join(
        f"<item><title>Story {n}</title><link>/story-{n}.html</link><guid>s-{n}</guid></item>"
        for n in range(PAGES)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link><description>d</description>{items}</channel></rss>'
    server.add("/feed.xml", Route(feed.encode(), content_type="application/rss+xml"))
    server.add("/copy.xml", Route(feed.encode(), content_type="application/rss+xml"))
    for n in range(PAGES):
        server.add(f"/story-{n}.html", _page)
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "a"\nurl = "{server.url("/feed.xml")}"\n[[sources]]\nname = "b"\nurl = "{server.url("/copy.xml")}"\n',
    )
    command = [sys.executable, "-m", "ingest", "run-once", "--config", str(config), "--json"]
    runs = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in runs]
    assert [process.returncode for process in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    assert "database is locked" not in "".join(err for _, err in outputs)
    database = tmp_path / "ingest.db"
    assert _count(database, "article") == PAGES
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM sighting WHERE state = 'done'").fetchone() == (
            2 * PAGES,
        )
