"""Tables and queries for bots, their flows (YAML as written) and bot sessions (one per conversation
a bot holds or held: the dialogue state between turns, and the outcome analytics count)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import metadata
from omniroute.core.eventlog import events_table
from omniroute.core.types import AnyRow, UTCDateTime

bots = sa.Table(
    "bots",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("settings", sa.JSON(), nullable=False),
    sa.Column("secret", sa.Text(), nullable=True),  # sealed (core.secretbox): external bots sign with it
    # Bumped by any change to the settings or a flow: compiled bots are cached by it.
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
)

bot_flows = sa.Table(
    "bot_flows",
    metadata,
    sa.Column("bot_id", sa.String(64), sa.ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("flow_id", sa.String(64), primary_key=True),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("system", sa.String(16), nullable=True),
    sa.Column("source", sa.Text(), nullable=False),  # the YAML as the author wrote it, comments and all
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
)

bot_sessions = sa.Table(
    "bot_sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("bot_id", sa.String(64), sa.ForeignKey("bots.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),  # active, handed_off, ended
    sa.Column("outcome", sa.String(16), nullable=True),  # resolved, escalated, abandoned
    sa.Column("reason", sa.String(120), nullable=True),  # why it was escalated
    sa.Column("state", sa.JSON(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),  # optimistic: a turn saves only over its own read
    sa.Column("last_seq", sa.Integer(), nullable=False),  # messages up to here have been handled
    sa.Column("due_at", UTCDateTime(), nullable=True, index=True),
    sa.Column("due_kind", sa.String(16), nullable=True),  # reply (external bot owes an answer), idle
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("turns", sa.Integer(), nullable=False),
    sa.Column("plan", sa.JSON(), nullable=False),  # what routing decided before the bot took over
    sa.Column("context", sa.JSON(), nullable=True),  # the hand-off context
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Index("ix_bot_sessions_bot_started", "bot_id", "started_at"),
)


@dataclass(frozen=True)
class BotRow:
    id: str
    name: str
    kind: str
    enabled: bool
    settings: dict[str, Any]
    secret: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str | None


@dataclass(frozen=True)
class FlowRow:
    bot_id: str
    flow_id: str
    language: str
    system: str | None
    source: str
    version: int
    updated_at: datetime
    updated_by: str | None


@dataclass(frozen=True)
class SessionRow:
    id: str
    conversation_id: str
    bot_id: str
    status: str
    outcome: str | None
    reason: str | None
    state: dict[str, Any]
    version: int
    last_seq: int
    due_at: datetime | None
    due_kind: str | None
    language: str
    turns: int
    plan: dict[str, Any]
    context: dict[str, Any] | None
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None


def _bot(row: AnyRow) -> BotRow:
    m = row._mapping
    return BotRow(**{k: m[k] for k in BotRow.__dataclass_fields__})


def _flow(row: AnyRow) -> FlowRow:
    m = row._mapping
    return FlowRow(**{k: m[k] for k in FlowRow.__dataclass_fields__})


def _session(row: AnyRow) -> SessionRow:
    m = row._mapping
    return SessionRow(**{k: m[k] for k in SessionRow.__dataclass_fields__})


# -- bots and flows ----------------------------------------------------------------------------------


async def get_bot(conn: AsyncConnection, bot_id: str, *, for_update: bool = False) -> BotRow | None:
    query = sa.select(bots).where(bots.c.id == bot_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _bot(row) if row else None


async def list_bots(conn: AsyncConnection) -> list[BotRow]:
    return [_bot(r) for r in await conn.execute(sa.select(bots).order_by(bots.c.id))]


async def insert_bot(conn: AsyncConnection, row: BotRow) -> None:
    await conn.execute(bots.insert().values(**row.__dict__))


async def update_bot(conn: AsyncConnection, bot_id: str, **values: Any) -> None:
    await conn.execute(sa.update(bots).where(bots.c.id == bot_id).values(**values))


async def list_flows(conn: AsyncConnection, bot_id: str) -> list[FlowRow]:
    query = sa.select(bot_flows).where(bot_flows.c.bot_id == bot_id).order_by(bot_flows.c.flow_id)
    return [_flow(r) for r in await conn.execute(query)]


async def get_flow(conn: AsyncConnection, bot_id: str, flow_id: str) -> FlowRow | None:
    query = sa.select(bot_flows).where(bot_flows.c.bot_id == bot_id, bot_flows.c.flow_id == flow_id)
    row = (await conn.execute(query)).first()
    return _flow(row) if row else None


async def upsert_flow(conn: AsyncConnection, row: FlowRow) -> None:
    values = row.__dict__
    updated = await conn.execute(
        sa.update(bot_flows)
        .where(bot_flows.c.bot_id == row.bot_id, bot_flows.c.flow_id == row.flow_id)
        .values(**{k: v for k, v in values.items() if k not in ("bot_id", "flow_id")})
    )
    if updated.rowcount == 0:
        await conn.execute(bot_flows.insert().values(**values))


async def delete_flow(conn: AsyncConnection, bot_id: str, flow_id: str) -> bool:
    result = await conn.execute(
        sa.delete(bot_flows).where(bot_flows.c.bot_id == bot_id, bot_flows.c.flow_id == flow_id)
    )
    return result.rowcount > 0


# -- sessions ------------------------------------------------------------------------------------


async def insert_session(conn: AsyncConnection, row: SessionRow) -> None:
    await conn.execute(bot_sessions.insert().values(**row.__dict__))


async def session_for(
    conn: AsyncConnection, conversation_id: str, *, for_update: bool = False
) -> SessionRow | None:
    query = sa.select(bot_sessions).where(bot_sessions.c.conversation_id == conversation_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _session(row) if row else None


async def get_session(conn: AsyncConnection, session_id: str) -> SessionRow | None:
    row = (await conn.execute(sa.select(bot_sessions).where(bot_sessions.c.id == session_id))).first()
    return _session(row) if row else None


async def save_session(conn: AsyncConnection, row: SessionRow, expected_version: int) -> bool:
    """Write ``row`` (with its version already bumped) only if nobody saved since ``expected_version``."""
    values = {k: v for k, v in row.__dict__.items() if k not in ("id", "conversation_id", "started_at")}
    result = await conn.execute(
        sa.update(bot_sessions)
        .where(bot_sessions.c.id == row.id, bot_sessions.c.version == expected_version)
        .values(**values)
    )
    return result.rowcount == 1


async def active_sessions(conn: AsyncConnection) -> list[SessionRow]:
    query = (
        sa.select(bot_sessions).where(bot_sessions.c.status == "active").order_by(bot_sessions.c.started_at)
    )
    return [_session(r) for r in await conn.execute(query)]


async def due_sessions(conn: AsyncConnection, until: datetime) -> list[SessionRow]:
    """Active sessions with a timer due by ``until`` (any node may have armed it)."""
    query = sa.select(bot_sessions).where(
        bot_sessions.c.status == "active", bot_sessions.c.due_at.is_not(None), bot_sessions.c.due_at <= until
    )
    return [_session(r) for r in await conn.execute(query)]


async def list_sessions(
    conn: AsyncConnection,
    *,
    bot_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int | None = None,
) -> list[SessionRow]:
    """Newest first; ``until`` is exclusive."""
    query = sa.select(bot_sessions).order_by(bot_sessions.c.started_at.desc())
    if bot_id is not None:
        query = query.where(bot_sessions.c.bot_id == bot_id)
    if since is not None:
        query = query.where(bot_sessions.c.started_at >= since)
    if until is not None:
        query = query.where(bot_sessions.c.started_at < until)
    if limit is not None:
        query = query.limit(limit)
    return [_session(r) for r in await conn.execute(query)]


CSAT_EVENT = "webchat.csat_submitted"
REPORT_OUTCOMES = ("bot.handed_off", "bot.session_ended", CSAT_EVENT)


async def report_events(
    conn: AsyncConnection, *, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """The event envelopes bot analytics fold (``bots.analytics.summarize``): the sessions that
    started in the period (``until`` exclusive), then those conversations' outcomes and ratings."""
    e = events_table.c
    started = sa.select(e.conversation_id).where(e.type == "bot.session_started")
    if since is not None:
        started = started.where(e.occurred_at >= since)
    if until is not None:
        started = started.where(e.occurred_at < until)
    first = sa.select(e.payload).where(
        e.type == "bot.session_started",
        *([e.occurred_at >= since] if since is not None else []),
        *([e.occurred_at < until] if until is not None else []),
    )
    then = sa.select(e.payload).where(e.type.in_(REPORT_OUTCOMES), e.conversation_id.in_(started))
    found = [dict(r.payload) for r in await conn.execute(first.order_by(e.position))]
    found += [dict(r.payload) for r in await conn.execute(then.order_by(e.position))]
    return found
