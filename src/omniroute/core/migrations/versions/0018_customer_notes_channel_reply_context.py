"""customer notes; outbound send time and recipient (watermark receipts); channel reply context

Revision ID: 0018
Revises: 0015
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from omniroute.core.types import UTCDateTime

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("pinned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_notes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_customer_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_notes")),
    )
    op.create_index(op.f("ix_customer_notes_customer_id"), "customer_notes", ["customer_id"], unique=False)

    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("to_address", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("sent_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_outbound_messages_recipient", ["account_id", "to_address"], unique=False)

    # Rows written before this revision: the recipient is in the payload; a message the provider
    # accepted was sent no later than its last change (a later receipt only moves it forward).
    outbound = sa.table(
        "outbound_messages",
        sa.column("id", sa.String()),
        sa.column("payload", sa.JSON()),
        sa.column("to_address", sa.String()),
        sa.column("provider_message_id", sa.String()),
        sa.column("sent_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(outbound.c.id, outbound.c.payload, outbound.c.provider_message_id)):
        payload = row.payload if isinstance(row.payload, dict) else {}
        to = payload.get("to")
        values: dict[str, object] = {}
        if isinstance(to, str) and to:
            values["to_address"] = to[:320]
        if row.provider_message_id is not None:
            values["sent_at"] = outbound.c.updated_at
        if values:
            conn.execute(outbound.update().where(outbound.c.id == row.id).values(**values))

    op.create_table(
        "channel_reply_contexts",
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_channel_reply_contexts_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["channel_accounts.id"],
            name=op.f("fk_channel_reply_contexts_account_id_channel_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_channel_reply_contexts")),
    )


def downgrade() -> None:
    op.drop_table("channel_reply_contexts")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_messages_recipient")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("to_address")
    op.drop_index(op.f("ix_customer_notes_customer_id"), table_name="customer_notes")
    op.drop_table("customer_notes")
