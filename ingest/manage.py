"""`ingest sources …`: adding (with feed discovery), removing, enabling, showing, OPML in and out.

Sources declared in the config file are synced into the database at every start; the ones added
here live in the database only (origin ``cli``). Nothing is ever deleted with its history: a removed
source is hidden and stops being polled, its sightings and articles stay.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlmodel import Session

from ingest.client import HttpClient
from ingest.discover import FoundFeed, discover
from ingest.durations import option_duration
from ingest.errors import ConfigError, HTTPStatusError, IngestError
from ingest.opening import with_db
from ingest.opml import OutlineFeed, parse_opml, render_opml
from ingest.report import iso, source_row
from ingest.settings import Settings
from ingest.urls import http_url_problem
from storage import sources as source_store
from storage import subscriptions
from storage.db import Database
from storage.sources import REMOVED, SourceSpec
from storage.tables import Poll, Source, Subscription

log = structlog.get_logger()
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
NAME_MAX = 200  # as in the config (and the database column)
_NOT_NAME = re.compile(r"[^a-z0-9]+")


def add_commands(actions: Any, common: argparse.ArgumentParser) -> None:
    """Register the source actions beside `sources list`."""
    add = actions.add_parser("add", parents=[common], help="add a feed, or find the feeds of a site")
    add.add_argument("url", metavar="URL", help="a feed, or a site's page to look for its feeds on")
    add.add_argument("--name", help="the source's name (default: from the feed's title or host)")
    add.add_argument("--interval", metavar="DURATION", help="poll at this fixed interval (15m, 1h)")
    add.add_argument("--tag", action="append", default=[], metavar="TAG", help="a category (repeatable)")
    add.add_argument("--no-discover", action="store_true", help="add URL as it is, without fetching it")
    add.set_defaults(handler=cmd_add)
    changes = (
        ("remove", "stop polling a source (its history is kept)"),
        ("enable", "poll a source again"),
        ("disable", "stop polling a source for now"),
    )
    for action, helptext in changes:
        parser = actions.add_parser(action, parents=[common], help=helptext)
        parser.add_argument("name", metavar="NAME")
        parser.set_defaults(handler=cmd_change, action=action)
    show = actions.add_parser("show", parents=[common], help="a source and its last polls")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--polls", type=int, default=20, metavar="N", help="how many polls (default 20)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_show)
    opml_in = actions.add_parser("import-opml", parents=[common], help="add the feeds of an OPML file")
    opml_in.add_argument("file", metavar="FILE")
    opml_in.add_argument("--json", action="store_true", help="print the counts as one JSON line")
    opml_in.set_defaults(handler=cmd_import_opml)
    opml_out = actions.add_parser("export-opml", parents=[common], help="the feeds as OPML 2.0, to stdout")
    opml_out.set_defaults(handler=cmd_export_opml)


# --- add ---------------------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    url = _checked_url(args.url)
    interval = option_duration("--interval", args.interval) if args.interval else None
    if interval is not None and interval < 1:
        raise ConfigError("invalid", f"--interval {args.interval!r} is shorter than a second")
    if args.name is not None and not 1 <= len(args.name) <= NAME_MAX:
        raise ConfigError("invalid", f"--name must be 1 to {NAME_MAX} characters long")
    if args.no_discover:
        chosen = FoundFeed(url, None, "unknown")
    else:
        try:
            found = asyncio.run(_discover(settings, url))
        except IngestError as exc:
            print(f"ingest: cannot look for feeds at {url}: {exc.message}", file=sys.stderr)
            # A page that answers with an error is the wrong address; a network failure is not.
            return EXIT_USAGE if isinstance(exc, HTTPStatusError) else EXIT_FAILED
        chosen = _choose(url, found)

    def store(db: Database) -> Source:
        with db.write() as session:
            return _add(session, chosen, args.name, interval, args.tag, settings)

    source = with_db(settings, store)
    log.info("source_added", source=source.name, url=source.url, tags=args.tag)
    print(f"added {source.name}: {source.url}")
    return EXIT_OK


def _checked_url(url: str) -> str:
    if (problem := http_url_problem(url)) is not None:
        raise ConfigError("bad_url", f"{url!r} is {problem}")
    return url.strip()


async def _discover(settings: Settings, url: str) -> list[FoundFeed]:
    async with HttpClient(settings.fetch) as client:
        return await discover(client, url, settings.fetch.max_page_bytes)


def _choose(url: str, found: list[FoundFeed]) -> FoundFeed:
    if not found:
        raise ConfigError(
            "no_feed",
            f'no feed found at {url} (looked for <link rel="alternate"> feeds and at /feed, /rss.xml, '
            "/atom.xml, /index.xml); give the feed's own URL, or --no-discover to add it as it is",
        )
    if len(found) == 1:
        return found[0]
    listing = "\n".join(
        f"  {i}. {feed.url}" + (f"  ({feed.title})" if feed.title else "") for i, feed in enumerate(found, 1)
    )
    if not sys.stdin.isatty():
        raise ConfigError(
            "several_feeds", f"{url} offers {len(found)} feeds:\n{listing}\nadd the one you want by its URL"
        )
    print(f"{url} offers {len(found)} feeds:\n{listing}")
    try:
        answer = input(f"which one? [1-{len(found)}] ").strip()
    except EOFError:
        answer = ""
    if not answer.isdigit() or not 1 <= int(answer) <= len(found):
        raise ConfigError("no_choice", f"{answer!r} is not one of 1-{len(found)}; nothing added")
    return found[int(answer) - 1]


def _add(
    session: Session, feed: FoundFeed, name: str | None, interval: float | None, tags: list[str],
    settings: Settings,
) -> Source:  # fmt: skip
    if (existing := source_store.by_url(session, feed.url)) is not None:
        raise ConfigError("exists", f"{feed.url} is already polled as {existing.name!r}")
    declared = {s.name for s in settings.sources}
    # The same feed removed earlier comes back with its history; another feed never takes it over.
    revived = source_store.removed_with_url(session, feed.url)
    reviving_it = revived is not None and revived.name == name
    if name is not None and not reviving_it and (name in declared or source_store.by_name(session, name)):
        raise ConfigError("exists", f"a source named {name!r} exists already; choose another --name")
    wanted = feed.title or urlsplit(feed.url).hostname or "feed"
    chosen = name or (revived.name if revived is not None else _free_name(session, wanted, declared))
    spec = SourceSpec(chosen, "feed", feed.url, None, interval, full_text=True, enabled=True)
    return source_store.add(session, spec, title=feed.title, tags=tags)


def _free_name(session: Session, wanted: str, declared: set[str]) -> str:
    """A readable name from a title or host ("The Loopback Times" -> "the-loopback-times"), unique."""
    base = _NOT_NAME.sub("-", wanted.casefold()).strip("-")[:60] or "feed"
    for n in range(1, 10_000):
        name = base if n == 1 else f"{base}-{n}"
        if name not in declared and source_store.by_name(session, name) is None:  # removed ones too
            return name
    raise ConfigError("exists", f"no free name for {wanted!r}; give one with --name")


# --- remove, enable, disable -------------------------------------------------------------------


def cmd_change(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "remove" and any(s.name == args.name for s in settings.sources):
        raise ConfigError(
            "declared", f"{args.name!r} is declared in the config file: remove it there (it is then "
            "disabled at the next start, its history kept), or disable it here"
        )  # fmt: skip

    def change(db: Database) -> Source | None:
        with db.write() as session:
            if args.action == "remove":
                return source_store.remove(session, args.name)
            return source_store.set_enabled(session, args.name, args.action == "enable")

    source = with_db(settings, change)
    if source is None:
        raise ConfigError("unknown_source", f"no source named {args.name!r} (see `ingest sources list`)")
    log.info(f"source_{args.action}d", source=source.name)
    print(f"{args.action}d {source.name}")
    return EXIT_OK


# --- show --------------------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    def collect(db: Database) -> dict[str, Any] | None:
        with db.read() as session:
            source = source_store.by_name(session, args.name)
            if source is None or source.id is None or source.origin == REMOVED:
                return None
            polls = source_store.recent_polls(session, source.id, max(args.polls, 0))
            websub = _websub(source, subscriptions.of_source(session, source.id))
            return _details(source) | {"websub": websub, "polls": [_poll_row(p) for p in polls]}

    details = with_db(settings, collect)
    if details is None:
        raise ConfigError("unknown_source", f"no source named {args.name!r} (see `ingest sources list`)")
    if args.json:
        print(json.dumps(details, ensure_ascii=False))
    else:
        _write_details(details)
    return EXIT_OK


def _details(source: Source) -> dict[str, Any]:
    return source_row(source) | {
        "title": source.title,
        "site_url": source.site_url,
        "tags": source_store.tags_of(source),
        "origin": source.origin,
        "declared_url": source.declared_url,
        "created_at": iso(source.created_at),
        "filters": json.loads(source.filters) if source.filters else None,  # {"keep": [...], "block": [...]}
    }


def _websub(source: Source, subscription: Subscription | None) -> dict[str, Any] | None:
    """The hub the feed advertises and our subscription to it (None when it advertises none)."""
    if source.hub_url is None and subscription is None:
        return None
    found: dict[str, Any] = {"hub": source.hub_url, "topic": source.topic_url, "state": "not subscribed"}
    if subscription is not None:
        found |= {
            "state": subscription.state,
            "expires_at": iso(subscription.expires_at),
            "pushes": subscription.pushes,
            "pushes_refused": subscription.pushes_refused,
            "last_push_at": iso(subscription.last_push_at),
            "error": subscription.last_error,
        }
    return found


def _poll_row(poll: Poll) -> dict[str, Any]:
    return {
        "at": iso(poll.at),
        "status": poll.status,
        "http_status": poll.http_status,
        "duration_ms": poll.duration_ms,
        "bytes": poll.bytes,
        "entries_seen": poll.entries_seen,
        "entries_new": poll.entries_new,
        "error_code": poll.error_code,
        "error": poll.error_message,
    }


def _write_details(details: dict[str, Any]) -> None:
    fields = ("name", "url", "title", "kind", "state", "origin", "tags", "interval", "interval_reason",
              "next_fetch_at", "last_success_at", "consecutive_failures", "last_error")  # fmt: skip
    for field in fields:
        value = details.get(field)
        if value not in (None, [], ""):
            print(f"{field.replace('_', ' '):<22}{', '.join(value) if isinstance(value, list) else value}")
    for kind, rules in (details.get("filters") or {}).items():  # each rule quoted: they may hold commas
        if rules:
            print(f"{kind:<22}{'  '.join(json.dumps(rule, ensure_ascii=False) for rule in rules)}")
    if websub := details.get("websub"):
        lease = f", until {websub['expires_at']}" if websub.get("expires_at") else ""
        pushes = ""
        if "pushes" in websub:
            pushes = f", {websub['pushes']} pushes ({websub['pushes_refused']} refused)"
        print(f"{'websub':<22}{websub['state']} at {websub['hub']}{lease}{pushes}")
        if websub.get("error"):
            print(f"{'websub error':<22}{websub['error']}")
    print(f"\nlast polls ({len(details['polls'])}):")
    print(f"  {'AT':<21}{'STATUS':<14}{'HTTP':>5}{'MS':>9}{'BYTES':>10}{'SEEN':>6}{'NEW':>5}  ERROR")
    for poll in details["polls"]:
        at = (poll["at"] or "")[:19].replace("T", " ")
        keys = ("http_status", "duration_ms", "bytes", "entries_seen", "entries_new")
        numbers = (poll[key] for key in keys)
        http, ms, size, seen, new = ("" if n is None else str(n) for n in numbers)
        error = f"{poll['error_code']}: {poll['error']}" if poll["error_code"] else ""
        print(f"  {at:<21}{poll['status']:<14}{http:>5}{ms:>9}{size:>10}{seen:>6}{new:>5}  {error}".rstrip())


# --- OPML --------------------------------------------------------------------------------------


def cmd_import_opml(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError("unreadable", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        feeds = parse_opml(data)
    except IngestError as exc:  # malformed: nothing is imported
        raise ConfigError(exc.code, f"{path}: {exc.message}; nothing imported") from None

    def store(db: Database) -> tuple[int, int]:
        declared = {s.name for s in settings.sources}
        added = 0
        with db.write() as session:  # one transaction: all of the file or none of it
            for feed in feeds:
                if source_store.by_url(session, feed.url) is not None:
                    continue
                name = _free_name(session, feed.title or urlsplit(feed.url).hostname or "feed", declared)
                spec = SourceSpec(name, "feed", feed.url, None, None, full_text=True, enabled=True)
                source_store.add(session, spec, feed.title, feed.html_url, feed.categories)
                added += 1
        return added, len(feeds) - added

    added, present = with_db(settings, store)
    log.info("opml_imported", file=str(path), feeds=len(feeds), added=added, already_present=present)
    if args.json:
        print(json.dumps({"feeds": len(feeds), "added": added, "already_present": present}))
    else:
        print(f"{path}: {len(feeds)} feeds, {added} added, {present} already present")
    return EXIT_OK


def cmd_export_opml(_args: argparse.Namespace, settings: Settings) -> int:
    def collect(db: Database) -> list[OutlineFeed]:
        with db.read() as session:
            return [_outline(s) for s in source_store.all_sources(session) if s.kind == "feed" and s.url]

    feeds = with_db(settings, collect)
    sys.stdout.buffer.write(render_opml(feeds))
    sys.stdout.flush()
    return EXIT_OK


def _outline(source: Source) -> OutlineFeed:
    assert source.url is not None
    return OutlineFeed(
        url=source.url,
        title=source.title or source.name,
        html_url=source.site_url,
        categories=tuple(source_store.tags_of(source)),
    )
