"""Unique callers per DID from roll-ups: an integer per caller number, and the set of callers
(a roaring bitmap) of each DID+campaign per 15-minute bucket, UTC day and UTC month.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:00:00.000000
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
        "caller_numbers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("caller_number", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "caller_number", name="uq_caller_numbers_tenant_number"),
    )
    op.create_table(
        "rollup_did_callers_15m",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("did", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("callers", sa.BigInteger(), nullable=False),
        sa.Column("caller_set", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "minutes", "bucket_start", "did", "campaign"),
    )
    if op.get_context().dialect.name == "postgresql":
        # A bitmap does not compress: stored out of line as it is, PostgreSQL does not try.
        op.execute(
            "ALTER TABLE rollup_did_callers_15m ALTER COLUMN caller_set SET STORAGE EXTERNAL"
        )


def downgrade() -> None:
    op.drop_table("rollup_did_callers_15m")
    op.drop_table("caller_numbers")
