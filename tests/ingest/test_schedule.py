"""The polling decisions, without any I/O."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from ingest.models import FeedHints
from ingest.schedule import Bounds, Facts, adaptive_interval, mean_gap, plan

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
BOUNDS = Bounds(default_interval=1800, min_interval=300, max_interval=86400)


def every(seconds: float, count: int = 20) -> list[datetime]:
    return [NOW - timedelta(seconds=seconds * i) for i in range(count)]


def test_busy_feeds_are_polled_more_often_than_quiet_ones() -> None:
    wire, hourly, daily, weekly = (
        adaptive_interval(mean_gap(every(g), NOW), BOUNDS) for g in (300, 3600, 86400, 604800)
    )
    assert wire < hourly < daily < weekly
    assert 1500 <= hourly <= 2100  # half an hour for an hourly feed (the square-root rule)
    assert weekly <= 86400


def test_silence_lengthens_the_estimate() -> None:
    lively = mean_gap(every(3600), NOW)
    gone_quiet = mean_gap(every(3600), NOW + timedelta(days=3))
    assert lively is not None and gone_quiet is not None and gone_quiet > 3 * lively


def test_without_history_the_default_interval_applies() -> None:
    chosen = plan(Facts(NOW, entry_dates=[NOW]), BOUNDS, random.Random(1))
    assert chosen.reason == "default"
    assert 1800 * 0.9 <= chosen.interval_s <= 1800 * 1.1


def test_bounds_jitter_and_fixed_intervals() -> None:
    rng = random.Random(2)
    intervals = [plan(Facts(NOW, entry_dates=every(10)), BOUNDS, rng).interval_s for _ in range(50)]
    assert set(intervals) == {300}  # a feed faster than min_interval is still polled at min_interval
    spread = [plan(Facts(NOW, entry_dates=every(7200)), BOUNDS, rng).interval_s for _ in range(200)]
    assert max(spread) / min(spread) > 1.1  # jitter, so that polls do not synchronise
    fixed = plan(Facts(NOW, fixed_interval=60), BOUNDS, rng)
    assert fixed.reason == "fixed" and 54 <= fixed.interval_s <= 66


@pytest.mark.parametrize(
    ("hints", "floor", "reason"),
    [(FeedHints(ttl_s=7200), 7200, "ttl"), (FeedHints(update_interval_s=43200), 43200, "ttl")],
)
def test_publisher_hints_are_a_floor(hints: FeedHints, floor: float, reason: str) -> None:
    chosen = plan(Facts(NOW, entry_dates=every(600), hints=hints), BOUNDS, random.Random(3))
    assert chosen.interval_s >= floor and chosen.reason == reason


def test_cache_control_holds_the_next_poll_back() -> None:
    chosen = plan(
        Facts(NOW, entry_dates=every(600), fresh_until=NOW + timedelta(hours=3)), BOUNDS, random.Random(4)
    )
    assert chosen.next_at == NOW + timedelta(hours=3) and chosen.reason == "cache"
    far = plan(Facts(NOW, fresh_until=NOW + timedelta(days=30)), BOUNDS, random.Random(4))
    assert far.next_at == NOW + timedelta(seconds=86400)  # never beyond max_interval


def test_retry_after_wins_and_is_clamped() -> None:
    assert plan(Facts(NOW, retry_after=600), BOUNDS).next_at == NOW + timedelta(seconds=600)
    assert plan(Facts(NOW, retry_after=5), BOUNDS).interval_s == 300
    assert plan(Facts(NOW, retry_after=10**9), BOUNDS).interval_s == 86400


def test_failures_back_off_exponentially_up_to_the_maximum() -> None:
    rng = random.Random(5)
    waits = [plan(Facts(NOW, failures=n), BOUNDS, rng).interval_s for n in range(1, 12)]
    assert plan(Facts(NOW, failures=1), BOUNDS).reason == "backoff"
    assert 270 <= waits[0] <= 330 and 540 <= waits[1] <= 660 and 1080 <= waits[2] <= 1320
    assert max(waits) <= 86400 * 1.1 and waits[-1] >= 86400 * 0.9


def test_skip_hours_and_days_move_the_poll() -> None:
    hints = FeedHints(skip_hours=frozenset(range(10, 14)))
    chosen = plan(Facts(NOW, fixed_interval=600, hints=hints), BOUNDS, random.Random(6))
    assert chosen.next_at == NOW.replace(hour=14) and chosen.reason == "fixed+skip"
    monday_skipped = FeedHints(skip_days=frozenset({0}))
    moved = plan(Facts(NOW, fixed_interval=600, hints=monday_skipped), BOUNDS, random.Random(6))
    assert moved.next_at == datetime(2026, 3, 3, tzinfo=UTC)
    everything = FeedHints(skip_hours=frozenset(range(24)))
    assert plan(Facts(NOW, fixed_interval=600, hints=everything), BOUNDS).reason == "fixed"
