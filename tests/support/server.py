"""A real HTTP server on loopback for tests: routes you define, requests it counts.

Each route answers with a status, a body and headers, and can honour conditional requests (ETag and
Last-Modified → 304), compress (gzip, deflate, br), redirect, or delay. Every request is recorded
with its headers, so tests can assert on what the service actually sent.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up early (a deadline, a killed process) is part of what tests do.
        return


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    encoding: str | None = None  # gzip | deflate | br
    delay: float = 0.0
    location: str | None = None  # for redirects
    # A body produced while sending, without Content-Length (the connection closes at its end):
    # endless bodies, trickling servers.
    stream: Callable[[], Iterator[bytes]] | None = None


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


Handler = Callable[["Seen"], Route]


class LoopbackServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route | Handler] = {}
        self.requests: list[Seen] = []
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()  # 304 answers, by path
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests this server ever served at once
        self._lock = threading.Lock()
        self._server = _QuietServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, path: str, route: Route | Handler) -> str:
        self.routes[path] = route
        return self.url(path)

    def serve_directory(self, root: Path, prefix: str = "/") -> None:
        """Every file under ``root`` at ``prefix + relative path``, with a content type by suffix."""
        types = {
            ".xml": "application/rss+xml",
            ".html": "text/html; charset=utf-8",
            ".json": "application/feed+json",
            ".atom": "application/atom+xml",
            ".rdf": "application/rdf+xml",
            ".txt": "text/plain; charset=utf-8",
        }
        for path in root.rglob("*"):
            if path.is_file():
                relative = path.relative_to(root).as_posix()
                self.add(prefix + relative, Route(path.read_bytes(), content_type=types.get(path.suffix, "")))

    def hit_counts(self) -> Counter[str]:
        """A copy of the requests per path so far (the server keeps counting)."""
        with self._lock:
            return Counter(self.hits)

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)
            self.hits[seen.path] += 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return  # keep test output clean

            def do_GET(self) -> None:
                seen = Seen("GET", self.path.split("?")[0], {k.lower(): v for k, v in self.headers.items()})
                server._record(seen)
                route = server.routes.get(seen.path) or server.routes.get(self.path)
                if route is None:
                    self._send(Route(b"not found", status=404, content_type="text/plain"), seen)
                    return
                self._send(route(seen) if callable(route) else route, seen)

            def _send(self, route: Route, seen: Seen) -> None:
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._respond(route, seen)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _respond(self, route: Route, seen: Seen) -> None:
                if route.delay:
                    time.sleep(route.delay)
                if _not_modified(route, seen.headers):
                    with server._lock:
                        server.not_modified[seen.path] += 1
                    self.send_response(304)
                    self._validators(route)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route.stream is not None:
                    self._stream(route)
                    return
                body = _encode(route.body, route.encoding)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(body)))
                if route.encoding:
                    self.send_header("Content-Encoding", route.encoding)
                if route.location:
                    self.send_header("Location", route.location)
                self._validators(route)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, route: Route) -> None:
                assert route.stream is not None
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.encoding:
                    self.send_header("Content-Encoding", route.encoding)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for chunk in route.stream():
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up: what the test wanted

            def _validators(self, route: Route) -> None:
                if route.etag:
                    self.send_header("ETag", route.etag)
                if route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)

        return _Handler


def _not_modified(route: Route, headers: dict[str, str]) -> bool:
    if route.status != 200:
        return False
    if route.etag and headers.get("if-none-match") == route.etag:
        return True
    return bool(route.last_modified and headers.get("if-modified-since") == route.last_modified)


def _encode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "br":
        return bytes(brotli.compress(body))
    return body
