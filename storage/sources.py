"""The source aggregate: what to poll and when, its validators, its health, and who holds its lease."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel import Session, col, select

from storage.db import serialize
from storage.tables import Poll, Source
from storage.upsert import affected

# After this many failures in a row a source is "degraded": still polled, at the longest interval.
DEGRADED_AFTER = 10
CONFIG, CLI, REMOVED = "config", "cli", "removed"  # where a source comes from (Source.origin)
_SYNC_LOCK_KEY = 4_152_773_002  # any fixed number (storage.migrate's is ..._001)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source as declared (config file or command line)."""

    name: str
    kind: str
    url: str | None
    path: str | None
    interval_s: float | None
    full_text: bool
    enabled: bool
    filters: str | None = None  # JSON {"keep": [...], "block": [...]}, None when there are none
    download_enclosures: bool = False


@dataclass(frozen=True, slots=True)
class Schedule:
    """When to poll next and why; part of every outcome."""

    next_fetch_at: datetime | None
    interval_s: float | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """How one poll ended; written in the same transaction as the entries it queued.

    ``status``: ok | not_modified (validators and hints saved, errors cleared), failed (an error,
    counted against the source unless ``counted`` is false: rate limits, a network down for
    everyone), deferred (not polled: the host asked for a pause), gone (410: polling stops).
    """

    status: str
    at: datetime
    schedule: Schedule
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    failures: int = 0  # consecutive failures after this poll
    counted: bool = True
    hint_ttl_s: float | None = None
    skip_hours: str | None = None
    skip_days: str | None = None
    url: str | None = None  # the source moved here
    moved_to: str | None = None
    moved_count: int = 0
    # For the poll history (`ingest sources show`):
    http_status: int | None = None
    bytes: int | None = None
    entries_seen: int = 0
    entries_new: int = 0
    duration_ms: float | None = None
    hub_url: str | None = None  # WebSub, as the parsed feed advertised it (``ok`` polls only)
    topic_url: str | None = None


def sync_declared(session: Session, specs: Sequence[SourceSpec], origin: str = "config") -> None:
    """Make the table match the declarations: add, update, and disable (never delete) the removed.

    A source that moved (permanent redirects) keeps its new address while its declaration stays the
    same; a changed declaration wins. Workers starting together take turns (the second finds the
    first's rows), instead of both inserting the same source.
    """
    serialize(session, _SYNC_LOCK_KEY)
    existing = {source.name: source for source in session.exec(select(Source)).all()}
    declared = {spec.name for spec in specs}
    for spec in specs:
        source = existing.get(spec.name) or Source(name=spec.name, kind=spec.kind, origin=origin)
        redeclared = (source.declared_url, source.path) != (spec.url, spec.path)
        if redeclared:
            if source.id is not None:  # a new address: what was learnt about the old one does not hold
                source.etag = source.last_modified = source.body_hash = None
                source.moved_to, source.moved_count = None, 0
                source.state, source.consecutive_failures, source.next_fetch_at = "new", 0, None
            source.url, source.declared_url = spec.url, spec.url
        source.kind, source.path = spec.kind, spec.path
        source.interval_s, source.full_text = spec.interval_s, spec.full_text
        source.filters, source.download_enclosures = spec.filters, spec.download_enclosures
        if source.id is None or source.origin != origin or source.declared_enabled != spec.enabled:
            # A declaration that changed wins; otherwise `ingest sources enable/disable` holds.
            source.enabled = source.declared_enabled = spec.enabled
        source.origin = origin
        session.add(source)
    for name, source in existing.items():
        # Once, when the declaration goes: `ingest sources enable` may bring it back afterwards.
        if source.origin == origin and name not in declared and source.declared_enabled is not None:
            source.enabled, source.declared_enabled = False, None
            session.add(source)


def all_sources(session: Session) -> list[Source]:
    """Every source but those removed from the command line (kept only for their history)."""
    query = select(Source).where(col(Source.origin) != REMOVED).order_by(col(Source.name))
    return list(session.exec(query).all())


def by_name(session: Session, name: str) -> Source | None:
    return session.exec(select(Source).where(col(Source.name) == name)).first()


