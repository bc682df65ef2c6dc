"""Article quality: our extraction + normalisation against plain trafilatura, on labelled pages.

    python bench/quality.py [--set pages|pages_holdout|all] [--show N] [--repeat R]

Each page in tests/fixtures/<set>/ has its expected body beside it (NAME.txt) and its expected
description and what its feed says (NAME.json). Bodies are scored with token 4-gram shingles:
precision = shared / ours, recall = shared / expected, averaged over pages; F1 is the harmonic mean
of the two means. Plain ``trafilatura.extract`` with default settings runs on the same pages in the
same process, interleaved with ours (best of R runs each), so the time ratio is measured under the
same machine load. ``pages`` is the set the rules were tuned on; ``pages_holdout`` was written
separately and never used for tuning: it shows what the rules do on pages they have not seen.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.extract import extract  # noqa: E402
from ingest.models import ArticleDraft, EntryHints, Page  # noqa: E402
from ingest.normalize import normalize, parse_date  # noqa: E402

FETCHED = datetime(2026, 1, 1, tzinfo=UTC)
_TOKEN = re.compile(r"\w+")
FIELDS = ("title", "author", "published", "site_name", "language")


@dataclass(frozen=True)
class Case:
    name: str
    html: bytes
    expected: str
    meta: dict[str, object]


def shingles(text: str, size: int = 4) -> set[tuple[str, ...]]:
    tokens = _TOKEN.findall(text.casefold())
    if len(tokens) < size:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def score(ours: str, expected: str) -> tuple[float, float]:
    mine, truth = shingles(ours), shingles(expected)
    shared = len(mine & truth)
    return (shared / len(mine) if mine else 0.0), (shared / len(truth) if truth else 0.0)


def load(sets: list[str]) -> list[Case]:
    cases = []
    for name in sets:
        for html in sorted((ROOT / "tests" / "fixtures" / name).glob("*.html")):
            meta = json.loads(html.with_suffix(".json").read_text(encoding="utf-8"))
            expected = html.with_suffix(".txt").read_text(encoding="utf-8")
            cases.append(Case(f"{name}/{html.stem}", html.read_bytes(), expected, meta))
    return cases


def hints(meta: dict[str, object]) -> EntryHints:
    feed = meta.get("feed") or {}
    assert isinstance(feed, dict)
    return EntryHints(
        title=feed.get("title"),
        author=feed.get("author"),
        published_at=parse_date(feed.get("published")),
        summary=feed.get("summary"),
        link=str(meta.get("url")),
    )


def draft(case: Case) -> ArticleDraft:
    """Extraction with normalisation, as the pipeline's job does it (the near-duplicate fingerprint
    the job adds afterwards belongs to deduplication and is measured by bench/dedup.py)."""
    url = str(case.meta.get("url") or "https://example.test/")
    page = Page(url, url, 200, "text/html; charset=utf-8", case.html, FETCHED)
    entry = hints(case.meta)
    return normalize(extract(page, entry), entry, url, FETCHED)


def ours(case: Case) -> str:
    return draft(case).text


def plain(case: Case) -> str:
    return trafilatura.extract(case.html) or ""


def best_time(run: Callable[[Case], object], case: Case, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(case)
        best = min(best, time.perf_counter() - start)
    return best


def measure(cases: list[Case], repeat: int) -> dict[str, dict[str, float]]:
    runs = {"plain": plain, "ours": ours}
    scores: dict[str, list[tuple[float, float]]] = {label: [] for label in runs}
    seconds = dict.fromkeys(runs, 0.0)
    for case in cases:  # interleaved, page by page, so both see the same machine load
        for label, run in runs.items():
            scores[label].append(score(run(case), case.expected))
            seconds[label] += best_time(run, case, repeat)
    summary = {}
    for label in runs:
        p = statistics.fmean(s[0] for s in scores[label])
        r = statistics.fmean(s[1] for s in scores[label])
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        summary[label] = {"precision": p, "recall": r, "f1": f1, "seconds": seconds[label]}
    return summary


def same(field: str, got: object, expected: object) -> bool:
    if field == "published":
        if not expected:
            return True  # the page states no date: any source (the feed's) is acceptable
        left = parse_date(got) if isinstance(got, str | datetime) else None
        right = parse_date(expected) if isinstance(expected, str) else None
        return bool(left and right and left.date() == right.date())
    if field == "author" and isinstance(got, str) and isinstance(expected, str):
        return {n.strip() for n in re.split(r"[,;]| and | et ", got)} == {
            n.strip() for n in re.split(r"[,;]| and | et ", expected)
        }
    return (got or None) == (expected or None)


def metadata_accuracy(cases: list[Case]) -> dict[str, tuple[int, int]]:
    """Exact matches per field, ours against trafilatura's own metadata, out of len(cases)."""
    counts = {field: [0, 0] for field in FIELDS}
    for case in cases:
        mine = draft(case)
        theirs = trafilatura.bare_extraction(case.html, with_metadata=True)
        ours_values = {
            "title": mine.title,
            "author": mine.author,
            "published": mine.published_at,
            "site_name": mine.site_name,
            "language": mine.language,
        }
        their_values = {
            "title": theirs.title,
            "author": theirs.author,
            "published": theirs.date,
            "site_name": theirs.sitename,
            "language": theirs.language,
        }
        for field in FIELDS:
            counts[field][0] += same(field, ours_values[field], case.meta.get(field))
            counts[field][1] += same(field, their_values[field], case.meta.get(field))
    return {field: (a, b) for field, (a, b) in counts.items()}


