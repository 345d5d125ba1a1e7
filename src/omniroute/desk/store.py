"""Tables and queries of the desk: quick replies, each queue's disposition codes, and the code
chosen for each conversation."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import metadata
from omniroute.core.types import AnyRow, UTCDateTime
from omniroute.desk.model import (
    Disposition,
    DispositionCode,
    QueueDispositions,
    QuickReply,
    ReplyContent,
)

quick_replies = sa.Table(
    "desk_quick_replies",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("title", sa.String(120), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("language", sa.String(8), nullable=True),
    sa.Column("tags", sa.JSON(), nullable=False),
    # NULL: shared with everybody. A person's own replies go with them.
    sa.Column(
        "owner_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    ),
    sa.Column("created_by", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
)

queue_dispositions = sa.Table(
    "desk_queue_dispositions",
    metadata,
    sa.Column("queue_id", sa.String(36), sa.ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("required", sa.Boolean(), nullable=False, server_default=sa.false()),
    # [{"code", "label"}] in the order agents see them; a short list read whole with its queue.
    sa.Column("codes", sa.JSON(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
)

dispositions = sa.Table(
    "desk_dispositions",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("queue_id", sa.String(36), nullable=False, index=True),
    sa.Column("code", sa.String(40), nullable=False),
    # The label as it read when chosen: a code renamed or removed later does not rewrite history.
    sa.Column("label", sa.String(120), nullable=False),
    sa.Column("notes", sa.Text(), nullable=False),
    sa.Column("agent_id", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
)


# -- quick replies ----------------------------------------------------------------------------------


def _reply(row: AnyRow) -> QuickReply:
    m = row._mapping
    return QuickReply(
        id=m["id"],
        content=ReplyContent(
            title=m["title"], text=m["text"], language=m["language"], tags=tuple(m["tags"] or ())
        ),
        owner_id=m["owner_id"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        version=m["version"],
    )


def _reply_values(reply: QuickReply) -> dict[str, object]:
    c = reply.content
    return {
        "title": c.title,
        "text": c.text,
        "language": c.language,
        "tags": list(c.tags),
        "owner_id": reply.owner_id,
        "created_by": reply.created_by,
        "created_at": reply.created_at,
        "updated_at": reply.updated_at,
        "version": reply.version,
    }


async def insert_reply(conn: AsyncConnection, reply: QuickReply) -> None:
    await conn.execute(quick_replies.insert().values(id=reply.id, **_reply_values(reply)))


async def update_reply(conn: AsyncConnection, reply: QuickReply) -> None:
    await conn.execute(
        quick_replies.update().where(quick_replies.c.id == reply.id).values(**_reply_values(reply))
    )


async def delete_reply(conn: AsyncConnection, reply_id: str) -> None:
    await conn.execute(quick_replies.delete().where(quick_replies.c.id == reply_id))


async def get_reply(conn: AsyncConnection, reply_id: str, *, for_update: bool = False) -> QuickReply | None:
    query = sa.select(quick_replies).where(quick_replies.c.id == reply_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _reply(row) if row else None


async def visible_replies(conn: AsyncConnection, user_id: str) -> list[QuickReply]:
    """The shared replies and the user's own."""
    rows = await conn.execute(
        sa.select(quick_replies).where(
            sa.or_(quick_replies.c.owner_id.is_(None), quick_replies.c.owner_id == user_id)
        )
    )
    return [_reply(r) for r in rows]


async def own_replies(conn: AsyncConnection, user_id: str) -> list[QuickReply]:
    """The user's personal replies (not the shared ones)."""
    rows = await conn.execute(sa.select(quick_replies).where(quick_replies.c.owner_id == user_id))
    return [_reply(r) for r in rows]


# -- disposition codes ------------------------------------------------------------------------------


def _queue_dispositions(row: AnyRow) -> QueueDispositions:
    m = row._mapping
    return QueueDispositions(
        queue_id=m["queue_id"],
        required=bool(m["required"]),
        codes=tuple(DispositionCode(c["code"], c["label"]) for c in m["codes"] or ()),
        version=m["version"],
        updated_at=m["updated_at"],
        updated_by=m["updated_by"],
    )


async def get_queue_dispositions(
    conn: AsyncConnection, queue_id: str, *, for_update: bool = False
) -> QueueDispositions | None:
    query = sa.select(queue_dispositions).where(queue_dispositions.c.queue_id == queue_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _queue_dispositions(row) if row else None


async def save_queue_dispositions(conn: AsyncConnection, config: QueueDispositions, *, existed: bool) -> None:
    values = {
        "required": config.required,
        "codes": [{"code": c.code, "label": c.label} for c in config.codes],
        "version": config.version,
        "updated_at": config.updated_at,
        "updated_by": config.updated_by,
    }
    if existed:
        await conn.execute(
            queue_dispositions.update()
            .where(queue_dispositions.c.queue_id == config.queue_id)
            .values(**values)
        )
    else:
        await conn.execute(queue_dispositions.insert().values(queue_id=config.queue_id, **values))


def _disposition(row: AnyRow) -> Disposition:
    m = row._mapping
    return Disposition(
        conversation_id=m["conversation_id"],
        queue_id=m["queue_id"],
        code=m["code"],
        label=m["label"],
        notes=m["notes"],
        agent_id=m["agent_id"],
        recorded_at=m["recorded_at"],
    )


async def get_disposition(conn: AsyncConnection, conversation_id: str) -> Disposition | None:
    row = (
        await conn.execute(sa.select(dispositions).where(dispositions.c.conversation_id == conversation_id))
    ).first()
    return _disposition(row) if row else None


async def save_disposition(conn: AsyncConnection, chosen: Disposition, *, existed: bool) -> None:
    values = {
        "queue_id": chosen.queue_id,
        "code": chosen.code,
        "label": chosen.label,
        "notes": chosen.notes,
        "agent_id": chosen.agent_id,
        "recorded_at": chosen.recorded_at,
    }
    if existed:
        await conn.execute(
            dispositions.update()
            .where(dispositions.c.conversation_id == chosen.conversation_id)
            .values(**values)
        )
    else:
        await conn.execute(dispositions.insert().values(conversation_id=chosen.conversation_id, **values))
