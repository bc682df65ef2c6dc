"""Full-text search over stored articles, behind one function for SQLite (FTS5) and PostgreSQL.

The index itself is the database's (migration 0007): FTS5 with triggers on SQLite, a generated
tsvector column on PostgreSQL; it follows every insert, update and prune by itself. A query is
words and "quoted phrases", all of which must appear (in the title or the text); results are
ranked (bm25 / ts_rank_cd, the title weighing more) and come with a snippet, matches in [brackets].
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

_TERM = re.compile(r'"([^"]*)"|(\S+)')
SNIPPET_WORDS = 16
HEADLINE_CHARS = 200_000  # as indexed (migration 0007): ts_headline reads the text it is given


@dataclass(frozen=True, slots=True)
class Hit:
    article_id: int
    title: str | None
    url: str
    language: str | None
    published_at: datetime | None
    snippet: str
    rank: float


def terms(query: str) -> list[str]:
    """The words and phrases of a query, as typed: `council "river bridge"` → council, river bridge."""
    found = []
    for phrase, word in _TERM.findall(query):
        term = " ".join((phrase or word).split())
        if term:
            found.append(term)
    return found


def search(
    connection: Connection, query: str, sources: Sequence[str] = (), since: datetime | None = None,
    language: str | None = None, limit: int = 20,
) -> list[Hit]:  # fmt: skip
    wanted = terms(query)
    if not wanted:
        return []
    sqlite = connection.dialect.name == "sqlite"
    if since is not None and sqlite:  # stored as naive UTC there (storage.types.UTCDateTime)
        since = since.astimezone(UTC).replace(tzinfo=None)
    filters, params = _filters(sources, since, language)
    params["limit"] = limit
    if sqlite:
        return _sqlite(connection, wanted, filters, params)
    return _postgresql(connection, wanted, filters, params)


def _filters(
    sources: Sequence[str], since: datetime | None, language: str | None
) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if sources:
        names = ", ".join(f":source_{i}" for i in range(len(sources)))
        clauses.append(
            "a.id IN (SELECT s.article_id FROM sighting s JOIN source o ON o.id = s.source_id "
            f"WHERE o.name IN ({names}))"
        )
        params |= {f"source_{i}": name for i, name in enumerate(sources)}
    if since is not None:
        clauses.append("coalesce(a.published_at, a.created_at) >= :since")
        params["since"] = since
    if language:
        clauses.append("a.language = :language")
        params["language"] = language.lower()
    return "".join(f" AND {clause}" for clause in clauses), params


def _sqlite(connection: Connection, wanted: list[str], filters: str, params: dict[str, Any]) -> list[Hit]:
    # Every term quoted: FTS5's own operators (AND, NEAR, *, column:) are not a user's to trip over.
    params["match"] = " ".join('"' + term.replace('"', '""') + '"' for term in wanted)
    rows = connection.execute(
        text(
            "SELECT a.id, a.title, a.url, a.language, a.published_at, "
            f"snippet(article_fts, 1, '[', ']', '…', {SNIPPET_WORDS}), bm25(article_fts, 4.0, 1.0) AS rank "
            "FROM article_fts JOIN article a ON a.id = article_fts.rowid "
            f"WHERE article_fts MATCH :match{filters} ORDER BY rank, a.id LIMIT :limit"
        ),
        params,
    ).all()
    return [_hit(row, -float(row[6])) for row in rows]


def _postgresql(connection: Connection, wanted: list[str], filters: str, params: dict[str, Any]) -> list[Hit]:
    # Each term is a phrase (words in order); all of them must match.
    params |= {f"term_{i}": term for i, term in enumerate(wanted)}
    query = " && ".join(f"phraseto_tsquery('simple', :term_{i})" for i in range(len(wanted)))
    rows = connection.execute(
        text(
            f"WITH q AS (SELECT ({query}) AS query) "
            "SELECT a.id, a.title, a.url, a.language, a.published_at, "
            f"ts_headline('simple', left(a.text, {HEADLINE_CHARS}), q.query, "
            f"'StartSel=[, StopSel=], MaxWords={SNIPPET_WORDS}, MinWords={SNIPPET_WORDS // 2}, "
            "MaxFragments=1, FragmentDelimiter=…'), ts_rank_cd(a.search, q.query) AS rank "
            f"FROM article a, q WHERE a.search @@ q.query{filters} ORDER BY rank DESC, a.id LIMIT :limit"
        ),
        params,
    ).all()
    return [_hit(row, float(row[6])) for row in rows]


def _hit(row: Any, rank: float) -> Hit:
    snippet = " ".join(str(row[5]).split())
    return Hit(int(row[0]), row[1], str(row[2]), row[3], _datetime(row[4]), snippet, rank)


def _datetime(value: Any) -> datetime | None:
    """Aware UTC, from a timestamptz (PostgreSQL) or the naive UTC text SQLite keeps."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_INDEX_NAMES = ("search", "ix_article_search")


def is_search_index(name: str | None) -> bool:
    """The database objects of the index (not in the model: the database maintains them)."""
    return name is not None and (name in _INDEX_NAMES or name.startswith("article_fts"))


def outside_search_index(*args: object) -> bool:
    """Alembic's ``include_object(object, name, type, reflected, compare_to)``: the model compared
    with the database, the index left out."""
    _object, name, _kind, reflected, _compare_to = args
    return not (reflected and is_search_index(name if isinstance(name, str) else None))
