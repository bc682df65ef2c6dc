"""The article aggregate: one row per piece of content, found again by canonical URL or content hash."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.tables import Article, Sighting, Source
from storage.upsert import insert_ignore


@dataclass(frozen=True, slots=True)
class NewArticle:
    url: str
    canonical_url: str | None
    canonical_key: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    language: str | None
    site_name: str | None
    text: str
    content_hash: str
    extractor: str
    extractor_version: str
    normalizer_version: str
    raw_page_id: int | None


@dataclass(frozen=True, slots=True)
class SightingView:
    source: str
    guid: str | None
    link: str | None
    first_seen_at: datetime


def find_existing(session: Session, canonical_key: str | None, content_hash: str) -> int | None:
    """An article that is this one: same canonical URL, else same content."""
    if canonical_key is not None:
        found = session.exec(select(Article.id).where(col(Article.canonical_key) == canonical_key)).first()
        if found is not None:
            return found
    return session.exec(select(Article.id).where(col(Article.content_hash) == content_hash)).first()


def insert(session: Session, article: NewArticle, now: datetime) -> tuple[int, bool]:
    """Store the article unless an equal one exists; returns (id, created)."""
    existing = find_existing(session, article.canonical_key, article.content_hash)
    if existing is not None:
        return existing, False
    row = {**asdict(article), "created_at": now, "updated_at": now}
    created = insert_ignore(session, Article, [row]) == 1
    # A concurrent writer may have stored the same article between our lookup and our insert.
    found = find_existing(session, article.canonical_key, article.content_hash)
    assert found is not None, "an article vanished inside its own transaction"
    return found, created


def iter_with_sightings(session: Session, batch: int = 500) -> Iterator[tuple[Article, list[SightingView]]]:
    """Every article in id order with its sightings, a batch at a time (memory stays flat)."""
    last_id = 0
    while True:
        query = select(Article).where(col(Article.id) > last_id).order_by(col(Article.id)).limit(batch)
        articles = list(session.exec(query).all())
        if not articles:
            return
        views = _sightings_of(session, [a.id for a in articles if a.id is not None])
        for article in articles:
            yield article, views.get(article.id or 0, [])
        last_id = articles[-1].id or last_id
        session.expunge_all()


def _sightings_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[SightingView]]:
    # SQLModel's select takes at most four columns; SQLAlchemy's takes any number.
    query = (
        sa_select(
            col(Sighting.article_id),
            col(Source.name),
            col(Sighting.guid),
            col(Sighting.link),
            col(Sighting.first_seen_at),
        )
        .join(Source, col(Source.id) == col(Sighting.source_id))
        .where(col(Sighting.article_id).in_(list(article_ids)))
        .order_by(col(Sighting.first_seen_at), col(Sighting.id))
    )
    views: dict[int, list[SightingView]] = {}
    for article_id, source, guid, link, first_seen in session.execute(query).all():
        if article_id is not None:
            views.setdefault(article_id, []).append(SightingView(source, guid, link, first_seen))
    return views
