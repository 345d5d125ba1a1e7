"""inbound receipts: retry backoff (next_attempt_at) and dead letter (dead_at)

Revision ID: 0022
Revises: 0020
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from omniroute.core.types import UTCDateTime

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

#: The number of tries after which the channel worker gave up on a receipt before this revision.
OLD_MAX_ATTEMPTS = 5


def upgrade() -> None:
    with op.batch_alter_table("inbound_receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("dead_at", UTCDateTime(), nullable=True))
    # Receipts that already used up their tries were silently skipped (and held back the batch):
    # they become dead letters, dated when they arrived.
    receipts = sa.table(
        "inbound_receipts",
        sa.column("processed_at", UTCDateTime()),
        sa.column("received_at", UTCDateTime()),
        sa.column("attempts", sa.Integer()),
        sa.column("dead_at", UTCDateTime()),
    )
    op.get_bind().execute(
        receipts.update()
        .where(receipts.c.processed_at.is_(None), receipts.c.attempts >= OLD_MAX_ATTEMPTS)
        .values(dead_at=receipts.c.received_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("inbound_receipts", schema=None) as batch_op:
        batch_op.drop_column("dead_at")
        batch_op.drop_column("next_attempt_at")
