"""Near-duplicate candidates through the banded fingerprint index: one indexed lookup, no scan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select
from sqlmodel import Session, col

from storage import core
from storage.tables import Article, ArticleBand
from storage.upsert import insert_ignore, table_of

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


_BANDS = table_of(ArticleBand)
_ARTICLES = table_of(Article)
_CANDIDATES = (
    select(_BANDS.c.article_id)
    .where(_BANDS.c.band.in_(bindparam("bands", expanding=True)))
    .distinct()
    .limit(bindparam("limit"))
)
_TEXTS = select(_ARTICLES.c.id, _ARTICLES.c.text, _ARTICLES.c.duplicate_of).where(
    _ARTICLES.c.id.in_(bindparam("ids", expanding=True))
)


def candidate_ids(session: Session, bands: Sequence[int], limit: int = MAX_CANDIDATES) -> list[int]:
    if not bands:
        return []
    return [int(i) for i in core.run(session, _CANDIDATES, {"bands": list(bands), "limit": limit}).scalars()]


def candidates(session: Session, bands: Sequence[int], limit: int = MAX_CANDIDATES) -> list[Candidate]:
    ids = candidate_ids(session, bands, limit)
    if not ids:
        return []
    rows = core.run(session, _TEXTS, {"ids": ids}).all()
    return [Candidate(int(row[0]), str(row[1]), row[2]) for row in rows]


def store(session: Session, article_id: int, bands: Sequence[int], fresh: bool = False) -> None:
    """Index the article's fingerprint, replacing any earlier one (``fresh``: a new article, none)."""
    if not fresh:
        session.execute(delete(ArticleBand).where(col(ArticleBand.article_id) == article_id))
    insert_ignore(session, ArticleBand, [{"article_id": article_id, "band": band} for band in bands])
