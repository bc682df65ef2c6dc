"""Where entries come from: a feed over HTTP, or a directory of files read as the web would be.

Both kinds answer the same two questions: what entries are there now (:meth:`poll`), and what is the
document behind an entry's link (:meth:`load_page`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ingest.models import Entry, FeedHints, Page, Validators


@dataclass(frozen=True, slots=True)
class Poll:
    """One poll of a source: its entries, or ``modified=False`` when nothing changed."""

    modified: bool
    validators: Validators
    entries: tuple[Entry, ...] = ()
    status: int | None = None  # the HTTP status, for feeds
    final_url: str | None = None
    size: int = 0  # bytes received
    hints: FeedHints | None = None  # from the feed, when it was parsed
    fresh_until: datetime | None = None  # Cache-Control max-age / Expires
    moved_to: str | None = None  # where every redirect of the chain was permanent (301, 308)
    hub: str | None = None  # the WebSub hub the feed advertises (Link header first, then the feed)
    topic: str | None = None  # the feed's own address as it declares it (rel="self")


class SourceReader(Protocol):
    async def poll(self, known: Validators) -> Poll: ...
    async def load_page(self, link: str) -> Page: ...
