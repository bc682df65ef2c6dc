"""scheduling state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 22:02:37.601084
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("host", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crawl_delay_s", sa.Float(), nullable=True))

    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sources_deferred", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("declared_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("poll_interval_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("interval_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("hint_ttl_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("skip_hours", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("skip_days", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("moved_to", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("moved_count", sa.Integer(), nullable=False, server_default="0"))

    # Sources polled so far were polled at the address they were declared with.
    op.execute("UPDATE source SET declared_url = url WHERE declared_url IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_column("moved_count")
        batch_op.drop_column("moved_to")
        batch_op.drop_column("skip_days")
        batch_op.drop_column("skip_hours")
        batch_op.drop_column("hint_ttl_s")
        batch_op.drop_column("interval_reason")
        batch_op.drop_column("poll_interval_s")
        batch_op.drop_column("declared_url")

    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_column("sources_deferred")

    with op.batch_alter_table("host", schema=None) as batch_op:
        batch_op.drop_column("crawl_delay_s")
