"""The article aggregate: one row per piece of content, found again by canonical URL or content hash."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage import core
from storage.tables import Article, ArticleVersion, Sighting, Source
from storage.upsert import insert_one_ignore, table_of


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
    duplicate_of: int | None = None
    similarity: float | None = None
    html: str | None = None
    sanitizer_version: str | None = None
    dateline: str | None = None
    published_from: str | None = None


@dataclass(frozen=True, slots=True)
class SightingView:
    source: str
    guid: str | None
    link: str | None
    first_seen_at: datetime
    feed_title: str | None = None


_T = table_of(Article)
_BY_HASH = sa_select(_T.c.id).where(_T.c.content_hash == bindparam("hash"))
_BY_CANONICAL = sa_select(_T.c.id, _T.c.text).where(_T.c.canonical_key == bindparam("key"))


def find_by_hash(session: Session, content_hash: str) -> int | None:
    found = core.run(session, _BY_HASH, {"hash": content_hash}).scalar()
    return int(found) if found is not None else None


def find_by_canonical(session: Session, canonical_key: str) -> tuple[int, str] | None:
    """The article at this canonical URL, with its text: (id, text)."""
    row = core.run(session, _BY_CANONICAL, {"key": canonical_key}).first()
    return (int(row[0]), str(row[1])) if row is not None else None


def insert(session: Session, article: NewArticle, now: datetime) -> tuple[int, bool]:
    """Store the article; if a concurrent writer stored the same content first, return theirs.

    Returns (id, created). The unique constraints decide, not the caller's earlier lookups.
    """
    row = {**asdict(article), "created_at": now, "updated_at": now}
    if (created_id := insert_one_ignore(session, Article, row)) is not None:
        return int(created_id), True
    found = find_by_hash(session, article.content_hash)
    if found is None and article.canonical_key is not None:
        # Lost a race on the canonical URL instead: the other text holds the address.
        other = find_by_canonical(session, article.canonical_key)
        found = other[0] if other is not None else None
    assert found is not None, "an article vanished inside its own transaction"
    return found, False


def update_in_place(session: Session, article_id: int, revised: NewArticle, now: datetime) -> bool:
    """A material update: the current text becomes a version, the article takes the new one (same id).

    False when the new text is already another article's (nothing is changed then).
    """
    article = session.get(Article, article_id)
    holder = find_by_hash(session, revised.content_hash)
    if article is None or (holder is not None and holder != article_id):
        return False
    session.add(
        ArticleVersion(
            article_id=article_id,
            title=article.title,
            author=article.author,
            published_at=article.published_at,
            text=article.text,
            html=article.html,
            content_hash=article.content_hash,
            extractor=article.extractor,
            extractor_version=article.extractor_version,
            normalizer_version=article.normalizer_version,
            stored_at=article.updated_at,
            replaced_at=now,
        )
    )
    for name in (
        "title",
        "author",
        "published_at",
        "language",
        "site_name",
        "text",
        "html",
        "content_hash",
        "extractor",
        "extractor_version",
        "normalizer_version",
        "sanitizer_version",
        "dateline",
        "published_from",
    ):
        setattr(article, name, getattr(revised, name))
    if revised.raw_page_id is not None:
        article.raw_page_id = revised.raw_page_id
    article.updated_at = now
    session.add(article)
    return True


def versions(session: Session, article_id: int) -> list[ArticleVersion]:
    query = (
        select(ArticleVersion)
        .where(col(ArticleVersion.article_id) == article_id)
        .order_by(col(ArticleVersion.id))
    )
    return list(session.exec(query).all())


def iter_with_sightings(
    session: Session, batch: int = 500, unique: bool = False
) -> Iterator[tuple[Article, list[SightingView]]]:
    """Every article in id order with its sightings, a batch at a time (memory stays flat);
    ``unique`` leaves out near-duplicates (only originals)."""
    last_id = 0
    while True:
        query = select(Article).where(col(Article.id) > last_id).order_by(col(Article.id)).limit(batch)
        if unique:
            query = query.where(col(Article.duplicate_of).is_(None))
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
            col(Sighting.feed_title),
        )
        .join(Source, col(Source.id) == col(Sighting.source_id))
        .where(col(Sighting.article_id).in_(list(article_ids)))
        .order_by(col(Sighting.first_seen_at), col(Sighting.id))
    )
    views: dict[int, list[SightingView]] = {}
    for article_id, source, guid, link, first_seen, feed_title in session.execute(query).all():
        if article_id is not None:
            views.setdefault(article_id, []).append(SightingView(source, guid, link, first_seen, feed_title))
    return views


def text_of(session: Session, article_id: int) -> str | None:
    """An article's text (None when there is no such article)."""
    return session.exec(select(Article.text).where(col(Article.id) == article_id)).first()
