"""A feed source: RSS, Atom, RDF or JSON Feed polled over HTTP(S)."""

from __future__ import annotations

from ingest.client import HttpClient
from ingest.cpu import CpuPool, parse_job
from ingest.fetch import fetch_feed, fetch_page
from ingest.models import Page, Validators
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
        if not fetched.modified:
            return Poll(
                False,
                fetched.validators,
                status=response.status,
                final_url=response.final_url,
                size=len(response.body),
            )
        _feed, entries = await self._cpu.run(
            parse_job, response.body, response.final_url, response.content_type
        )
        return Poll(
            True,
            fetched.validators,
            tuple(entries),
            response.status,
            response.final_url,
            len(response.body),
        )

    async def load_page(self, link: str) -> Page:
        return await fetch_page(self._client, self._robots, link)
