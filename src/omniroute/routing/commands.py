"""The durable path to the routing leader (DESIGN.md §6: not pub/sub).

Every routing command (new work, accept, reject, presence, end, close…) is a row in
``routing_commands``, inserted in the transaction of the change that caused it. The leader applies
the rows in order, each in one transaction together with its decisions and its result, so a command is
applied exactly once even across crashes. Whoever waits for a result is woken over the bus (or finds
it by polling, should a notification be lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.bus import BusReset, EventBus
from omniroute.core.db import Database, metadata
from omniroute.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthorized
from omniroute.core.ids import new_id
from omniroute.core.types import UTCDateTime
from omniroute.core.uow import Publisher, UnitOfWork

log = logging.getLogger(__name__)

TOPIC = "omniroute.routing"
#: A forwarded command's caller gives up after this long (the command itself stays and is applied).
RESULT_TIMEOUT = 15.0
POLL_INTERVAL = 0.5

routing_commands = sa.Table(
    "routing_commands",
    metadata,
    sa.Column(
        "position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(10), nullable=False, index=True),  # pending, done, failed
    sa.Column("result", sa.JSON(), nullable=True),
    sa.Column("error_status", sa.Integer(), nullable=True),
    sa.Column("error_reason", sa.String(1000), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("done_at", UTCDateTime(), nullable=True),
)

ERRORS: dict[int, type[DomainError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
}


class LeaderUnavailable(DomainError):
    status = 503


@dataclass(frozen=True)
class Command:
    id: str
    kind: str
    payload: dict[str, Any]


Handler = Callable[[UnitOfWork, Command], Awaitable[dict[str, Any]]]


async def enqueue(conn: AsyncConnection, kind: str, payload: dict[str, Any], now: datetime) -> str:
    """Record a command inside the caller's transaction; the leader applies it after the commit."""
    command_id = new_id()
    await conn.execute(
        routing_commands.insert().values(
            id=command_id, kind=kind, payload=payload, status="pending", created_at=now
        )
    )
    return command_id


class CommandQueue:
    def __init__(self, db: Database, publisher: Publisher, bus: EventBus) -> None:
        self.db = db
        self.publisher = publisher
        self.bus = bus
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._wake_leader = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._server: asyncio.Task[None] | None = None
        self._handler: Handler | None = None
        self._on_crash: Callable[[], Awaitable[None]] | None = None

    # -- any node -------------------------------------------------------------------------------

    async def start(self) -> None:
        subscription = await self.bus.subscribe(TOPIC)

        async def listen() -> None:
            async for message in subscription:
                if isinstance(message, BusReset):
                    for waiter in self._waiters.values():  # results may have been missed: re-read
                        if not waiter.done():
                            waiter.set_result(None)
                    self._wake_leader.set()
                elif message.get("type") == "routing.command":
                    self._wake_leader.set()
                elif message.get("type") == "routing.result":
                    found = self._waiters.get(str(message.get("id")))
                    if found is not None and not found.done():
                        found.set_result(None)

        self._subscription = subscription
        self._listener = asyncio.create_task(listen(), name="omniroute-routing-commands")

    async def stop(self) -> None:
        await self.stop_serving()
        if self._listener is not None:
            await self._subscription.close()
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def notify(self) -> None:
        """Tell the leader (on this node or another) that commands are waiting."""
        self._wake_leader.set()
        with contextlib.suppress(Exception):
            await self.bus.publish(TOPIC, {"type": "routing.command"})

    async def submit(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Record a command, wake the leader, and wait for its result (or its error)."""
        async with self.db.write() as conn:
            command_id = await enqueue(conn, kind, payload, self.publisher.clock.now())
        return await self.wait(command_id)

    async def wait(self, command_id: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RESULT_TIMEOUT
        self._waiters[command_id] = loop.create_future()
        try:
            await self.notify()
            while True:
                found = await self._result(command_id)
                if found is not None:
                    return found
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise LeaderUnavailable("routing did not answer in time; the request is queued")
                waiter = self._waiters[command_id]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(waiter), min(POLL_INTERVAL, remaining))
                if waiter.done():
                    self._waiters[command_id] = loop.create_future()
        finally:
            self._waiters.pop(command_id, None)

    async def _result(self, command_id: str) -> dict[str, Any] | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(sa.select(routing_commands).where(routing_commands.c.id == command_id))
            ).first()
        if row is None or row.status == "pending":
            return None
        if row.status == "failed":
            raise ERRORS.get(row.error_status or 0, DomainError)(row.error_reason or "routing failed")
        return dict(row.result or {})

    # -- the leader -----------------------------------------------------------------------------

    def serve(self, handler: Handler, on_crash: Callable[[], Awaitable[None]] | None = None) -> None:
        """Start applying commands with ``handler``; ``on_crash`` runs after an unexpected error."""
        self._handler = handler
        self._on_crash = on_crash
        self._wake_leader.set()
        self._server = asyncio.create_task(self._serve(), name="omniroute-routing-leader")

    async def stop_serving(self) -> None:
        if self._server is not None:
            self._server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._server
            self._server = None

    async def _serve(self) -> None:
        while True:
            self._wake_leader.clear()
            applied = await self.apply_pending()
            if not applied:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake_leader.wait(), POLL_INTERVAL * 4)

    async def apply_pending(self, limit: int = 200) -> int:
        """Apply waiting commands in order; returns how many were handled."""
        assert self._handler is not None
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(routing_commands.c.id, routing_commands.c.kind, routing_commands.c.payload)
                    .where(routing_commands.c.status == "pending")
                    .order_by(routing_commands.c.position)
                    .limit(limit)
                )
            ).all()
        for command_id, kind, payload in rows:
            await self._apply(Command(command_id, kind, dict(payload)))
        return len(rows)

    async def _apply(self, command: Command) -> None:
        assert self._handler is not None
        try:
            async with self.publisher.unit_of_work() as uow:
                result = await self._handler(uow, command)
                await uow.conn.execute(
                    routing_commands.update()
                    .where(
                        routing_commands.c.id == command.id,
                        routing_commands.c.status == "pending",
                    )
                    .values(status="done", result=result, done_at=uow.clock.now())
                )
        except DomainError as exc:
            await self._fail(command, exc.status, exc.reason)
        except Exception as exc:
            # The command is marked failed, never retried in a loop; the owner resynchronises.
            log.exception("routing command %s (%s) failed", command.id, command.kind)
            await self._fail(command, 500, f"routing failed: {exc.__class__.__name__}")
            if self._on_crash is not None:
                await self._on_crash()
        finally:
            await self._announce(command.id)

    async def _fail(self, command: Command, status: int, reason: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                routing_commands.update()
                .where(routing_commands.c.id == command.id)
                .values(
                    status="failed",
                    error_status=status,
                    error_reason=reason[:1000],
                    done_at=self.publisher.clock.now(),
                )
            )

    async def _announce(self, command_id: str) -> None:
        waiter = self._waiters.get(command_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        with contextlib.suppress(Exception):
            await self.bus.publish(TOPIC, {"type": "routing.result", "id": command_id})
