"""Tables and queries for channel accounts, the inbound receipt log and the outbound outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import metadata
from omniroute.core.types import AnyRow, UTCDateTime

channel_accounts = sa.Table(
    "channel_accounts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("settings", sa.JSON(), nullable=False),
    sa.Column("secrets", sa.JSON(), nullable=False),  # values sealed by core.secretbox
    sa.Column("default_queue_id", sa.String(36), sa.ForeignKey("queues.id"), nullable=True),
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("channel", "name"),
)

#: Every verified webhook item, stored before we answer the provider: the durable inbox.
inbound_receipts = sa.Table(
    "inbound_receipts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "account_id", sa.String(36), sa.ForeignKey("channel_accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("dedupe_key", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("processed_at", UTCDateTime(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("error", sa.String(1000), nullable=True),
    #: A failed receipt is tried again from this time on (backoff); None: due now.
    sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
    #: Set when the receipt used up its tries (the dead letter): kept for administrators, never
    #: picked up again unless one requeues it.
    sa.Column("dead_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("account_id", "dedupe_key"),
    sa.Index("ix_inbound_receipts_pending", "processed_at", "received_at"),
)

#: Messages to send to customers, written in the transaction that stored them (outbox pattern).
outbound_messages = sa.Table(
    "outbound_messages",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "account_id", sa.String(36), sa.ForeignKey("channel_accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "message_id",
        sa.String(36),
        sa.ForeignKey("messages.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("due_at", UTCDateTime(), nullable=True),
    sa.Column("provider_message_id", sa.String(300), nullable=True, index=True),
    sa.Column("error", sa.String(1000), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # Who it went to and when the provider accepted it: watermark receipts ("everything sent to
    # this person up to T was read", Messenger) are resolved against these two columns.
    sa.Column("to_address", sa.String(320), nullable=True),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.Index("ix_outbound_messages_due", "status", "due_at"),
    sa.Index("ix_outbound_messages_recipient", "account_id", "to_address"),
)

#: What an adapter needs to reply in a conversation that the address alone does not say (Teams:
#: the serviceUrl and the activity answered). The latest inbound message's context wins.
reply_contexts = sa.Table(
    "channel_reply_contexts",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "account_id", sa.String(36), sa.ForeignKey("channel_accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("context", sa.JSON(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

#: Keys that identify a conversation's thread on a channel (email Message-IDs, subject tokens).
thread_keys = sa.Table(
    "channel_thread_keys",
    metadata,
    sa.Column(
        "account_id",
        sa.String(36),
        sa.ForeignKey("channel_accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(500), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("added_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True)
class AccountRow:
    id: str
    channel: str
    name: str
    settings: dict[str, Any]
    secrets: dict[str, str]  # sealed
    default_queue_id: str | None
    enabled: bool


@dataclass(frozen=True)
class Receipt:
    id: str
    account_id: str
    dedupe_key: str
    kind: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int


@dataclass(frozen=True)
class DeadReceipt:
    """A receipt that failed every try: what arrived, why it failed, when it was given up."""

    id: str
    account_id: str
    dedupe_key: str
    kind: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int
    error: str | None
    dead_at: datetime


@dataclass(frozen=True)
class OutboxRow:
    id: str
    account_id: str
    conversation_id: str
    message_id: str
    payload: dict[str, Any]
    status: str
    attempts: int
    due_at: datetime | None
    provider_message_id: str | None
    error: str | None


def _account(row: AnyRow) -> AccountRow:
    m = row._mapping
    return AccountRow(
        id=m["id"],
        channel=m["channel"],
        name=m["name"],
        settings=dict(m["settings"]),
        secrets=dict(m["secrets"]),
        default_queue_id=m["default_queue_id"],
        enabled=bool(m["enabled"]),
    )


def _outbox(row: AnyRow) -> OutboxRow:
    m = row._mapping
    return OutboxRow(
        id=m["id"],
        account_id=m["account_id"],
        conversation_id=m["conversation_id"],
        message_id=m["message_id"],
        payload=dict(m["payload"]),
        status=m["status"],
        attempts=m["attempts"],
        due_at=m["due_at"],
        provider_message_id=m["provider_message_id"],
        error=m["error"],
    )


async def insert_account(conn: AsyncConnection, account: AccountRow, now: datetime) -> None:
    await conn.execute(
        channel_accounts.insert().values(
            id=account.id,
            channel=account.channel,
            name=account.name,
            settings=account.settings,
            secrets=account.secrets,
            default_queue_id=account.default_queue_id,
            enabled=account.enabled,
            created_at=now,
        )
    )


async def update_account(conn: AsyncConnection, account: AccountRow) -> None:
    await conn.execute(
        channel_accounts.update()
        .where(channel_accounts.c.id == account.id)
        .values(
            name=account.name,
            settings=account.settings,
            secrets=account.secrets,
            default_queue_id=account.default_queue_id,
            enabled=account.enabled,
        )
    )


async def get_account(conn: AsyncConnection, account_id: str) -> AccountRow | None:
    row = (await conn.execute(sa.select(channel_accounts).where(channel_accounts.c.id == account_id))).first()
    return _account(row) if row else None


async def list_accounts(conn: AsyncConnection) -> list[AccountRow]:
    query = sa.select(channel_accounts).order_by(channel_accounts.c.channel, channel_accounts.c.name)
    return [_account(r) for r in await conn.execute(query)]


async def insert_receipt(conn: AsyncConnection, receipt: Receipt) -> bool:
    """Store a receipt unless its dedupe key was seen; True when it is new.

    One ``INSERT … ON CONFLICT DO NOTHING``: the unique index decides, in a single round trip,
    and a duplicate neither raises nor spoils the transaction.
    """
    values = {
        "id": receipt.id,
        "account_id": receipt.account_id,
        "dedupe_key": receipt.dedupe_key,
        "kind": receipt.kind,
        "payload": receipt.payload,
        "received_at": receipt.received_at,
    }
    dialect = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect(inbound_receipts)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["account_id", "dedupe_key"])
    )
    result = await conn.execute(statement)
    return bool(result.rowcount == 1)


def _receipt(row: AnyRow) -> Receipt:
    m = row._mapping
    return Receipt(
        id=m["id"],
        account_id=m["account_id"],
        dedupe_key=m["dedupe_key"],
        kind=m["kind"],
        payload=dict(m["payload"]),
        received_at=m["received_at"],
        attempts=m["attempts"],
    )


def _live_receipts() -> sa.ColumnElement[bool]:
    return sa.and_(inbound_receipts.c.processed_at.is_(None), inbound_receipts.c.dead_at.is_(None))


async def pending_receipts(
    conn: AsyncConnection, now: datetime, limit: int, *, skip_locked: bool
) -> list[Receipt]:
    """Receipts to process now, oldest first: neither processed nor dead-lettered, and due (a
    failed one waits for its ``next_attempt_at``), so failing receipts never fill the batch."""
    query = (
        sa.select(inbound_receipts)
        .where(
            _live_receipts(),
            sa.or_(inbound_receipts.c.next_attempt_at.is_(None), inbound_receipts.c.next_attempt_at <= now),
        )
        .order_by(inbound_receipts.c.received_at, inbound_receipts.c.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    return [_receipt(r) for r in await conn.execute(query)]


async def next_receipt_due(conn: AsyncConnection) -> datetime | None:
    """When the earliest failed receipt waiting for another try is due (None: none waits)."""
    query = sa.select(sa.func.min(inbound_receipts.c.next_attempt_at)).where(
        _live_receipts(), inbound_receipts.c.next_attempt_at.is_not(None)
    )
    value = (await conn.execute(query)).scalar_one_or_none()
    return UTCDateTime().process_result_value(value, conn.dialect) if value is not None else None


async def receipt_processed(conn: AsyncConnection, receipt_id: str, now: datetime) -> None:
    await conn.execute(
        inbound_receipts.update()
        .where(inbound_receipts.c.id == receipt_id)
        .values(
            processed_at=now,
            error=None,
            next_attempt_at=None,
            attempts=inbound_receipts.c.attempts + 1,
        )
    )


async def receipt_failed(
    conn: AsyncConnection,
    receipt_id: str,
    error: str,
    *,
    next_attempt_at: datetime | None,
    dead_at: datetime | None,
) -> None:
    """Count a failed try: wait until ``next_attempt_at``, or dead-letter it at ``dead_at``."""
    await conn.execute(
        inbound_receipts.update()
        .where(inbound_receipts.c.id == receipt_id)
        .values(
            error=error[:1000],
            next_attempt_at=next_attempt_at,
            dead_at=dead_at,
            attempts=inbound_receipts.c.attempts + 1,
        )
    )


async def dead_receipts(conn: AsyncConnection, account_id: str | None, limit: int) -> list[DeadReceipt]:
    """Dead-lettered receipts, newest first (one account's, or every account's)."""
    query = sa.select(inbound_receipts).where(
        inbound_receipts.c.processed_at.is_(None), inbound_receipts.c.dead_at.is_not(None)
    )
    if account_id is not None:
        query = query.where(inbound_receipts.c.account_id == account_id)
    query = query.order_by(inbound_receipts.c.dead_at.desc(), inbound_receipts.c.id).limit(limit)
    found = []
    for row in await conn.execute(query):
        m = row._mapping
        found.append(
            DeadReceipt(
                id=m["id"],
                account_id=m["account_id"],
                dedupe_key=m["dedupe_key"],
                kind=m["kind"],
                payload=dict(m["payload"]),
                received_at=m["received_at"],
                attempts=m["attempts"],
                error=m["error"],
                dead_at=m["dead_at"],
            )
        )
    return found


async def requeue_receipt(conn: AsyncConnection, account_id: str, receipt_id: str) -> bool:
    """Give a dead-lettered receipt a fresh set of tries, due now; False when there is no such
    dead receipt of this account."""
    result = await conn.execute(
        inbound_receipts.update()
        .where(
            inbound_receipts.c.id == receipt_id,
            inbound_receipts.c.account_id == account_id,
            inbound_receipts.c.processed_at.is_(None),
            inbound_receipts.c.dead_at.is_not(None),
        )
        .values(dead_at=None, next_attempt_at=None, attempts=0)
    )
    return bool(result.rowcount)


async def insert_outbox(conn: AsyncConnection, row: OutboxRow, now: datetime) -> None:
    await conn.execute(
        outbound_messages.insert().values(
            id=row.id,
            account_id=row.account_id,
            conversation_id=row.conversation_id,
            message_id=row.message_id,
            payload=row.payload,
            status=row.status,
            attempts=row.attempts,
            due_at=row.due_at,
            created_at=now,
            updated_at=now,
            to_address=str(row.payload.get("to") or "")[:320] or None,
        )
    )


#: Outbox rows the send worker picks up once their ``due_at`` passes.
OUTBOX_DUE_STATUSES = ("queued", "sending")


async def due_outbox(
    conn: AsyncConnection, now: datetime, limit: int, *, skip_locked: bool
) -> list[OutboxRow]:
    # "sending" rows are claimed: their due_at is the claim's lease, and one still "sending" after
    # it lapsed belongs to a worker that died mid-send — it is due again (sent at least once).
    query = (
        sa.select(outbound_messages)
        .where(outbound_messages.c.status.in_(OUTBOX_DUE_STATUSES), outbound_messages.c.due_at <= now)
        .order_by(outbound_messages.c.due_at, outbound_messages.c.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    return [_outbox(r) for r in await conn.execute(query)]


async def next_outbox_due(conn: AsyncConnection) -> datetime | None:
    query = sa.select(sa.func.min(outbound_messages.c.due_at)).where(
        outbound_messages.c.status.in_(OUTBOX_DUE_STATUSES)
    )
    value = (await conn.execute(query)).scalar_one_or_none()
    return UTCDateTime().process_result_value(value, conn.dialect) if value is not None else None


async def update_outbox(conn: AsyncConnection, outbox_id: str, now: datetime, **values: Any) -> None:
    await conn.execute(
        outbound_messages.update().where(outbound_messages.c.id == outbox_id).values(updated_at=now, **values)
    )


async def outbox_by_provider_id(conn: AsyncConnection, account_id: str, provider_id: str) -> OutboxRow | None:
    row = (
        await conn.execute(
            sa.select(outbound_messages).where(
                outbound_messages.c.account_id == account_id,
                outbound_messages.c.provider_message_id == provider_id,
            )
        )
    ).first()
    return _outbox(row) if row else None


async def outbox_for_message(conn: AsyncConnection, message_id: str) -> OutboxRow | None:
    row = (
        await conn.execute(sa.select(outbound_messages).where(outbound_messages.c.message_id == message_id))
    ).first()
    return _outbox(row) if row else None


async def conversation_for_thread(conn: AsyncConnection, account_id: str, keys: Sequence[str]) -> str | None:
    if not keys:
        return None
    row = (
        await conn.execute(
            sa.select(thread_keys.c.conversation_id)
            .where(thread_keys.c.account_id == account_id, thread_keys.c.key.in_(list(keys)))
            .limit(1)
        )
    ).first()
    return str(row[0]) if row else None


async def add_thread_keys(
    conn: AsyncConnection, account_id: str, conversation_id: str, keys: Sequence[str], now: datetime
) -> None:
    for key in dict.fromkeys(k[:500] for k in keys if k):
        exists = (
            await conn.execute(
                sa.select(thread_keys.c.key).where(
                    thread_keys.c.account_id == account_id, thread_keys.c.key == key
                )
            )
        ).first()
        if exists is None:
            await conn.execute(
                thread_keys.insert().values(
                    account_id=account_id, key=key, conversation_id=conversation_id, added_at=now
                )
            )


async def keys_for_conversation(conn: AsyncConnection, conversation_id: str) -> list[str]:
    """Oldest first, so the last one is what a reply answers."""
    result = await conn.execute(
        sa.select(thread_keys.c.key)
        .where(thread_keys.c.conversation_id == conversation_id)
        .order_by(thread_keys.c.added_at, thread_keys.c.key)
    )
    return [str(r[0]) for r in result]


async def outbox_created_at(conn: AsyncConnection, outbox_id: str) -> datetime | None:
    row = (
        await conn.execute(
            sa.select(outbound_messages.c.created_at).where(outbound_messages.c.id == outbox_id)
        )
    ).first()
    return row[0] if row else None


async def outbox_sent_to(
    conn: AsyncConnection, account_id: str, to_address: str, up_to: datetime, below: Sequence[str]
) -> list[OutboxRow]:
    """Messages of this account to ``to_address`` that the provider accepted at or before
    ``up_to`` and whose status is one of ``below`` (the ones a watermark can still move forward)."""
    query = (
        sa.select(outbound_messages)
        .where(
            outbound_messages.c.account_id == account_id,
            outbound_messages.c.to_address == to_address,
            outbound_messages.c.sent_at.is_not(None),
            outbound_messages.c.sent_at <= up_to,
            outbound_messages.c.status.in_(list(below)),
        )
        .order_by(outbound_messages.c.sent_at, outbound_messages.c.id)
    )
    return [_outbox(r) for r in await conn.execute(query)]


async def set_sent_at(conn: AsyncConnection, account_id: str, provider_id: str, at: datetime) -> bool:
    """The provider's own time for a message it accepted (more exact than ours); True if found."""
    result = await conn.execute(
        outbound_messages.update()
        .where(
            outbound_messages.c.account_id == account_id,
            outbound_messages.c.provider_message_id == provider_id,
        )
        .values(sent_at=at)
    )
    return bool(result.rowcount)


