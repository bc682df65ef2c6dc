"""When to poll a source next: pure decisions from what the last polls saw. The database keeps the
result (``next_fetch_at`` and why); the daemon's ticker only asks the database what is due.

- **Adaptive.** A source is polled about as often as it publishes, by the square-root rule: the
  interval is ``sqrt(mean gap × default_interval / 2)``. Polling each feed at an interval
  proportional to the square root of its gap minimises the mean delay between a publication and its
  ingestion for a given number of requests (busy feeds polled more often, quiet ones much less);
  ``bench/schedule.py`` measures it against a fixed 30-minute poll. The mean gap is estimated
  from the source's recent entries: ``(now - oldest) / count``, so silence lengthens it.
- **A fixed interval** from the config replaces the estimate.
- **The publisher's word is a floor:** RSS ``<ttl>``, ``sy:updatePeriod``, ``Cache-Control:
  max-age`` / ``Expires``, and ``Retry-After`` (clamped to a day). ``skipHours`` and ``skipDays``
  move a poll out of the hours and days the feed asks to be left alone.
- **Failures back off** exponentially from ``min_interval`` to ``max_interval``, with jitter.
- Everything ends within ``[min_interval, max_interval]`` (a fixed interval within [1 s, max]),
  with ±10 % jitter so that polls do not synchronise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.models import FeedHints

JITTER = 0.10
NO_HINTS = FeedHints()
RECENT_ENTRIES = 20
MAX_RETRY_AFTER = 86400.0


@dataclass(frozen=True, slots=True)
class Bounds:
    default_interval: float
    min_interval: float
    max_interval: float
    subscribed_interval: float | None = None  # WebSub on: sources their hub pushes polled this often


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about a source right after a poll."""

    now: datetime
    fixed_interval: float | None = None
    entry_dates: Sequence[datetime] = ()  # recent entries' publication (or first-seen) times
    hints: FeedHints = NO_HINTS
    fresh_until: datetime | None = None  # Cache-Control max-age / Expires of the last response
    retry_after: float | None = None  # seconds, when the server asked for a pause (429, 503)
    failures: int = 0  # consecutive failures, this poll included


@dataclass(frozen=True, slots=True)
class Plan:
    next_at: datetime
    interval_s: float
    reason: str  # adaptive | fixed | ttl | cache | retry-after | backoff | default, + "+skip"


def mean_gap(dates: Sequence[datetime], now: datetime) -> float | None:
    """Seconds between publications, from the most recent entries; None without enough history."""
    recent = sorted((d for d in dates if d <= now), reverse=True)[:RECENT_ENTRIES]
    if len(recent) < 2:
        return None
    return max((now - recent[-1]).total_seconds(), 1.0) / len(recent)


def adaptive_interval(gap: float | None, bounds: Bounds) -> float:
    if gap is None:
        return bounds.default_interval
    return math.sqrt(gap * bounds.default_interval / 2)


def plan(facts: Facts, bounds: Bounds, rng: random.Random | None = None) -> Plan:
    rng = rng or random.Random()
    backoff = 0.0
    if facts.failures > 0:  # jitter first, then the bounds: never beyond max_interval
        backoff = min(_jitter(bounds.min_interval * 2 ** (facts.failures - 1), rng), bounds.max_interval)
    if facts.retry_after is not None:
        asked = min(max(facts.retry_after, bounds.min_interval), MAX_RETRY_AFTER)
        if asked >= backoff:  # the server's pause is a floor on the backoff, never a shortcut
            return _skip(Plan(facts.now + timedelta(seconds=asked), asked, "retry-after"), facts.hints)
    if backoff:
        return _skip(_at(facts.now, backoff, "backoff"), facts.hints)
    interval, reason = _base(facts, bounds)
    interval = _jitter(interval, rng)
    for floor, why in ((facts.hints.ttl_s, "ttl"), (facts.hints.update_interval_s, "ttl")):
        if floor is not None and floor > interval:
            interval, reason = floor, why
    lowest = 1.0 if facts.fixed_interval is not None else bounds.min_interval
    interval = min(max(interval, lowest), bounds.max_interval)
    chosen = _at(facts.now, interval, reason)
    if facts.fresh_until is not None and facts.fresh_until > chosen.next_at:
        fresh = min(facts.fresh_until, facts.now + timedelta(seconds=bounds.max_interval))
        chosen = Plan(fresh, (fresh - facts.now).total_seconds(), "cache")
    return _skip(chosen, facts.hints)


def _base(facts: Facts, bounds: Bounds) -> tuple[float, str]:
    if facts.fixed_interval is not None:
        return facts.fixed_interval, "fixed"
    gap = mean_gap(facts.entry_dates, facts.now)
    return adaptive_interval(gap, bounds), "adaptive" if gap is not None else "default"


def _jitter(seconds: float, rng: random.Random) -> float:
    return seconds * (1 + rng.uniform(-JITTER, JITTER))


def _at(now: datetime, seconds: float, reason: str) -> Plan:
    return Plan(now + timedelta(seconds=seconds), seconds, reason)


def _skip(chosen: Plan, hints: FeedHints) -> Plan:
    """Move the poll out of the hours and days the feed asks to be skipped (UTC)."""
    if not hints.skip_hours and not hints.skip_days:
        return chosen
    moment = chosen.next_at
    for _ in range(24 * 8):
        if moment.hour not in hints.skip_hours and moment.weekday() not in hints.skip_days:
            break
        moment = (moment + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    else:  # every hour of every day skipped: the feed asks for nothing sensible
        return chosen
    if moment == chosen.next_at:
        return chosen
    return Plan(moment, chosen.interval_s, f"{chosen.reason}+skip")
