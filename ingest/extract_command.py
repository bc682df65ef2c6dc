"""`ingest extract URL`: what the service would store for one page (fetch, extract, normalise).

For writing and checking site rules (:mod:`ingest.siterules`) by hand: the page is fetched as the
pipeline fetches pages (same client, address guard, limits and robots.txt), extracted and
normalised by the pipeline's own job, in this process, and nothing is stored. A local file is read
instead of fetched (``ingest extract page.html``); ``--url-as`` says which address it stands for,
and so which site rule applies. ``--rules FILE`` tries another rules file (as $INGEST_SITE_RULES).

Exit codes: 0 printed, 1 the page could not be fetched or has no article, 2 bad usage (an address
that is neither http(s) nor a file, an invalid rules file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest import siterules
from ingest.client import HttpClient
from ingest.errors import IngestError
from ingest.fetch import fetch_page
from ingest.models import ArticleDraft, EntryHints, Page, Vocabulary
from ingest.robots import RobotsCache
from ingest.settings import Settings
from ingest.urls import host_of, http_url_problem

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_TYPES = {".html": "text/html", ".htm": "text/html", ".xhtml": "application/xhtml+xml", ".txt": "text/plain"}


class _Usage(Exception):
    """Bad usage: the message is printed and the command exits 2."""


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register `ingest extract` among the top-level commands."""
    parser = commands.add_parser(
        "extract",
        parents=[common],
        help="print what would be stored for one page (fetch, extract, normalise); stores nothing",
    )
    parser.add_argument("url", metavar="URL", help="a page's http(s) address, or a local HTML or text file")
    parser.add_argument("--json", action="store_true", help="print the article's fields as one JSON object")
    parser.add_argument(
        "--url-as",
        metavar="URL",
        help="for a local file: the address it was saved from (its host chooses the site rule)",
    )
    parser.add_argument(
        "--rules",
        metavar="FILE",
        help="site rules to use (default: $INGEST_SITE_RULES, else config/site_rules.toml)",
    )
    parser.set_defaults(handler=cmd_extract)


def cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    try:
        source = _source(args.url, args.url_as)
        rules = _rules(args.rules)
    except _Usage as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        page = _read(source) if isinstance(source, Path) else asyncio.run(_fetch(settings, source))
    except IngestError as exc:
        print(f"ingest: cannot fetch {source}: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"ingest: cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(source, Path) and args.url_as:
        page = Page(args.url_as, args.url_as, page.status, page.content_type, page.body, page.fetched_at)
    try:
        draft = _draft(page, settings)
    except IngestError as exc:
        print(f"ingest: nothing to store for {page.final_url}: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug, reported as such without a traceback
        print(f"ingest: extraction of {page.final_url} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    rule = rules.rule_for(host_of(page.final_url))
    if args.json:
        print(json.dumps(_as_json(draft, rule), ensure_ascii=False))
    else:
        sys.stdout.write(_as_text(draft, rule, page))
    return EXIT_OK


def _source(url: str, url_as: str | None) -> str | Path:
    """An http(s) address to fetch, or a local file to read."""
    if url_as is not None and not _is_http(url_as):
        raise _Usage(f"--url-as {url_as!r} is not an http(s) URL")
    if _is_http(url):
        if url_as is not None:
            raise _Usage(
                "--url-as is for local files; a fetched page's address is the one it is fetched from"
            )
        return url.strip()
    if "://" in url:
        raise _Usage(f"{url!r} is not an http(s) URL")
    path = Path(url)
    if not path.is_file():
        raise _Usage(f"{url!r} is neither an http(s) URL nor a file")
    return path


def _is_http(url: str) -> bool:
    return http_url_problem(url) is None


def _rules(path: str | None) -> siterules.SiteRules:
    """The rules the extraction will use, checked now: an invalid file is bad usage here, where
    extraction in the service would go on without it."""
    if path is not None:
        os.environ[siterules.ENVIRONMENT] = path  # the job reads the rules the service reads
    try:
        return siterules.active_rules()
    except ValueError as exc:
        raise _Usage(f"site rules: {exc}") from None


async def _fetch(settings: Settings, url: str) -> Page:
    async with HttpClient(settings.fetch) as client:
        robots = RobotsCache(client) if settings.fetch.respect_robots_txt else None
        return await fetch_page(client, robots, url)


def _read(path: Path) -> Page:
    body = path.read_bytes()
    url = path.resolve().as_uri()
    content_type = _TYPES.get(path.suffix.lower(), "")
    return Page(url, url, 200, content_type, body, datetime.now(UTC))


def _draft(page: Page, settings: Settings) -> ArticleDraft:
    from ingest.jobs import article_job  # loads trafilatura and the language model: only here

    words = Vocabulary(settings.normalize.related_labels, settings.normalize.paywall_phrases)
    hints = EntryHints(link=page.url, first_seen_at=page.fetched_at)
    return article_job(page, hints, page.final_url, page.fetched_at.isoformat(), words)


def _rule_note(draft: ArticleDraft, rule: siterules.SiteRule | None) -> str:
    if rule is None:
        return "none for this host"
    if draft.extractor == "site-rule":
        return f"{rule.describe()}, used"
    return (
        f"{rule.describe()}, matched but not used: its body selector {rule.body!r} found nothing, "
        "or too little text"
    )


def _as_text(draft: ArticleDraft, rule: siterules.SiteRule | None, page: Page) -> str:
    published = draft.published_at.isoformat() if draft.published_at else None
    rows = [
        ("url", page.final_url),
        ("canonical", draft.canonical_url),
        ("title", draft.title),
        ("author", draft.author),
        ("date", f"{published} (from the {draft.published_from})" if published else None),
        ("language", draft.language),
        ("site", draft.site_name),
        ("dateline", draft.dateline),
        ("extractor", f"{draft.extractor} ({draft.extractor_version})"),
        ("site rule", _rule_note(draft, rule)),
        ("length", f"{len(draft.text)} characters, {len(draft.text.split())} words"),
    ]
    head = "".join(f"{name + ':':<11}{value if value is not None else '—'}\n" for name, value in rows)
    return f"{head}\n{draft.text}\n"


def _as_json(draft: ArticleDraft, rule: siterules.SiteRule | None) -> dict[str, Any]:
    fields = asdict(draft)
    fields["published_at"] = draft.published_at.isoformat() if draft.published_at else None
    fields["bands"] = list(draft.bands)
    fields["site_rule"] = (
        None
        if rule is None
        else {
            "name": rule.label,
            "path": rule.path,
            "number": rule.number,
            "used": draft.extractor == "site-rule",
        }
    )
    return fields
