"""Politeness state per host, shared by every worker through the database: the next moment a request
may start (per-host spacing), pauses a host asked for (Retry-After), its robots.txt and Crawl-delay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session, col, select

from storage.tables import Host
from storage.types import utcnow
from storage.upsert import insert_ignore


@dataclass(frozen=True, slots=True)
class Robots:
    text: str | None
    status: int | None
    fetched_at: datetime
    crawl_delay_s: float | None


@dataclass(frozen=True, slots=True)
class Turn:
    """A booked request start (wall clock) and the host's pause, if one is set."""

    start_at: datetime
    held_until: datetime | None


def holds(session: Session, now: datetime) -> dict[str, datetime]:
    """Hosts that asked not to be contacted before a time still to come."""
    query = select(Host.host, Host.retry_after_until).where(col(Host.retry_after_until) > now)
    return {host: until for host, until in session.exec(query).all() if until is not None}


def peek(session: Session, host: str) -> Turn:
    """The host's pause, with a start of now: for requests that keep no spacing (nothing to book)."""
    held = session.exec(select(Host.retry_after_until).where(col(Host.host) == host)).first()
    return Turn(utcnow(), held)


def _locked(session: Session, host: str) -> Host:
    """The host's row, created if missing, locked until the transaction ends.

    Creating through insert-or-ignore lets two workers meet a new host at once without either
    failing on the primary key; the row lock (PostgreSQL) or the write lock (SQLite) then
    serialises them.
    """
    insert_ignore(session, Host, [{"host": host}])
    return session.exec(select(Host).where(col(Host.host) == host).with_for_update()).one()


def book_turn(session: Session, host: str, spacing_s: float) -> Turn:
    """Book the next start of a request to ``host``, ``spacing_s`` after the last one booked.

    Every worker books through this row, so the spacing holds across processes and machines.
    The time is read inside the transaction, after the lock: a booking that waited for the lock
    never starts earlier than the one before it plus the spacing. Wall-clock UTC, so workers on
    several machines need synchronised clocks (NTP), as their leases do.
    """
    if session.get_bind().dialect.name == "postgresql":
        return _book_turn_in_one_statement(session, host, spacing_s)
    row = _locked(session, host)
    now = utcnow()
    start = now if row.next_allowed_at is None or row.next_allowed_at < now else row.next_allowed_at
    row.next_allowed_at = start + timedelta(seconds=spacing_s)
    session.add(row)
    return Turn(start, row.retry_after_until)


def _book_turn_in_one_statement(session: Session, host: str, spacing_s: float) -> Turn:
    """PostgreSQL: the same booking as one upsert (a round trip per request instead of three);
    the row lock the upsert takes serialises workers, ``clock_timestamp()`` is read after it."""
    statement = text(
        """
        INSERT INTO host (host, next_allowed_at) VALUES (:host, clock_timestamp() + :spacing)
        ON CONFLICT (host) DO UPDATE SET next_allowed_at =
            GREATEST(host.next_allowed_at, clock_timestamp()) + :spacing
        RETURNING next_allowed_at - :spacing, retry_after_until
        """
    )
    start, held = session.execute(statement, {"host": host, "spacing": timedelta(seconds=spacing_s)}).one()
    return Turn(_utc(start), _utc(held) if held is not None else None)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def hold(session: Session, host: str, until: datetime) -> None:
    row = _locked(session, host)
    if row.retry_after_until is None or row.retry_after_until < until:
        row.retry_after_until = until
    session.add(row)


def robots(session: Session, host: str) -> Robots | None:
    row = session.get(Host, host)
    if row is None or row.robots_fetched_at is None:
        return None
    return Robots(row.robots_txt, row.robots_status, row.robots_fetched_at, row.crawl_delay_s)


def save_robots(session: Session, host: str, found: Robots) -> None:
    row = _locked(session, host)
    row.robots_txt, row.robots_status = found.text, found.status
    row.robots_fetched_at, row.crawl_delay_s = found.fetched_at, found.crawl_delay_s
    session.add(row)
