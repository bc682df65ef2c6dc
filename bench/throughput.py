"""Throughput: ``ingest run-once`` against the cost of extraction alone and against a naive script.

    python bench/throughput.py [--feeds 100] [--pages 2000] [--workers N] [--skip-scaling] [--skip-growth]

One command, one run, every figure a ratio of times measured in that run. A loopback site (started
here) publishes ``feeds`` RSS feeds sharing ``pages`` distinct article pages of about 72 KB (a long
article inside a heavy news template). Measured, in this order:

- **floor**: ``trafilatura.extract`` alone over the same pages in a process pool of ``workers``
  processes (started and warmed before the clock starts), the physical limit;
- **ingest**: a real ``ingest run-once --workers N`` from an empty SQLite database, in a
  subprocess; its time is the run's own ``duration_s`` (the interpreter's start-up and imports,
  about a second, are printed beside it but not counted, as they are not for the floor);
- **naive**: a straightforward sequential script (httpx get, feedparser, trafilatura, an SQLite
  insert, one by one), in a subprocess;
- **idle**: a second run over the unchanged sources, once with the server answering 304 and once
  resending identical bodies, as a share of the first run;
- **memory**: the peak of the summed resident memory of the whole service (the main process, its
  extraction processes and their fork server), sampled every 100 ms; then again with a database ten
  times larger (its articles copied nine times under other sources) for the same amount of new work;
- **scaling**: the run's time at a quarter, a half and all of the pages, back to back, and how far the
  half lies from the straight line through the other two.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.newsroom import Newsroom  # noqa: E402
from tests.support.server import Route  # noqa: E402


@dataclass(frozen=True)
class Run:
    duration_s: float  # the run's own figure
    wall_s: float  # the whole process, start-up included
    peak_mb: float  # summed PSS of the process tree: the memory it occupies
    peak_rss_mb: float  # summed RSS: counts pages shared with the fork server in every worker
    main_cpu_s: float  # CPU of the main process (fetching, storing, deduplicating)
    other_cpu_s: float  # CPU of its extraction processes
    summary: dict[str, object]


class TreeMemory:
    """Samples the summed resident memory of a process and all its descendants."""

    # Every 0.1 s: the service's memory follows the work in flight, which changes over seconds; the
    # sampler itself costs under 1 % of a core at this rate (10 % at 0.05 s with a walk of /proc).
    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid, self.every, self.peak_kb, self.peak_pss_kb = pid, every, 0, 0
        self.cpu_s: dict[int, float] = {}  # CPU seconds used so far, by process
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            tree = _tree(self.pid)
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(pid) for pid in tree))
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(pid) for pid in tree))
            for pid in tree:
                self.cpu_s[pid] = max(self.cpu_s.get(pid, 0.0), _cpu_s(pid))

    @property
    def main_cpu_s(self) -> float:
        return self.cpu_s.get(self.pid, 0.0)

    @property
    def other_cpu_s(self) -> float:
        return sum(self.cpu_s.values()) - self.main_cpu_s


def _tree(root: int) -> list[int]:
    """The process and its descendants, from the kernel's per-thread lists of children: a few small
    reads, where walking all of /proc costs milliseconds a sample (CPU the measured run would lose).
    A kernel without those lists gets the walk of /proc."""
    if not Path(f"/proc/{root}/task/{root}/children").exists():
        return _tree_by_walk(root)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                todo.extend(
                    int(child) for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                )
            except OSError:
                continue
    return found


def _tree_by_walk(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _pss_kb(pid: int) -> int:
    """Proportional set size: each page shared by n processes counts 1/n in each, so the sum over
    a process tree is the memory the tree occupies (summed RSS counts shared pages once per process)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def write_config(scratch: Path, room: Newsroom, database: Path, feeds: range) -> Path:
    sources = "".join(f'[[sources]]\nname = "feed-{i}"\nurl = "{room.feed_url(i)}"\n' for i in feeds)
    config = scratch / f"ingest-{database.stem}.toml"
    config.write_text(
        f'database_url = "sqlite:///{database}"\n[fetch]\nallow_networks = ["127.0.0.0/8"]\n'
        f"respect_robots_txt = false\nper_host_delay = 0\nper_host_concurrency = 8\n{sources}"
    )
    return config


