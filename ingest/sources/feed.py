"""A feed source: RSS, Atom, RDF or JSON Feed polled over HTTP(S)."""

from __future__ import annotations

from ingest.client import HttpClient
from ingest.cpu import CpuPool
from ingest.fetch import fetch_feed, fetch_page, fresh_until, moved_to
from ingest.jobs import parse_job
from ingest.models import Entry, Page, Validators
from ingest.robots import RobotsCache
from ingest.sources import Poll
from ingest.urls import header_links


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
        hints = hub = topic = None
        if fetched.modified:
            feed, found = await self._cpu.run(
                parse_job, response.body, response.final_url, response.content_type
            )
            entries, hints = tuple(found), feed.hints
            # The HTTP Link header, when present, wins over the document's links (WebSub §4).
            declared = header_links(response.headers.get("link", ""), response.final_url)
            hub = declared.get("hub") or feed.hub
            topic = declared.get("self") or feed.topic or response.final_url
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
            hub=hub,
            topic=topic,
        )

    async def load_page(self, link: str) -> Page:
        return await fetch_page(self._client, self._robots, link)
