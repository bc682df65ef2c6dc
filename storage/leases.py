"""Lease bookkeeping across tables: who holds work, and giving a dead holder's work back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.tables import Sighting, Source
from storage.upsert import affected


def live_owners(session: Session, now: datetime) -> set[str]:
    """Owners that hold at least one unexpired lease on a source or an entry."""
    owners: set[str] = set()
    for model in (Source, Sighting):
        query = (
            select(model.lease_owner)
            .where(col(model.lease_owner).is_not(None), col(model.lease_expires_at) >= now)
            .distinct()
        )
        owners.update(owner for owner in session.exec(query).all() if owner)
    return owners


def release_owner(session: Session, owner: str) -> int:
    """Free every lease ``owner`` holds; returns how many rows were freed."""
    freed = 0
    for model in (Source, Sighting):
        statement = (
            update(model)
            .where(col(model.lease_owner) == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )
        freed += affected(session.execute(statement))
    return freed