def report(name: str, cases: list[Case], repeat: int, show: int) -> None:
    summary = measure(cases, repeat)
    print(f"{name}: {len(cases)} pages")
    print(f"  {'':8} {'precision':>9} {'recall':>7} {'F1':>7} {'time s':>7}")
    for label in ("plain", "ours"):
        s = summary[label]
        print(f"  {label:8} {s['precision']:9.4f} {s['recall']:7.4f} {s['f1']:7.4f} {s['seconds']:7.3f}")
    print(f"  time ratio ours/plain: {summary['ours']['seconds'] / summary['plain']['seconds']:.2f}")
    accuracy = metadata_accuracy(cases)
    print(
        "  metadata exact (ours / trafilatura's): "
        + ", ".join(f"{f} {a}/{b}" for f, (a, b) in accuracy.items())
    )
    if show:
        rows = sorted(
            (2 * p * r / (p + r) if p + r else 0.0, p, r, c.name)
            for c in cases
            for p, r in [score(ours(c), c.expected)]
        )
        for f1, p, r, case_name in rows[:show]:
            print(f"    {f1:.3f}  P {p:.3f}  R {r:.3f}  {case_name}")


def stage_times(case: Case, timed: Callable[[str, Callable[[], Any]], Any]) -> None:
    """One page through each stage of ours, and through plain trafilatura, each timed."""
    from trafilatura.htmlprocessing import convert_to_html

    from ingest.dedupe import content_hash
    from ingest.extract import PRIMARY, parse_page
    from ingest.html import strip_never_text, unwrap_layout_tables
    from ingest.langid import detect_language
    from ingest.metadata import page_metadata
    from ingest.sanitize import article_html
    from ingest.textrules import clean_body

    timed("plain trafilatura.extract", lambda: plain(case))
    tree = timed("parse", lambda: parse_page(case.html))
    meta = timed("page metadata", lambda: page_metadata(tree))
    timed("layout tables", lambda: unwrap_layout_tables(tree))
    timed("never-text elements", lambda: strip_never_text(tree))
    found = timed(
        "trafilatura (our settings)",
        lambda: trafilatura.bare_extraction(tree, with_metadata=False, **PRIMARY),
    )
    markup = timed("body to html", lambda: convert_to_html(found.body))
    body = timed("text rules", lambda: clean_body(found.text, meta.title, meta.site_name))
    timed("language", lambda: detect_language(body.text))
    timed("sanitised html", lambda: article_html(markup, body.text, body.dateline))
    timed("content hash", lambda: content_hash(body.text))


def breakdown(cases: list[Case], repeat: int) -> None:
    """Where our time goes, stage by stage, in ms a page, next to plain trafilatura's."""
    spent: dict[str, float] = {}

    def timed(stage: str, work: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = work()
        spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - start
        return result

    for _ in range(repeat):
        for case in cases:
            stage_times(case, timed)
    base = spent["plain trafilatura.extract"]
    print(f"  stages ({len(cases)} pages, {repeat} runs), ms a page and share of plain trafilatura:")
    for stage, seconds in spent.items():
        print(f"    {stage:28} {seconds / repeat / len(cases) * 1000:6.2f} ms  {seconds / base:5.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=("pages", "pages_holdout", "all"), default="all")
    parser.add_argument("--show", type=int, default=0, help="list the N worst pages of ours by F1")
    parser.add_argument(
        "--repeat", type=int, default=10, help="time each page this many times, keep the best"
    )
    parser.add_argument("--breakdown", action="store_true", help="also time each stage of ours")
    args = parser.parse_args()
    sets = ["pages", "pages_holdout"] if args.set == "all" else [args.set]
    warm = load(sets[:1])[0]
    ours(warm), plain(warm)  # imports and model loading, outside the timings
    for name in sets:
        report(name, load([name]), args.repeat, args.show)
        if args.breakdown:
            breakdown(load([name]), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
