"""Tables and queries for web chat widgets, their settings and CSAT responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.channels.webchat.model import CsatResponse, CsatSummary, Widget
from omniroute.channels.webchat.settings import WidgetSettings
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

#: One settings document per widget (absent: every default), and the sealed identity secret.
webchat_widget_settings = sa.Table(
    "webchat_widget_settings",
    metadata,
    sa.Column(
        "widget_id",
        sa.String(36),
        sa.ForeignKey("webchat_widgets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("document", sa.JSON(), nullable=False),
    sa.Column("identity_secret", sa.String(1000), nullable=True),
    sa.Column("updated_by", sa.String(36), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

#: Post-chat survey answers: the primary key makes a conversation's rating a one-time thing.
webchat_csat = sa.Table(
    "webchat_csat",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "widget_id", sa.String(36), sa.ForeignKey("webchat_widgets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("queue_id", sa.String(36), nullable=False),
    sa.Column("agent_id", sa.String(36), nullable=True),
    sa.Column("rating", sa.SmallInteger(), nullable=False),
    sa.Column("comment", sa.Text(), nullable=False, server_default=""),
    sa.Column("submitted_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    sa.Index("ix_webchat_csat_queue_time", "queue_id", "submitted_at"),
    sa.Index("ix_webchat_csat_time", "submitted_at"),
)

_WIDGET_COLUMNS = (
    webchat_widgets,
    webchat_widget_settings.c.document,
    webchat_widget_settings.c.identity_secret,
)


def _widget_query() -> sa.Select[Any]:
    return sa.select(*_WIDGET_COLUMNS).select_from(
        webchat_widgets.outerjoin(
            webchat_widget_settings, webchat_widget_settings.c.widget_id == webchat_widgets.c.id
        )
    )


def _widget(row: AnyRow) -> Widget:
    m = row._mapping
    document = m["document"]
    return Widget(
        id=m["id"],
        name=m["name"],
        public_key=m["public_key"],
        allowed_origins=tuple(m["allowed_origins"]),
        default_queue_id=m["default_queue_id"],
        settings=WidgetSettings.model_validate(document) if document else WidgetSettings(),
        identity_secret=m["identity_secret"],
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
    row = (await conn.execute(_widget_query().where(webchat_widgets.c.public_key == public_key))).first()
    return _widget(row) if row else None


async def get_widget(conn: AsyncConnection, widget_id: str) -> Widget | None:
    row = (await conn.execute(_widget_query().where(webchat_widgets.c.id == widget_id))).first()
    return _widget(row) if row else None


async def list_widgets(conn: AsyncConnection) -> list[Widget]:
    return [_widget(r) for r in await conn.execute(_widget_query().order_by(webchat_widgets.c.created_at))]


async def _settings_row_exists(conn: AsyncConnection, widget_id: str) -> bool:
    found = await conn.execute(
        sa.select(webchat_widget_settings.c.widget_id)
        .where(webchat_widget_settings.c.widget_id == widget_id)
        .with_for_update()
    )
    return found.first() is not None


async def save_settings(
    conn: AsyncConnection,
    widget_id: str,
    now: datetime,
    updated_by: str | None,
    *,
    document: dict[str, Any] | None = None,
    identity_secret: str | None = None,
) -> None:
    """Write the document and/or the sealed secret; the other keeps its stored value."""
    values: dict[str, Any] = {"updated_at": now, "updated_by": updated_by}
    if document is not None:
        values["document"] = document
    if identity_secret is not None:
        values["identity_secret"] = identity_secret
    if await _settings_row_exists(conn, widget_id):
        await conn.execute(
            webchat_widget_settings.update()
            .where(webchat_widget_settings.c.widget_id == widget_id)
            .values(**values)
        )
    else:
        values.setdefault("document", {})
        await conn.execute(webchat_widget_settings.insert().values(widget_id=widget_id, **values))


def _csat(row: AnyRow) -> CsatResponse:
    m = row._mapping
    return CsatResponse(
        conversation_id=m["conversation_id"],
        widget_id=m["widget_id"],
        queue_id=m["queue_id"],
        agent_id=m["agent_id"],
        rating=m["rating"],
        comment=m["comment"],
        submitted_at=m["submitted_at"],
    )


async def get_csat(conn: AsyncConnection, conversation_id: str) -> CsatResponse | None:
    row = (
        await conn.execute(sa.select(webchat_csat).where(webchat_csat.c.conversation_id == conversation_id))
    ).first()
    return _csat(row) if row else None


async def insert_csat(conn: AsyncConnection, response: CsatResponse) -> None:
    await conn.execute(
        webchat_csat.insert().values(
            conversation_id=response.conversation_id,
            widget_id=response.widget_id,
            queue_id=response.queue_id,
            agent_id=response.agent_id,
            rating=response.rating,
            comment=response.comment,
            submitted_at=response.submitted_at,
        )
    )


def _csat_where(
    query: sa.Select[Any],
    *,
    queue_id: str | None,
    since: datetime | None,
    until: datetime | None,
    agent_id: str | None = None,
    widget_id: str | None = None,
) -> sa.Select[Any]:
    """``until`` is exclusive so consecutive periods never count a response twice."""
    t = webchat_csat.c
    if queue_id is not None:
        query = query.where(t.queue_id == queue_id)
    if agent_id is not None:
        query = query.where(t.agent_id == agent_id)
    if widget_id is not None:
        query = query.where(t.widget_id == widget_id)
    if since is not None:
        query = query.where(t.submitted_at >= since)
    if until is not None:
        query = query.where(t.submitted_at < until)
    return query


async def list_csat(
    conn: AsyncConnection,
    *,
    queue_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
    agent_id: str | None = None,
    widget_id: str | None = None,
    with_comment: bool = False,
) -> list[CsatResponse]:
    """Newest first (the conversation id breaks ties, so pages of an export are stable)."""
    t = webchat_csat.c
    query = sa.select(webchat_csat).order_by(t.submitted_at.desc(), t.conversation_id.desc())
    query = _csat_where(
        query, queue_id=queue_id, since=since, until=until, agent_id=agent_id, widget_id=widget_id
    )
    if with_comment:
        query = query.where(t.comment != "")
    if limit is not None:
        query = query.limit(limit)
    return [_csat(r) for r in await conn.execute(query)]


async def csat_ratings(
    conn: AsyncConnection,
    *,
    queue_id: str | None,
    since: datetime | None,
    until: datetime | None,
    agent_id: str | None,
    widget_id: str | None,
) -> list[tuple[datetime, int]]:
    """Only (submitted_at, rating) for the report to fold: comments stay in the database."""
    t = webchat_csat.c
    query = sa.select(t.submitted_at, t.rating).order_by(t.submitted_at)
    query = _csat_where(
        query, queue_id=queue_id, since=since, until=until, agent_id=agent_id, widget_id=widget_id
    )
    return [(row.submitted_at, int(row.rating)) for row in await conn.execute(query)]


async def summarise_csat(
    conn: AsyncConnection,
    *,
    queue_id: str | None,
    since: datetime | None,
    until: datetime | None,
    agent_id: str | None = None,
    widget_id: str | None = None,
) -> list[CsatSummary]:
    """Per queue: how many answered, the average rating, and how many gave each score."""
    t = webchat_csat.c
    columns = [t.queue_id, sa.func.count().label("responses"), sa.func.avg(t.rating).label("average")]
    columns += [
        sa.func.sum(sa.case((t.rating == score, 1), else_=0)).label(f"r{score}") for score in range(1, 6)
    ]
    query = sa.select(*columns).group_by(t.queue_id).order_by(t.queue_id)
    query = _csat_where(
        query, queue_id=queue_id, since=since, until=until, agent_id=agent_id, widget_id=widget_id
    )
    return [
        CsatSummary(
            queue_id=row.queue_id,
            responses=int(row.responses),
            average=round(float(row.average), 2),
            distribution={score: int(getattr(row, f"r{score}")) for score in range(1, 6)},
        )
        for row in await conn.execute(query)
    ]
