"""WebSub end to end on loopback: a real daemon, a real hub, real callbacks and pushes.

subscribe → verify → push → ingest; a forged push refused and logged; the lease renewed before it
lapses; the subscription ended when the source is disabled; nothing asked of any hub without a
callback address.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import pytest

from ingest.settings import WebSubSettings
from ingest.urls import header_links
from ingest.websub import MAX_CALLBACKS, WebSub, _lease, signature_ok
from tests.ingest.test_cli import ingest, json_lines, start_daemon, write_config
from tests.ingest.test_monitor import _free_port, _get, _wait_for
from tests.support.hub import LoopbackHub
from tests.support.server import LoopbackServer, Route

RSS = "application/rss+xml"


def _feed(server: LoopbackServer, hub: str, stories: list[str]) -> bytes:
    self_url = server.url("/feed.xml")
    items = "".join(
        f"<item><title>Story {name}</title><link>{server.url(f'/{name}.html')}</link><guid>{name}</guid></item>"
        for name in stories
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
        f"<title>Pushed News</title><link>{server.url('/')}</link>"
        f'<atom:link rel="hub" href="{hub}"/><atom:link rel="self" href="{self_url}"/>{items}</channel></rss>'
    ).encode()


def _page(name: str) -> Route:
    text = f"The harbour story {name} is told here in full. " * 30
    return Route(f"<html><body><article><h1>Story {name}</h1><p>{text}</p></article></body></html>".encode())


@pytest.fixture
def hub() -> Iterator[LoopbackHub]:
    running = LoopbackHub(lease_s=6).start()
    yield running
    running.stop()


def _stored(db: Path) -> set[str]:
    """The stored articles' addresses; none while the daemon has not created its database yet."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
            return {row[0] for row in connection.execute("select url from article")}
    except sqlite3.OperationalError:
        return set()


def _until(what: str, check: Callable[[], bool], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"never: {what}")


def test_subscribe_verify_push_ingest_refuse_renew_unsubscribe(
    tmp_path: Path, server: LoopbackServer, hub: LoopbackHub
) -> None:
    for name in ("a1", "a2", "a3"):
        server.add(f"/{name}.html", _page(name))
    feed = server.add("/feed.xml", Route(_feed(server, hub.url, ["a1"]), content_type=RSS))
    port = _free_port()
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "pushed"\nurl = "{feed}"\n',
        extra=f'[schedule]\ntick = "1s"\n[daemon]\nhttp_listen = "127.0.0.1:{port}"\n'
        f'[websub]\ncallback_url = "http://127.0.0.1:{port}/websub/"\nrenew_before = "3s"\n'
        "allow_http_hubs = true\n",
    )
    daemon = start_daemon(config)
    db = tmp_path / "ingest.db"
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", 200)
        # Subscribed: the hub was asked once, called back, and the daemon echoed its challenge.
        hub.wait_for("a verified subscription", lambda: feed in hub.subscribers)
        subscribe = hub.requests[0]
        assert subscribe["hub.mode"] == "subscribe" and subscribe["hub.topic"] == feed
        assert subscribe["hub.callback"].startswith(f"http://127.0.0.1:{port}/websub/")
        assert len(subscribe["hub.secret"]) >= 32 and subscribe["hub.lease_seconds"] == "864000"
        _until("the first poll's article", lambda: server.url("/a1.html") in _stored(db))
        # Verifications that are not ours to confirm: another topic, an unknown callback.
        callback = subscribe["hub.callback"]
        assert (
            _get(f"{callback}?hub.mode=subscribe&hub.topic=https%3A%2F%2Fx.example%2F&hub.challenge=c")[0]
            == 404
        )
        assert (
            _get(f"{callback}?hub.mode=unsubscribe&hub.topic={quote(feed, safe='')}&hub.challenge=c")[0]
            == 404
        )
        assert _get(f"http://127.0.0.1:{port}/websub/{'x' * 32}?hub.mode=subscribe&hub.challenge=c")[0] == 404

        # A push with a new entry: fetched and stored without waiting for a poll.
        polls_before = server.hits["/feed.xml"]
        assert hub.push(feed, _feed(server, hub.url, ["a1", "a2"]), RSS) == 202
        _until("the pushed article", lambda: server.url("/a2.html") in _stored(db), within=20)

        # A forged push: refused, and nothing of it fetched.
        forged = _feed(server, hub.url, ["a1", "a3"])
        assert hub.push(feed, forged, RSS, signature="sha256=" + "0" * 64) == 403
        assert hub.push(feed, forged, RSS, signature="") == 403
        chunked = _post(subscribe["hub.callback"], iter([forged]), {"Transfer-Encoding": "chunked"})
        assert chunked == 411
        time.sleep(1.5)
        assert server.hits["/a3.html"] == 0 and server.url("/a3.html") not in _stored(db)

        shown = ingest("sources", "show", "pushed", "--json", "--config", str(config))
        websub = json.loads(shown.stdout)["websub"]
        assert (websub["hub"], websub["topic"], websub["state"]) == (hub.url, feed, "active")
        assert (websub["pushes"], websub["pushes_refused"]) == (1, 2)

        # Granted 6 s, renewed 3 s before it lapses: asked again with the same callback.
        hub.wait_for("a renewal", lambda: sum(r["hub.mode"] == "subscribe" for r in hub.requests) >= 2)
        assert {r["hub.callback"] for r in hub.requests} == {subscribe["hub.callback"]}
        assert server.hits["/feed.xml"] - polls_before <= 1  # polling only as a safety net meanwhile

        # Disabled: the subscription is ended with the hub, which confirms it.
        disabled = ingest("sources", "disable", "pushed", "--config", str(config))
        assert disabled.returncode == 0, disabled.stderr
        hub.wait_for("an unsubscription", lambda: feed not in hub.subscribers)
        assert any(v.mode == "unsubscribe" and v.echoed for v in hub.verifications)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-3000:]
    _check_logged(err)


