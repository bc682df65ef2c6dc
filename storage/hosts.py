"""Politeness state per host, shared by every worker through the database: pauses a host asked for
(Retry-After), its robots.txt and Crawl-delay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.tables import Host


@dataclass(frozen=True, slots=True)
class Robots:
    text: str | None
    status: int | None
    fetched_at: datetime
    crawl_delay_s: float | None


def holds(session: Session, now: datetime) -> dict[str, datetime]:
    """Hosts that asked not to be contacted before a time still to come."""
    query = select(Host.host, Host.retry_after_until).where(col(Host.retry_after_until) > now)
    return {host: until for host, until in session.exec(query).all() if until is not None}


def hold(session: Session, host: str, until: datetime) -> None:
    row = session.get(Host, host) or Host(host=host)
    if row.retry_after_until is None or row.retry_after_until < until:
        row.retry_after_until = until
    session.add(row)


def robots(session: Session, host: str) -> Robots | None:
    row = session.get(Host, host)
    if row is None or row.robots_fetched_at is None:
        return None
    return Robots(row.robots_txt, row.robots_status, row.robots_fetched_at, row.crawl_delay_s)


def save_robots(session: Session, host: str, found: Robots) -> None:
    row = session.get(Host, host) or Host(host=host)
    row.robots_txt, row.robots_status = found.text, found.status
    row.robots_fetched_at, row.crawl_delay_s = found.fetched_at, found.crawl_delay_s
    session.add(row)