async def reply_context(conn: AsyncConnection, conversation_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            sa.select(reply_contexts.c.context).where(reply_contexts.c.conversation_id == conversation_id)
        )
    ).first()
    return dict(row[0]) if row and isinstance(row[0], dict) else None


async def save_reply_context(
    conn: AsyncConnection, account_id: str, conversation_id: str, context: dict[str, Any], now: datetime
) -> None:
    """Replace the conversation's reply context (one row per conversation, upserted)."""
    values = {"account_id": account_id, "context": context, "updated_at": now}
    dialect = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = dialect(reply_contexts).values(conversation_id=conversation_id, **values)
    await conn.execute(statement.on_conflict_do_update(index_elements=["conversation_id"], set_=values))


async def reported_sent_at(conn: AsyncConnection, account_id: str, provider_id: str) -> datetime | None:
    """The provider's time for ``provider_id`` if its report (a ``sent_at`` receipt, e.g. an echo)
    arrived before we stored the id: echoes can overtake the answer to the send call itself."""
    row = (
        await conn.execute(
            sa.select(inbound_receipts.c.payload).where(
                inbound_receipts.c.account_id == account_id,
                inbound_receipts.c.dedupe_key == f"sent_at:{provider_id}",
            )
        )
    ).first()
    value = row[0].get("at") if row and isinstance(row[0], dict) else None
    return datetime.fromisoformat(value) if isinstance(value, str) else None
