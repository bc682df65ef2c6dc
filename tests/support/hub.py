"""A WebSub hub on loopback, for tests: it takes (un)subscription requests, verifies them by calling
the subscriber back with a challenge as the W3C recommendation says, and pushes signed content.

Everything it did is recorded: the requests it received, the verifications it made and what the
subscriber answered, the pushes and their statuses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode


@dataclass(frozen=True)
class Verification:
    mode: str
    callback: str
    status: int
    echoed: bool  # the subscriber answered with the challenge


@dataclass
class Subscriber:
    callback: str
    secret: str
    lease_s: int


class LoopbackHub:
    def __init__(self, lease_s: int | None = None) -> None:
        self.lease_s = lease_s  # granted, whatever is asked; None grants what is asked
        self.requests: list[dict[str, str]] = []
        self.verifications: list[Verification] = []
        self.subscribers: dict[str, Subscriber] = {}  # by topic: the verified subscription
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hub"

    def start(self) -> LoopbackHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, condition: str, check: object, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if callable(check) and check():
                return
            time.sleep(0.1)
        raise AssertionError(f"the hub never saw {condition}: requests {self.requests}, "
                             f"verifications {self.verifications}")  # fmt: skip

    def push(self, topic: str, body: bytes, content_type: str, signature: str | None = None) -> int:
        """Distribute ``body`` to the topic's subscriber, signed with its secret (or with the
        ``signature`` given, to forge one); the subscriber's HTTP status."""
        subscriber = self.subscribers[topic]
        if signature is None:
            digest = hmac.new(subscriber.secret.encode(), body, hashlib.sha256).hexdigest()
            signature = f"sha256={digest}"
        headers = {"Content-Type": content_type, "X-Hub-Signature": signature,
                   "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"'}  # fmt: skip
        request = urllib.request.Request(subscriber.callback, data=body, headers=headers, method="POST")
        return _status(request)

    def _verify(self, form: dict[str, str]) -> None:
        mode, topic, callback = form["hub.mode"], form["hub.topic"], form["hub.callback"]
        challenge = secrets.token_hex(8)
        lease = self.lease_s or int(form.get("hub.lease_seconds", "3600"))
        query = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if mode == "subscribe":
            query["hub.lease_seconds"] = str(lease)
        request = urllib.request.Request(f"{callback}?{urlencode(query)}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, answer = error.code, ""
        echoed = 200 <= status < 300 and answer == challenge
        with self._lock:
            self.verifications.append(Verification(mode, callback, status, echoed))
            if echoed and mode == "subscribe":
                self.subscribers[topic] = Subscriber(callback, form.get("hub.secret", ""), lease)
            elif echoed:
                self.subscribers.pop(topic, None)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with hub._lock:
                    hub.requests.append(form)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                # Verification of intent comes after the answer, as hubs do it.
                threading.Thread(target=hub._verify, args=(form,), daemon=True).start()

        return Handler


def _status(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
