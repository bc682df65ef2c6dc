"""Runs: when each run started and ended, what triggered it, and its counts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session

from storage.tables import Run

COUNTS = (
    "sources_ok",
    "sources_failed",
    "sources_not_modified",
    "entries_seen",
    "entries_new",
    "articles_new",
    "articles_duplicate",
    "articles_near_duplicate",
    "articles_failed",
    "sources_deferred",
    "articles_updated",
    "entries_blocked",
)


def start(session: Session, trigger: str, owner: str, now: datetime) -> int:
    run = Run(trigger=trigger, owner=owner, started_at=now)
    session.add(run)
    session.flush()
    assert run.id is not None
    return run.id


def finish(
    session: Session, run_id: int, counts: Mapping[str, int], now: datetime, duration_s: float
) -> None:
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"run {run_id} does not exist")
    for name in COUNTS:
        setattr(run, name, int(counts.get(name, 0)))
    run.finished_at = now
    run.duration_s = duration_s
    session.add(run)