def _check_logged(err: str) -> None:
    """Each step logged once with what an operator needs; the refusals with their reason."""
    assert "Traceback" not in err
    events = json_lines(err)
    names = [e["event"] for e in events]
    for expected in ("websub_subscribe_requested", "websub_verified", "websub_push_accepted",
                     "websub_unsubscribe_requested", "websub_unsubscribed"):  # fmt: skip
        assert expected in names, expected
    refused = [e for e in events if e["event"] == "websub_push_refused"]
    assert [e["reason"] for e in refused] == ["a bad signature", "no signature"]
    assert all(e["source"] == "pushed" for e in refused)
    accepted = next(e for e in events if e["event"] == "websub_push_accepted")
    assert accepted["entries_new"] == 1


def test_without_a_callback_url_no_hub_is_asked(
    tmp_path: Path, server: LoopbackServer, hub: LoopbackHub
) -> None:
    server.add("/a1.html", _page("a1"))
    feed = server.add("/feed.xml", Route(_feed(server, hub.url, ["a1"]), content_type=RSS))
    port = _free_port()
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "pushed"\nurl = "{feed}"\n',
        extra=f'[schedule]\ntick = "1s"\n[daemon]\nhttp_listen = "127.0.0.1:{port}"\n',
    )
    daemon = start_daemon(config)
    try:
        _until("the article", lambda: server.url("/a1.html") in _stored(tmp_path / "ingest.db"))
        time.sleep(3)  # three more ticks
        assert _wait_for(f"http://127.0.0.1:{port}/websub/{'x' * 32}", 404)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-3000:]
    assert hub.requests == [] and "websub" not in err


def test_a_callback_url_needs_the_listener(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "", extra='[websub]\ncallback_url = "https://ingest.example.org/websub"\n'
    )
    result = ingest("daemon", "--config", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "websub.callback_url needs daemon.http_listen" in result.stderr


SECRET = "s3cret"
BODY = b"<rss/>"


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_every_signature_method_of_the_recommendation_is_checked(method: str) -> None:
    digest = hmac.new(SECRET.encode(), BODY, getattr(hashlib, method)).hexdigest()
    assert signature_ok(SECRET, BODY, f"{method}={digest}")
    assert signature_ok(SECRET, BODY, f"{method.upper()}={digest.upper()}")
    assert not signature_ok(SECRET, BODY + b" ", f"{method}={digest}")
    assert not signature_ok("other", BODY, f"{method}={digest}")


@pytest.mark.parametrize("header", [None, "", "sha256", "sha256=", "md5=abc", "sha256=zz", "sha256=é" * 3])
def test_a_missing_or_unknown_signature_is_refused(header: str | None) -> None:
    assert not signature_ok(SECRET, BODY, header)


def test_the_hub_and_topic_of_a_link_header() -> None:
    found = header_links('<https://hub.example/>; rel="hub", </feed>; rel=self; type="x", <ftp://x>; rel="next"',
                         "https://news.example/rss")  # fmt: skip
    assert found == {"hub": "https://hub.example/", "self": "https://news.example/feed"}
    assert header_links("", "https://news.example/") == {}
    assert (
        header_links('<https://a.example/>; rel="hub self"', "https://x.example/")["self"]
        == "https://a.example/"
    )


@pytest.mark.parametrize(
    ("granted", "lease"),
    [(None, 864000.0), ("3600", 3600.0), ("0", 864000.0), ("-5", 864000.0), ("inf", 864000.0),
     ("1e20", 864000.0), ("99999999999999999999", 366 * 86400.0), ("12.5", 864000.0)],
)  # fmt: skip
def test_the_lease_a_hub_grants_is_taken_within_reason(granted: str | None, lease: float) -> None:
    assert _lease(granted, 864000.0) == lease


def test_callbacks_beyond_the_limit_are_told_to_come_back() -> None:
    async def go() -> None:
        websub = WebSub(WebSubSettings(callback_url="https://x.example/websub"), 1000, None, lambda: None)  # type: ignore[arg-type]
        environ = {"PATH_INFO": "/websub/" + "t" * 32, "REQUEST_METHOD": "GET"}
        assert websub.answer({**environ, "PATH_INFO": "/websub/short"}).status.startswith("404")
        assert websub.answer({**environ, "REQUEST_METHOD": "PUT"}).status.startswith("405")
        for _ in range(MAX_CALLBACKS):
            websub._answering.acquire()
        assert websub.answer(environ).status.startswith("503")

    asyncio.run(go())


def _post(url: str, body: object, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # type: ignore[arg-type]
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