def run_ingest(config: Path, workers: int) -> Run:
    command = [sys.executable, "-m", "ingest", "run-once", "--json", "--workers", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--config", str(config), "--log-level", "warning"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with TreeMemory(process.pid) as memory:
        out, err = process.communicate(timeout=3600)
    wall = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise SystemExit(f"ingest run-once failed ({process.returncode}): {err[-2000:]}")
    summary = json.loads(out.strip().splitlines()[-1])
    return Run(
        float(summary["duration_s"]),
        wall,
        memory.peak_pss_kb / 1024,
        memory.peak_kb / 1024,
        memory.main_cpu_s,
        memory.other_cpu_s,
        summary,
    )


def floor(pages: list[bytes], workers: int) -> float:
    """trafilatura.extract alone over ``pages`` in a pool of ``workers`` processes, warmed first."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_extract, pages[:workers] * 2))  # start every worker, import, warm caches
        started = time.perf_counter()
        list(pool.map(_extract, pages, chunksize=4))
        return time.perf_counter() - started


def _extract(page: bytes) -> int:
    import trafilatura

    return len(trafilatura.extract(page.decode()) or "")


NAIVE = """
import sqlite3, sys, time
from urllib.parse import urljoin
import feedparser, httpx, trafilatura
feeds, database = sys.argv[1].split(), sys.argv[2]
started = time.perf_counter()
db = sqlite3.connect(database)
db.execute("CREATE TABLE IF NOT EXISTS article (url TEXT PRIMARY KEY, title TEXT, text TEXT)")
with httpx.Client(timeout=30) as client:
    for feed_url in feeds:
        feed = feedparser.parse(client.get(feed_url).content)
        for entry in feed.entries:
            link = urljoin(feed_url, entry.link)
            if db.execute("SELECT 1 FROM article WHERE url = ?", (link,)).fetchone():
                continue
            text = trafilatura.extract(client.get(link).text)
            db.execute("INSERT INTO article VALUES (?, ?, ?)", (link, entry.get("title"), text))
            db.commit()
print(time.perf_counter() - started, db.execute("SELECT count(*) FROM article").fetchone()[0])
"""


def naive(room: Newsroom, feeds: range, database: Path) -> tuple[float, int]:
    urls = " ".join(room.feed_url(i) for i in feeds)
    out = subprocess.run(
        [sys.executable, "-c", NAIVE, urls, str(database)], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), int(out[1])


def grow(database: Path, copies: int) -> int:
    """Copy every stored article (with its page, bands and sighting) ``copies`` times under other
    sources, as an archive ten times larger would hold; returns the articles stored."""
    db = sqlite3.connect(database)
    with db:
        for copy in range(1, copies + 1):
            _copy_once(db, copy)
    count = int(db.execute("SELECT count(*) FROM article").fetchone()[0])
    db.close()
    return count


def _copy_once(db: sqlite3.Connection, copy: int) -> None:
    offset = copy * 10_000_000
    suffix = f"#copy-{copy}"
    db.execute(
        "INSERT INTO source (name, kind, url, declared_url, origin, enabled, full_text, state, "
        "moved_count, consecutive_failures, created_at) SELECT 'archive-' || ? || '-' || name, kind, "
        "url || ?, declared_url, 'cli', 0, full_text, state, 0, 0, created_at FROM source "
        "WHERE name NOT LIKE 'archive-%'",
        (copy, suffix),
    )
    db.execute(
        "INSERT INTO raw_page (id, url, final_url, status, content_type, headers, fetched_at, compression, "
        "size, body) SELECT id + ?, url || ?, final_url || ?, status, content_type, headers, fetched_at, "
        "compression, size, body FROM raw_page WHERE id < 10000000",
        (offset, suffix, suffix),
    )
    article_columns = (
        "title, author, published_at, language, site_name, text, html, sanitizer_version, dateline, "
        "published_from, fingerprint, similarity, extractor, extractor_version, normalizer_version, "
        "created_at, updated_at"
    )
    db.execute(
        f"INSERT INTO article (id, url, canonical_url, canonical_key, content_hash, raw_page_id, "
        f"{article_columns}) SELECT id + ?, url || ?, NULL, NULL, substr(content_hash, 1, 56) || printf('%08d', ?), "
        f"raw_page_id + ?, {article_columns} FROM article WHERE id < 10000000",
        (offset, suffix, copy, offset),
    )
    db.execute(
        "INSERT INTO article_band (article_id, band) SELECT article_id + ?, band + ? FROM article_band "
        "WHERE article_id < 10000000",
        (offset, copy),
    )
    db.execute(
        "INSERT INTO sighting (source_id, entry_key, guid, link, link_key, feed_title, first_seen_at, state, "
        "attempts, article_id) SELECT (SELECT c.id FROM source c JOIN source o ON c.name = 'archive-' || ? "
        "|| '-' || o.name WHERE o.id = s.source_id), entry_key, guid, link || ?, "
        "substr(link_key, 1, 56) || printf('%08d', ?), feed_title, first_seen_at, state, attempts, "
        "article_id + ? FROM sighting s WHERE article_id < 10000000",
        (copy, suffix, copy, offset),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-growth", action="store_true")
    args = parser.parse_args()
    per_feed = args.pages // args.feeds
    room = Newsroom(args.feeds, per_feed, real_pages=True)
    room.next_round()
    try:
        with tempfile.TemporaryDirectory() as scratch_dir:
            measure(room, Path(scratch_dir), args)
    finally:
        room.stop()
    return 0


def measure(room: Newsroom, scratch: Path, args: argparse.Namespace) -> None:
    all_feeds = range(room.feeds)
    pages = [
        route.body
        for path, route in sorted(room.server.routes.items())
        if path.startswith("/a/") and isinstance(route, Route)
    ]
    print(
        f"corpus: {room.feeds} feeds, {len(pages)} article pages of {sum(map(len, pages)) / len(pages) / 1024:.0f} KB "
        f"on loopback; {os.cpu_count()} cores; --workers {args.workers}",
        flush=True,
    )
    floor_s = floor(pages, args.workers)
    print(f"floor   trafilatura.extract alone, {args.workers} processes: {floor_s:7.1f} s", flush=True)

    database = scratch / "main.db"
    config = write_config(scratch, room, database, all_feeds)
    room.conditional = True
    first = run_ingest(config, args.workers)
    stored = first.summary["articles_new"]
    print(
        f"ingest  run-once from an empty database:   {first.duration_s:7.1f} s  ({first.wall_s:.1f} s with start-up; "
        f"{stored} articles)  {first.duration_s / floor_s:.2f}x floor (target <= 1.3x)",
        flush=True,
    )
    naive_s, naive_stored = naive(room, all_feeds, scratch / "naive.db")
    print(
        f"naive   sequential script:                 {naive_s:7.1f} s  ({naive_stored} articles)  "
        f"ingest is {naive_s / first.duration_s:.2f}x faster (target >= 2x)",
        flush=True,
    )
    unchanged = run_ingest(config, args.workers)
    room.conditional = False
    resent = run_ingest(config, args.workers)
    for label, run in (("304 Not Modified", unchanged), ("identical bodies", resent)):
        print(
            f"idle    second run, {label + ':':<22}{run.duration_s:7.2f} s  "
            f"{run.duration_s / first.duration_s * 100:.1f}% of the first (target <= 5%); "
            f"{run.summary['articles_new']} new",
            flush=True,
        )
    print(
        f"memory  peak of the whole service (main, fork server, extraction processes), first run: "
        f"{first.peak_mb:.0f} MB PSS (target < 400 MB); summed RSS {first.peak_rss_mb:.0f} MB",
        flush=True,
    )
    print(
        f"cpu     main process {first.main_cpu_s:.1f} s, extraction processes {first.other_cpu_s:.1f} s "
        f"({first.main_cpu_s / int(stored) * 1000:.1f} + {first.other_cpu_s / int(stored) * 1000:.1f} ms per article)",
        flush=True,
    )
    if not args.skip_scaling:
        scaling(room, scratch, args.workers)
    if not args.skip_growth:  # last: it publishes a second round
        growth(room, scratch, database, args.workers, first)


def export_peak_mb(config: Path) -> tuple[float, int]:
    """Peak memory (PSS) of ``ingest export`` over the whole database, and the articles it wrote."""
    command = [sys.executable, "-m", "ingest", "export", "--format", "jsonl", "--config", str(config)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    with TreeMemory(process.pid) as memory:
        lines = sum(1 for _ in process.stdout)
    process.wait()
    return memory.peak_pss_kb / 1024, lines


def growth(room: Newsroom, scratch: Path, database: Path, workers: int, first: Run) -> None:
    config = write_config(scratch, room, database, range(room.feeds))
    small_export, small_count = export_peak_mb(config)
    articles = grow(database, 9)
    large_export, large_count = export_peak_mb(config)
    print(
        f"memory  export of {small_count} articles: peak {small_export:.0f} MB; of {large_count}: "
        f"{large_export:.0f} MB ({large_export / small_export:.2f}x for {large_count / small_count:.0f}x the data)",
        flush=True,
    )
    room.next_round()  # the same amount of new work again, into a database ten times larger
    run = run_ingest(write_config(scratch, room, database, range(room.feeds)), workers)
    print(
        f"memory  peak with {articles} articles stored before: {run.peak_mb:.0f} MB PSS "
        f"({run.peak_mb / first.peak_mb:.2f}x the first run's; {run.summary['articles_new']} new in "
        f"{run.duration_s:.1f} s, {run.duration_s / first.duration_s:.2f}x the first run's time)",
        flush=True,
    )


def scaling(room: Newsroom, scratch: Path, workers: int) -> None:
    """A quarter, a half and all of the pages, run back to back (this shared machine's speed drifts
    over minutes: the first run's figure, taken earlier, is not reused). Linear means a fixed start
    (the pool's fork server importing the stages, the workers' first pages) plus the same time for
    every further 1,000 pages: the half run is compared with the straight line through the others."""
    print("scaling pages   seconds   per 1,000 pages   next pages, per 1,000", flush=True)
    rows: list[tuple[int, float]] = []
    for share in (4, 2, 1):
        feeds = range(room.feeds // share)
        run = run_ingest(write_config(scratch, room, scratch / f"part-{share}.db", feeds), workers)
        rows.append((int(run.summary["articles_new"]), run.duration_s))
    for index, (pages, seconds) in enumerate(rows):
        marginal = ""
        if index:
            before_pages, before_seconds = rows[index - 1]
            marginal = f"{(seconds - before_seconds) / (pages - before_pages) * 1000:>12.1f}"
        print(
            f"        {pages:>5} {seconds:>9.1f} {seconds / pages * 1000:>12.1f}      {marginal}", flush=True
        )
    (small_pages, small_s), (middle_pages, middle_s), (large_pages, large_s) = rows
    per_page = (large_s - small_s) / (large_pages - small_pages)
    fixed = small_s - per_page * small_pages
    on_line = fixed + per_page * middle_pages
    print(
        f"scaling straight line: {fixed:.1f} s to start + {per_page * 1000:.1f} s per 1,000 pages; "
        f"the {middle_pages}-page run took {middle_s / on_line:.2f}x the line's {on_line:.1f} s",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
