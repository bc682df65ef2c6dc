"""Where entries come from: a feed over HTTP, or a directory of files read as the web would be.

Both kinds answer the same two questions: what entries are there now (:meth:`poll`), and what is the
document behind an entry's link (:meth:`load_page`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ingest.models import Entry, Page, Validators


@dataclass(frozen=True, slots=True)
class Poll:
    """One poll of a source: its entries, or ``modified=False`` when nothing changed."""

    modified: bool
    validators: Validators
    entries: tuple[Entry, ...] = ()
    status: int | None = None  # the HTTP status, for feeds
    final_url: str | None = None
    size: int = 0  # bytes received


class SourceReader(Protocol):
    async def poll(self, known: Validators) -> Poll: ...
    async def load_page(self, link: str) -> Page: ...
