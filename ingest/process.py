"""Processing one pending entry: page, extraction, normalisation, dedup, and one storing transaction.

Cheapest identity first: an entry whose link already resolved to an article (in any source, or as
an article's canonical URL) is attached with no fetch; a page whose declared canonical URL an
article holds is attached with no extraction; the rest is extracted and kept (:mod:`keep`). A page
that cannot be fetched is not fatal: the feed's own content stands in for it when there is any.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime

import structlog
from sqlmodel import Session

from ingest import filters
from ingest.clock import Clock
from ingest.cpu import CpuPool
from ingest.dedupe import link_key
from ingest.errors import ExtractError, IngestError, LeaseLost
from ingest.filters import Decision, EntryFields, Filters
from ingest.hosts import is_pause
from ingest.jobs import article_job
from ingest.keep import keep_new, keep_revisit
from ingest.metadata import quick_canonical
from ingest.models import ArticleDraft, EntryHints, Page, Vocabulary
from ingest.sources import SourceReader
from ingest.store import Store
from ingest.urls import canonical_for
from storage import articles, sightings
from storage.tables import Sighting

log = structlog.get_logger()


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


@dataclass(frozen=True, slots=True)
class Processed:
    outcome: str  # new | duplicate | near_duplicate | updated | unchanged | blocked (by filters, id 0)
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


async def process(
    sighting: Sighting, reader: SourceReader, full_text: bool, ctx: EntryContext,
    feed_site: str | None = None, source_filters: str | None = None,
) -> Processed:  # fmt: skip
    """``source_filters``: the source's rules as stored (the Source row of the pass)."""
    async with ctx.links.hold(sighting.link_key):
        if sighting.article_id is not None:
            return await _revisit(sighting, sighting.article_id, reader, full_text, ctx, feed_site)
        return await _first_visit(sighting, reader, full_text, ctx, feed_site, filters.stored(source_filters))


async def _first_visit(
    sighting: Sighting, reader: SourceReader, full_text: bool, ctx: EntryContext, feed_site: str | None,
    rules: Filters,
) -> Processed:  # fmt: skip
    assert sighting.id is not None
    sighting_id, store, owner = sighting.id, ctx.store, ctx.owner
    # The source's filters that need the article's text are tried on it, before anything is stored:
    # the text extracted here, or that of the article the entry attaches to.
    fields = _filter_fields(sighting)
    if (known := await _known_article(sighting, ctx)) is not None:
        return await _duplicate(sighting_id, rules, fields, known, ctx)
    page, page_error = await _page(sighting, reader, full_text)
    if page is not None and (same_page := await _known_canonical(page, ctx, feed_site)) is not None:
        return await _duplicate(sighting_id, rules, fields, same_page, ctx)
    now = ctx.clock.now()
    draft = await _draft(sighting, page, page_error, ctx, feed_site, now)

    def keep_unless_blocked(session: Session) -> tuple[int, str] | Decision:
        decision = (
            filters.after_extraction(rules, replace(fields, body=draft.text)) if rules.needs_body else None
        )
        if decision is not None and decision.blocked:
            _block(session, sighting_id, owner, decision, now)
            return decision
        return keep_new(session, sighting_id, owner, page, draft, now)

    kept = await store.write(keep_unless_blocked)
    if isinstance(kept, Decision):
        return _left_out(kept, draft.extractor)
    article_id, outcome = kept
    return Processed(outcome, article_id, draft.extractor)


def _filter_fields(sighting: Sighting) -> EntryFields:
    return EntryFields(sighting.feed_title, sighting.link, sighting.feed_author, _categories(sighting))


def _categories(sighting: Sighting) -> tuple[str, ...]:
    try:
        found = json.loads(sighting.categories or "[]")
    except ValueError:
        return ()
    return tuple(str(c) for c in found) if isinstance(found, list) else ()


