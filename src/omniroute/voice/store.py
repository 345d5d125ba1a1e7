"""Tables and queries of the voice slice: providers, agent mappings, call events, calls, and the
presence outbox.

``voice_call_events`` is the idempotency boundary of ingress: a unique index on (provider, event
id) decides what is a duplicate. ``voice_calls`` is derived: each row is the fold of its call's
stored events, rewritten whenever a new one arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import metadata
from omniroute.core.eventlog import events_table
from omniroute.core.types import AnyRow, UTCDateTime
from omniroute.voice import codec
from omniroute.voice.model import CallEvent
from omniroute.voice.providers import Feature, Provider

voice_providers = sa.Table(
    "voice_providers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("settings", sa.JSON(), nullable=False),
    sa.Column("softphone_url", sa.String(2000), nullable=False),
    sa.Column("trusted_origin", sa.String(300), nullable=False),
    sa.Column("features", sa.JSON(), nullable=False),
    sa.Column("presence_url", sa.String(2000), nullable=True),
    sa.Column("agents_by_user_id", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("sort_order", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("webhook_secret", sa.Text(), nullable=False),  # sealed by core.secretbox
    sa.Column("api_token_hash", sa.String(64), nullable=False, unique=True),
    # What the softphone gets in the SDK's getEnvironment (revision 0020).
    sa.Column("custom_parameters", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

#: Which Omniroute user a provider's agent id stands for (a Twilio client identity, a Connect ARN).
voice_agent_links = sa.Table(
    "voice_agent_links",
    metadata,
    sa.Column(
        "provider_id",
        sa.String(36),
        sa.ForeignKey("voice_providers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("external_id", sa.String(300), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("provider_id", "external_id"),
)

#: Every verified call event, once: the unique index is what makes a redelivery a no-op.
voice_call_events = sa.Table(
    "voice_call_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "provider_id", sa.String(36), sa.ForeignKey("voice_providers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("event_id", sa.String(300), nullable=False),
    sa.Column("call_id", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("provider_id", "event_id"),
    sa.Index("ix_voice_call_events_call", "provider_id", "call_id"),
)

#: One row per call: the fold of its events, plus what Omniroute added (customer, conversation,
#: the agent's own disposition).
voice_calls = sa.Table(
    "voice_calls",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "provider_id", sa.String(36), sa.ForeignKey("voice_providers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("call_id", sa.String(300), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("direction", sa.String(10), nullable=True),
    sa.Column("from_number", sa.String(20), nullable=True),
    sa.Column("to_number", sa.String(20), nullable=True),
    sa.Column("queue", sa.String(300), nullable=True),
    sa.Column("ivr_data", sa.JSON(), nullable=False),
    sa.Column("agent_external_id", sa.String(300), nullable=True),
    sa.Column("agent_user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("previous_call_id", sa.String(300), nullable=True),
    sa.Column("initial_call_id", sa.String(300), nullable=True),
    sa.Column("recording_url", sa.String(2000), nullable=True),
    sa.Column("recordings", sa.JSON(), nullable=False),
    sa.Column("transcript_turns", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("disposition", sa.String(200), nullable=True),
    sa.Column("notes", sa.Text(), nullable=True),
    sa.Column("disposition_by", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("disposition_at", UTCDateTime(), nullable=True),
    sa.Column("hold_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("transfer_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("durations", sa.JSON(), nullable=False),
    sa.Column("end_reason", sa.String(200), nullable=True),
    sa.Column("offered_at", UTCDateTime(), nullable=True),
    sa.Column("answered_at", UTCDateTime(), nullable=True),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column("wrapup_done_at", UTCDateTime(), nullable=True),
    sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=True),
    sa.Column(
        "conversation_id", sa.String(36), sa.ForeignKey("conversations.id"), nullable=True, unique=True
    ),
    sa.Column("event_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("provider_id", "call_id"),
    sa.Index("ix_voice_calls_agent_state", "agent_user_id", "state"),
    sa.Index("ix_voice_calls_customer", "customer_id"),
)

#: Presence changes to push to providers, written before anything is sent (nothing is lost while
#: a provider is down); one row per (provider, presence event).
voice_presence_outbox = sa.Table(
    "voice_presence_outbox",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "provider_id", sa.String(36), sa.ForeignKey("voice_providers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # queued, sending, sent, failed, superseded
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("due_at", UTCDateTime(), nullable=True),
    sa.Column("last_status", sa.Integer(), nullable=True),
    sa.Column("last_error", sa.String(1000), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("provider_id", "event_id"),
    sa.Index("ix_voice_presence_outbox_due", "status", "due_at"),
    sa.Index("ix_voice_presence_outbox_agent", "provider_id", "user_id", "occurred_at"),
)


# -- providers ---------------------------------------------------------------------------------------


def _provider(row: AnyRow) -> Provider:
    m = row._mapping
    return Provider(
        id=m["id"],
        name=m["name"],
        kind=m["kind"],
        settings=dict(m["settings"]),
        softphone_url=m["softphone_url"],
        trusted_origin=m["trusted_origin"],
        features=frozenset(Feature(f) for f in m["features"] if f in Feature.__members__.values()),
        presence_url=m["presence_url"],
        agents_by_user_id=bool(m["agents_by_user_id"]),
        sort_order=m["sort_order"],
        enabled=bool(m["enabled"]),
        webhook_secret=m["webhook_secret"],
        api_token_hash=m["api_token_hash"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        custom_parameters=dict(m["custom_parameters"] or {}),
    )


def _provider_values(p: Provider) -> dict[str, Any]:
    return {
        "name": p.name,
        "kind": p.kind,
        "settings": p.settings,
        "softphone_url": p.softphone_url,
        "trusted_origin": p.trusted_origin,
        "features": sorted(f.value for f in p.features),
        "presence_url": p.presence_url,
        "agents_by_user_id": p.agents_by_user_id,
        "sort_order": p.sort_order,
        "enabled": p.enabled,
        "webhook_secret": p.webhook_secret,
        "api_token_hash": p.api_token_hash,
        "custom_parameters": dict(p.custom_parameters),
        "updated_at": p.updated_at,
    }


async def insert_provider(conn: AsyncConnection, p: Provider) -> None:
    await conn.execute(
        voice_providers.insert().values(id=p.id, created_at=p.created_at, **_provider_values(p))
    )


async def update_provider(conn: AsyncConnection, p: Provider) -> None:
    await conn.execute(
        voice_providers.update().where(voice_providers.c.id == p.id).values(**_provider_values(p))
    )


async def get_provider(
    conn: AsyncConnection, provider_id: str, *, for_update: bool = False
) -> Provider | None:
    query = sa.select(voice_providers).where(voice_providers.c.id == provider_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _provider(row) if row else None


async def provider_by_token(conn: AsyncConnection, token_hash: str) -> Provider | None:
    row = (
        await conn.execute(sa.select(voice_providers).where(voice_providers.c.api_token_hash == token_hash))
    ).first()
    return _provider(row) if row else None


async def list_providers(conn: AsyncConnection, *, enabled_only: bool = False) -> list[Provider]:
    query = sa.select(voice_providers).order_by(voice_providers.c.sort_order, voice_providers.c.name)
    if enabled_only:
        query = query.where(voice_providers.c.enabled.is_(True))
    return [_provider(r) for r in await conn.execute(query)]


# -- agent links -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentLink:
    provider_id: str
    user_id: str
    external_id: str


async def set_link(conn: AsyncConnection, link: AgentLink, now: datetime) -> None:
    await conn.execute(
        voice_agent_links.delete().where(
            voice_agent_links.c.provider_id == link.provider_id, voice_agent_links.c.user_id == link.user_id
        )
    )
    await conn.execute(
        voice_agent_links.insert().values(
            provider_id=link.provider_id, user_id=link.user_id, external_id=link.external_id, created_at=now
        )
    )


async def delete_link(conn: AsyncConnection, provider_id: str, user_id: str) -> bool:
    result = await conn.execute(
        voice_agent_links.delete().where(
            voice_agent_links.c.provider_id == provider_id, voice_agent_links.c.user_id == user_id
        )
    )
    return bool(result.rowcount)


async def links(
    conn: AsyncConnection, *, provider_id: str | None = None, user_id: str | None = None
) -> list[AgentLink]:
    query = sa.select(voice_agent_links).order_by(
        voice_agent_links.c.provider_id, voice_agent_links.c.user_id
    )
    if provider_id is not None:
        query = query.where(voice_agent_links.c.provider_id == provider_id)
    if user_id is not None:
        query = query.where(voice_agent_links.c.user_id == user_id)
    return [
        AgentLink(m["provider_id"], m["user_id"], m["external_id"])
        for m in (r._mapping for r in await conn.execute(query))
    ]


async def user_for_external(conn: AsyncConnection, provider_id: str, external_id: str) -> str | None:
    row = (
        await conn.execute(
            sa.select(voice_agent_links.c.user_id).where(
                voice_agent_links.c.provider_id == provider_id, voice_agent_links.c.external_id == external_id
            )
        )
    ).first()
    return str(row[0]) if row else None


# -- call events -------------------------------------------------------------------------------------


def _insert_ignoring_duplicates(conn: AsyncConnection, table: sa.Table, keys: list[str]) -> Any:
    dialect = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return lambda values: dialect(table).values(**values).on_conflict_do_nothing(index_elements=keys)


async def insert_event(conn: AsyncConnection, row_id: str, event: CallEvent, now: datetime) -> bool:
    """Store the event unless (provider, event id) was seen; True when it is new. One
    ``INSERT … ON CONFLICT DO NOTHING``: a duplicate neither raises nor spoils the transaction."""
    statement = _insert_ignoring_duplicates(conn, voice_call_events, ["provider_id", "event_id"])(
        {
            "id": row_id,
            "provider_id": event.provider,
            "event_id": event.event_id,
            "call_id": event.call_id,
            "kind": event.kind.value,
            "occurred_at": event.occurred_at,
            "payload": codec.encode(event),
            "received_at": now,
        }
    )
    result = await conn.execute(statement)
    return bool(result.rowcount == 1)


async def call_events(conn: AsyncConnection, provider_id: str, call_id: str) -> list[CallEvent]:
    query = (
        sa.select(voice_call_events.c.payload)
        .where(voice_call_events.c.provider_id == provider_id, voice_call_events.c.call_id == call_id)
        .order_by(voice_call_events.c.occurred_at, voice_call_events.c.event_id)
    )
    return [codec.decode(dict(r[0])) for r in await conn.execute(query)]


async def count_events(conn: AsyncConnection, provider_id: str) -> int:
    query = sa.select(sa.func.count()).where(voice_call_events.c.provider_id == provider_id)
    return int((await conn.execute(query)).scalar_one())


# -- calls ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRow:
    id: str
    provider_id: str
    call_id: str
    state: str
    created_at: datetime
    updated_at: datetime
    outcome: str | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    queue: str | None = None
    ivr_data: dict[str, str] = field(default_factory=dict)
    agent_external_id: str | None = None
    agent_user_id: str | None = None
    previous_call_id: str | None = None
    initial_call_id: str | None = None
    recording_url: str | None = None
    recordings: list[str] = field(default_factory=list)
    transcript_turns: int = 0
    disposition: str | None = None
    notes: str | None = None
    disposition_by: str | None = None
    disposition_at: datetime | None = None
    hold_count: int = 0
    transfer_count: int = 0
    durations: dict[str, float] = field(default_factory=dict)
    end_reason: str | None = None
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wrapup_done_at: datetime | None = None
    customer_id: str | None = None
    conversation_id: str | None = None
    event_count: int = 0


_CALL_FIELDS = tuple(c.name for c in voice_calls.columns)


def _call(row: AnyRow) -> CallRow:
    m = row._mapping
    values = {name: m[name] for name in _CALL_FIELDS}
    values["ivr_data"] = dict(values["ivr_data"] or {})
    values["recordings"] = list(values["recordings"] or [])
    values["durations"] = dict(values["durations"] or {})
    return CallRow(**values)


def _call_values(call: CallRow) -> dict[str, Any]:
    return {name: getattr(call, name) for name in _CALL_FIELDS if name not in ("id", "created_at")}


async def lock_call(
    conn: AsyncConnection, row_id: str, provider_id: str, call_id: str, now: datetime
) -> CallRow:
    """The call's row, created if missing, locked until the transaction ends: deliveries for one
    call are folded one after the other, so none is lost to a concurrent rewrite."""
    statement = _insert_ignoring_duplicates(conn, voice_calls, ["provider_id", "call_id"])(
        {
            "id": row_id,
            "provider_id": provider_id,
            "call_id": call_id,
            "state": "new",
            "ivr_data": {},
            "recordings": [],
            "durations": {},
            "created_at": now,
            "updated_at": now,
        }
    )
    await conn.execute(statement)
    query = (
        sa.select(voice_calls)
        .where(voice_calls.c.provider_id == provider_id, voice_calls.c.call_id == call_id)
        .with_for_update()
    )
    return _call((await conn.execute(query)).one())


async def save_call(conn: AsyncConnection, call: CallRow) -> None:
    await conn.execute(voice_calls.update().where(voice_calls.c.id == call.id).values(**_call_values(call)))


async def get_call(conn: AsyncConnection, row_id: str, *, for_update: bool = False) -> CallRow | None:
    query = sa.select(voice_calls).where(voice_calls.c.id == row_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _call(row) if row else None


async def call_by_provider_id(conn: AsyncConnection, provider_id: str, call_id: str) -> CallRow | None:
    row = (
        await conn.execute(
            sa.select(voice_calls).where(
                voice_calls.c.provider_id == provider_id, voice_calls.c.call_id == call_id
            )
        )
    ).first()
    return _call(row) if row else None


async def call_for_conversation(conn: AsyncConnection, conversation_id: str) -> CallRow | None:
    row = (
        await conn.execute(sa.select(voice_calls).where(voice_calls.c.conversation_id == conversation_id))
    ).first()
    return _call(row) if row else None


async def calls_of_customer(conn: AsyncConnection, customer_id: str, limit: int) -> list[CallRow]:
    query = (
        sa.select(voice_calls)
        .where(voice_calls.c.customer_id == customer_id)
        .order_by(voice_calls.c.created_at.desc(), voice_calls.c.id.desc())
        .limit(limit)
    )
    return [_call(r) for r in await conn.execute(query)]


async def live_calls_of_agent(conn: AsyncConnection, user_id: str, states: Sequence[str]) -> list[CallRow]:
    query = (
        sa.select(voice_calls)
        .where(voice_calls.c.agent_user_id == user_id, voice_calls.c.state.in_(list(states)))
        .order_by(voice_calls.c.created_at)
    )
    return [_call(r) for r in await conn.execute(query)]


# -- presence outbox -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PresenceDelivery:
    id: str
    provider_id: str
    event_id: str
    user_id: str
    occurred_at: datetime
    payload: dict[str, Any]
    status: str
    attempts: int
    due_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime


def _delivery(row: AnyRow) -> PresenceDelivery:
    m = row._mapping
    return PresenceDelivery(
        id=m["id"],
        provider_id=m["provider_id"],
        event_id=m["event_id"],
        user_id=m["user_id"],
        occurred_at=m["occurred_at"],
        payload=dict(m["payload"]),
        status=m["status"],
        attempts=m["attempts"],
        due_at=m["due_at"],
        last_status=m["last_status"],
        last_error=m["last_error"],
        created_at=m["created_at"],
    )


async def queue_delivery(conn: AsyncConnection, delivery: PresenceDelivery) -> bool:
    """Queue one presence change for one provider; True when queued.

    Presence is state, so only the newest change per agent matters: a change older than one
    already queued or sent is stored as superseded (kept for the record, never sent), and queued
    older ones are superseded by it."""
    o = voice_presence_outbox
    newer = (
        await conn.execute(
            sa.select(sa.func.count()).where(
                o.c.provider_id == delivery.provider_id,
                o.c.user_id == delivery.user_id,
                o.c.occurred_at > delivery.occurred_at,
                o.c.status.in_(("queued", "sending", "sent")),
            )
        )
    ).scalar_one()
    status = "superseded" if newer else delivery.status
    statement = _insert_ignoring_duplicates(conn, o, ["provider_id", "event_id"])(
        {
            "id": delivery.id,
            "provider_id": delivery.provider_id,
            "event_id": delivery.event_id,
            "user_id": delivery.user_id,
            "occurred_at": delivery.occurred_at,
            "payload": delivery.payload,
            "status": status,
            "attempts": 0,
            "due_at": delivery.due_at if status == "queued" else None,
            "created_at": delivery.created_at,
            "updated_at": delivery.created_at,
        }
    )
    inserted = bool((await conn.execute(statement)).rowcount == 1)
    if inserted and status == "queued":
        await conn.execute(
            o.update()
            .where(
                o.c.provider_id == delivery.provider_id,
                o.c.user_id == delivery.user_id,
                o.c.occurred_at <= delivery.occurred_at,
                o.c.id != delivery.id,
                o.c.status == "queued",
            )
            .values(status="superseded", due_at=None, updated_at=delivery.created_at)
        )
    return inserted and status == "queued"


async def has_newer_delivery(conn: AsyncConnection, delivery: PresenceDelivery) -> bool:
    """Whether a later change for the same agent and provider is queued or sent already."""
    o = voice_presence_outbox
    query = sa.select(sa.func.count()).where(
        o.c.provider_id == delivery.provider_id,
        o.c.user_id == delivery.user_id,
        o.c.occurred_at > delivery.occurred_at,
        o.c.status.in_(("queued", "sending", "sent")),
    )
    return bool((await conn.execute(query)).scalar_one())


async def claim_due_deliveries(
    conn: AsyncConnection, now: datetime, lease_until: datetime, limit: int, *, skip_locked: bool
) -> list[PresenceDelivery]:
    """Due rows (queued, or being sent by a worker whose lease lapsed), leased to this worker."""
    o = voice_presence_outbox
    query = (
        sa.select(o)
        .where(o.c.status.in_(("queued", "sending")), o.c.due_at <= now)
        .order_by(o.c.due_at, o.c.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    due = [_delivery(r) for r in await conn.execute(query)]
    if due:
        await conn.execute(
            o.update()
            .where(o.c.id.in_([d.id for d in due]))
            .values(status="sending", due_at=lease_until, updated_at=now)
        )
    return due


async def finish_delivery(conn: AsyncConnection, delivery_id: str, now: datetime, **values: Any) -> None:
    o = voice_presence_outbox
    # A row superseded while it was being sent stays superseded.
    await conn.execute(
        o.update().where(o.c.id == delivery_id, o.c.status == "sending").values(updated_at=now, **values)
    )


async def next_delivery_due(conn: AsyncConnection) -> datetime | None:
    o = voice_presence_outbox
    query = sa.select(sa.func.min(o.c.due_at)).where(o.c.status.in_(("queued", "sending")))
    value = (await conn.execute(query)).scalar_one_or_none()
    return UTCDateTime().process_result_value(value, conn.dialect) if value is not None else None


async def deliveries(conn: AsyncConnection, provider_id: str, limit: int = 100) -> list[PresenceDelivery]:
    o = voice_presence_outbox
    query = (
        sa.select(o)
        .where(o.c.provider_id == provider_id)
        .order_by(o.c.created_at.desc(), o.c.id.desc())
        .limit(limit)
    )
    return [_delivery(r) for r in await conn.execute(query)]


async def recent_presence_events(conn: AsyncConnection, since: datetime, limit: int) -> list[dict[str, Any]]:
    """``presence.changed`` envelopes from the event log (to catch up after a crash)."""
    return await recent_events(conn, ("presence.changed",), since, limit)


async def recent_events(
    conn: AsyncConnection, types: Sequence[str], since: datetime, limit: int
) -> list[dict[str, Any]]:
    """Envelopes of the given types from the event log, oldest first (to catch up after a crash)."""
    query = (
        sa.select(events_table.c.payload)
        .where(events_table.c.type.in_(list(types)), events_table.c.occurred_at >= since)
        .order_by(events_table.c.occurred_at, events_table.c.event_id)
        .limit(limit)
    )
    return [dict(r[0]) for r in await conn.execute(query)]
