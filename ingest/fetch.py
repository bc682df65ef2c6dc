"""Fetching feeds (conditional GET, validators) and article pages (robots.txt) over HTTP."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from ingest.client import HttpClient, Response
from ingest.errors import BlockedError
from ingest.models import Page, Validators
from ingest.robots import RobotsCache

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.8, */*;q=0.5"


@dataclass(frozen=True, slots=True)
class FeedFetch:
    """The outcome of polling a feed: new bytes, or ``modified=False`` (304 or the same bytes)."""

    response: Response
    modified: bool
    validators: Validators

    @property
    def final_url(self) -> str:
        return self.response.final_url


def fresh_until(headers: dict[str, str], now: datetime) -> datetime | None:
    """Until when the response may be reused, from Cache-Control max-age (else Expires)."""
    control = headers.get("cache-control", "").lower()
    if "no-cache" in control or "no-store" in control:
        return None
    if match := _MAX_AGE.search(control):
        return now + timedelta(seconds=min(int(match.group(1)), 31_536_000))
    if expires := headers.get("expires"):
        try:
            moment = parsedate_to_datetime(expires)
        except (TypeError, ValueError, IndexError):
            return None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return None


def moved_to(response: Response) -> str | None:
    """The new address when every redirect on the way was permanent; temporary ones say nothing."""
    if response.redirects and all(r.status in {301, 308} for r in response.redirects):
        return response.final_url
    return None


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def fetch_feed(client: HttpClient, url: str, known: Validators) -> FeedFetch:
    headers = {"Accept": FEED_ACCEPT}
    if known.etag:
        headers["If-None-Match"] = known.etag
    if known.last_modified:
        headers["If-Modified-Since"] = known.last_modified
    response = await client.get(url, max_bytes=client.settings.max_feed_bytes, headers=headers, what="feed")
    if response.status == 304:
        return FeedFetch(response, modified=False, validators=known)
    digest = body_hash(response.body)
    validators = Validators(
        etag=response.headers.get("etag") or None,
        last_modified=response.headers.get("last-modified") or None,
        body_hash=digest,
    )
    # A server that ignores validators but resends identical bytes costs a download, not a parse.
    return FeedFetch(response, modified=digest != known.body_hash, validators=validators)


async def fetch_page(client: HttpClient, robots: RobotsCache | None, url: str) -> Page:
    if robots is not None and not await robots.allowed(url):
        raise BlockedError("robots_disallowed", f"robots.txt of {url.split('/')[2]} disallows {url}")
    response = await client.get(
        url, max_bytes=client.settings.max_page_bytes, headers={"Accept": PAGE_ACCEPT}, what="page"
    )
    return Page(
        url=url,
        final_url=response.final_url,
        status=response.status,
        content_type=response.content_type,
        body=response.body,
        fetched_at=client.clock.now(),
        headers=response.headers,
    )
