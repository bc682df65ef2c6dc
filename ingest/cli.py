"""The ``ingest`` command line.

Exit codes: 0 success, 1 some source or entry failed (the rest was stored), 2 bad usage or config.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError

from ingest import __version__, extract_command, logs, manage, safexml, search, siterules
from ingest.cpu import default_processes
from ingest.daemon import Daemon, DaemonCounts
from ingest.durations import option_duration, parse_since
from ingest.errors import ConfigError
from ingest.models import Vocabulary
from ingest.opening import check_source_names, with_db
from ingest.pipeline import Pipeline, RunSummary
from ingest.progress import for_terminal
from ingest.report import source_row, stats, write_jsonl, write_source_table, write_text
from ingest.reprocess import ReprocessReport, reprocess
from ingest.settings import Settings, load_settings
from storage import migrate
from storage import sources as source_store
from storage.db import Database, StorageError
from storage.prune import Pruned, prune

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2
Handler = Callable[[argparse.Namespace, Settings], int]


def _common() -> argparse.ArgumentParser:
    # Accepted before or after the subcommand; SUPPRESS keeps a later default from hiding an earlier value.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="TOML config (default: $INGEST_CONFIG, else config/ingest.toml)",
    )
    common.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        default=argparse.SUPPRESS,
        help="json off a terminal, console on one (default: auto)",
    )
    common.add_argument("--log-level", choices=logs.LEVELS, default=argparse.SUPPRESS)
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="ingest", parents=[common], description=__doc__)
    parser.add_argument("--version", action="version", version=f"ingest {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run-once", parents=[common], help="poll every enabled source once and finish")
    run.add_argument(
        "--source", action="append", default=[], metavar="NAME", help="only this source (repeatable)"
    )
    run.add_argument(
        "--due",
        action="store_true",
        help="only the sources whose next poll has come, like one daemon tick (workers share them)",
    )
    run.add_argument("--json", action="store_true", help="print the run summary as one JSON line on stdout")
    run.add_argument("--workers", type=int, metavar="N", help="extraction processes (default: one per core)")
    run.set_defaults(handler=cmd_run_once)

    daemon = commands.add_parser("daemon", parents=[common], help="poll on schedule until SIGTERM or SIGINT")
    daemon.add_argument("--workers", type=int, metavar="N", help="extraction processes (default: one a core)")
    daemon.set_defaults(handler=cmd_daemon)

    export = commands.add_parser("export", parents=[common], help="print every stored article")
    export.add_argument("--format", choices=("jsonl", "text"), default="jsonl")
    export.add_argument("--unique", action="store_true", help="originals only: leave near-duplicates out")
    export.set_defaults(handler=cmd_export)

    source_cmd = commands.add_parser("sources", parents=[common], help="manage sources")
    source_sub = source_cmd.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    listing = source_sub.add_parser("list", parents=[common], help="sources and their health")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_sources_list)
    manage.add_commands(source_sub, common)
    search.add_command(commands, common)
    extract_command.add_command(commands, common)

    again = commands.add_parser(
        "reprocess", parents=[common], help="rebuild stored articles from their stored pages, offline"
    )
    again.add_argument(
        "--since", metavar="WHEN", help="only articles stored since a date (2024-05-01) or for a while (7d)"
    )
    again.add_argument(
        "--source", action="append", default=[], metavar="NAME", help="only articles seen in this source"
    )
    again.add_argument("--json", action="store_true", help="print the report as one JSON line on stdout")
    again.add_argument(
        "--workers", type=int, metavar="N", help="extraction processes (default: one per core)"
    )
    again.set_defaults(handler=cmd_reprocess)

    stat = commands.add_parser("stats", parents=[common], help="totals and per-source counts")
    stat.add_argument("--json", action="store_true")
    stat.set_defaults(handler=cmd_stats)

    cut = commands.add_parser(
        "prune", parents=[common], help="remove raw pages (and optionally articles) past a retention period"
    )
    cut.add_argument("--older-than", required=True, metavar="DURATION", help="retention period (90d, 12w)")
    cut.add_argument(
        "--articles", action="store_true", help="also articles (their entry keys stay, as tombstones)"
    )
    cut.add_argument("--json", action="store_true", help="print the counts as one JSON line")
    cut.set_defaults(handler=cmd_prune)

    database = commands.add_parser("db", parents=[common], help="database maintenance")
    database_sub = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = database_sub.add_parser("upgrade", parents=[common], help="migrate the schema to this release")
    upgrade.set_defaults(handler=cmd_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_format, level = getattr(args, "log_format", "auto"), getattr(args, "log_level", "info")
    logs.configure(log_format, level)
    if (expat := safexml.expat_problem()) is not None:  # feeds are untrusted XML
        structlog.get_logger().warning("expat_outdated", reason=expat)
    try:
        settings = load_settings(getattr(args, "config", None))
        if args.handler in (cmd_run_once, cmd_daemon, cmd_reprocess):
            check_site_rules()  # a broken rules file is refused at start, not met page by page
        handler: Handler = args.handler
        return handler(args, settings)
    except ConfigError as exc:
        print(f"ingest: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except StorageError as exc:
        print(f"ingest: database: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ingest: interrupted", file=sys.stderr)
        return 130


def cmd_run_once(args: argparse.Namespace, settings: Settings) -> int:
    if args.due and args.source:
        raise ConfigError(
            "usage", "run-once: --due takes whatever is due; it cannot be combined with --source"
        )

    def run(db: Database) -> RunSummary:
        with db.read() as session:
            check_source_names(args.source, {s.name for s in source_store.all_sources(session)})
        bar = for_terminal()
        pipeline = Pipeline(settings, db, _processes(args, settings), progress=bar)
        job = pipeline.run_due() if args.due else pipeline.run_once(args.source)
        if bar is None:
            return asyncio.run(job)
        with bar:
            return asyncio.run(job)

    summary: RunSummary = with_db(settings, run)
    if args.json:
        print(json.dumps(summary.as_dict()), flush=True)
    return summary.exit_code


def cmd_daemon(args: argparse.Namespace, settings: Settings) -> int:
    def run(db: Database) -> DaemonCounts:
        return asyncio.run(Daemon(Pipeline(settings, db, _processes(args, settings))).run())

    with_db(settings, run)
    return EXIT_OK


def cmd_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    since = parse_since(args.since) if args.since else None
    words = Vocabulary(settings.normalize.related_labels, settings.normalize.paywall_phrases)

    def run(db: Database) -> ReprocessReport:
        with db.read() as session:
            known = {s.name for s in source_store.all_sources(session)}
        check_source_names(args.source, known)
        return asyncio.run(
            reprocess(db, _processes(args, settings), words, since, args.source, settings.extract_timeout)
        )

    report: ReprocessReport = with_db(settings, run)
    if args.json:
        print(json.dumps(report.as_dict()), flush=True)
    else:
        print(f"{report.examined} examined, {report.changed} changed, {report.unchanged} unchanged, "
              f"{report.conflicts} conflicts, {report.failed} failed")  # fmt: skip
    return EXIT_FAILURES if report.failed else EXIT_OK


def check_site_rules() -> None:
    try:
        siterules.active_rules()
    except ValueError as exc:
        raise ConfigError("site_rules", str(exc)) from None


def _processes(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers is not None and args.workers < 0:
        raise ConfigError("invalid", "--workers must be 0 or more")
    return int(args.workers) if args.workers is not None else settings.workers or default_processes()


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    def write(db: Database) -> int:
        with db.read() as session:
            return (write_jsonl if args.format == "jsonl" else write_text)(session, sys.stdout, args.unique)

    count = with_db(settings, write)
    structlog.get_logger().info("export_finished", articles=count, format=args.format)
    return EXIT_OK


def cmd_sources_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = with_db(settings, _source_rows)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        write_source_table(rows, sys.stdout)
    return EXIT_OK


def _source_rows(db: Database) -> list[dict[str, Any]]:
    with db.read() as session:
        return [source_row(s) for s in source_store.all_sources(session)]


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    def collect(db: Database) -> dict[str, Any]:
        with db.read() as session:
            return stats(session)

    figures = with_db(settings, collect)
    if args.json:
        print(json.dumps(figures))
        return EXIT_OK
    for name in ("sources", "articles", "articles_near_duplicate", "sightings", "runs"):
        print(f"{name:<24} {figures[name]}")
    for source, states in sorted(figures["per_source"].items()):
        print(f"  {source:<22} " + "  ".join(f"{state} {n}" for state, n in states.items()))
    return EXIT_OK


def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    period = option_duration("--older-than", args.older_than)
    if period <= 0:
        raise ConfigError("invalid", f"--older-than {args.older_than!r} must be a positive duration")
    try:
        before = datetime.now(UTC) - timedelta(seconds=period)
    except OverflowError:
        raise ConfigError("invalid", f"--older-than {args.older_than!r} reaches before year 1") from None

    def cut(db: Database) -> Pruned:
        try:
            with db.write() as session:
                return prune(session, before, args.articles)
        except DBAPIError as exc:  # a worker stored something that refers to what was being pruned
            first_line = (str(exc.orig).strip().splitlines() or [""])[0]
            raise StorageError(f"prune rolled back, nothing removed ({first_line}); run it again") from None

    pruned: Pruned = with_db(settings, cut)
    counts = asdict(pruned) | {"before": before.isoformat()}
    structlog.get_logger().info("pruned", **counts)
    print(
        json.dumps(counts)
        if args.json
        else "  ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
    )
    return EXIT_OK


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        before, after = migrate.upgrade(db)
    finally:
        db.close()
    structlog.get_logger().info("db_upgraded", before=before, after=after)
    return EXIT_OK
