"""web chat widget settings and CSAT responses

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from omniroute.core.types import UTCDateTime

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webchat_widget_settings",
        sa.Column("widget_id", sa.String(length=36), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("identity_secret", sa.String(length=1000), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["widget_id"],
            ["webchat_widgets.id"],
            name=op.f("fk_webchat_widget_settings_widget_id_webchat_widgets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("widget_id", name=op.f("pk_webchat_widget_settings")),
    )
    op.create_table(
        "webchat_csat",
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("widget_id", sa.String(length=36), nullable=False),
        sa.Column("queue_id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_webchat_csat_rating_range")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_webchat_csat_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["widget_id"],
            ["webchat_widgets.id"],
            name=op.f("fk_webchat_csat_widget_id_webchat_widgets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_webchat_csat")),
    )
    op.create_index("ix_webchat_csat_queue_time", "webchat_csat", ["queue_id", "submitted_at"], unique=False)
    op.create_index("ix_webchat_csat_time", "webchat_csat", ["submitted_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_webchat_csat_time", table_name="webchat_csat")
    op.drop_index("ix_webchat_csat_queue_time", table_name="webchat_csat")
    op.drop_table("webchat_csat")
    op.drop_table("webchat_widget_settings")
