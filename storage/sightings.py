"""The sighting aggregate: entries of a source, queued as pending before any page is fetched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, update
from sqlmodel import Session, col, select

from storage import core
from storage.tables import Sighting
from storage.upsert import affected, insert_ignore, table_of

BLOCKED = "blocked"  # left out by the source's filters: known, never fetched
BLOCKED_CODE = "filter.blocked"  # stored with the reason (which rule), for whoever asks why


@dataclass(frozen=True, slots=True)
class NewSighting:
    entry_key: str
    guid: str | None
    link: str | None
    link_key: str | None
    feed_title: str | None
    summary: str | None
    feed_content: str | None
    feed_author: str | None
    published_at: datetime | None
    feed_language: str | None = None
    content_key: str | None = None
    enclosures: str | None = None  # JSON list, each with its url_key (see storage.enclosures)
    categories: str | None = None  # JSON list, for the filters decided after extraction


def known(
    session: Session, source_id: int, keys: Sequence[str], link_keys: Sequence[str]
) -> tuple[dict[str, str | None], set[str]]:
    """Which entry keys (with what the feed said of each) and which link keys the source has already
    seen, a few queries per feed (not one per entry). An entry is known when either identity is."""
    found: dict[str, str | None] = {}
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        query = select(Sighting.entry_key, Sighting.content_key).where(
            col(Sighting.source_id) == source_id, col(Sighting.entry_key).in_(chunk)
        )
        found.update(session.exec(query).all())
    return found, _present(session, source_id, col(Sighting.link_key), link_keys)


def revisit(session: Session, source_id: int, changed: Sequence[NewSighting]) -> int:
    """Entries the feed now says something else about: queued again, to update their article."""
    revisited = 0
    for entry in changed:
        statement = (
            update(Sighting)
            .where(col(Sighting.source_id) == source_id, col(Sighting.entry_key) == entry.entry_key)
            .where(col(Sighting.state).not_in(["pending", "pruned", BLOCKED]))  # tombstones stay
            .values(
                state="pending",
                attempts=0,
                content_key=entry.content_key,
                feed_title=entry.feed_title,
                summary=entry.summary,
                feed_content=entry.feed_content,
                feed_author=entry.feed_author,
                published_at=entry.published_at,
                enclosures=entry.enclosures,
                last_error_code=None,
                last_error_message=None,
            )
        )
        revisited += affected(session.execute(statement))
    return revisited


def _present(session: Session, source_id: int, column: Any, values: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), 500):
        chunk = list(values[start : start + 500])
        query = select(column).where(col(Sighting.source_id) == source_id, column.in_(chunk))
        found.update(value for value in session.exec(query).all() if value is not None)
    return found


def queue(session: Session, source_id: int, sightings: Sequence[NewSighting], now: datetime) -> int:
    """Store new entries as pending; entries already known are skipped. Returns how many were new."""
    rows = [
        {**asdict(s), "source_id": source_id, "first_seen_at": now, "state": "pending", "attempts": 0}
        for s in sightings
    ]
    return insert_ignore(session, Sighting, rows)


def remember_blocked(
    session: Session, source_id: int, blocked: Sequence[tuple[NewSighting, str]], now: datetime
) -> int:
    """Store new entries the source's filters left out, each with why, as ``blocked``: known from now
    on (never queued again, never fetched), without their text. Returns how many were new."""
    rows = [
        {
            **asdict(s),
            "summary": None,
            "feed_content": None,
            "source_id": source_id,
            "first_seen_at": now,
            "state": BLOCKED,
            "attempts": 0,
            "last_error_code": BLOCKED_CODE,
            "last_error_message": reason[:2000],
        }
        for s, reason in blocked
    ]
    return insert_ignore(session, Sighting, rows)


def block(session: Session, sighting_id: int, owner: str, reason: str, now: datetime) -> bool:
    """Mark a leased entry blocked by its source's filters once its text was seen (nothing stored);
    False when another worker took the lease over (fencing)."""
    return _settle(
        session, sighting_id, owner, BLOCKED, BLOCKED_CODE, reason, now, summary=None, feed_content=None
    )


def claim_pending(
    session: Session,
    source_ids: Sequence[int],
    owner: str,
    now: datetime,
    lease_until: datetime,
    retry_before: datetime,
    max_attempts: int,
    limit: int,
    taken_over: list[int] | None = None,
) -> list[Sighting]:
    """Lease up to ``limit`` entries to process: pending ones, and failed ones due for a retry.
    The ids of entries whose expired lease belonged to another worker are added to ``taken_over``."""
    workable, free = _workable(retry_before, max_attempts), _free(now)
    query = (
        select(Sighting.id, Sighting.lease_owner)
        .where(col(Sighting.source_id).in_(list(source_ids)), workable, free)
        .order_by(col(Sighting.id))
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL: concurrent workers take different entries
    )
    rows = list(session.exec(query).all())
    ids = [i for i, _ in rows if i is not None]
    if not ids:
        return []
    if taken_over is not None:
        taken_over.extend(i for i, holder in rows if i is not None and holder is not None and holder != owner)
    session.execute(
        update(Sighting)
        .where(col(Sighting.id).in_(ids), free)
        .values(lease_owner=owner, lease_expires_at=lease_until)
    )
    claimed = select(Sighting).where(col(Sighting.id).in_(ids), col(Sighting.lease_owner) == owner)
    return list(session.exec(claimed.order_by(col(Sighting.id))).all())


def sources_with_work(session: Session, now: datetime, retry_before: datetime, max_attempts: int) -> set[int]:
    """Sources with entries to process: pending and free, or failed and due another try."""
    query = select(Sighting.source_id).where(_workable(retry_before, max_attempts), _free(now)).distinct()
    return set(session.exec(query).all())


def _workable(retry_before: datetime, max_attempts: int) -> ColumnElement[bool]:
    return or_(
        col(Sighting.state) == "pending",
        and_(
            col(Sighting.state) == "failed",
            col(Sighting.attempts) < max_attempts,
            col(Sighting.last_attempt_at) < retry_before,
        ),
    )


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(col(Sighting.lease_owner).is_(None), col(Sighting.lease_expires_at) < now)


_T = table_of(Sighting)
_LINKED = (
    select(_T.c.article_id).where(_T.c.link_key == bindparam("key"), _T.c.article_id.is_not(None)).limit(1)
)
_FINISH = (
    _T.update()
    .where(_T.c.id == bindparam("sighting_id"), _T.c.lease_owner == bindparam("owner"))
    .values(
        state="done",
        article_id=bindparam("article_id"),
        last_attempt_at=bindparam("now"),
        attempts=_T.c.attempts + 1,
        last_error_code=None,
        last_error_message=None,
        lease_owner=None,
        lease_expires_at=None,
    )
)


def article_for_link(session: Session, link_key: str) -> int | None:
    """The article an already processed entry with this link resolved to, in any source."""
    found = core.run(session, _LINKED, {"key": link_key}).scalar()
    return int(found) if found is not None else None


def finish(session: Session, sighting_id: int, owner: str, article_id: int, now: datetime) -> bool:
    """Mark the entry done; False when another worker took the lease over (fencing)."""
    params = {"sighting_id": sighting_id, "owner": owner, "article_id": article_id, "now": now}
    return core.run(session, _FINISH, params).rowcount == 1


def fail(session: Session, sighting_id: int, owner: str, code: str, message: str, now: datetime) -> bool:
    return _settle(session, sighting_id, owner, "failed", code, message, now)


def _settle(
    session: Session, sighting_id: int, owner: str, state: str, code: str, message: str, now: datetime,
    **cleared: None,
) -> bool:  # fmt: skip
    """End a leased entry's attempt in ``state`` with a reason; False when another worker took the
    lease over (fencing)."""
    result = session.execute(
        update(Sighting)
        .where(col(Sighting.id) == sighting_id, col(Sighting.lease_owner) == owner)
        .values(
            state=state,
            last_attempt_at=now,
            attempts=Sighting.attempts + 1,
            last_error_code=code,
            last_error_message=message[:2000],
            lease_owner=None,
            lease_expires_at=None,
            **cleared,
        )
    )
    return affected(result) == 1


def recent_dates(session: Session, source_id: int, limit: int = 20) -> list[datetime]:
    """When the source's latest entries appeared: their publication dates, else when first seen.

    Entries without a date that were first seen at the source's very first poll are left out:
    their first-seen time says when we arrived, not when they were published.
    """
    first_poll = session.exec(
        select(func.min(Sighting.first_seen_at)).where(col(Sighting.source_id) == source_id)
    ).one()
    query = (
        select(Sighting.published_at, Sighting.first_seen_at)
        .where(col(Sighting.source_id) == source_id)
        .order_by(col(Sighting.id).desc())
        .limit(limit * 2)
    )
    dates = []
    arrival = _aware(first_poll) if first_poll is not None else None
    for published, seen in session.exec(query).all():
        if published is not None:
            dates.append(_aware(published))
        elif arrival is None or _aware(seen) > arrival + timedelta(seconds=1):
            dates.append(_aware(seen))
    return sorted(dates, reverse=True)[:limit]


def _aware(value: datetime | str) -> datetime:
    # coalesce() loses the column type on SQLite, so values may come back as text.
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def defer(session: Session, sighting_ids: Sequence[int], owner: str, until: datetime) -> None:
    """Keep entries leased, untried, until ``until``: their host asked for a pause."""
    session.execute(
        update(Sighting)
        .where(col(Sighting.id).in_(list(sighting_ids)), col(Sighting.lease_owner) == owner)
        .values(lease_expires_at=until)
    )
