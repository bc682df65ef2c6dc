"""Refreshing one source: poll it, queue its new entries as pending, save its validators and its next
poll time — one transaction.

The validators are saved with the entries they describe, never before: a crash between the two would
otherwise turn the next poll into a 304 and lose the entries. How a failure counts against the source
(or does not: a pause the host asked for, a network down for everyone) is decided here too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from ingest import enclosures
from ingest.errors import HTTPStatusError, IngestError, LeaseLost
from ingest.filters import EntryFields, before_fetch, stored
from ingest.hosts import HostHeld
from ingest.models import Entry, FeedHints, Validators
from ingest.schedule import Bounds, Facts, Plan, plan
from ingest.sources import Poll, SourceReader
from ingest.store import Store
from storage import sightings, sources, subscriptions
from storage.sightings import NewSighting
from storage.sources import RefreshOutcome, Schedule
from storage.tables import Source

# A permanent redirect must be seen on this many polls in a row before the source's address changes.
MOVE_AFTER = 3
# Errors that say the network (ours or the path to the host), not the source, failed.
NETWORK_CODES = frozenset({"fetch.connect", "fetch.dns", "fetch.timeout", "fetch.network"})


@dataclass(frozen=True, slots=True)
class Refreshed:
    status: str  # ok | not_modified
    entries_seen: int
    entries_new: int
    poll: Poll
    plan: Plan
    moved_from: str | None = None  # the old address, when this poll moved the source
    entries_blocked: int = 0  # new entries the source's filters left out (stored as blocked, not fetched)


def validators_of(source: Source) -> Validators:
    return Validators(etag=source.etag, last_modified=source.last_modified, body_hash=source.body_hash)


def stored_hints(source: Source) -> FeedHints:
    return FeedHints(
        ttl_s=source.hint_ttl_s,
        skip_hours=frozenset(int(h) for h in (source.skip_hours or "").split(",") if h),
        skip_days=frozenset(int(d) for d in (source.skip_days or "").split(",") if d),
    )


def _joined(values: frozenset[int]) -> str | None:
    return ",".join(str(v) for v in sorted(values)) or None


async def refresh(
    source: Source, reader: SourceReader, store: Store, owner: str, now: datetime, bounds: Bounds
) -> Refreshed:
    assert source.id is not None
    source_id, started = source.id, time.monotonic()
    poll = await reader.poll(validators_of(source))
    hints = poll.hints or stored_hints(source)
    entries = poll.entries
    url, moved_to, moved_count = _moves(source, poll)
    blocked_keys = held_back(source, entries)  # blocked by the source's filters on the feed's fields

    def commit(session: Session) -> tuple[int, int, Plan]:
        inserted, blocked = queue_entries(session, source_id, entries, blocked_keys, now)
        facts = Facts(
            now, source.interval_s, sightings.recent_dates(session, source_id), hints, poll.fresh_until
        )
        chosen = plan(facts, bounds)
        if bounds.subscribed_interval and subscriptions.is_active(session, source_id, now):
            chosen = pushed_meanwhile(chosen, now, bounds.subscribed_interval)
        outcome = RefreshOutcome(
            status="ok" if poll.modified else "not_modified",
            at=now,
            schedule=Schedule(chosen.next_at, chosen.interval_s, chosen.reason),
            etag=poll.validators.etag,
            last_modified=poll.validators.last_modified,
            body_hash=poll.validators.body_hash,
            hint_ttl_s=max(filter(None, (hints.ttl_s, hints.update_interval_s)), default=None),
            skip_hours=_joined(hints.skip_hours),
            skip_days=_joined(hints.skip_days),
            url=url,
            moved_to=moved_to,
            moved_count=moved_count,
            hub_url=poll.hub,
            topic_url=poll.topic,
            http_status=poll.status,
            bytes=poll.size,
            entries_seen=len(entries),
            entries_new=inserted,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
        if not sources.record_refresh(session, source_id, owner, outcome):
            raise LeaseLost(f"source {source.name!r}")  # rolls the whole transaction back
        return inserted, blocked, chosen

    inserted, blocked, chosen = await store.write(commit)
    status = "ok" if poll.modified else "not_modified"
    moved_from = source.url if url else None
    return Refreshed(status, len(entries), inserted, poll, chosen, moved_from, entries_blocked=blocked)


def queue_entries(
    session: Session, source_id: int, entries: Sequence[Entry], held_back: dict[str, str], now: datetime
) -> tuple[int, int]:
    """Queue a feed's new entries as pending (those its filters hold back as blocked) and look
    again at entries it now describes differently; (queued, blocked). Polls and WebSub pushes
    both come through here."""
    keys, links = sightings.known(
        session, source_id, [e.key for e in entries], [e.link_key for e in entries if e.link_key]
    )
    fresh = [e for e in entries if e.key not in keys and e.link_key not in links]
    new = [_sighting(e) for e in fresh if e.key not in held_back]
    inserted = sightings.queue(session, source_id, new, now)
    left_out = [(_sighting(e), held_back[e.key]) for e in fresh if e.key in held_back]
    blocked = sightings.remember_blocked(session, source_id, left_out, now)
    # An entry the feed now describes differently (a correction, an update) is looked at again.
    changed = [
        _sighting(e)
        for e in entries
        if e.key in keys and keys[e.key] not in (None, e.content_key) and e.key not in held_back
    ]
    sightings.revisit(session, source_id, changed)
    return inserted, blocked


def pushed_meanwhile(chosen: Plan, now: datetime, interval_s: float) -> Plan:
    """A source its hub pushes: polled no more often than the safety net's interval."""
    if chosen.interval_s >= interval_s:
        return chosen
    return Plan(now + timedelta(seconds=interval_s), interval_s, "websub")


