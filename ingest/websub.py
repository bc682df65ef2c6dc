"""WebSub (W3C Recommendation): subscribe to the hubs feeds advertise, answer their verifications,
accept the content they push when its signature proves it comes from the hub we subscribed with.

Off unless ``websub.callback_url`` is set (and the daemon listens: ``daemon.http_listen``). Then:

- a feed's hub and topic (``rel="hub"``/``rel="self"``, HTTP ``Link`` header first) are saved with
  every poll; the daemon subscribes each enabled feed source that has one, with a secret of its own
  and a callback address no one can guess (``<callback_url>/<token>``);
- the hub's verification of intent (GET) is answered with its challenge when the topic is the one
  we asked for; its lease is recorded, and renewed ``renew_before`` it lapses;
- a push (POST) is checked against ``X-Hub-Signature`` (HMAC with the secret: sha1, sha256, sha384
  or sha512); a push without a valid one is refused (403), counted and logged, and nothing of it is
  used. A valid push is parsed like a poll and its new entries queued; the daemon ticks at once;
- the feed is still polled, at most every ``websub.poll_interval``, as a safety net;
- a source disabled or removed, or whose feed no longer names a hub, is unsubscribed.

Every daemon sharing the database can answer any callback: the subscriptions live in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import threading
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs

import structlog
from sqlmodel import Session
from structlog.contextvars import bound_contextvars

from ingest import metrics
from ingest.errors import IngestError
from ingest.jobs import parse_job
from ingest.monitor import Answer
from ingest.refresh import held_back, queue_entries
from ingest.runtime import Runtime
from ingest.settings import WebSubSettings
from storage import subscriptions
from storage.subscriptions import FORGET, SUBSCRIBE, Work
from storage.tables import Subscription

log = structlog.get_logger()
PREFIX = "/websub/"
SIGNATURES = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}
ANSWER_TIMEOUT_S = 60.0  # a hub waiting longer than this for our answer has given up anyway
# Callbacks answered at once; more are told to come back (503) instead of piling up threads,
# memory and work on the database thread the pipeline shares.
MAX_CALLBACKS = 8
MAX_LEASE_S = 366 * 86400
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_NO_SUCH = Answer("404 Not Found", "no such subscription\n")
_UNAVAILABLE = Answer("503 Service Unavailable", "try again later\n")
R = TypeVar("R")


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``X-Hub-Signature: method=hex`` is the HMAC of ``body`` under ``secret``."""
    method, _, given = (header or "").strip().partition("=")
    digest = SIGNATURES.get(method.strip().lower())
    if digest is None or not given or not given.isascii():
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


