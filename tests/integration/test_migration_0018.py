"""Migration 0018 creates exactly what the stores declare: customer notes, the outbox's recipient
and send time (watermark receipts), and the channel reply contexts."""

from __future__ import annotations

from tests.integration.support import only_tables, schema_diff

TABLES = {"customer_notes", "outbound_messages", "channel_reply_contexts"}


async def test_the_migrated_tables_match_the_stores(database_url: str) -> None:
    assert await schema_diff(database_url, only_tables(TABLES.__contains__)) == []
