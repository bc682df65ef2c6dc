"""Refreshing one source: poll it, queue its new entries as pending, save its validators — one transaction.

The validators are saved with the entries they describe, never before: a crash between the two would
otherwise turn the next poll into a 304 and lose the entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from ingest.errors import IngestError, LeaseLost
from ingest.models import Entry, Validators
from ingest.sources import Poll, SourceReader
from ingest.store import Store
from storage import sightings, sources
from storage.sightings import NewSighting
from storage.sources import RefreshOutcome
from storage.tables import Source


@dataclass(frozen=True, slots=True)
class Refreshed:
    status: str  # ok | not_modified
    entries_seen: int
    entries_new: int
    poll: Poll


def validators_of(source: Source) -> Validators:
    return Validators(etag=source.etag, last_modified=source.last_modified, body_hash=source.body_hash)


async def refresh(
    source: Source, reader: SourceReader, store: Store, owner: str, now: datetime, interval: float
) -> Refreshed:
    assert source.id is not None
    source_id = source.id
    poll = await reader.poll(validators_of(source))
    outcome = RefreshOutcome(
        status="ok" if poll.modified else "not_modified",
        at=now,
        etag=poll.validators.etag,
        last_modified=poll.validators.last_modified,
        body_hash=poll.validators.body_hash,
        next_fetch_at=now + timedelta(seconds=interval),
    )
    entries = poll.entries

    def commit(session: Session) -> int:
        keys, links = sightings.known(
            session, source_id, [e.key for e in entries], [e.link_key for e in entries if e.link_key]
        )
        new = [_sighting(e) for e in entries if e.key not in keys and e.link_key not in links]
        inserted = sightings.queue(session, source_id, new, now)
        if not sources.record_refresh(session, source_id, owner, outcome):
            raise LeaseLost(f"source {source.name!r}")  # rolls the whole transaction back
        return inserted

    inserted = await store.write(commit)
    return Refreshed(outcome.status, len(entries), inserted, poll)


async def record_failure(
    store: Store, source: Source, owner: str, error: IngestError, now: datetime, retry_in: float
) -> None:
    assert source.id is not None
    source_id = source.id
    outcome = RefreshOutcome(
        status="failed",
        at=now,
        error_code=error.code,
        error_message=error.message[:2000],
        next_fetch_at=now + timedelta(seconds=retry_in),
    )
    await store.write(lambda session: sources.record_refresh(session, source_id, owner, outcome))


def _sighting(entry: Entry) -> NewSighting:
    return NewSighting(
        entry_key=entry.key,
        guid=entry.guid,
        link=entry.link,
        link_key=entry.link_key,
        feed_title=entry.title,
        summary=entry.summary,
        feed_content=entry.content,
        feed_author=entry.author,
        published_at=entry.published_at,
        feed_language=entry.language,
    )
