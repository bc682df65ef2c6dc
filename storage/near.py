"""Near-duplicate candidates through the banded fingerprint index: one indexed lookup, no scan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.tables import Article, ArticleBand
from storage.upsert import insert_ignore

MAX_CANDIDATES = 20  # confirmed one by one with the texts' real similarity


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    text: str
    duplicate_of: int | None

    @property
    def original(self) -> int:
        """The first-seen article of the story: a near-duplicate points at its original."""
        return self.duplicate_of if self.duplicate_of is not None else self.id


def candidate_ids(session: Session, bands: Sequence[int], limit: int = MAX_CANDIDATES) -> list[int]:
    if not bands:
        return []
    query = (
        select(ArticleBand.article_id).where(col(ArticleBand.band).in_(list(bands))).distinct().limit(limit)
    )
    return list(session.exec(query).all())


def candidates(session: Session, bands: Sequence[int], limit: int = MAX_CANDIDATES) -> list[Candidate]:
    ids = candidate_ids(session, bands, limit)
    if not ids:
        return []
    rows = session.exec(
        select(Article.id, Article.text, Article.duplicate_of).where(col(Article.id).in_(ids))
    ).all()
    return [Candidate(row[0], row[1], row[2]) for row in rows if row[0] is not None]


def store(session: Session, article_id: int, bands: Sequence[int]) -> None:
    """Index the article's fingerprint (replacing any earlier one)."""
    session.execute(delete(ArticleBand).where(col(ArticleBand.article_id) == article_id))
    insert_ignore(session, ArticleBand, [{"article_id": article_id, "band": band} for band in bands])
