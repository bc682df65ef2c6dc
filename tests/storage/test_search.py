"""Full-text search on SQLite (FTS5) and PostgreSQL (tsvector): the same answers from both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from storage import articles, migrate
from storage.articles import NewArticle
from storage.db import Database
from storage.prune import prune
from storage.search import search, terms

NOW = datetime(2026, 11, 1, tzinfo=UTC)
STORIES = [
    (
        "River flood closes the bridge",
        "The river rose overnight and the old bridge was closed to traffic.",
        "en",
    ),
    ("Council budget", "The council voted the budget; the river bridge repairs wait another year.", "en"),
    ("Crue de la Vérande", "La rivière a débordé et le pont est fermé à la circulation.", "fr"),
    ("Football", "The home side won; the bridge of the stadium was crowded.", "en"),
]


@pytest.fixture
def db(any_db_url: str) -> Database:
    database = Database(any_db_url)
    migrate.ensure_schema(database)
    with database.write() as session:
        for n, (title, body, language) in enumerate(STORIES):
            row = NewArticle(
                url=f"https://news.example/{n}", canonical_url=None, canonical_key=None, title=title,
                author=None, published_at=NOW - timedelta(days=10 * n), language=language, site_name=None,
                text=body, content_hash=f"hash-{n}", extractor="test", extractor_version="1",
                normalizer_version="1", raw_page_id=None,
            )  # fmt: skip
            articles.insert(session, row, NOW - timedelta(days=10 * n))
    return database


def _find(db: Database, query: str, **filters: object) -> list[str]:
    with db.engine.connect() as connection:
        return [hit.title or "" for hit in search(connection, query, **filters)]  # type: ignore[arg-type]


def test_words_phrases_and_ranking(db: Database) -> None:
    hits = _find(db, "bridge")
    assert hits[0] == "River flood closes the bridge", "a match in the title ranks first"
    assert set(_find(db, "bridge")) == {"River flood closes the bridge", "Council budget", "Football"}
    assert _find(db, '"river bridge"') == ["Council budget"]  # a phrase: these words, in this order
    assert set(_find(db, "river bridge")) == {"River flood closes the bridge", "Council budget"}  # all words
    assert _find(db, "BRIDGE closed") == ["River flood closes the bridge"]  # case folded
    assert _find(db, "pont") == ["Crue de la Vérande"]
    assert _find(db, "nothing-like-this") == []
    db.close()


def test_filters_and_snippets(db: Database) -> None:
    assert set(_find(db, "bridge", language="en")) == {
        "River flood closes the bridge",
        "Council budget",
        "Football",
    }
    assert _find(db, "bridge", language="fr") == []
    assert _find(db, "bridge", since=NOW - timedelta(days=15)) == [
        "River flood closes the bridge",
        "Council budget",
    ]
    with db.engine.connect() as connection:
        (hit,) = search(connection, '"old bridge"')
    assert "[old] [bridge]" in hit.snippet or "[old bridge]" in hit.snippet
    assert hit.published_at == NOW
    db.close()


@pytest.mark.parametrize(
    "query",
    [
        "AND OR NOT",
        "bridge*",
        '"unclosed',
        "title:bridge",
        "-bridge",
        "NEAR(a b)",
        "'; DROP TABLE article; --",
    ],
)
def test_any_query_is_words_never_syntax(db: Database, query: str) -> None:
    _find(db, query)  # no error: operators are searched as words
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM article")).scalar_one() == 4
    db.close()


def test_the_index_follows_updates_and_prune(db: Database) -> None:
    with db.write() as session:
        session.execute(
            text("UPDATE article SET text = 'The ferry replaced the bridge.' WHERE title = 'Football'")
        )
    assert _find(db, "ferry") == ["Football"]
    assert "Football" not in _find(db, "stadium")
    with db.write() as session:
        prune(session, NOW - timedelta(days=15), articles=True)
    assert set(_find(db, "bridge")) == {"River flood closes the bridge", "Council budget"}
    assert _find(db, "ferry") == []
    db.close()


def test_terms() -> None:
    assert terms('council "river  bridge" ') == ["council", "river bridge"]
    assert terms('  ""  ') == []


def test_a_text_longer_than_the_index_takes_is_stored_and_found(db: Database) -> None:
    """PostgreSQL refuses a tsvector over 1 MB: a huge text must still be stored (and found)."""
    words = " ".join(f"w{i}x" for i in range(150_000))  # about 1.1 MB of distinct words
    with db.write() as session:
        row = NewArticle(
            url="https://news.example/huge", canonical_url=None, canonical_key=None, title="Huge",
            author=None, published_at=NOW, language="en", site_name=None, text=f"needle {words}",
            content_hash="hash-huge", extractor="test", extractor_version="1", normalizer_version="1",
            raw_page_id=None,
        )  # fmt: skip
        articles.insert(session, row, NOW)
    assert _find(db, "needle") == ["Huge"]
    db.close()
