"""What the read-only commands print: export rows, the source list, stats."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func
from sqlmodel import Session, col, select

from ingest.durations import format_duration
from storage import articles, enclosures
from storage.articles import SightingView
from storage.enclosures import EnclosureView
from storage.tables import Article, Run, Sighting, Source

EXPORT_BATCH = 500  # articles read at a time


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def article_row(
    article: Article, seen: list[SightingView], media: Sequence[EnclosureView] = ()
) -> dict[str, Any]:
    return {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "author": article.author,
        "published_at": iso(article.published_at),
        "published_from": article.published_from,
        "language": article.language,
        "site_name": article.site_name,
        "text": article.text,
        "html": article.html,
        "dateline": article.dateline,
        "content_hash": article.content_hash,
        "duplicate_of": article.duplicate_of,
        "similarity": article.similarity,
        "extractor": article.extractor,
        "extractor_version": article.extractor_version,
        "normalizer_version": article.normalizer_version,
        "sanitizer_version": article.sanitizer_version,
        "created_at": iso(article.created_at),
        "sightings": [
            {
                "source": s.source,
                "guid": s.guid,
                "link": s.link,
                "first_seen_at": iso(s.first_seen_at),
                "feed_title": s.feed_title,
            }
            for s in seen
        ],
        "enclosures": [
            {
                "url": e.url,
                "type": e.media_type,
                "length": e.length,
                "title": e.title,
                "duration_s": e.duration_s,
                "episode": e.episode,
                "season": e.season,
                "image": e.image,
                "downloaded": e.downloaded_at is not None,
            }
            for e in media
        ],
    }


def export_rows(session: Session, unique: bool = False) -> Iterator[dict[str, Any]]:
    # The articles' enclosures come a batch at a time too: one query per batch, not per article.
    batch: list[tuple[Article, list[SightingView]]] = []
    for item in articles.iter_with_sightings(session, batch=EXPORT_BATCH, unique=unique):
        batch.append(item)
        if len(batch) == EXPORT_BATCH:
            yield from _rows(session, batch)
            batch = []
    yield from _rows(session, batch)


def _rows(session: Session, batch: list[tuple[Article, list[SightingView]]]) -> Iterator[dict[str, Any]]:
    media = enclosures.views_of(session, [article.id for article, _ in batch if article.id is not None])
    for article, seen in batch:
        yield article_row(article, seen, media.get(article.id or 0, []))


def write_jsonl(session: Session, out: TextIO, unique: bool = False) -> int:
    count = 0
    for row in export_rows(session, unique):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_text(session: Session, out: TextIO, unique: bool = False) -> int:
    """A reader's view: each article's description, then its text wrapped for a terminal."""
    count = 0
    for row in export_rows(session, unique):
        count += 1
        rule = "─" * 78
        facts = [
            ("author", row["author"]),
            ("site", row["site_name"]),
            ("language", row["language"]),
            ("published", row["published_at"]),
            ("url", row["canonical_url"] or row["url"]),
            ("extractor", row["extractor"]),
            ("seen in", ", ".join(s["source"] for s in row["sightings"])),
            ("media", ", ".join(e["url"] for e in row["enclosures"])),
        ]
        out.write(f"{rule}\n#{row['id']}  {row['title'] or '(no title)'}\n")
        out.write("".join(f"  {name:<10} {value}\n" for name, value in facts if value))
        out.write("\n")
        for paragraph in row["text"].split("\n\n"):
            out.write(textwrap.fill(paragraph, width=78) + "\n\n")
    return count


def source_row(source: Source) -> dict[str, Any]:
    location = source.url or (Path(source.path).as_uri() if source.path else None)
    return {
        "name": source.name,
        "url": location,
        "kind": source.kind,
        "state": source.state if source.enabled else "disabled",
        "enabled": source.enabled,
        "interval": format_duration(source.poll_interval_s) if source.poll_interval_s else None,
        "interval_reason": source.interval_reason or ("fixed" if source.interval_s else "adaptive"),
        "fixed_interval": format_duration(source.interval_s) if source.interval_s else None,
        "last_status": source.last_status,
        "last_success_at": iso(source.last_success_at),
        "next_fetch_at": iso(source.next_fetch_at),
        "consecutive_failures": source.consecutive_failures,
        "last_error_code": source.last_error_code,
        "last_error": source.last_error_message,
    }


def write_source_table(rows: list[dict[str, Any]], out: TextIO) -> None:
    columns = (
        "name",
        "kind",
        "state",
        "last_status",
        "last_success_at",
        "next_fetch_at",
        "interval",
        "interval_reason",
        "consecutive_failures",
        "last_error_code",
    )
    headers = (
        "NAME",
        "KIND",
        "STATE",
        "LAST",
        "LAST SUCCESS",
        "NEXT POLL",
        "INTERVAL",
        "WHY",
        "FAILS",
        "ERROR",
    )
    table = [headers] + [tuple(_cell(row[c]) for c in columns) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    for line in table:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() + "\n"
        )
    for row in rows:
        if row["last_error"]:
            out.write(f"\n{row['name']}: {row['last_error']}\n")


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    # Timestamps to the second are enough for a table.
    return text[:19].replace("T", " ") + "Z" if text.endswith("Z") and "T" in text else text


def stats(session: Session) -> dict[str, Any]:
    def count(query: Any) -> int:
        return int(session.exec(query).one())

    per_source = session.exec(
        select(Source.name, Sighting.state, func.count())
        .join(Sighting, col(Sighting.source_id) == col(Source.id))
        .group_by(col(Source.name), col(Sighting.state))
    ).all()
    by_source: dict[str, dict[str, int]] = {}
    for name, state, total in per_source:
        by_source.setdefault(name, {"pending": 0, "done": 0, "failed": 0})[state] = int(total)
    return {
        "sources": count(select(func.count()).select_from(Source)),
        "articles": count(select(func.count()).select_from(Article)),
        "articles_near_duplicate": count(select(func.count()).where(col(Article.duplicate_of).is_not(None))),
        "sightings": count(select(func.count()).select_from(Sighting)),
        "runs": count(select(func.count()).select_from(Run)),
        "per_source": by_source,
    }
