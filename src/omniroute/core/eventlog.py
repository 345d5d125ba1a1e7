"""The append-only event log: the analytics and audit source of truth."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import metadata
from omniroute.core.events import DomainEvent
from omniroute.core.types import UTCDateTime

events_table = sa.Table(
    "events",
    metadata,
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("type", sa.String(80), nullable=False, index=True),
    sa.Column("occurred_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(36), nullable=True, index=True),
    sa.Column("agent_id", sa.String(36), nullable=True, index=True),
    sa.Column("payload", sa.JSON(), nullable=False),
)


async def append_events(conn: AsyncConnection, events: Sequence[DomainEvent]) -> None:
    rows = [
        {
            "event_id": e.event_id,
            "type": e.type,
            "occurred_at": e.occurred_at,
            "conversation_id": e.conversation_ref,
            "agent_id": e.agent_ref,
            "payload": e.to_envelope(),
        }
        for e in events
        if e.durable
    ]
    if rows:
        await conn.execute(events_table.insert(), rows)


async def read_events(
    conn: AsyncConnection,
    *,
    conversation_id: str | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    query = sa.select(events_table.c.payload).order_by(events_table.c.position).limit(limit)
    if conversation_id is not None:
        query = query.where(events_table.c.conversation_id == conversation_id)
    if since is not None:
        query = query.where(events_table.c.occurred_at >= since)
    result = await conn.execute(query)
    return [dict(row.payload) for row in result]
