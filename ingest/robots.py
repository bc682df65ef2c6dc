"""robots.txt for article pages, parsed with protego (the stdlib parser mishandles Allow and wildcards).

One robots.txt per host, kept 24 hours in the database (every worker shares it) and in memory. A
Crawl-delay it states becomes the host's minimum delay between requests.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from protego import Protego

from ingest.client import HttpClient
from ingest.errors import FetchError, HTTPStatusError
from ingest.hosts import HostHeld
from ingest.store import Store
from ingest.urls import host_of
from storage import hosts
from storage.hosts import Robots

MAX_ROBOTS_BYTES = 512 * 1024
KEEP = timedelta(hours=24)
KEEP_UNREACHABLE = timedelta(hours=1)  # a robots.txt that could not be read is asked again sooner
UNREACHABLE_PAUSE = timedelta(minutes=10)  # pages of a host whose robots.txt answers 5xx wait this long
_ALLOW_ALL = "User-agent: *\nAllow: /"


class RobotsCache:
    def __init__(self, client: HttpClient, store: Store | None = None) -> None:
        self._client = client
        self._store = store
        self._rules: dict[str, tuple[Protego, datetime]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allowed(self, url: str) -> bool:
        rules = await self._rules_for(url)
        return bool(rules.can_fetch(url, self._client.settings.user_agent))

    async def _rules_for(self, url: str) -> Protego:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        async with self._locks.setdefault(host, asyncio.Lock()):
            now = self._client.clock.now()
            cached = self._rules.get(host)
            if cached is None or now > cached[1]:
                found = await self._stored(host, now) or await self._fetch(
                    f"{parts.scheme}://{parts.netloc}", now
                )
                rules = Protego.parse(found.text or _ALLOW_ALL)
                delay = rules.crawl_delay(self._client.settings.user_agent)
                if delay:
                    self._client.gate.set_delay(host, float(delay))
                readable = found.status is not None and found.status < 500
                self._rules[host] = cached = (
                    rules,
                    found.fetched_at + (KEEP if readable else KEEP_UNREACHABLE),
                )
                if self._store is not None and readable and found.fetched_at == now:
                    await self._store.write(lambda s: hosts.save_robots(s, host, found))
            return cached[0]

    async def _stored(self, host: str, now: datetime) -> Robots | None:
        if self._store is None:
            return None
        found = await self._store.read(lambda s: hosts.robots(s, host))
        return found if found is not None and now - found.fetched_at <= KEEP else None

    async def _fetch(self, origin: str, now: datetime) -> Robots:
        try:
            response = await self._client.get(
                f"{origin}/robots.txt", max_bytes=MAX_ROBOTS_BYTES, what="robots.txt"
            )
        except HTTPStatusError as exc:
            if exc.status >= 500 or exc.status == 429:
                # RFC 9309: unreachable means "assume disallowed" — for now. The pages wait (a pause,
                # not a failure that would use up their attempts) and robots.txt is asked again.
                until = self._client.gate.held_until(host_of(origin)) or now + UNREACHABLE_PAUSE
                self._client.gate.hold(host_of(origin), until)
                raise HostHeld(host_of(origin), until) from None
            return Robots(_ALLOW_ALL, exc.status, now, None)  # unavailable (4xx) means no rules
        except HostHeld:
            raise  # the host asked for a pause: the page waits too
        except FetchError:
            return Robots(_ALLOW_ALL, None, now, None)
        text = response.body.decode("utf-8", "replace")
        delay = Protego.parse(text).crawl_delay(self._client.settings.user_agent)
        return Robots(text, response.status, now, float(delay) if delay else None)
