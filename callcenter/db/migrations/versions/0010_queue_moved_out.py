"""The queue roll-up counts the callers a supervisor moved out of each queue (stay outcome
``moved``); rows rolled up before it have none, as no call could be moved then.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rollup_queue_15m", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("moved_out", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("rollup_queue_15m", schema=None) as batch_op:
        batch_op.drop_column("moved_out")
