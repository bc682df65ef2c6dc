"""robots.txt for article pages, parsed with protego (the stdlib parser mishandles Allow and wildcards)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from protego import Protego

from ingest.client import HttpClient
from ingest.errors import FetchError, HTTPStatusError

MAX_ROBOTS_BYTES = 512 * 1024
_ALLOW_ALL = Protego.parse("")
_DISALLOW_ALL = Protego.parse("User-agent: *\nDisallow: /")


class RobotsCache:
    """One robots.txt per origin, fetched once and shared by every page of that origin."""

    def __init__(self, client: HttpClient) -> None:
        self._client = client
        self._rules: dict[str, Protego] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allowed(self, url: str) -> bool:
        rules = await self._rules_for(_origin(url))
        return bool(rules.can_fetch(url, self._client.settings.user_agent))

    async def _rules_for(self, origin: str) -> Protego:
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._rules:
                self._rules[origin] = await self._fetch(origin)
            return self._rules[origin]

    async def _fetch(self, origin: str) -> Protego:
        try:
            response = await self._client.get(
                f"{origin}/robots.txt", max_bytes=MAX_ROBOTS_BYTES, what="robots.txt"
            )
        except HTTPStatusError as exc:
            # RFC 9309: unavailable (4xx) means no rules; unreachable (5xx) means assume disallowed.
            return _DISALLOW_ALL if exc.status >= 500 else _ALLOW_ALL
        except FetchError:
            return _ALLOW_ALL
        return Protego.parse(response.body.decode("utf-8", "replace"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