class WebSub:
    def __init__(
        self, settings: WebSubSettings, max_bytes: int, runtime: Runtime, wake: Callable[[], None]
    ) -> None:
        self.settings = settings
        self.max_bytes = max_bytes  # a push is a feed document: the feed's limit
        self.runtime = runtime
        self.wake = wake
        self.loop = asyncio.get_running_loop()
        self._answering = threading.BoundedSemaphore(MAX_CALLBACKS)

    def callback(self, token: str) -> str:
        return f"{self.settings.callback_url}/{token}"

    # --- the daemon's side: asking hubs ----------------------------------------------------

    async def maintain(self) -> None:
        """Subscribe, renew, unsubscribe: whatever is due now (claimed, so no other daemon does it)."""
        now = self.runtime.clock.now()
        retry_at = now + _seconds(self.settings.retry)
        schemes = ("https://", "http://") if self.settings.allow_http_hubs else ("https://",)
        work = await self.runtime.store.write(
            lambda s: subscriptions.claim_work(s, now, retry_at, hub_schemes=schemes)
        )
        # Together: one slow hub does not hold up the others (the client bounds requests per host).
        await asyncio.gather(*(self._act(item) for item in work))

    async def _act(self, work: Work) -> None:
        with bound_contextvars(source=work.source_name):
            await self._ask(work)

    async def _ask(self, work: Work) -> None:
        if work.action == FORGET:
            log.info(
                "websub_forgotten", hub=work.hub_url, reason="the hub never confirmed the unsubscription"
            )
            return
        form = {
            "hub.mode": work.action,
            "hub.topic": work.topic_url,
            "hub.callback": self.callback(work.token),
        }
        if work.action == SUBSCRIBE:
            form |= {"hub.lease_seconds": str(round(self.settings.lease)), "hub.secret": work.secret}
        try:
            status = await self.runtime.client.post_form(work.hub_url, form)
            error = None if 200 <= status < 300 else f"{work.hub_url} answered HTTP {status}"
        except IngestError as exc:
            error = exc.message
        metrics.WEBSUB.labels(f"{work.action}_{'failed' if error else 'requested'}").inc()
        if error is None:
            log.info(f"websub_{work.action}_requested", hub=work.hub_url, topic=work.topic_url,
                     renewal=work.renewal)  # fmt: skip
            return
        log.warning(f"websub_{work.action}_failed", hub=work.hub_url, topic=work.topic_url, error=error)
        if work.action == SUBSCRIBE:
            await self.runtime.store.write(
                lambda s: subscriptions.request_failed(s, work.subscription_id, error)
            )

    # --- the listener's side: hubs calling back (runs in the listener's threads) -------------

    def answer(self, environ: dict[str, Any]) -> Answer:
        token = str(environ.get("PATH_INFO", ""))[len(PREFIX) :]
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in {"GET", "POST"}:
            return Answer("405 Method Not Allowed", "GET (verification) or POST (content)\n")
        if not _TOKEN.match(token):
            return _NO_SUCH
        if not self._answering.acquire(blocking=False):
            return Answer("503 Service Unavailable", "busy: try again later\n")
        try:
            if method == "GET":
                query = str(environ.get("QUERY_STRING", ""))[:8192]
                params = {k: v[0] for k, v in parse_qs(query).items()}
                return self._on_loop(self._verify(token, params))
            return self._pushed(token, environ)
        finally:
            self._answering.release()

    def _pushed(self, token: str, environ: dict[str, Any]) -> Answer:
        """A content distribution: its subscription is looked up before its body is read."""
        known = self._on_loop(self._known(token))
        if isinstance(known, Answer):
            return known
        if not known:
            metrics.WEBSUB.labels("push_refused").inc()
            log.debug("websub_push_refused", reason="no such subscription")
            return _NO_SUCH
        if "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
            # The standard library's server does not undo chunking: ask for a Content-Length.
            return Answer("411 Length Required", "send the push with a Content-Length\n")
        body = _body(environ, self.max_bytes)
        if body is None:
            return Answer("413 Content Too Large", f"a push is at most {self.max_bytes} bytes\n")
        signature = environ.get("HTTP_X_HUB_SIGNATURE")
        return self._on_loop(self._push(token, body, str(environ.get("CONTENT_TYPE", "")), signature))

    def _on_loop(self, work: Coroutine[Any, Any, R]) -> R | Answer:
        """Run on the daemon's event loop (where the store and the pool live); wait for it here."""
        try:
            future = asyncio.run_coroutine_threadsafe(work, self.loop)
        except RuntimeError:  # the loop is closed: the daemon is stopping
            work.close()
            return _UNAVAILABLE
        try:
            return future.result(ANSWER_TIMEOUT_S)
        except Exception as exc:  # too slow, or the database away: the hub tries again later
            future.cancel()
            log.error("websub_callback_failed", error=f"{type(exc).__name__}: {exc}"[:500])
            return _UNAVAILABLE

    async def _known(self, token: str) -> bool:
        return await self.runtime.store.read(lambda s: subscriptions.by_token(s, token)) is not None

    async def _verify(self, token: str, params: dict[str, str]) -> Answer:
        store = self.runtime.store
        found = await store.read(lambda s: subscriptions.by_token(s, token))
        if found is None:
            return _NO_SUCH
        subscription, source = found
        mode, topic = params.get("hub.mode", ""), params.get("hub.topic", "")
        with bound_contextvars(source=source.name):
            if mode == "denied":
                return await self._denied(subscription, params.get("hub.reason") or "no reason given")
            problem = _verification_problem(mode, topic, params, subscription.topic_url, subscription.state)
            if problem is not None:
                log.warning(
                    "websub_verification_refused", hub=subscription.hub_url, mode=mode, reason=problem
                )
                return Answer("404 Not Found", f"{problem}\n")
            if mode == "unsubscribe":
                await store.write(lambda s: subscriptions.forget(s, token))
                log.info("websub_unsubscribed", hub=subscription.hub_url)
                return Answer("200 OK", params["hub.challenge"])
            lease = _lease(params.get("hub.lease_seconds"), self.settings.lease)
            renew = min(self.settings.renew_before, lease / 2)
            now = self.runtime.clock.now()
            if not await store.write(lambda s: subscriptions.verified(s, token, now, lease, renew)):
                # Ended or replaced while the hub was verifying: not ours to confirm any more.
                log.warning("websub_verification_refused", hub=subscription.hub_url, mode=mode,
                            reason="the subscription ended meanwhile")  # fmt: skip
                return _NO_SUCH
            metrics.WEBSUB.labels("verified").inc()
            log.info("websub_verified", hub=subscription.hub_url, topic=topic, lease_s=lease)
            return Answer("200 OK", params["hub.challenge"])

    async def _denied(self, subscription: Subscription, reason: str) -> Answer:
        """The hub refuses, now or later on. An unsubscription it refuses is over for us too."""
        token, reason = subscription.token, reason[:500]
        if subscription.state == "unsubscribing":
            await self.runtime.store.write(lambda s: subscriptions.forget(s, token))
        else:
            retry_at = self.runtime.clock.now() + _seconds(self.settings.retry)
            await self.runtime.store.write(lambda s: subscriptions.denied(s, token, reason, retry_at))
        metrics.WEBSUB.labels("denied").inc()
        log.warning("websub_denied", hub=subscription.hub_url, reason=reason)
        return Answer("200 OK")

    async def _push(self, token: str, body: bytes, content_type: str, signature: str | None) -> Answer:
        runtime = self.runtime
        found = await runtime.store.read(lambda s: subscriptions.by_token(s, token))
        if found is None:  # ended since it was looked up
            return _NO_SUCH
        subscription, source = found
        key, source_id, now = subscription.id or 0, source.id or 0, runtime.clock.now()
        with bound_contextvars(source=source.name):
            if not signature_ok(subscription.secret, body, signature):
                why = "a bad signature" if signature else "no signature"
                await runtime.store.write(lambda s: subscriptions.count_push(s, key, now, accepted=False))
                metrics.WEBSUB.labels("push_refused").inc()
                log.warning("websub_push_refused", hub=subscription.hub_url, reason=why, bytes=len(body))
                return Answer("403 Forbidden", f"refused: {why}\n")
            if subscription.state == "unsubscribing" or not source.enabled:
                return Answer("410 Gone", "this subscription is ending\n")
            try:
                _, entries = await runtime.cpu.run(parse_job, body, subscription.topic_url, content_type)
            except IngestError as exc:
                log.warning("websub_push_unusable", hub=subscription.hub_url, error_code=exc.code,
                            error=exc.message)  # fmt: skip
                return Answer("400 Bad Request", f"{exc.message}\n")
            blocked_keys = held_back(source, entries)

            def commit(session: Session) -> tuple[int, int]:
                counts = queue_entries(session, source_id, entries, blocked_keys, now)
                subscriptions.count_push(session, key, now, accepted=True)
                return counts

            queued, blocked = await runtime.store.write(commit)
            metrics.WEBSUB.labels("push_accepted").inc()
            log.info(
                "websub_push_accepted", entries_seen=len(entries), entries_new=queued, entries_blocked=blocked
            )
        if queued:
            self.wake()
        return Answer("202 Accepted")


