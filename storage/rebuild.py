"""Rebuilding stored articles from what was stored with them: the raw page and the entry's feed data.

Articles keep their ids. A rebuilt text that another article already holds (same content hash) is a
conflict: the article is left as it was and the conflict reported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.raw_pages import body_of
from storage.tables import Article, RawPage, Sighting, Source

# What a rebuild may change; identity (url, canonical URL) and provenance stay.
REBUILT_FIELDS = (
    "title",
    "author",
    "published_at",
    "language",
    "site_name",
    "text",
    "content_hash",
    "html",
    "dateline",
    "published_from",
    "extractor",
    "extractor_version",
    "normalizer_version",
    "sanitizer_version",
)
# A change to any of these is a change a reader sees; the rest is bookkeeping.
VISIBLE_FIELDS = ("title", "author", "published_at", "language", "site_name", "text", "html")


@dataclass(frozen=True, slots=True)
class StoredPage:
    url: str
    final_url: str
    status: int
    content_type: str
    headers: dict[str, str]
    fetched_at: datetime
    body: bytes


@dataclass(frozen=True, slots=True)
class RebuildInput:
    article_id: int
    url: str
    page: StoredPage | None
    # The first sighting's feed data: what the feed said about the entry.
    feed_title: str | None
    feed_author: str | None
    published_at: datetime | None
    summary: str | None
    feed_content: str | None
    link: str | None
    feed_language: str | None
    first_seen_at: datetime | None
    extractor: str = ""  # what produced the stored text

    @property
    def rebuildable(self) -> bool:
        """From its page, or from the feed's own text when that is what it was made of. A page
        pruned away (``ingest prune``) leaves only the feed's teaser: rebuilding would lose the text."""
        return self.page is not None or self.extractor == "feed"


def article_ids(
    session: Session, since: datetime | None, source_names: Sequence[str], after_id: int, limit: int
) -> list[int]:
    """Ids of the articles to rebuild, in id order, a page at a time (``after_id`` is the cursor)."""
    query = select(Article.id).where(col(Article.id) > after_id)
    if since is not None:
        query = query.where(col(Article.created_at) >= since)
    if source_names:
        seen_in = (
            select(Sighting.article_id)
            .join(Source, col(Source.id) == col(Sighting.source_id))
            .where(col(Source.name).in_(list(source_names)))
        )
        query = query.where(col(Article.id).in_(seen_in))
    return [i for i in session.exec(query.order_by(col(Article.id)).limit(limit)).all() if i is not None]


def inputs(session: Session, ids: Sequence[int]) -> list[RebuildInput]:
    found = []
    for article_id in ids:
        article = session.get(Article, article_id)
        if article is None:
            continue
        first = session.exec(
            select(Sighting).where(col(Sighting.article_id) == article_id).order_by(col(Sighting.id)).limit(1)
        ).first()
        raw = session.get(RawPage, article.raw_page_id) if article.raw_page_id is not None else None
        found.append(_input(article, first, raw))
    return found


def _input(article: Article, first: Sighting | None, raw: RawPage | None) -> RebuildInput:
    page = None
    if raw is not None:
        page = StoredPage(
            raw.url,
            raw.final_url,
            raw.status,
            raw.content_type or "",
            _headers(raw.headers),
            raw.fetched_at,
            body_of(raw),
        )
    return RebuildInput(
        article_id=article.id or 0,
        url=article.url,
        page=page,
        feed_title=first.feed_title if first else None,
        feed_author=first.feed_author if first else None,
        published_at=first.published_at if first else None,
        summary=first.summary if first else None,
        feed_content=first.feed_content if first else None,
        link=first.link if first else None,
        feed_language=first.feed_language if first else None,
        first_seen_at=first.first_seen_at if first else None,
        extractor=article.extractor,
    )


def apply(session: Session, article_id: int, fields: Mapping[str, Any], now: datetime) -> str:
    """Write a rebuilt article in place: "changed", "unchanged" or "conflict".

    A conflict (the rebuilt text is another article's) keeps this article's text and links it to
    the holder as a duplicate: it is the same content now, and nothing is thrown away.
    """
    article = session.get(Article, article_id)
    if article is None:
        return "conflict"
    new = {name: fields[name] for name in REBUILT_FIELDS if name in fields}
    if all(getattr(article, name) == value for name, value in new.items()):
        return "unchanged"
    holder = session.exec(select(Article.id).where(col(Article.content_hash) == new["content_hash"])).first()
    if holder is not None and holder != article_id:
        _link(session, article_id, holder)
        return "conflict"
    visible = any(getattr(article, name) != new.get(name, getattr(article, name)) for name in VISIBLE_FIELDS)
    try:
        with session.begin_nested():  # a concurrent writer may take the hash between check and update
            session.execute(
                update(Article).where(col(Article.id) == article_id).values(**new, updated_at=now)
            )
    except IntegrityError:
        return "conflict"
    return "changed" if visible else "unchanged"


def _link(session: Session, article_id: int, holder: int) -> None:
    session.execute(
        update(Article)
        .where(col(Article.id) == article_id, col(Article.duplicate_of).is_(None))
        .values(duplicate_of=holder, similarity=1.0)
    )


def _headers(text: str) -> dict[str, str]:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
