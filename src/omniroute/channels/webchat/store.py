"""Tables and queries for web chat widgets."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.channels.webchat.model import Widget
from omniroute.core.db import metadata
from omniroute.core.types import AnyRow, UTCDateTime

webchat_widgets = sa.Table(
    "webchat_widgets",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("public_key", sa.String(64), nullable=False, unique=True),
    sa.Column("allowed_origins", sa.JSON(), nullable=False),
    sa.Column("default_queue_id", sa.String(36), sa.ForeignKey("queues.id"), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


def _widget(row: AnyRow) -> Widget:
    m = row._mapping
    return Widget(
        id=m["id"],
        name=m["name"],
        public_key=m["public_key"],
        allowed_origins=tuple(m["allowed_origins"]),
        default_queue_id=m["default_queue_id"],
    )


async def insert_widget(conn: AsyncConnection, widget: Widget, created_at: datetime) -> None:
    await conn.execute(
        webchat_widgets.insert().values(
            id=widget.id,
            name=widget.name,
            public_key=widget.public_key,
            allowed_origins=list(widget.allowed_origins),
            default_queue_id=widget.default_queue_id,
            created_at=created_at,
        )
    )


async def get_widget_by_key(conn: AsyncConnection, public_key: str) -> Widget | None:
    row = (
        await conn.execute(sa.select(webchat_widgets).where(webchat_widgets.c.public_key == public_key))
    ).first()
    return _widget(row) if row else None


async def list_widgets(conn: AsyncConnection) -> list[Widget]:
    return [_widget(r) for r in await conn.execute(sa.select(webchat_widgets))]