async def _duplicate(
    sighting_id: int, rules: Filters, fields: EntryFields, article_id: int, ctx: EntryContext
) -> Processed:
    """Attach the entry to an article already stored, unless the filters block it on that text."""
    owner, now = ctx.owner, ctx.clock.now()

    def attach_unless_blocked(session: Session) -> Decision | None:
        if rules.needs_body:  # the article's text is read only for a source with such rules
            text = articles.text_of(session, article_id)
            decision = filters.after_extraction(rules, replace(fields, body=text))
            if decision.blocked:
                _block(session, sighting_id, owner, decision, now)
                return decision
        _attach(session, sighting_id, owner, article_id, now)
        return None

    if blocked := await ctx.store.write(attach_unless_blocked):
        return _left_out(blocked, None)
    return Processed("duplicate", article_id)


def _block(session: Session, sighting_id: int, owner: str, decision: Decision, now: datetime) -> None:
    if not sightings.block(session, sighting_id, owner, decision.reason, now):
        raise LeaseLost(f"entry {sighting_id}")


def _left_out(decision: Decision, extractor: str | None) -> Processed:
    log.debug("entry_blocked", phase="body", reason=decision.reason)
    return Processed("blocked", 0, extractor)


async def _revisit(
    sighting: Sighting, article_id: int, reader: SourceReader, full_text: bool, ctx: EntryContext,
    feed_site: str | None,
) -> Processed:  # fmt: skip
    """The feed says something new about an entry already stored: look again, update if it changed."""
    assert sighting.id is not None
    sighting_id, owner = sighting.id, ctx.owner
    page, page_error = await _page(sighting, reader, full_text)
    now = ctx.clock.now()
    draft = await _draft(sighting, page, page_error, ctx, feed_site, now)
    kept, outcome = await ctx.store.write(
        lambda session: keep_revisit(session, sighting_id, owner, article_id, page, draft, now)
    )
    if outcome == "updated":
        log.info("article_updated", article_id=kept, extractor=draft.extractor)
    return Processed(outcome, kept, draft.extractor)


async def _known_article(sighting: Sighting, ctx: EntryContext) -> int | None:
    """An article this entry's link already resolved to, in any source (no fetch needed)."""
    if sighting.link_key is None:
        return None
    known_link = sighting.link_key
    return await ctx.store.read(lambda session: _by_link(session, known_link))


def _by_link(session: Session, key: str) -> int | None:
    # The link itself may be an article's canonical URL, or another entry's resolved link.
    held = articles.find_by_canonical(session, key)
    return held[0] if held is not None else sightings.article_for_link(session, key)


async def _known_canonical(page: Page, ctx: EntryContext, feed_site: str | None) -> int | None:
    """The article holding the canonical URL this page declares: the same page, no extraction needed."""
    declared = quick_canonical(page.body)
    if declared is None:
        return None
    key = link_key(canonical_for(declared, page.final_url, feed_site))
    held = await ctx.store.read(lambda session: articles.find_by_canonical(session, key))
    return held[0] if held is not None else None


async def _page(
    sighting: Sighting, reader: SourceReader, full_text: bool
) -> tuple[Page | None, IngestError | None]:
    if not full_text or not sighting.link:
        return None, None
    try:
        return await reader.load_page(sighting.link), None
    except IngestError as exc:
        if is_pause(exc):
            raise  # the host asked us to wait: fetch the page later, do not settle for less
        return None, exc


async def _draft(
    sighting: Sighting, page: Page | None, page_error: IngestError | None, ctx: EntryContext,
    feed_site: str | None, now: datetime,
) -> ArticleDraft:  # fmt: skip
    hints = replace(hints_of(sighting), feed_site=feed_site)
    try:
        return await ctx.cpu.run(article_job, page, hints, sighting.link or "", now.isoformat(), ctx.words)
    except ExtractError:
        if page_error is not None:
            raise page_error from None  # the page's failure is the real reason there is no text
        raise


def _attach(session: Session, sighting_id: int, owner: str, article_id: int, now: datetime) -> None:
    if not sightings.finish(session, sighting_id, owner, article_id, now):
        raise LeaseLost(f"entry {sighting_id}")
