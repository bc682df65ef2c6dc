"""The daemon's HTTP listener: live, ready, metrics; unready when the database goes away."""

from __future__ import annotations

import signal
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from ingest.monitor import Heartbeat, Monitor
from storage import migrate
from storage.db import Database
from tests.conftest import ROOT
from tests.ingest.test_cli import ingest, start_daemon, write_config
from tests.ingest.test_manage import _feed
from tests.support.postgres import server_url
from tests.support.server import LoopbackServer, Route


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _wait_for(url: str, status: int, within: float = 30) -> str:
    deadline = time.monotonic() + within
    last: tuple[int, str] | None = None
    while time.monotonic() < deadline:
        try:
            last = _get(url)
            if last[0] == status:
                return last[1]
        except OSError:  # not listening yet
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} never answered {status} (last: {last})")


def test_health_ready_and_metrics_and_unready_once_the_database_is_gone(
    any_db_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    config = tmp_path / "ingest.toml"
    config.write_text(
        f'database_url = "{any_db_url}"\n[schedule]\ntick = "1s"\n[daemon]\nhttp_listen = "127.0.0.1:{port}"\n'
        f'[[sources]]\nname = "seeds"\npath = "{ROOT / "seeds"}"\n'
    )
    daemon = start_daemon(config)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait_for(f"{base}/healthz", 200) == "ok\n"
        assert _wait_for(f"{base}/readyz", 200) == "ready\n"
        status, metrics = _get(f"{base}/metrics")
        assert status == 200 and "# TYPE" in metrics
        assert _get(f"{base}/nothing")[0] == 404

        _remove_database(any_db_url)
        reason = _wait_for(f"{base}/readyz", 503)
        assert reason.strip(), "an unready answer says why"
        assert _get(f"{base}/healthz")[0] == 200  # alive all the same
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-3000:]
    assert "Traceback" not in err


def _remove_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    admin = make_url(server_url()).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{parsed.database}" WITH (FORCE)')


def test_a_listener_that_cannot_bind_or_parse_is_a_config_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, "", extra=f'[daemon]\nhttp_listen = "127.0.0.1:{port}"')
        busy = ingest("daemon", "--config", str(config))
    assert busy.returncode == 2 and "http_listen" in busy.stderr and "Traceback" not in busy.stderr
    config = write_config(tmp_path, "", extra='[daemon]\nhttp_listen = "9108"')
    malformed = ingest("daemon", "--config", str(config))
    assert malformed.returncode == 2 and "host:port" in malformed.stderr


def test_the_heartbeat_goes_stale_without_ticks_but_not_during_a_pass() -> None:
    beat = Heartbeat(tick_s=0.01)
    assert beat.problem() is None
    time.sleep(0.05)
    assert beat.problem() is not None and "not ticked" in (beat.problem() or "")
    beat.tick_started()
    time.sleep(0.05)
    assert beat.problem() is None  # a long pass is not a stuck scheduler
    beat.tick_ended()
    assert beat.problem() is None


def test_a_silent_client_holds_up_neither_probes_nor_stopping(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(db)
    monitor = Monitor(f"127.0.0.1:{_free_port()}", db, Heartbeat(30))
    monitor.start()
    try:
        with socket.create_connection(("127.0.0.1", monitor.port)):  # connects, says nothing
            assert _get(f"http://127.0.0.1:{monitor.port}/healthz")[0] == 200
            assert _get(f"http://127.0.0.1:{monitor.port}/readyz")[0] == 200
            stopping = time.monotonic()
            monitor.stop()
            assert time.monotonic() - stopping < 3
    finally:
        monitor.stop()
        db.close()


def _series(text: str) -> dict[str, float]:
    """Prometheus text format to {'name{labels}': value}."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_metrics_move_with_the_work(tmp_path: Path, server: LoopbackServer) -> None:
    """A running daemon's counters and gauges, scraped as Prometheus would, follow what it does."""
    url = _feed(server, "/news.xml", "Metrics", items=3)
    server.add("/broken.xml", Route(b"nope", status=500))
    port = _free_port()
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "news"\nurl = "{url}"\n[[sources]]\nname = "broken"\nurl = "{server.url("/broken.xml")}"\n',
        extra=f'[schedule]\ntick = "1s"\n[daemon]\nhttp_listen = "127.0.0.1:{port}"\n',
    )
    daemon = start_daemon(config)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, series = time.monotonic() + 60, {}
        while time.monotonic() < deadline:
            try:
                series = _series(_get(f"{base}/metrics")[1])
            except OSError:
                series = {}
            if series.get('ingest_articles_stored_total{outcome="new"}') == 3.0:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the articles were never counted: {series}")
        assert series['ingest_polls_total{status="ok"}'] >= 1
        assert series['ingest_polls_total{status="failed"}'] >= 1
        assert series['ingest_fetch_duration_seconds_count{what="page"}'] == 3
        assert series['ingest_fetch_duration_seconds_count{what="feed"}'] >= 1
        assert series['ingest_sources{state="ok"}'] == 1 and series['ingest_sources{state="failing"}'] == 1
        assert series["ingest_sources_degraded"] == 0
        assert series["ingest_queue_depth"] == 0
        assert 'ingest_lease_takeovers_total{kind="entry"}' in series
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-3000:]
