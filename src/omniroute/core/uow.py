"""Unit of work: one transaction, the events it produced, and publication after commit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.bus import EventBus
from omniroute.core.clock import Clock
from omniroute.core.db import Database
from omniroute.core.eventlog import append_events
from omniroute.core.events import DomainEvent

EVENTS_TOPIC = "omniroute.events"

log = logging.getLogger(__name__)


class UnitOfWork:
    def __init__(self, conn: AsyncConnection, clock: Clock, is_sqlite: bool) -> None:
        self.conn = conn
        self.clock = clock
        self.is_sqlite = is_sqlite
        self.events: list[DomainEvent] = []

    def emit(self, event: DomainEvent) -> None:
        self.events.append(event)


class Publisher:
    """Opens units of work and publishes their events once the commit has succeeded."""

    def __init__(self, db: Database, bus: EventBus, clock: Clock) -> None:
        self.db = db
        self.bus = bus
        self.clock = clock
        self._listeners: list[Callable[[Sequence[DomainEvent]], None]] = []

    def add_listener(self, listener: Callable[[Sequence[DomainEvent]], None]) -> None:
        """Call ``listener`` in this process with each committed batch of events (before the bus)."""
        self._listeners.append(listener)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        async with self.db.write() as conn:
            uow = UnitOfWork(conn, self.clock, self.db.is_sqlite)
            yield uow
            await append_events(conn, uow.events)
        for listener in self._listeners:
            listener(uow.events)
        for event in uow.events:
            await self.publish(event)

    async def publish(self, event: DomainEvent) -> None:
        """Publish an already-committed (or ephemeral) event; the bus is fire-and-forget."""
        try:
            await self.bus.publish(EVENTS_TOPIC, event.to_envelope())
        except Exception:
            # The state is committed; sockets that miss this resynchronise from the store.
            log.exception("publishing %s failed", event.type)
