"""Roll-ups of the queue, agent and DID reports (15-minute buckets), first callers per DID,
and the calls index the raw GROUP BYs and unique-caller counts use.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 02:02:14.389476
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "did_first_callers",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("did", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("caller_number", sa.String(length=64), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "did", "campaign", "caller_number"),
    )
    with op.batch_alter_table("did_first_callers", schema=None) as batch_op:
        batch_op.create_index("ix_did_first_callers_first", ["tenant", "first_at"], unique=False)

    op.create_table(
        "rollup_agent_15m",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("offered", sa.BigInteger(), nullable=False),
        sa.Column("answered", sa.BigInteger(), nullable=False),
        sa.Column("missed", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("talk_ms", sa.BigInteger(), nullable=False),
        sa.Column("hold_ms", sa.BigInteger(), nullable=False),
        sa.Column("qa_sum", sa.BigInteger(), nullable=False),
        sa.Column("qa_count", sa.BigInteger(), nullable=False),
        sa.Column("dispositions", sa.BigInteger(), nullable=False),
        sa.Column("outbound", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "minutes", "bucket_start", "agent"),
    )
    op.create_table(
        "rollup_agent_state_15m",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("times", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "minutes", "bucket_start", "agent", "status", "reason"),
    )
    op.create_table(
        "rollup_did_15m",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("did", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("answered", sa.BigInteger(), nullable=False),
        sa.Column("abandoned", sa.BigInteger(), nullable=False),
        sa.Column("wait_ms", sa.BigInteger(), nullable=False),
        sa.Column("waited", sa.BigInteger(), nullable=False),
        sa.Column("first_callers", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "minutes", "bucket_start", "did", "campaign"),
    )
    op.create_table(
        "rollup_did_code_15m",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("did", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "minutes", "bucket_start", "did", "campaign", "code"),
    )
    op.create_table(
        "rollup_queue_15m",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("offered", sa.BigInteger(), nullable=False),
        sa.Column("answered", sa.BigInteger(), nullable=False),
        sa.Column("abandoned", sa.BigInteger(), nullable=False),
        sa.Column("aband_in_3", sa.BigInteger(), nullable=False),
        sa.Column("aband_in_5", sa.BigInteger(), nullable=False),
        sa.Column("aband_in_10", sa.BigInteger(), nullable=False),
        sa.Column("ans_in_10", sa.BigInteger(), nullable=False),
        sa.Column("ans_in_15", sa.BigInteger(), nullable=False),
        sa.Column("ans_in_20", sa.BigInteger(), nullable=False),
        sa.Column("ans_in_30", sa.BigInteger(), nullable=False),
        sa.Column("ans_in_60", sa.BigInteger(), nullable=False),
        sa.Column("ans_in_120", sa.BigInteger(), nullable=False),
        sa.Column("answered_wait_ms", sa.BigInteger(), nullable=False),
        sa.Column("talk_ms", sa.BigInteger(), nullable=False),
        sa.Column("hold_ms", sa.BigInteger(), nullable=False),
        sa.Column("max_wait_ms", sa.BigInteger(), nullable=False),
        sa.Column("callbacks_requested", sa.BigInteger(), nullable=False),
        sa.Column("callbacks_completed", sa.BigInteger(), nullable=False),
        sa.Column("overflow_out", sa.BigInteger(), nullable=False),
        sa.Column("overflow_in", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "minutes", "bucket_start", "queue"),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calls_tenant_started",
            ["tenant", "started_at", "did", "campaign", "caller_number"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_tenant_started")

    op.drop_table("rollup_queue_15m")
    op.drop_table("rollup_did_code_15m")
    op.drop_table("rollup_did_15m")
    op.drop_table("rollup_agent_state_15m")
    op.drop_table("rollup_agent_15m")
    with op.batch_alter_table("did_first_callers", schema=None) as batch_op:
        batch_op.drop_index("ix_did_first_callers_first")

    op.drop_table("did_first_callers")
