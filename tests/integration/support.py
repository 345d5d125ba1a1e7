"""Helpers shared by the integration suites that run the real services on every store (SQLite and
PostgreSQL); the database fixtures themselves are in ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from omniroute.bootstrap import build_container
from omniroute.core.bus import EventBus
from omniroute.core.bus.memory import MemoryBus
from omniroute.core.clock import Clock
from omniroute.core.ids import new_id
from omniroute.routing.store import Queue, insert_queue
from omniroute.schema import all_tables
from omniroute.settings import Settings
from omniroute.web.container import Container

#: Alembic's ``include_object`` hook: which reflected or declared objects a comparison looks at.
IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


@asynccontextmanager
async def store_container(
    database_url: str, tmp_path: Path, clock: Clock, bus: EventBus | None = None, **settings: Any
) -> AsyncIterator[Container]:
    """The whole container on ``database_url`` (no Redis, cheap password hashing, an in-memory
    bus unless one is given); its database is disposed of afterwards."""
    c = build_container(
        Settings(
            database_url=database_url,
            redis_url="",
            environment="test",
            argon2_time_cost=1,
            argon2_memory_cost_kib=8,
            data_dir=tmp_path,
            **settings,
        ),
        clock=clock,
        bus=bus if bus is not None else MemoryBus(),
    )
    try:
        yield c
    finally:
        await c.db.dispose()


async def add_default_queue(c: Container, now: datetime) -> Queue:
    """A default queue named "Support", stored directly."""
    queue = Queue(id=new_id(), name="Support", description="", is_default=True)
    async with c.db.write() as conn:
        await insert_queue(conn, queue, now)
    return queue


def only_tables(keep: Callable[[str], bool]) -> IncludeObject:
    """Compare only the tables (and their columns, indexes...) whose name ``keep`` accepts."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is None or keep(str(table.name))

    return include


async def schema_diff(database_url: str, include_object: IncludeObject) -> list[Any]:
    """What differs between the migrated database and the tables the stores declare."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff: list[Any] = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"include_object": include_object}), all_tables()
                )
            )
    finally:
        await engine.dispose()
    return diff
