"""The queue roll-up keeps the agents' wrap-up after the queue's calls (queue AHT is talk + hold
+ wrap-up).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rollup_queue_15m", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("wrap_ms", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("rollup_queue_15m", schema=None) as batch_op:
        batch_op.drop_column("wrap_ms")
