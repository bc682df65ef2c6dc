"""enclosures of articles, per-source filters, blocked entries counted per run

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enclosure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_key", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=200), nullable=True),
        sa.Column("length", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("episode", sa.Integer(), nullable=True),
        sa.Column("season", sa.Integer(), nullable=True),
        sa.Column("image", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("download_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "url_key", name="uq_enclosure_article_url"),
    )
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filters", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("download_enclosures", sa.Boolean(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entries_blocked", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("sighting") as batch_op:
        batch_op.add_column(sa.Column("enclosures", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("categories", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sighting") as batch_op:
        batch_op.drop_column("categories")
        batch_op.drop_column("enclosures")
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_column("entries_blocked")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_column("download_enclosures")
        batch_op.drop_column("filters")
    op.drop_table("enclosure")
