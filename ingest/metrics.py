"""What the daemon's `/metrics` shows (Prometheus): counters the pipeline moves, and gauges read from
the database when scraped.

Counters are this process's (Prometheus sums them across workers); the gauges — sources by state,
degraded sources, entries waiting — are the database's, so every worker shows the same picture.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select

from storage.db import Database
from storage.tables import Sighting, Source

POLLS = Counter("ingest_polls", "Source polls, by how they ended", ["status"])
FETCH_SECONDS = Histogram(
    "ingest_fetch_duration_seconds",
    "HTTP requests, connection to last byte, by what was fetched",
    ["what"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ARTICLES = Counter("ingest_articles_stored", "Entries stored as articles, by outcome", ["outcome"])
DUPLICATES = Counter("ingest_duplicates", "Entries found to be an article already stored")
ENTRY_FAILURES = Counter(
    "ingest_entry_failures", "Entries that could not be stored (extraction, fetch), by error code", ["code"]
)
TAKEOVERS = Counter("ingest_lease_takeovers", "Expired leases of other workers taken over", ["kind"])
WEBSUB = Counter(
    "ingest_websub_events",
    "WebSub: subscriptions asked, verified, denied; pushes accepted and refused",
    ["event"],
)
BLOCKED = Counter("ingest_entries_blocked", "Entries left out by filters, by phase (feed|body)", ["phase"])
FETCH_KINDS = {"feed", "page", "robots.txt", "enclosure"}  # a bounded label set, whatever callers pass


def fetched(what: str, seconds: float) -> None:
    FETCH_SECONDS.labels(what if what in FETCH_KINDS else "other").observe(seconds)


class DatabaseGauges(Collector):
    """Sources by state, degraded sources, and the entries queue, counted when scraped."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            states, waiting = self._read()
        except Exception:  # the database is away: /readyz says so; /metrics still answers
            return
        by_state = GaugeMetricFamily("ingest_sources", "Enabled sources by state", labels=["state"])
        for state, count in sorted(states.items()):
            by_state.add_metric([state], count)
        yield by_state
        yield GaugeMetricFamily(
            "ingest_sources_degraded", "Sources failing for a long time", value=states.get("degraded", 0)
        )
        yield GaugeMetricFamily("ingest_queue_depth", "Entries waiting to be processed", value=waiting)

    def _read(self) -> tuple[dict[str, int], int]:
        with self.db.read() as session:
            query = select(Source.state, func.count()).where(col(Source.enabled)).group_by(col(Source.state))
            states = {str(state): int(count) for state, count in session.exec(query).all()}
            pending = (  # of enabled sources: the entries of a disabled one wait for nobody
                select(func.count())
                .select_from(Sighting)
                .join(Source, col(Source.id) == col(Sighting.source_id))
                .where(col(Sighting.state) == "pending", col(Source.enabled))
            )
            waiting = session.exec(pending).one()
        return states, int(waiting)


def watch(db: Database) -> DatabaseGauges:
    """Register the database gauges (undo with :func:`unwatch`)."""
    gauges = DatabaseGauges(db)
    REGISTRY.register(gauges)
    return gauges


def unwatch(gauges: DatabaseGauges) -> None:
    REGISTRY.unregister(gauges)
