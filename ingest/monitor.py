"""The daemon's HTTP listener (``daemon.http_listen``): ``/healthz``, ``/readyz`` and ``/metrics``,
and ``/websub/<token>`` for WebSub hubs when ``websub.callback_url`` is set.

- ``/healthz`` — the process is alive and serving: 200.
- ``/readyz`` — the database answers and the scheduler ticked within the last three ticks (or a
  pass is running): 200; otherwise 503 with the reasons, one a line.
- ``/metrics`` — Prometheus text format, from prometheus-client's registry.

It is a small WSGI app on the standard library's server, in a thread of its own: a scrape or a
probe never waits for the event loop, and a busy loop never makes the daemon look dead.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from prometheus_client import make_wsgi_app

from ingest import metrics
from ingest.settings import split_listen
from storage.db import Database

log = structlog.get_logger()
StartResponse = Callable[..., Any]
TICKS_BEFORE_UNREADY = 3
MAX_PASS_S = 3600.0  # a pass running longer than this is stuck, not busy


class Heartbeat:
    """When the scheduler last ticked, and whether a pass is running now."""

    def __init__(self, tick_s: float) -> None:
        self.tick_s = tick_s
        self._last_tick = time.monotonic()
        self._passes = 0
        self._lock = threading.Lock()

    def tick_started(self) -> None:
        with self._lock:
            self._last_tick = time.monotonic()
            self._passes += 1

    def tick_ended(self) -> None:
        with self._lock:
            self._last_tick = time.monotonic()
            self._passes -= 1

    def problem(self) -> str | None:
        with self._lock:
            quiet = time.monotonic() - self._last_tick
            running = self._passes > 0
        if running and quiet > MAX_PASS_S:
            return f"a pass has been running for {quiet:.0f}s"
        if running or quiet <= TICKS_BEFORE_UNREADY * self.tick_s:
            return None
        return f"the scheduler has not ticked for {quiet:.0f}s (tick is {self.tick_s:g}s)"


class _Quiet(WSGIRequestHandler):
    timeout = 5  # a client that connects and says nothing is dropped, not waited for

    def log_message(self, format: str, *args: Any) -> None:
        return  # probes every few seconds would drown the structured log


class _Server(ThreadingMixIn, WSGIServer):
    """One thread per request: a slow or silent client never holds up the next probe."""

    daemon_threads = True
    block_on_close = False  # stopping does not wait for requests in flight


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass(frozen=True, slots=True)
class Answer:
    status: str  # "200 OK"
    body: str = ""


class Callbacks(Protocol):
    """What serves ``/websub/…``: WebSub hubs calling back (see :mod:`ingest.websub`)."""

    def answer(self, environ: dict[str, Any]) -> Answer: ...


class Monitor:
    def __init__(self, address: str, db: Database, heartbeat: Heartbeat) -> None:
        self.address = address
        self.db = db
        self.heartbeat = heartbeat
        self.callbacks: Callbacks | None = None  # set by the daemon when WebSub is on
        self._metrics = make_wsgi_app()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._gauges: metrics.DatabaseGauges | None = None

    def start(self) -> None:
        """Bind exactly where configured; OSError (address in use, not ours) goes to the caller."""
        host, port = split_listen(self.address)
        server_class = _Server6 if ":" in host else _Server
        self._server = make_server(host, port, self._app, server_class=server_class, handler_class=_Quiet)
        self._gauges = metrics.watch(self.db)
        self._thread = threading.Thread(target=self._server.serve_forever, name="ingest-http", daemon=True)
        self._thread.start()
        log.info("http_listening", address=self.address, port=self.port)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop serving; returns at once (within one poll interval of the serving loop)."""
        if self._server is not None:
            self._server.shutdown()  # ends serve_forever; requests in flight finish in their threads
            self._server.server_close()
            self._server = None
        if self._gauges is not None:
            metrics.unwatch(self._gauges)
            self._gauges = None

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _text(start_response, "200 OK", "ok\n")
        if path == "/readyz":
            problems = [p for p in (self.db.problem(), self.heartbeat.problem()) if p is not None]
            if problems:
                return _text(start_response, "503 Service Unavailable", "".join(f"{p}\n" for p in problems))
            return _text(start_response, "200 OK", "ready\n")
        if path == "/metrics":
            result: Iterable[bytes] = self._metrics(environ, start_response)
            return result
        if path.startswith("/websub/") and self.callbacks is not None:
            answer = self.callbacks.answer(environ)
            return _text(start_response, answer.status, answer.body)
        return _text(start_response, "404 Not Found", "try /healthz, /readyz or /metrics\n")


def _text(start_response: StartResponse, status: str, body: str) -> list[bytes]:
    data = body.encode()
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]
