"""cases: numbered cases, links to conversations, notes, activity history

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from omniroute.core.types import UTCDateTime

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_counters",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_case_counters")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=True),
        sa.Column("queue_id", sa.String(length=36), nullable=True),
        sa.Column("category", sa.String(length=100), server_default="", nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolution_type", sa.String(length=40), nullable=True),
        sa.Column("sla_due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sla_paused_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("held_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_cases_created_by_users")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_cases_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_cases_owner_id_users")),
        sa.ForeignKeyConstraint(["queue_id"], ["queues.id"], name=op.f("fk_cases_queue_id_queues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint(
            "created_by", "idempotency_key", name=op.f("uq_cases_created_by_idempotency_key")
        ),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_cases_customer_status", ["customer_id", "status"], unique=False)
        batch_op.create_index("ix_cases_owner_status", ["owner_id", "status"], unique=False)
        batch_op.create_index("ix_cases_queue_status", ["queue_id", "status"], unique=False)
        batch_op.create_index("ix_cases_sla_due_at", ["sla_due_at"], unique=False)
        batch_op.create_index("ix_cases_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index("ix_cases_updated_at", ["updated_at"], unique=False)

    op.create_table(
        "case_activity",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_activity_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_case_activity")),
        sa.UniqueConstraint("event_id", name=op.f("uq_case_activity_event_id")),
    )
    with op.batch_alter_table("case_activity", schema=None) as batch_op:
        batch_op.create_index("ix_case_activity_case", ["case_id", "position"], unique=False)
        batch_op.create_index("ix_case_activity_customer", ["customer_id", "occurred_at"], unique=False)

    op.create_table(
        "case_conversations",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("linked_by", sa.String(length=36), nullable=True),
        sa.Column("linked_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_conversations_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_case_conversations_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linked_by"], ["users.id"], name=op.f("fk_case_conversations_linked_by_users")
        ),
        sa.PrimaryKeyConstraint("case_id", "conversation_id", name=op.f("pk_case_conversations")),
    )
    with op.batch_alter_table("case_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_conversations_conversation_id"), ["conversation_id"], unique=False
        )

    op.create_table(
        "case_notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_case_notes_author_id_users")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_notes_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
        sa.UniqueConstraint("case_id", "idempotency_key", name=op.f("uq_case_notes_case_id_idempotency_key")),
    )
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_notes_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_notes_case_id"))

    op.drop_table("case_notes")
    with op.batch_alter_table("case_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_conversations_conversation_id"))

    op.drop_table("case_conversations")
    with op.batch_alter_table("case_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_case_activity_customer")
        batch_op.drop_index("ix_case_activity_case")

    op.drop_table("case_activity")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_updated_at")
        batch_op.drop_index("ix_cases_status_created")
        batch_op.drop_index("ix_cases_sla_due_at")
        batch_op.drop_index("ix_cases_queue_status")
        batch_op.drop_index("ix_cases_owner_status")
        batch_op.drop_index("ix_cases_customer_status")
        batch_op.drop_index("ix_cases_created_at")

    op.drop_table("cases")
    op.drop_table("case_counters")
