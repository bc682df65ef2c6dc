"""Retention: raw pages, poll history and (optionally) articles older than a cutoff.

Entry keys are never forgotten: the sighting of an entry whose article is pruned stays, as a
tombstone (state ``pruned``, no article, no feed text), so the next poll of its feed knows the entry
and does not ingest it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage.tables import Article, ArticleBand, ArticleVersion, Enclosure, Poll, RawPage, Sighting
from storage.upsert import affected

PRUNED = "pruned"


@dataclass(frozen=True, slots=True)
class Pruned:
    raw_pages: int
    polls: int
    articles: int
    tombstones: int  # sightings kept as tombstones of pruned articles


def prune(session: Session, before: datetime, articles: bool = False) -> Pruned:
    removed_articles = tombstones = 0
    if articles:
        removed_articles, tombstones = _prune_articles(session, before)
    pages = select(RawPage.id).where(col(RawPage.fetched_at) < before)
    # The articles stay; they can no longer be rebuilt from their page (reprocess uses the feed's text).
    session.execute(update(Article).where(col(Article.raw_page_id).in_(pages)).values(raw_page_id=None))
    raw_pages = affected(session.execute(delete(RawPage).where(col(RawPage.fetched_at) < before)))
    polls = affected(session.execute(delete(Poll).where(col(Poll.at) < before)))
    return Pruned(raw_pages, polls, removed_articles, tombstones)


def _prune_articles(session: Session, before: datetime) -> tuple[int, int]:
    old = select(Article.id).where(col(Article.created_at) < before)
    # A near-duplicate whose original goes becomes an original itself (its similarity stays).
    session.execute(update(Article).where(col(Article.duplicate_of).in_(old)).values(duplicate_of=None))
    tombstones = affected(
        session.execute(
            update(Sighting)
            .where(col(Sighting.article_id).in_(old))
            .values(
                article_id=None,
                state=PRUNED,
                content_key=None,
                summary=None,
                feed_content=None,
                enclosures=None,
            )
        )
    )
    pages = [
        i for i in session.exec(select(Article.raw_page_id).where(col(Article.created_at) < before)) if i
    ]
    session.execute(delete(ArticleBand).where(col(ArticleBand.article_id).in_(old)))
    session.execute(delete(ArticleVersion).where(col(ArticleVersion.article_id).in_(old)))
    session.execute(delete(Enclosure).where(col(Enclosure.article_id).in_(old)))
    removed = affected(session.execute(delete(Article).where(col(Article.created_at) < before)))
    for start in range(0, len(pages), 500):
        session.execute(delete(RawPage).where(col(RawPage.id).in_(pages[start : start + 500])))
    return removed, tombstones
