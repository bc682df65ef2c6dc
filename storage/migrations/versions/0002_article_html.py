"""article html, dateline, date source

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 21:43:22.322109
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("sanitizer_version", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("dateline", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("published_from", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_column("published_from")
        batch_op.drop_column("dateline")
        batch_op.drop_column("sanitizer_version")
        batch_op.drop_column("html")
