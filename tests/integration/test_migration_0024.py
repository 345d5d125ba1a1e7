"""Migration 0024 adds the place a message shares exactly as the conversation store declares it,
and goes down and up again on every store without losing the messages or what hangs off them (on
SQLite the downgrade rebuilds the messages table, which the outbox refers to)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from omniroute.channels import store as channels
from omniroute.channels.store import AccountRow, OutboxRow
from omniroute.conversations import store
from omniroute.conversations.model import Conversation, ConversationState, Location, SenderKind
from omniroute.conversations.store import Message
from omniroute.core.migrations import alembic_config, upgrade_async
from omniroute.customers.store import customers
from omniroute.routing.store import queues
from tests.integration.support import only_tables, schema_diff

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PLACE = Location(40.416775, -3.70379, "Puerta del Sol", "Plaza de la Puerta del Sol, Madrid")


async def test_the_migrated_messages_table_matches_the_store(database_url: str) -> None:
    assert await schema_diff(database_url, only_tables({"messages"}.__contains__)) == []


async def _columns(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            cols = await conn.run_sync(lambda sync: sa.inspect(sync).get_columns("messages"))
    finally:
        await engine.dispose()
    return {c["name"] for c in cols}


async def _a_conversation_with_a_reply(conn: AsyncConnection) -> None:
    await conn.execute(
        customers.insert().values(id="c1", display_name="Kerry", created_at=NOW, updated_at=NOW)
    )
    await conn.execute(queues.insert().values(id="q1", name="Support", created_at=NOW))
    await store.insert_conversation(
        conn,
        Conversation("v1", "whatsapp", "c1", "q1", ConversationState.OPEN, NOW, NOW, channel_account_id="a1"),
        None,
    )
    await channels.insert_account(conn, AccountRow("a1", "whatsapp", "WA", {}, {}, None, True), NOW)
    for seq, location in ((1, PLACE), (2, None)):
        await store.insert_message(
            conn,
            Message(f"m{seq}", "v1", seq, SenderKind.AGENT, "u1", "Ana", "", NOW, location=location),
        )
    outbox = OutboxRow("o1", "a1", "v1", "m1", {"to": "16505551234"}, "queued", 0, NOW, None, None)
    await channels.insert_outbox(conn, outbox, NOW)


async def test_down_and_up_again_keeps_the_messages_and_their_outbox(database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await _a_conversation_with_a_reply(conn)
            stored = await store.list_messages(conn, "v1")
            assert [m.location for m in stored] == [PLACE, None]

        await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0023")
        assert "location" not in await _columns(database_url)
        async with engine.connect() as conn:
            ids = await conn.execute(sa.text("SELECT id FROM messages ORDER BY seq"))
            assert ids.scalars().all() == ["m1", "m2"]
            outbox = await conn.execute(sa.text("SELECT message_id FROM outbound_messages"))
            assert outbox.scalars().all() == ["m1"]

        await upgrade_async(database_url)
        assert "location" in await _columns(database_url)
        async with engine.connect() as conn:
            # The place of a message stored before (or across) the downgrade is simply unknown.
            assert [m.location for m in await store.list_messages(conn, "v1")] == [None, None]
    finally:
        await engine.dispose()