def _verification_problem(
    mode: str, topic: str, params: dict[str, str], wanted_topic: str, state: str
) -> str | None:
    """Why a verification of intent is not ours to confirm, or None when it is."""
    if mode not in {"subscribe", "unsubscribe"}:
        return f"unknown hub.mode {mode[:40]!r}"
    if "hub.challenge" not in params:
        return "no hub.challenge"
    if topic != wanted_topic:
        return f"hub.topic {topic[:200]!r} is not the topic subscribed to"
    if (mode == "unsubscribe") != (state == "unsubscribing"):
        return f"we did not ask to {mode}"
    return None


def _lease(value: str | None, asked: float) -> float:
    """The lease the hub granted (``hub.lease_seconds``, whole seconds), or the one we asked for when
    it says none or nonsense; a year at most (a longer one is renewed within the year)."""
    granted = int(value) if value is not None and value.strip().isdigit() else 0
    return float(min(granted, MAX_LEASE_S)) if granted > 0 else asked


def _body(environ: dict[str, Any], limit: int) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` (read no further than that)."""
    declared = str(environ.get("CONTENT_LENGTH") or "0")
    length = int(declared) if declared.isdigit() else 0
    if length > limit:
        return None
    data: bytes = environ["wsgi.input"].read(length) if length else b""
    return data


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
