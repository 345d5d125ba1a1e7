"""Migration 0009 creates exactly the voice tables the store declares, on every store."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from omniroute.schema import all_tables


def _voice_only(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or str(table.name).startswith("voice_")


async def test_the_migrated_voice_tables_match_the_store(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"include_object": _voice_only}), all_tables()
                )
            )
    finally:
        await engine.dispose()
    assert diff == []
