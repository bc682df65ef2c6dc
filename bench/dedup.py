"""Deduplication: accuracy on labelled pairs, candidate lookups at a million, and a 5-source crawl.

    python bench/dedup.py [--pairs] [--lookup] [--crawl] [--sizes 10000,100000,1000000]

--pairs   Every pair of tests/fixtures/dedup/pairs.jsonl goes through the pipeline's own job
          (extraction, normalisation, fingerprint). "Same story" is predicted as the pipeline
          decides it: equal content hash, else a shared fingerprint band confirmed by
          ``same_story``. Pairwise precision and recall, beside exact-hash-only dedup, same run.
--lookup  Fingerprints of N synthetic articles in the real schema (SQLite, article_band and its
          index); the median time of the candidate lookup of a new article, at each N, same run.
--crawl   1,000 article pages on a loopback site, seen through 5 sources (RSS, RSS with tracking
          parameters, Atom with other ids, a section JSON Feed, and syndicated copies on another
          site with other boilerplate); counts originals, sightings and fetches per page.
With no option, all three.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest import logs  # noqa: E402
from ingest.dedupe import same_story  # noqa: E402
from ingest.fingerprint import BANDS  # noqa: E402
from ingest.jobs import article_job  # noqa: E402
from ingest.models import EntryHints, Page  # noqa: E402
from storage import migrate, near  # noqa: E402
from storage.db import Database  # noqa: E402

PAIRS = ROOT / "tests" / "fixtures" / "dedup"


def pairs() -> None:
    manifest = [json.loads(line) for line in (PAIRS / "pairs.jsonl").read_text().splitlines() if line.strip()]
    urls = {
        row["page"]: row["url"] for row in map(json.loads, (PAIRS / "pages.jsonl").read_text().splitlines())
    }
    drafts = {}
    for path in sorted({p[side] for p in manifest for side in ("a", "b")}):
        url = urls.get(path, f"https://pairs.example/{path}")
        page = Page(
            url,
            url,
            200,
            "text/html; charset=utf-8",
            (PAIRS / path).read_bytes(),
            datetime(2026, 1, 1, tzinfo=UTC),
        )
        drafts[path] = article_job(page, EntryHints(), url, "2026-01-01T00:00:00+00:00")
    outcome: dict[str, Counter[str]] = {"exact-hash only": Counter(), "ingest": Counter()}
    missed_by_kind: Counter[str] = Counter()
    wrong_by_kind: Counter[str] = Counter()
    for pair in manifest:
        a, b = drafts[pair["a"]], drafts[pair["b"]]
        exact = a.content_hash == b.content_hash
        found = exact or (bool(set(a.bands) & set(b.bands)) and same_story(a.text, b.text)[0])
        for label, said in (("exact-hash only", exact), ("ingest", found)):
            outcome[label][_cell(said, pair["same_story"])] += 1
        if pair["same_story"] and not found:
            missed_by_kind[pair["kind"]] += 1
        if found and not pair["same_story"]:
            wrong_by_kind[pair["kind"]] += 1
    kinds = Counter(p["kind"] for p in manifest)
    print(f"labelled pairs: {len(manifest)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    print(f"  {'':16} {'precision':>9} {'recall':>7}   (same story: tp/fp/fn)")
    for label, cells in outcome.items():
        precision = cells["tp"] / (cells["tp"] + cells["fp"]) if cells["tp"] + cells["fp"] else 1.0
        recall = cells["tp"] / (cells["tp"] + cells["fn"]) if cells["tp"] + cells["fn"] else 1.0
        print(f"  {label:16} {precision:9.4f} {recall:7.4f}   {cells['tp']}/{cells['fp']}/{cells['fn']}")
    print(
        f"  ingest missed: {dict(missed_by_kind) or 'none'}; wrongly merged: {dict(wrong_by_kind) or 'none'}"
    )


def _cell(said: bool, truth: bool) -> str:
    return ("tp" if truth else "fp") if said else ("fn" if truth else "tn")


def lookup(sizes: list[int], probes: int = 300) -> None:
    rng = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="ingest-lsh-") as folder:
        path = Path(folder) / "lsh.db"
        db = Database(f"sqlite:///{path}")
        migrate.upgrade(db)
        stored, medians = 0, []
        signatures: list[list[int]] = []
        for size in sizes:
            started = time.perf_counter()
            stored = _fill(path, stored, size, rng, signatures)
            loading = time.perf_counter() - started
            timings = []
            for _ in range(probes):
                # A new article: mostly new bands, a few shared with one stored near-duplicate.
                known = rng.choice(signatures)
                bands = [rng.getrandbits(63) for _ in range(BANDS - 4)] + rng.sample(known, 4)
                start = time.perf_counter()
                with db.read() as session:
                    found = near.candidate_ids(session, bands)
                timings.append(time.perf_counter() - start)
                assert found, "the planted near-duplicate must be found"
            median = statistics.median(timings) * 1000
            medians.append(median)
            print(f"  {size:>9,} fingerprints ({size * BANDS:,} bands, loaded in {loading:5.1f} s): "
                  f"candidate lookup median {median:.3f} ms, p90 {sorted(timings)[int(probes * 0.9)] * 1000:.3f} ms")  # fmt: skip
        if len(sizes) > 1:
            growth = medians[-1] / medians[0]
            print(
                f"  {sizes[-1] // sizes[0]}× the fingerprints: {growth:.2f}× the lookup time (sub-linear: < {sizes[-1] // sizes[0]}×)"
            )
        db.close()


def _fill(path: Path, stored: int, size: int, rng: random.Random, signatures: list[list[int]]) -> int:
    """Grow the table to ``size`` articles' bands: loaded with a plain sqlite3 connection (foreign
    keys off: these are bands of no real article), the index dropped while loading, then rebuilt."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("DROP INDEX IF EXISTS ix_article_band_band")
        rows: list[tuple[int, int]] = []
        for article_id in range(stored + 1, size + 1):
            bands = [rng.getrandbits(63) for _ in range(BANDS)]
            if article_id % 997 == 0:
                signatures.append(bands)
            rows.extend((article_id, band) for band in bands)
            if len(rows) >= 200_000:
                connection.executemany("INSERT INTO article_band (article_id, band) VALUES (?, ?)", rows)
                rows = []
        connection.executemany("INSERT INTO article_band (article_id, band) VALUES (?, ?)", rows)
        connection.execute("CREATE INDEX ix_article_band_band ON article_band (band)")
        connection.commit()
    finally:
        connection.close()
    return size


def crawl(count: int = 1000) -> None:
    from bench.site import crawl_five_sources  # a loopback site made for this benchmark

    asyncio.run(crawl_five_sources(count))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", action="store_true")
    parser.add_argument("--lookup", action="store_true")
    parser.add_argument("--crawl", action="store_true")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    logs.configure("console", "warning")  # the pipeline's own lines would drown the figures
    everything = not (args.pairs or args.lookup or args.crawl)
    if args.pairs or everything:
        pairs()
    if args.lookup or everything:
        print("candidate lookups (SQLite):")
        lookup([int(n) for n in args.sizes.split(",")])
    if args.crawl or everything:
        crawl()
    return 0


if __name__ == "__main__":
    sys.exit(main())
