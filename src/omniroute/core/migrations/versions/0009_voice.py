"""voice: providers, agent mappings, call events, calls, presence outbox

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from omniroute.core.types import UTCDateTime

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_providers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("softphone_url", sa.String(length=2000), nullable=False),
        sa.Column("trusted_origin", sa.String(length=300), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("presence_url", sa.String(length=2000), nullable=True),
        sa.Column("agents_by_user_id", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sort_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("webhook_secret", sa.Text(), nullable=False),
        sa.Column("api_token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_providers")),
        sa.UniqueConstraint("api_token_hash", name=op.f("uq_voice_providers_api_token_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_voice_providers_name")),
    )
    op.create_table(
        "voice_agent_links",
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["voice_providers.id"],
            name=op.f("fk_voice_agent_links_provider_id_voice_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_voice_agent_links_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("provider_id", "user_id", name=op.f("pk_voice_agent_links")),
        sa.UniqueConstraint(
            "provider_id", "external_id", name=op.f("uq_voice_agent_links_provider_id_external_id")
        ),
    )
    op.create_table(
        "voice_call_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=300), nullable=False),
        sa.Column("call_id", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["voice_providers.id"],
            name=op.f("fk_voice_call_events_provider_id_voice_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_call_events")),
        sa.UniqueConstraint(
            "provider_id", "event_id", name=op.f("uq_voice_call_events_provider_id_event_id")
        ),
    )
    with op.batch_alter_table("voice_call_events", schema=None) as batch_op:
        batch_op.create_index("ix_voice_call_events_call", ["provider_id", "call_id"], unique=False)

    op.create_table(
        "voice_presence_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["voice_providers.id"],
            name=op.f("fk_voice_presence_outbox_provider_id_voice_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_presence_outbox")),
        sa.UniqueConstraint(
            "provider_id", "event_id", name=op.f("uq_voice_presence_outbox_provider_id_event_id")
        ),
    )
    with op.batch_alter_table("voice_presence_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_voice_presence_outbox_agent", ["provider_id", "user_id", "occurred_at"], unique=False
        )
        batch_op.create_index("ix_voice_presence_outbox_due", ["status", "due_at"], unique=False)

    op.create_table(
        "voice_calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("direction", sa.String(length=10), nullable=True),
        sa.Column("from_number", sa.String(length=20), nullable=True),
        sa.Column("to_number", sa.String(length=20), nullable=True),
        sa.Column("queue", sa.String(length=300), nullable=True),
        sa.Column("ivr_data", sa.JSON(), nullable=False),
        sa.Column("agent_external_id", sa.String(length=300), nullable=True),
        sa.Column("agent_user_id", sa.String(length=36), nullable=True),
        sa.Column("previous_call_id", sa.String(length=300), nullable=True),
        sa.Column("initial_call_id", sa.String(length=300), nullable=True),
        sa.Column("recording_url", sa.String(length=2000), nullable=True),
        sa.Column("recordings", sa.JSON(), nullable=False),
        sa.Column("transcript_turns", sa.Integer(), server_default="0", nullable=False),
        sa.Column("disposition", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("disposition_by", sa.String(length=36), nullable=True),
        sa.Column("disposition_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("hold_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("transfer_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("durations", sa.JSON(), nullable=False),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.Column("offered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("wrapup_done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("event_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_user_id"],
            ["users.id"],
            name=op.f("fk_voice_calls_agent_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_voice_calls_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_voice_calls_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["disposition_by"],
            ["users.id"],
            name=op.f("fk_voice_calls_disposition_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["voice_providers.id"],
            name=op.f("fk_voice_calls_provider_id_voice_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_calls")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_voice_calls_conversation_id")),
        sa.UniqueConstraint("provider_id", "call_id", name=op.f("uq_voice_calls_provider_id_call_id")),
    )
    with op.batch_alter_table("voice_calls", schema=None) as batch_op:
        batch_op.create_index("ix_voice_calls_agent_state", ["agent_user_id", "state"], unique=False)
        batch_op.create_index("ix_voice_calls_customer", ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("voice_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_calls_customer")
        batch_op.drop_index("ix_voice_calls_agent_state")

    op.drop_table("voice_calls")
    with op.batch_alter_table("voice_presence_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_presence_outbox_due")
        batch_op.drop_index("ix_voice_presence_outbox_agent")

    op.drop_table("voice_presence_outbox")
    with op.batch_alter_table("voice_call_events", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_call_events_call")

    op.drop_table("voice_call_events")
    op.drop_table("voice_agent_links")
    op.drop_table("voice_providers")
