"""The ``attachments`` table: metadata and bytes in one row (the bytes are read only to serve them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.attachments.model import Attachment, UploaderKind
from omniroute.core.db import metadata
from omniroute.core.types import AnyRow, UTCDateTime

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("content_type", sa.String(120), nullable=False),
    sa.Column("filename", sa.String(200), nullable=False),
    sa.Column("uploaded_by_kind", sa.String(20), nullable=False),
    sa.Column("uploaded_by_id", sa.String(36), nullable=True),
    sa.Column("message_id", sa.String(36), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("content", sa.LargeBinary(), nullable=False),
    sa.Index("ix_attachments_conversation_sha256", "conversation_id", "sha256"),
)

#: Everything but the bytes.
META = [c for c in attachments.c if c.name != "content"]


def _attachment(row: AnyRow) -> Attachment:
    m = row._mapping
    return Attachment(
        id=m["id"],
        conversation_id=m["conversation_id"],
        sha256=m["sha256"],
        size=m["size"],
        content_type=m["content_type"],
        filename=m["filename"],
        uploaded_by_kind=UploaderKind(m["uploaded_by_kind"]),
        uploaded_by_id=m["uploaded_by_id"],
        created_at=m["created_at"],
        message_id=m["message_id"],
    )


async def insert(conn: AsyncConnection, att: Attachment, content: bytes) -> None:
    await conn.execute(
        attachments.insert().values(
            id=att.id,
            conversation_id=att.conversation_id,
            sha256=att.sha256,
            size=att.size,
            content_type=att.content_type,
            filename=att.filename,
            uploaded_by_kind=att.uploaded_by_kind.value,
            uploaded_by_id=att.uploaded_by_id,
            message_id=att.message_id,
            created_at=att.created_at,
            content=content,
        )
    )


async def find_same(
    conn: AsyncConnection, conversation_id: str, sha256: str, filename: str, kind: UploaderKind
) -> Attachment | None:
    """The same bytes, under the same name, from the same side of the same conversation."""
    row = (
        await conn.execute(
            sa.select(*META)
            .where(
                attachments.c.conversation_id == conversation_id,
                attachments.c.sha256 == sha256,
                attachments.c.filename == filename,
                attachments.c.uploaded_by_kind == kind.value,
            )
            .order_by(attachments.c.created_at, attachments.c.id)
            .limit(1)
        )
    ).first()
    return _attachment(row) if row else None


async def get(conn: AsyncConnection, attachment_id: str) -> Attachment | None:
    row = (await conn.execute(sa.select(*META).where(attachments.c.id == attachment_id))).first()
    return _attachment(row) if row else None


async def get_many(conn: AsyncConnection, ids: list[str]) -> dict[str, Attachment]:
    rows = await conn.execute(sa.select(*META).where(attachments.c.id.in_(ids)))
    found = [_attachment(r) for r in rows]
    return {a.id: a for a in found}


async def content(conn: AsyncConnection, attachment_id: str) -> bytes | None:
    row = (
        await conn.execute(sa.select(attachments.c.content).where(attachments.c.id == attachment_id))
    ).first()
    return bytes(row[0]) if row else None


async def mark_sent(conn: AsyncConnection, ids: list[str], message_id: str) -> None:
    """Remember the first message that carried each file (later messages keep the first one)."""
    await conn.execute(
        attachments.update()
        .where(attachments.c.id.in_(ids), attachments.c.message_id.is_(None))
        .values(message_id=message_id)
    )


async def list_for_conversation(conn: AsyncConnection, conversation_id: str) -> list[Attachment]:
    rows = await conn.execute(
        sa.select(*META)
        .where(attachments.c.conversation_id == conversation_id)
        .order_by(attachments.c.created_at, attachments.c.id)
    )
    return [_attachment(r) for r in rows]
