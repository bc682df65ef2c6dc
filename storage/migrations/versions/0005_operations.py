"""operations: poll history, source titles, tags and site, enabled as declared

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=True),
        sa.Column("entries_seen", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("entries_new", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.create_index("ix_poll_source_at", ["source_id", "at"], unique=False)

    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("site_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("declared_enabled", sa.Boolean(), nullable=True))
    # What the config said is what the row says: a source since removed from it is disabled at the
    # next start, as before; `ingest sources enable` can bring it back from then on.
    op.execute("UPDATE source SET declared_enabled = enabled WHERE origin = 'config'")


def downgrade() -> None:
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_column("declared_enabled")
        batch_op.drop_column("tags")
        batch_op.drop_column("site_url")
        batch_op.drop_column("title")
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.drop_index("ix_poll_source_at")
    op.drop_table("poll")
