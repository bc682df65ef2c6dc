"""The jobs the CPU pool runs: parsing a feed, and turning a page into an article draft.

Each imports its stages when first called, in the process that runs it: the pool's workers have
them already (the fork server imports them once), and the main process, which only hands the jobs
over, never loads trafilatura, the language model or numpy — about 50 MB it does not need.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ingest.errors import ExtractError
from ingest.models import ArticleDraft, Entry, EntryHints, Page, ParsedFeed, Vocabulary

NO_WORDS = Vocabulary()


def parse_job(body: bytes, url: str, content_type: str | None) -> tuple[ParsedFeed, list[Entry]]:
    from ingest.dedupe import assign_keys
    from ingest.parse import parse_feed

    feed = parse_feed(body, url, content_type)
    return feed, assign_keys(feed.entries)


def article_job(
    page: Page | None,
    hints: EntryHints,
    fallback_url: str,
    fetched_at_iso: str,
    words: Vocabulary = NO_WORDS,
) -> ArticleDraft:
    from ingest.extract import extract
    from ingest.fingerprint import bands
    from ingest.normalize import normalize

    fetched_at = page.fetched_at if page is not None else datetime.fromisoformat(fetched_at_iso)
    url = page.final_url if page is not None else fallback_url
    draft = normalize(
        extract(page, hints), hints, url, fetched_at, words.related_labels, words.paywall_phrases
    )
    if not draft.text:
        raise ExtractError("empty", f"nothing of {url} is left once boilerplate lines are removed")
    return replace(draft, bands=bands(draft.text))
