"""WebSub: the hub and topic a feed advertises, and one subscription a source

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hub_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("topic_url", sa.Text(), nullable=True))
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("hub_url", sa.Text(), nullable=False),
        sa.Column("topic_url", sa.Text(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lease_s", sa.Float(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("pushes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("pushes_refused", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_push_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id"),
        sa.UniqueConstraint("token"),
    )
    op.create_index("ix_subscription_next_action_at", "subscription", ["next_action_at"])


def downgrade() -> None:
    op.drop_index("ix_subscription_next_action_at", table_name="subscription")
    op.drop_table("subscription")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_column("topic_url")
        batch_op.drop_column("hub_url")
