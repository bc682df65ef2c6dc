"""Processing one pending entry: page, extraction, normalisation, dedup, and one storing transaction.

An entry whose link already resolved to an article (in any source) is attached to it with no fetch.
A page that cannot be fetched is not fatal: the feed's own content stands in for it when there is any.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session

from ingest.clock import Clock
from ingest.cpu import CpuPool, article_job
from ingest.dedupe import link_key, similarity
from ingest.errors import ExtractError, HTTPStatusError, IngestError, LeaseLost
from ingest.hosts import HostHeld
from ingest.models import ArticleDraft, EntryHints, Page, Vocabulary
from ingest.sources import SourceReader
from ingest.store import Store
from storage import articles, raw_pages, sightings
from storage.articles import NewArticle
from storage.raw_pages import NewRawPage
from storage.tables import Sighting


class LinkLocks:
    """One lock per link in flight: two sources sharing a link fetch its page once, not twice."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str | None) -> AsyncIterator[None]:
        if key is None:
            yield
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


def is_pause(error: IngestError) -> bool:
    """A host's request to wait (a pause already known, or a 429/503 with Retry-After)."""
    if isinstance(error, HostHeld):
        return True
    return isinstance(error, HTTPStatusError) and error.status in {429, 503} and error.retry_after is not None


# Texts at least this alike (word 4-gram Jaccard) are linked as near-duplicates.
NEAR_DUPLICATE_SIMILARITY = 0.5


@dataclass(frozen=True, slots=True)
class Processed:
    outcome: str  # new | duplicate | near_duplicate
    article_id: int
    extractor: str | None = None  # None when attached by link without extraction


def hints_of(sighting: Sighting) -> EntryHints:
    return EntryHints(
        title=sighting.feed_title,
        author=sighting.feed_author,
        published_at=sighting.published_at,
        summary=sighting.summary,
        content=sighting.feed_content,
        link=sighting.link,
        feed_language=sighting.feed_language,
        first_seen_at=sighting.first_seen_at,
    )


@dataclass(frozen=True, slots=True)
class EntryContext:
    """What every entry of a run shares."""

    store: Store
    cpu: CpuPool
    owner: str
    links: LinkLocks
    words: Vocabulary
    clock: Clock


async def process(sighting: Sighting, reader: SourceReader, full_text: bool, ctx: EntryContext) -> Processed:
    async with ctx.links.hold(sighting.link_key):
        return await _process(sighting, reader, full_text, ctx)


async def _process(sighting: Sighting, reader: SourceReader, full_text: bool, ctx: EntryContext) -> Processed:
    assert sighting.id is not None
    sighting_id, store, owner = sighting.id, ctx.store, ctx.owner
    if sighting.link_key is not None:
        known_link = sighting.link_key
        existing = await store.read(lambda session: sightings.article_for_link(session, known_link))
        if existing is not None:
            await _finish(store, sighting_id, owner, existing, ctx.clock.now())
            return Processed("duplicate", existing)
    page, page_error = None, None
    if full_text and sighting.link:
        try:
            page = await reader.load_page(sighting.link)
        except IngestError as exc:
            if is_pause(exc):
                raise  # the host asked us to wait: fetch the page later, do not settle for less
            page_error = exc
    now = ctx.clock.now()
    try:
        draft = await ctx.cpu.run(
            article_job, page, hints_of(sighting), sighting.link or "", now.isoformat(), ctx.words
        )
    except ExtractError:
        if page_error is not None:
            raise page_error from None  # the page's failure is the real reason there is no text
        raise
    article_id, outcome = await store.write(
        lambda session: _store(session, sighting_id, owner, page, draft, now)
    )
    return Processed(outcome, article_id, draft.extractor)


def _store(
    session: Session, sighting_id: int, owner: str, page: Page | None, draft: ArticleDraft, now: datetime
) -> tuple[int, str]:
    """One transaction: the article (new, or the one it duplicates), its raw page, the sighting done."""
    existing = articles.find_by_hash(session, draft.content_hash)
    if existing is not None:
        article_id, outcome = existing, "duplicate"
    else:
        article = _new_article(session, draft)
        raw_page_id = raw_pages.store(session, _raw(page)) if page is not None else None
        article_id, created = articles.insert(session, replace(article, raw_page_id=raw_page_id), now)
        outcome = "duplicate" if not created else "near_duplicate" if article.duplicate_of else "new"
    if not sightings.finish(session, sighting_id, owner, article_id, now):
        raise LeaseLost(f"entry {sighting_id}")
    return article_id, outcome


def _new_article(session: Session, draft: ArticleDraft) -> NewArticle:
    """The row for a draft. When its canonical URL already belongs to another text (an edited copy, a
    variant page, or a site whose canonical tags all point to one page), this text is kept as its own
    article without the address, linked to the first when the two are alike."""
    canonical_key = link_key(draft.canonical_url) if draft.canonical_url else None
    duplicate_of = score = None
    holder = articles.find_by_canonical(session, canonical_key) if canonical_key else None
    if holder is not None:
        canonical_key = None
        score = similarity(draft.text, holder[1])
        duplicate_of = holder[0] if score >= NEAR_DUPLICATE_SIMILARITY else None
    return NewArticle(
        url=draft.url,
        canonical_url=draft.canonical_url,
        canonical_key=canonical_key,
        title=draft.title,
        author=draft.author,
        published_at=draft.published_at,
        language=draft.language,
        site_name=draft.site_name,
        text=draft.text,
        content_hash=draft.content_hash,
        extractor=draft.extractor,
        extractor_version=draft.extractor_version,
        normalizer_version=draft.normalizer_version,
        raw_page_id=None,
        duplicate_of=duplicate_of,
        similarity=score if duplicate_of else None,
        html=draft.html,
        sanitizer_version=draft.sanitizer_version,
        dateline=draft.dateline,
        published_from=draft.published_from,
    )


async def _finish(store: Store, sighting_id: int, owner: str, article_id: int, now: datetime) -> None:

    def finish(session: Session) -> None:
        if not sightings.finish(session, sighting_id, owner, article_id, now):
            raise LeaseLost(f"entry {sighting_id}")

    await store.write(finish)


def _raw(page: Page) -> NewRawPage:
    return NewRawPage(
        url=page.url,
        final_url=page.final_url,
        status=page.status,
        content_type=page.content_type,
        headers=page.headers,
        fetched_at=page.fetched_at,
        body=page.body,
    )
