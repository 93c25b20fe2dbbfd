"""The agents roll-up per queue too (the agents report keeps to a queue's calls). A roll-up is
derived data: the table is made again empty; ``callcenter db rollups`` fills it from the CDRs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_MEASURES = (
    "offered", "answered", "missed", "rejected", "talk_ms", "hold_ms", "qa_sum", "qa_count",
    "dispositions", "outbound",
)  # fmt: skip


def _table(with_queue: bool) -> None:
    keys = ["tenant", "minutes", "bucket_start", "agent", *(["queue"] if with_queue else [])]
    op.create_table(
        "rollup_agent_15m",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        *([sa.Column("queue", sa.String(length=64), nullable=False)] if with_queue else []),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _MEASURES),
        sa.PrimaryKeyConstraint(*keys),
    )


def upgrade() -> None:
    op.drop_table("rollup_agent_15m")
    _table(with_queue=True)


def downgrade() -> None:
    op.drop_table("rollup_agent_15m")
    _table(with_queue=False)
