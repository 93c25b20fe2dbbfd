"""Roll-ups of the lines report: calls and concurrency per gateway and node, 15-minute buckets.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 02:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollup_line_calls_15m",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("billsec", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "bucket", "kind", "name", "direction"),
    )
    op.create_table(
        "rollup_line_concurrency_15m",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "bucket", "kind", "name", "level"),
    )


def downgrade() -> None:
    op.drop_table("rollup_line_concurrency_15m")
    op.drop_table("rollup_line_calls_15m")
