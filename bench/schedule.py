"""A day of polling 1,000 sources: the adaptive schedule against a fixed 30-minute poll.

    python bench/schedule.py [--sources 1000] [--seed 7]

Each source publishes as a Poisson process at a realistic rate (a tenth are wires publishing every
few minutes, three tenths about hourly, four tenths a few times a day, a fifth a few times a week),
with a month of history so that its feed holds its last 20 entries. Both schedules poll the same
sources on the same simulated clock for one day, starting at random offsets; the adaptive one asks
``ingest.schedule.plan`` (the daemon's own code) after every poll. A poll that finds nothing new is
one the server answers 304. Delay = from a publication to the first poll that sees it; publications
of the day are followed past midnight until seen, requests are counted for the day only.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.schedule import Bounds, Facts, plan

DAY = 86400.0
HISTORY = 30 * DAY
START = datetime(2026, 3, 2, tzinfo=UTC)
BOUNDS = Bounds(default_interval=1800.0, min_interval=300.0, max_interval=86400.0)
# (share of sources, mean seconds between publications: low, high)
CLASSES = (
    (0.10, 240.0, 900.0),
    (0.30, 1800.0, 7200.0),
    (0.40, 4 * 3600.0, 12 * 3600.0),
    (0.20, 2 * DAY, 7 * DAY),
)


@dataclass
class Result:
    requests: int = 0
    not_modified: int = 0
    delays: list[float] | None = None


def publications(rng: random.Random, count: int) -> list[list[float]]:
    """Publication times (seconds from the start of the day; history is negative) per source."""
    feeds = []
    for index in range(count):
        share_so_far, chosen = 0.0, CLASSES[-1]
        position = index / count
        for cls in CLASSES:
            share_so_far += cls[0]
            if position < share_so_far:
                chosen = cls
                break
        mean = rng.uniform(chosen[1], chosen[2])
        times, moment = [], -HISTORY
        while moment < 2 * DAY:
            moment += rng.expovariate(1 / mean)
            times.append(moment)
        feeds.append(times)
    return feeds


def simulate(
    feeds: list[list[float]], next_interval: Callable[[list[float], float], float], rng: random.Random
) -> Result:
    result, delays = Result(), []
    seen_until = [0.0] * len(feeds)  # everything published before this was ingested
    queue = [(rng.uniform(0, 1800.0), index) for index in range(len(feeds))]
    heapq.heapify(queue)
    pending_today = sum(1 for times in feeds for t in times if 0 <= t < DAY)
    while queue and pending_today:
        now, index = heapq.heappop(queue)
        times = feeds[index]
        first_new = bisect.bisect_right(times, seen_until[index])
        last_new = bisect.bisect_right(times, now)
        new = times[first_new:last_new]
        if now < DAY:
            result.requests += 1
            result.not_modified += not new
        for published in new:
            if 0 <= published < DAY:
                delays.append(now - published)
                pending_today -= 1
        seen_until[index] = now
        visible = times[max(0, last_new - 20) : last_new]
        heapq.heappush(queue, (now + next_interval(visible, now), index))
    result.delays = delays
    return result


def adaptive(rng: random.Random) -> Callable[[list[float], float], float]:
    def next_interval(visible: list[float], now: float) -> float:
        moment = START + timedelta(seconds=now)
        dates = [START + timedelta(seconds=t) for t in visible]
        return plan(Facts(now=moment, entry_dates=dates), BOUNDS, rng).interval_s

    return next_interval


def fixed(_visible: list[float], _now: float) -> float:
    return 1800.0


def describe(name: str, result: Result) -> dict[str, float]:
    delays = sorted(result.delays or [0.0])
    figures = {
        "requests": result.requests,
        "share_304": result.not_modified / max(result.requests, 1),
        "mean_delay_min": statistics.fmean(delays) / 60,
        "median_delay_min": delays[len(delays) // 2] / 60,
        "p90_delay_min": delays[int(len(delays) * 0.9)] / 60,
    }
    print(
        f"  {name:10} requests {figures['requests']:7.0f}   answered 304 {figures['share_304']:6.1%}   "
        f"delay mean {figures['mean_delay_min']:6.1f} min  median {figures['median_delay_min']:6.1f}  "
        f"p90 {figures['p90_delay_min']:6.1f}"
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    feeds = publications(random.Random(args.seed), args.sources)
    today = sum(1 for times in feeds for t in times if 0 <= t < DAY)
    print(f"{args.sources} sources, {today} publications in the simulated day")
    base = describe("fixed 30m", simulate(feeds, fixed, random.Random(args.seed + 1)))
    ours = describe(
        "adaptive", simulate(feeds, adaptive(random.Random(args.seed + 2)), random.Random(args.seed + 1))
    )
    print(
        f"  adaptive / fixed: requests {ours['requests'] / base['requests']:.2f}×, "
        f"mean delay {ours['mean_delay_min'] / base['mean_delay_min']:.2f}×"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
