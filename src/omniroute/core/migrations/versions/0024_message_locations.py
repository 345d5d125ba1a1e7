"""messages: the place a message shares, as a nullable JSON column (issue #6)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the message shares no place (every message stored before this revision). Beside the
    # message like its attachments, so history, snapshots and events need no join.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.JSON(), nullable=True))


def downgrade() -> None:
    # The text of a customer's location message keeps its "[location: lat, lon]" line; agents'
    # location-only replies lose their place.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("location")