def held_back(source: Source, entries: Sequence[Entry]) -> dict[str, str]:
    """Entries the source's filters block on the feed's fields alone (see :mod:`ingest.filters`),
    by key, with why. Entries only the article's text can decide are queued like the others."""
    rules = stored(source.filters)
    if not rules:
        return {}
    held: dict[str, str] = {}
    for entry in entries:
        decision = before_fetch(rules, _fields(entry))
        if decision is not None and decision.blocked:
            held[entry.key] = decision.reason
    return held


def _fields(entry: Entry) -> EntryFields:
    return EntryFields(entry.title, entry.link, entry.author, entry.categories)


def _moves(source: Source, poll: Poll) -> tuple[str | None, str | None, int]:
    """(new address or None, pending permanent target, times seen): temporary redirects never move."""
    if poll.moved_to is None or poll.moved_to == source.url:
        return None, None, 0
    seen = source.moved_count + 1 if source.moved_to == poll.moved_to else 1
    if seen >= MOVE_AFTER:
        return poll.moved_to, None, 0
    return None, poll.moved_to, seen


def failure_outcome(
    source: Source, error: IngestError, now: datetime, bounds: Bounds, outage: bool = False
) -> RefreshOutcome:
    """How a failed poll is recorded and when the source is tried again."""
    hints = stored_hints(source)
    message = error.message[:2000]
    if isinstance(error, HostHeld):
        wait = (error.until - now).total_seconds()
        return RefreshOutcome("deferred", now, Schedule(error.until, wait, "retry-after"))
    if isinstance(error, HTTPStatusError) and error.status == 410:
        return RefreshOutcome(
            "gone",
            now,
            Schedule(None, None, "gone"),
            error_code=error.code,
            error_message=f"{message}: the feed is gone; polling stopped",
            failures=source.consecutive_failures,
            http_status=410,
        )
    status = error.status if isinstance(error, HTTPStatusError) else None
    retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
    # Rate limiting (429) and a network down for everyone are not the source's fault; a 503 is
    # (a server that is down), its Retry-After only a floor on the backoff.
    not_its_fault = status == 429 or (outage and error.code in NETWORK_CODES)
    failures = source.consecutive_failures + (0 if not_its_fault else 1)
    if status == 429:
        facts = Facts(now, source.interval_s, hints=hints, retry_after=retry_after or bounds.min_interval)
    else:
        facts = Facts(now, source.interval_s, hints=hints, retry_after=retry_after, failures=max(failures, 1))
    chosen = plan(facts, bounds)
    return RefreshOutcome(
        "failed",
        now,
        Schedule(chosen.next_at, chosen.interval_s, chosen.reason),
        error_code=error.code,
        error_message=message,
        failures=failures,
        counted=not not_its_fault,
        http_status=status,
    )


async def record_failure(store: Store, source: Source, owner: str, outcome: RefreshOutcome) -> None:
    assert source.id is not None
    source_id = source.id
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
        content_key=entry.content_key,
        enclosures=enclosures.to_json(entry.enclosures),
        categories=json.dumps(list(entry.categories), ensure_ascii=False) if entry.categories else None,
    )
