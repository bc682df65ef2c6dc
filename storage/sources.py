"""The source aggregate: what to poll, its validators, its health, and who holds its lease."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from storage.tables import Source
from storage.upsert import affected


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


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """How one poll ended; written in the same transaction as the entries it queued."""

    status: str  # ok | not_modified | failed
    at: datetime
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    next_fetch_at: datetime | None = None


def sync_declared(session: Session, specs: Sequence[SourceSpec], origin: str = "config") -> None:
    """Make the table match the declarations: add, update, and disable (never delete) the removed."""
    existing = {source.name: source for source in session.exec(select(Source)).all()}
    declared = {spec.name for spec in specs}
    for spec in specs:
        source = existing.get(spec.name) or Source(name=spec.name, kind=spec.kind, origin=origin)
        location_changed = (source.url, source.path) != (spec.url, spec.path)
        source.kind, source.url, source.path = spec.kind, spec.url, spec.path
        source.interval_s, source.full_text, source.enabled = spec.interval_s, spec.full_text, spec.enabled
        source.origin = origin
        if location_changed and source.id is not None:
            # A new address: the old validators describe another document.
            source.etag = source.last_modified = source.body_hash = None
        session.add(source)
    for name, source in existing.items():
        if source.origin == origin and name not in declared and source.enabled:
            source.enabled = False
            session.add(source)


def all_sources(session: Session) -> list[Source]:
    return list(session.exec(select(Source).order_by(col(Source.name))).all())


def enabled_sources(session: Session, names: Sequence[str] = ()) -> list[Source]:
    query = select(Source).where(col(Source.enabled)).order_by(col(Source.name))
    if names:
        query = query.where(col(Source.name).in_(list(names)))
    return list(session.exec(query).all())


def try_lease(session: Session, source_id: int, owner: str, now: datetime, until: datetime) -> bool:
    """Take the source's lease unless another owner holds a live one."""
    statement = (
        update(Source)
        .where(col(Source.id) == source_id)
        .where(
            or_(
                col(Source.lease_owner).is_(None),
                col(Source.lease_owner) == owner,
                col(Source.lease_expires_at) < now,
            )
        )
        .values(lease_owner=owner, lease_expires_at=until)
    )
    return affected(session.execute(statement)) == 1


def record_refresh(session: Session, source_id: int, owner: str, outcome: RefreshOutcome) -> bool:
    """Store a poll's outcome and release the lease; False if the lease was lost (fencing).

    One conditional UPDATE: a worker whose lease was taken over matches no row, on PostgreSQL as
    on SQLite, whatever the isolation level.
    """
    values: dict[str, object] = {
        "last_fetch_at": outcome.at,
        "last_status": outcome.status,
        "next_fetch_at": outcome.next_fetch_at,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if outcome.status == "failed":
        values |= {
            "consecutive_failures": Source.consecutive_failures + 1,
            "last_error_code": outcome.error_code,
            "last_error_message": outcome.error_message,
            "last_error_at": outcome.at,
            "state": "failing",
        }
    else:
        # The error is reset on success; its history is in the logs.
        values |= {
            "consecutive_failures": 0,
            "last_success_at": outcome.at,
            "last_error_code": None,
            "last_error_message": None,
            "last_error_at": None,
            "state": "ok",
            "etag": outcome.etag,
            "last_modified": outcome.last_modified,
            "body_hash": outcome.body_hash,
        }
    statement = (
        update(Source).where(col(Source.id) == source_id, col(Source.lease_owner) == owner).values(**values)
    )
    return affected(session.execute(statement)) == 1
