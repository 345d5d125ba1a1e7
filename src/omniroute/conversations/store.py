"""Tables and queries for conversations and messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.conversations.model import (
    Conversation,
    ConversationState,
    Location,
    MessageAttachment,
    SenderKind,
)
from omniroute.core.db import metadata
from omniroute.core.types import AnyRow, UTCDateTime

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("queue_id", sa.String(36), sa.ForeignKey("queues.id"), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("agent_id", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("subject", sa.String(500), nullable=False, server_default=""),
    sa.Column("prechat", sa.JSON(), nullable=False),
    sa.Column("last_seq", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("customer_token_hash", sa.String(64), nullable=True, unique=True),
    sa.Column("channel_account_id", sa.String(36), nullable=True),
    sa.Column("customer_address", sa.String(320), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("queued_at", UTCDateTime(), nullable=True),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column("ended_by", sa.String(20), nullable=True),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    sa.Index("ix_conversations_queue_state", "queue_id", "state", "queued_at"),
    sa.Index("ix_conversations_agent_state", "agent_id", "state"),
    sa.Index("ix_conversations_customer_state", "customer_id", "state"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("sender_kind", sa.String(20), nullable=False),
    sa.Column("sender_id", sa.String(36), nullable=True),
    sa.Column("sender_name", sa.String(200), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("idempotency_key", sa.String(300), nullable=True),
    sa.Column("delivery_status", sa.String(20), nullable=True),
    sa.Column("delivery_error", sa.String(1000), nullable=True),
    #: The files the message carries (metadata only; the bytes are in ``attachments``).
    sa.Column("attachments", sa.JSON(), nullable=True),
    #: The place the message shares: {latitude, longitude, name, address} (migration 0024).
    sa.Column("location", sa.JSON(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("conversation_id", "seq"),
    sa.UniqueConstraint("conversation_id", "idempotency_key"),
)

#: Internal notes: agent-only remarks on a conversation (consults whisper here). They are not
#: messages: they take no sequence number, never reach the customer or a channel's outbox.
notes = sa.Table(
    "conversation_notes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("author_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("author_name", sa.String(200), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("idempotency_key", sa.String(300), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_conversation_notes_conversation", "conversation_id", "created_at"),
    sa.UniqueConstraint("conversation_id", "idempotency_key"),
)


@dataclass(frozen=True)
class Note:
    id: str
    conversation_id: str
    author_id: str
    author_name: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    seq: int
    sender_kind: SenderKind
    sender_id: str | None
    sender_name: str
    text: str
    created_at: datetime
    idempotency_key: str | None = None
    delivery_status: str | None = None
    delivery_error: str | None = None
    attachments: tuple[MessageAttachment, ...] = ()
    location: Location | None = None


def _conversation(row: AnyRow) -> Conversation:
    m = row._mapping
    return Conversation(
        id=m["id"],
        channel=m["channel"],
        customer_id=m["customer_id"],
        queue_id=m["queue_id"],
        state=ConversationState(m["state"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        queued_at=m["queued_at"],
        agent_id=m["agent_id"],
        subject=m["subject"],
        prechat=dict(m["prechat"] or {}),
        last_seq=m["last_seq"],
        ended_at=m["ended_at"],
        ended_by=SenderKind(m["ended_by"]) if m["ended_by"] else None,
        closed_at=m["closed_at"],
        channel_account_id=m["channel_account_id"],
        customer_address=m["customer_address"],
    )


def _message(row: AnyRow) -> Message:
    m = row._mapping
    return Message(
        id=m["id"],
        conversation_id=m["conversation_id"],
        seq=m["seq"],
        sender_kind=SenderKind(m["sender_kind"]),
        sender_id=m["sender_id"],
        sender_name=m["sender_name"],
        text=m["text"],
        created_at=m["created_at"],
        idempotency_key=m["idempotency_key"],
        delivery_status=m["delivery_status"],
        delivery_error=m["delivery_error"],
        attachments=tuple(MessageAttachment.of(a) for a in m["attachments"] or ()),
        location=Location.of(m["location"]),
    )


async def insert_conversation(
    conn: AsyncConnection, conv: Conversation, customer_token_hash: str | None
) -> None:
    await conn.execute(
        conversations.insert().values(
            id=conv.id,
            channel=conv.channel,
            customer_id=conv.customer_id,
            queue_id=conv.queue_id,
            state=conv.state.value,
            agent_id=conv.agent_id,
            subject=conv.subject,
            prechat=conv.prechat,
            last_seq=conv.last_seq,
            customer_token_hash=customer_token_hash,
            channel_account_id=conv.channel_account_id,
            customer_address=conv.customer_address,
            created_at=conv.created_at,
            updated_at=conv.updated_at,
            queued_at=conv.queued_at,
        )
    )


async def get_conversation(
    conn: AsyncConnection, conversation_id: str, *, for_update: bool = False
) -> Conversation | None:
    query = sa.select(conversations).where(conversations.c.id == conversation_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _conversation(row) if row else None


async def get_conversation_by_customer_token(conn: AsyncConnection, token_hash: str) -> Conversation | None:
    query = sa.select(conversations).where(conversations.c.customer_token_hash == token_hash)
    row = (await conn.execute(query)).first()
    return _conversation(row) if row else None


async def save_conversation(conn: AsyncConnection, conv: Conversation) -> None:
    """Write the mutable fields (everything but identity, sequence and token)."""
    await conn.execute(
        conversations.update()
        .where(conversations.c.id == conv.id)
        .values(
            state=conv.state.value,
            agent_id=conv.agent_id,
            queue_id=conv.queue_id,
            updated_at=conv.updated_at,
            queued_at=conv.queued_at,
            ended_at=conv.ended_at,
            ended_by=conv.ended_by.value if conv.ended_by else None,
            closed_at=conv.closed_at,
        )
    )


async def allocate_seq(conn: AsyncConnection, conversation_id: str) -> int:
    """Take the next sequence number; the row lock orders concurrent writers per conversation."""
    result = await conn.execute(
        conversations.update()
        .where(conversations.c.id == conversation_id)
        .values(last_seq=conversations.c.last_seq + 1)
        .returning(conversations.c.last_seq)
    )
    return int(result.scalar_one())


async def claim_next_seq(conn: AsyncConnection, conversation_id: str) -> Conversation | None:
    """Lock the conversation and take its next sequence number in one statement.

    The returned conversation's ``last_seq`` is the claimed number; rolling back releases it.
    """
    result = await conn.execute(
        conversations.update()
        .where(conversations.c.id == conversation_id)
        .values(last_seq=conversations.c.last_seq + 1)
        .returning(*conversations.c)
    )
    row = result.first()
    return _conversation(row) if row else None


async def insert_message(conn: AsyncConnection, msg: Message) -> None:
    await conn.execute(
        messages.insert().values(
            id=msg.id,
            conversation_id=msg.conversation_id,
            seq=msg.seq,
            sender_kind=msg.sender_kind.value,
            sender_id=msg.sender_id,
            sender_name=msg.sender_name,
            text=msg.text,
            idempotency_key=msg.idempotency_key,
            attachments=[a.as_dict() for a in msg.attachments] or None,
            location=msg.location.as_dict() if msg.location is not None else None,
            created_at=msg.created_at,
        )
    )


async def find_message_by_key(conn: AsyncConnection, conversation_id: str, key: str) -> Message | None:
    query = sa.select(messages).where(
        messages.c.conversation_id == conversation_id, messages.c.idempotency_key == key
    )
    row = (await conn.execute(query)).first()
    return _message(row) if row else None


async def list_messages(
    conn: AsyncConnection, conversation_id: str, after_seq: int = 0, limit: int = 500
) -> list[Message]:
    query = (
        sa.select(messages)
        .where(messages.c.conversation_id == conversation_id, messages.c.seq > after_seq)
        .order_by(messages.c.seq)
        .limit(limit)
    )
    return [_message(r) for r in await conn.execute(query)]


async def list_agent_conversations(
    conn: AsyncConnection, agent_id: str, states: frozenset[ConversationState]
) -> list[Conversation]:
    query = (
        sa.select(conversations)
        .where(
            conversations.c.agent_id == agent_id,
            conversations.c.state.in_([s.value for s in states]),
        )
        .order_by(conversations.c.updated_at)
    )
    return [_conversation(r) for r in await conn.execute(query)]


async def count_waiting(conn: AsyncConnection, queue_id: str) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(conversations)
        .where(conversations.c.queue_id == queue_id, conversations.c.state == ConversationState.OPEN.value)
    )
    return int((await conn.execute(query)).scalar_one())


async def latest_live_for_customer(
    conn: AsyncConnection, customer_id: str, channel_account_id: str
) -> Conversation | None:
    """The customer's conversation still in progress on this channel account, if any."""
    query = (
        sa.select(conversations)
        .where(
            conversations.c.customer_id == customer_id,
            conversations.c.channel_account_id == channel_account_id,
            conversations.c.state.in_(
                [
                    s.value
                    for s in (ConversationState.OPEN, ConversationState.ACTIVE, ConversationState.WAITING)
                ]
            ),
        )
        .order_by(conversations.c.created_at.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return _conversation(row) if row else None


async def set_delivery(
    conn: AsyncConnection, message_id: str, status: str, error: str | None
) -> Message | None:
    await conn.execute(
        messages.update()
        .where(messages.c.id == message_id)
        .values(delivery_status=status, delivery_error=error)
    )
    row = (await conn.execute(sa.select(messages).where(messages.c.id == message_id))).first()
    return _message(row) if row else None


async def list_routable(conn: AsyncConnection) -> list[Conversation]:
    """Conversations routing must know about after a restart: queued, assigned or in wrap-up."""
    live = [
        s.value
        for s in (
            ConversationState.OPEN,
            ConversationState.ACTIVE,
            ConversationState.WAITING,
            ConversationState.WRAP_UP,
        )
    ]
    query = (
        sa.select(conversations).where(conversations.c.state.in_(live)).order_by(conversations.c.queued_at)
    )
    return [_conversation(r) for r in await conn.execute(query)]


async def last_customer_message(conn: AsyncConnection, conversation_id: str) -> Message | None:
    query = (
        sa.select(messages)
        .where(
            messages.c.conversation_id == conversation_id, messages.c.sender_kind == SenderKind.CUSTOMER.value
        )
        .order_by(messages.c.seq.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return _message(row) if row else None


async def last_agent_for_customer(conn: AsyncConnection, customer_id: str) -> str | None:
    """Who last worked with this customer, on any channel (for "keep the same agent")."""
    query = (
        sa.select(conversations.c.agent_id)
        .where(conversations.c.customer_id == customer_id, conversations.c.agent_id.is_not(None))
        .order_by(conversations.c.updated_at.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return str(row[0]) if row else None


async def list_waiting_in(conn: AsyncConnection, queue_id: str, limit: int = 500) -> list[Conversation]:
    query = (
        sa.select(conversations)
        .where(conversations.c.queue_id == queue_id, conversations.c.state == ConversationState.OPEN.value)
        .order_by(conversations.c.queued_at, conversations.c.id)
        .limit(limit)
    )
    return [_conversation(r) for r in await conn.execute(query)]


def _note(row: AnyRow) -> Note:
    return Note(
        id=row.id,
        conversation_id=row.conversation_id,
        author_id=row.author_id,
        author_name=row.author_name,
        text=row.text,
        created_at=row.created_at,
    )


async def insert_note(conn: AsyncConnection, note: Note, idempotency_key: str | None) -> Note:
    """Store a note once per idempotency key; a retry gets the note stored the first time."""
    if idempotency_key is not None:
        found = await conn.execute(
            sa.select(notes).where(
                notes.c.conversation_id == note.conversation_id, notes.c.idempotency_key == idempotency_key
            )
        )
        row = found.first()
        if row is not None:
            return _note(row)
    await conn.execute(
        notes.insert().values(
            id=note.id,
            conversation_id=note.conversation_id,
            author_id=note.author_id,
            author_name=note.author_name,
            text=note.text,
            idempotency_key=idempotency_key,
            created_at=note.created_at,
        )
    )
    return note


async def list_notes(conn: AsyncConnection, conversation_id: str) -> list[Note]:
    rows = await conn.execute(
        sa.select(notes)
        .where(notes.c.conversation_id == conversation_id)
        .order_by(notes.c.created_at, notes.c.id)
    )
    return [_note(r) for r in rows]


async def move_customer(conn: AsyncConnection, from_id: str, to_id: str) -> None:
    await conn.execute(
        conversations.update().where(conversations.c.customer_id == from_id).values(customer_id=to_id)
    )


async def list_customer_conversations(
    conn: AsyncConnection, customer_id: str, limit: int = 50, before: datetime | None = None
) -> list[Conversation]:
    """A customer's conversations on every channel, newest first."""
    query = sa.select(conversations).where(conversations.c.customer_id == customer_id)
    if before is not None:
        query = query.where(conversations.c.created_at < before)
    rows = await conn.execute(
        query.order_by(conversations.c.created_at.desc(), conversations.c.id.desc()).limit(limit)
    )
    return [_conversation(r) for r in rows]