def by_url(session: Session, url: str) -> Source | None:
    """A source (not removed) polled at, or declared with, ``url``."""
    query = select(Source).where(
        or_(col(Source.url) == url, col(Source.declared_url) == url), col(Source.origin) != REMOVED
    )
    return session.exec(query).first()


def removed_with_url(session: Session, url: str) -> Source | None:
    """A source removed from the command line that polled ``url``: adding it again revives it."""
    query = select(Source).where(
        or_(col(Source.url) == url, col(Source.declared_url) == url), col(Source.origin) == REMOVED
    )
    return session.exec(query).first()


def add(session: Session, spec: SourceSpec, title: str | None = None, site_url: str | None = None,
        tags: Sequence[str] = ()) -> Source:  # fmt: skip
    """A source added from the command line (or an OPML import); one removed earlier comes back."""
    source = by_name(session, spec.name) or Source(name=spec.name, kind=spec.kind)
    source.kind, source.url, source.declared_url, source.path = spec.kind, spec.url, spec.url, spec.path
    source.interval_s, source.full_text, source.enabled = spec.interval_s, spec.full_text, spec.enabled
    source.origin, source.title, source.site_url = CLI, title, site_url
    source.tags = json.dumps(list(tags), ensure_ascii=False) if tags else None
    source.state, source.consecutive_failures, source.next_fetch_at = "new", 0, None
    session.add(source)
    session.flush()
    return source


def set_enabled(session: Session, name: str, enabled: bool) -> Source | None:
    source = by_name(session, name)
    if source is None or source.origin == REMOVED:
        return None
    source.enabled = enabled
    if enabled and source.state == "gone":  # asked to try again
        source.state, source.next_fetch_at = "new", None
    session.add(source)
    return source


def remove(session: Session, name: str) -> Source | None:
    """Stop polling a command-line source and hide it; its sightings and articles stay."""
    source = by_name(session, name)
    if source is None or source.origin == REMOVED:
        return None
    source.origin, source.enabled = REMOVED, False
    session.add(source)
    return source


def tags_of(source: Source) -> list[str]:
    try:
        loaded = json.loads(source.tags or "[]")
    except ValueError:
        return []
    return [str(tag) for tag in loaded] if isinstance(loaded, list) else []


def recent_polls(session: Session, source_id: int, limit: int = 20) -> list[Poll]:
    query = (
        select(Poll)
        .where(col(Poll.source_id) == source_id)
        .order_by(col(Poll.at).desc(), col(Poll.id).desc())
    )
    return list(session.exec(query.limit(limit)).all())


def enabled_sources(session: Session, names: Sequence[str] = ()) -> list[Source]:
    query = select(Source).where(col(Source.enabled)).order_by(col(Source.name))
    if names:
        query = query.where(col(Source.name).in_(list(names)))
    return list(session.exec(query).all())


