"""Migration 0023 adds the users' workspace preferences exactly as the identity store declares
them, and goes down and up again on every store without touching the users or what hangs off them
(on SQLite the downgrade rebuilds the table)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from omniroute.core.migrations import alembic_config, upgrade_async
from omniroute.identity import store
from omniroute.identity.model import Preferences
from tests.integration.support import only_tables, schema_diff


async def test_the_migrated_users_table_matches_the_store(database_url: str) -> None:
    assert await schema_diff(database_url, only_tables({"users"}.__contains__)) == []


async def _columns(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            cols = await conn.run_sync(lambda sync: sa.inspect(sync).get_columns("users"))
    finally:
        await engine.dispose()
    return {c["name"] for c in cols}


async def test_down_and_up_again_keeps_the_users(database_url: str) -> None:
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                store.users.insert().values(
                    id="u1",
                    email="ana@example.com",
                    display_name="Ana",
                    role="agent",
                    password_hash="x",
                    created_at=now,
                )
            )
            await store.insert_auth_session(conn, "h" * 64, "u1", "csrf", now, now)
            await store.set_preferences(conn, "u1", Preferences(sound="never"))
            assert await store.get_preferences(conn, "u1") == Preferences(sound="never")

        await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0022")
        assert "preferences" not in await _columns(database_url)
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT email FROM users"))).scalars().all() == [
                "ana@example.com"
            ]
            sessions = await conn.execute(sa.text("SELECT user_id FROM auth_sessions"))
            assert sessions.scalars().all() == ["u1"]

        await upgrade_async(database_url)
        assert "preferences" in await _columns(database_url)
        async with engine.connect() as conn:
            assert await store.get_preferences(conn, "u1") is None  # as if never saved
    finally:
        await engine.dispose()
