"""full-text search over articles: SQLite FTS5, PostgreSQL tsvector

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 01:50:00

The index is kept in step by the database itself, on insert, update and delete (prune): on SQLite
an FTS5 table over the article table's own columns (external content) and three triggers; on
PostgreSQL a generated tsvector column with a GIN index. Existing articles are indexed here.
Both use a language-neutral tokenisation (words, case folded, accents kept, no stemming), so a
query finds the same articles on either database whatever the articles' languages.

A later migration that rebuilds the article table on SQLite (batch mode copies it) must create the
triggers again.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_DELETE = (
    "INSERT INTO article_fts(article_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text)"
)
_SQLITE = [
    "CREATE VIRTUAL TABLE article_fts USING fts5(title, text, content='article', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER article_fts_insert AFTER INSERT ON article BEGIN "
    "INSERT INTO article_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    f"CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN {_DELETE}; END",
    "CREATE TRIGGER article_fts_update AFTER UPDATE OF title, text ON article BEGIN "
    f"{_DELETE}; "
    "INSERT INTO article_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO article_fts(article_fts) VALUES ('rebuild')",
]
# PostgreSQL refuses a tsvector over 1 MB: a text's first 200,000 characters (some 30,000 words,
# far beyond any article) are indexed, so a very long one can never fail its insert.
INDEXED_CHARS = 200_000
_POSTGRESQL = [
    "ALTER TABLE article ADD COLUMN search tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', coalesce(title, '')), 'A') || "
    f"setweight(to_tsvector('simple', left(coalesce(text, ''), {INDEXED_CHARS})), 'B')) STORED",
    "CREATE INDEX ix_article_search ON article USING GIN (search)",
]


def upgrade() -> None:
    for statement in _SQLITE if op.get_bind().dialect.name == "sqlite" else _POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS article_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS article_fts")
        return
    op.execute("DROP INDEX IF EXISTS ix_article_search")
    op.execute("ALTER TABLE article DROP COLUMN IF EXISTS search")
