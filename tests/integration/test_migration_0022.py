"""Migration 0022 adds exactly what the store declares for the receipts' backoff and dead letter,
and turns receipts that had used up their tries under the old worker into dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from omniroute.core.migrations import upgrade_async
from tests.integration.support import only_tables, schema_diff


async def test_the_migrated_receipt_table_matches_the_store(database_url: str) -> None:
    assert await schema_diff(database_url, only_tables({"inbound_receipts"}.__contains__)) == []


async def test_exhausted_receipts_become_dead_letters(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/m.db"
    await upgrade_async(url, "0019")
    arrived = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    engine = sa.create_engine(f"sqlite:///{tmp_path}/m.db")
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO channel_accounts (id, channel, name, settings, secrets, enabled, created_at)"
                    " VALUES ('a', 'custom', 'A', '{}', '{}', 1, :at)"
                ),
                {"at": arrived.isoformat()},
            )
            for rid, attempts, processed in (("spent", 5, None), ("trying", 2, None), ("done", 5, arrived)):
                conn.execute(
                    sa.text(
                        "INSERT INTO inbound_receipts (id, account_id, dedupe_key, kind, payload,"
                        " received_at, processed_at, attempts) VALUES (:id, 'a', :id, 'message', '{}',"
                        " :at, :done, :attempts)"
                    ),
                    {
                        "id": rid,
                        "at": arrived.isoformat(),
                        "done": processed.isoformat() if processed else None,
                        "attempts": attempts,
                    },
                )
        await upgrade_async(url, "0022")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, dead_at FROM inbound_receipts ORDER BY id")).all()
        dead = {rid for rid, dead_at in rows if dead_at is not None}
        assert dead == {"spent"}
    finally:
        engine.dispose()
