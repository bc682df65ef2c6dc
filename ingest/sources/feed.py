"""A feed source: RSS, Atom, RDF or JSON Feed polled over HTTP(S)."""

from __future__ import annotations

from ingest.client import HttpClient
from ingest.cpu import CpuPool
from ingest.fetch import fetch_feed, fetch_page, fresh_until, moved_to
from ingest.jobs import parse_job
from ingest.models import Entry, Page, Validators
from ingest.robots import RobotsCache
from ingest.sources import Poll


class FeedSource:
    def __init__(self, url: str, client: HttpClient, robots: RobotsCache | None, cpu: CpuPool) -> None:
        self.url = url
        self._client = client
        self._robots = robots
        self._cpu = cpu

    async def poll(self, known: Validators) -> Poll:
        fetched = await fetch_feed(self._client, self.url, known)
        response = fetched.response
        entries: tuple[Entry, ...] = ()
        hints = None
        if fetched.modified:
            feed, found = await self._cpu.run(
                parse_job, response.body, response.final_url, response.content_type
            )
            entries, hints = tuple(found), feed.hints
        return Poll(
            modified=fetched.modified,
            validators=fetched.validators,
            entries=entries,
            status=response.status,
            final_url=response.final_url,
            size=len(response.body),
            hints=hints,
            fresh_until=fresh_until(response.headers, self._client.clock.now()),
            moved_to=moved_to(response),
        )

    async def load_page(self, link: str) -> Page:
        return await fetch_page(self._client, self._robots, link)
