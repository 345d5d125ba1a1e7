"""voice providers: custom parameters for the softphone (the SDK's getEnvironment)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("voice_providers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("custom_parameters", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("voice_providers", schema=None) as batch_op:
        batch_op.drop_column("custom_parameters")
