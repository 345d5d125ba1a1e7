"""Migration 0009 creates exactly the voice tables the store declares, on every store."""

from __future__ import annotations

from tests.integration.support import only_tables, schema_diff


async def test_the_migrated_voice_tables_match_the_store(database_url: str) -> None:
    assert await schema_diff(database_url, only_tables(lambda name: name.startswith("voice_"))) == []
