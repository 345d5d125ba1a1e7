"""Leadership: exactly one node at a time runs the single-writer parts (the routing engine).

On one machine (SQLite) the process is always the leader. On several nodes a PostgreSQL
session-level advisory lock, held on a dedicated connection, is the lease: it is released by the
server when that connection dies, so a crashed leader cannot keep it (DESIGN.md §3 rule 4, §6).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]


class Lease(Protocol):
    @property
    def is_leader(self) -> bool: ...

    async def start(self, on_gained: Callback, on_lost: Callback) -> None: ...

    async def stop(self) -> None: ...


class LocalLease:
    """A single process is its own leader."""

    def __init__(self) -> None:
        self._leader = False
        self._on_lost: Callback | None = None

    @property
    def is_leader(self) -> bool:
        return self._leader

    async def start(self, on_gained: Callback, on_lost: Callback) -> None:
        self._leader = True
        self._on_lost = on_lost
        await on_gained()

    async def stop(self) -> None:
        if self._leader and self._on_lost is not None:
            self._leader = False
            await self._on_lost()


class PostgresLease:
    """Try the advisory lock every ``interval`` seconds; while held, check the connection lives."""

    def __init__(self, engine: AsyncEngine, key: int, interval: float = 2.0) -> None:
        self._engine = engine
        self._key = key
        self._interval = interval
        self._conn: AsyncConnection | None = None
        self._leader = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def is_leader(self) -> bool:
        return self._leader

    async def start(self, on_gained: Callback, on_lost: Callback) -> None:
        self._stopping = False
        first_try = asyncio.Event()
        self._task = asyncio.create_task(self._run(on_gained, on_lost, first_try), name="omniroute-lease")
        await first_try.wait()  # so a node that can lead leads before it serves requests

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._release()

    async def _run(self, on_gained: Callback, on_lost: Callback, first_try: asyncio.Event) -> None:
        try:
            while not self._stopping:
                try:
                    if self._leader:
                        await self._heartbeat()
                    elif await self._try_acquire():
                        self._leader = True
                        log.info("became the routing leader")
                        await on_gained()
                except Exception as exc:  # any database trouble means "not leader"
                    if self._leader:
                        log.warning("lost the routing lease: %r", exc)
                        self._leader = False
                        await self._release()
                        await on_lost()
                    else:
                        await self._release()
                first_try.set()
                await asyncio.sleep(self._interval)
        finally:
            first_try.set()
            if self._leader:
                self._leader = False
                await on_lost()

    async def _try_acquire(self) -> bool:
        if self._conn is None:
            self._conn = await self._engine.connect()
        result = await self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key})
        await self._conn.commit()
        return bool(result.scalar_one())

    async def _heartbeat(self) -> None:
        assert self._conn is not None
        await self._conn.execute(text("SELECT 1"))
        await self._conn.commit()

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()  # closing the session releases the advisory lock
            with contextlib.suppress(Exception):
                await conn.close()
