"""`ingest search QUERY`: full-text search over stored articles (storage/search.py does the work)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ingest.durations import parse_since
from ingest.errors import ConfigError
from ingest.opening import check_source_names, with_db
from ingest.report import iso
from ingest.settings import Settings
from storage import sources as source_store
from storage.db import Database
from storage.search import Hit, search, terms


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    find = commands.add_parser("search", parents=[common], help="find stored articles by words and phrases")
    find.add_argument("query", metavar="QUERY", help='words and "quoted phrases", all of which must appear')
    find.add_argument("--source", action="append", default=[], metavar="NAME", help="seen in this source")
    find.add_argument("--since", metavar="WHEN", help="published (or stored) since a date (2024-05-01) or 7d")
    find.add_argument("--lang", metavar="CODE", help="in this language (ISO 639-1: en, fr, de, …)")
    find.add_argument("--limit", type=int, default=20, metavar="N", help="at most N results (default 20)")
    find.add_argument("--json", action="store_true", help="one JSON object a line")
    find.set_defaults(handler=cmd_search)


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    if not terms(args.query):
        raise ConfigError("invalid", "search: the query has no words")
    if args.limit < 1:
        raise ConfigError("invalid", "--limit must be 1 or more")
    since = parse_since(args.since) if args.since else None

    def find(db: Database) -> list[Hit]:
        with db.read() as session:
            check_source_names(args.source, {source.name for source in source_store.all_sources(session)})
        with db.engine.connect() as connection:
            return search(connection, args.query, args.source, since, args.lang, args.limit)

    hits: list[Hit] = with_db(settings, find)
    for hit in hits:
        if args.json:
            print(json.dumps(_row(hit), ensure_ascii=False))
        else:
            date = (iso(hit.published_at) or "")[:10]
            print(f"{hit.article_id:>6}  {date:<10}  {hit.language or '':<3} {hit.title or hit.url}")
            print(f"        {hit.snippet}")
    if not hits and not args.json:
        print("no article matches", file=sys.stderr)
    return 0


def _row(hit: Hit) -> dict[str, Any]:
    return {
        "id": hit.article_id,
        "title": hit.title,
        "url": hit.url,
        "language": hit.language,
        "published_at": iso(hit.published_at),
        "snippet": hit.snippet,
        "rank": round(hit.rank, 6),
    }