def claim_due(
    session: Session,
    owner: str,
    now: datetime,
    until: datetime,
    limit: int,
    due_by: datetime | None = None,
    exclude: Collection[int] = (),
    taken_over: list[int] | None = None,
) -> list[Source]:
    """Lease the enabled sources whose next poll has come (by ``due_by``, default ``now``), the
    most overdue first, leaving out the ids in ``exclude``.

    On PostgreSQL the rows are locked with SKIP LOCKED: workers claiming at the same moment take
    different sources instead of waiting on each other; SQLite serialises writers anyway. The ids
    of sources whose expired lease belonged to another worker are added to ``taken_over``.
    """
    due_by = now if due_by is None else due_by
    query = (
        select(Source.id, Source.lease_owner)
        .where(col(Source.enabled), col(Source.state) != "gone", _lease_free(now))
        .where(or_(col(Source.next_fetch_at).is_(None), col(Source.next_fetch_at) <= due_by))
        .order_by(col(Source.next_fetch_at).is_not(None), col(Source.next_fetch_at), col(Source.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if exclude:
        query = query.where(col(Source.id).not_in(list(exclude)))
    rows = [(i, holder) for i, holder in session.exec(query).all() if i is not None]
    ids = [i for i, _ in rows]
    if not ids:
        return []
    if taken_over is not None:
        taken_over.extend(i for i, holder in rows if holder is not None and holder != owner)
    session.execute(
        update(Source).where(col(Source.id).in_(ids)).values(lease_owner=owner, lease_expires_at=until)
    )
    claimed = (
        select(Source).where(col(Source.id).in_(ids)).order_by(col(Source.next_fetch_at), col(Source.id))
    )
    return list(session.exec(claimed).all())


def _lease_free(now: datetime, owner: str | None = None) -> ColumnElement[bool]:
    conditions = [col(Source.lease_owner).is_(None), col(Source.lease_expires_at) < now]
    if owner is not None:
        conditions.append(col(Source.lease_owner) == owner)
    return or_(*conditions)


def refreshing_elsewhere(session: Session, owner: str, now: datetime) -> int:
    """Sources another worker holds a live lease on: refreshes in flight elsewhere."""
    query = select(func.count()).where(
        col(Source.lease_owner).is_not(None),
        col(Source.lease_owner) != owner,
        col(Source.lease_expires_at) > now,
    )
    return int(session.exec(query).one())


def try_lease(session: Session, source_id: int, owner: str, now: datetime, until: datetime) -> bool:
    """Take the source's lease unless another owner holds a live one."""
    statement = (
        update(Source)
        .where(and_(col(Source.id) == source_id, _lease_free(now, owner)))
        .values(lease_owner=owner, lease_expires_at=until)
    )
    return affected(session.execute(statement)) == 1


def record_refresh(session: Session, source_id: int, owner: str, outcome: RefreshOutcome) -> bool:
    """Store a poll's outcome and release the lease; False if the lease was lost (fencing).

    One conditional UPDATE: a worker whose lease was taken over matches no row, on PostgreSQL as
    on SQLite, whatever the isolation level.
    """
    values: dict[str, object] = {
        "next_fetch_at": outcome.schedule.next_fetch_at,
        "poll_interval_s": outcome.schedule.interval_s,
        "interval_reason": outcome.schedule.reason,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if outcome.status != "deferred":
        values |= {"last_fetch_at": outcome.at, "last_status": outcome.status}
        values |= _health(outcome)
    statement = (
        update(Source).where(col(Source.id) == source_id, col(Source.lease_owner) == owner).values(**values)
    )
    if affected(session.execute(statement)) != 1:
        return False
    session.add(_poll(source_id, outcome))
    return True


def _poll(source_id: int, outcome: RefreshOutcome) -> Poll:
    return Poll(
        source_id=source_id,
        at=outcome.at,
        status=outcome.status,
        http_status=outcome.http_status,
        duration_ms=outcome.duration_ms,
        bytes=outcome.bytes,
        entries_seen=outcome.entries_seen,
        entries_new=outcome.entries_new,
        error_code=outcome.error_code,
        error_message=(outcome.error_message or "")[:2000] or None,
    )


def _health(outcome: RefreshOutcome) -> dict[str, object]:
    if outcome.status in {"failed", "gone"}:
        error: dict[str, object] = {
            "last_error_code": outcome.error_code,
            "last_error_message": outcome.error_message,
            "last_error_at": outcome.at,
        }
        if outcome.status == "gone":
            return error | {"state": "gone", "consecutive_failures": outcome.failures}
        if not outcome.counted:
            return error
        state = "degraded" if outcome.failures >= DEGRADED_AFTER else "failing"
        return error | {"state": state, "consecutive_failures": outcome.failures}
    # Success: errors reset (their history is in the logs), validators and hints kept for the next poll.
    healthy: dict[str, object] = {
        "consecutive_failures": 0,
        "last_success_at": outcome.at,
        "last_error_code": None,
        "last_error_message": None,
        "last_error_at": None,
        "state": "ok",
        "etag": outcome.etag,
        "last_modified": outcome.last_modified,
        "body_hash": outcome.body_hash,
        "moved_to": outcome.moved_to,
        "moved_count": outcome.moved_count,
    }
    if outcome.url is not None:
        healthy["url"] = outcome.url
    if outcome.status == "ok":
        healthy |= {
            "hint_ttl_s": outcome.hint_ttl_s,
            "skip_hours": outcome.skip_hours,
            "skip_days": outcome.skip_days,
            "hub_url": outcome.hub_url,
            "topic_url": outcome.topic_url,
        }
    return healthy
