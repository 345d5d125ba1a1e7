"""Injected time. Domain code, routing and timers never read the wall clock directly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        """Return at ``when`` or as soon as ``wake`` is set, whichever comes first."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        delay = (when - self.now()).total_seconds()
        if delay <= 0:
            return
        try:
            await asyncio.wait_for(wake.wait(), timeout=delay)
        except TimeoutError:
            return


class ManualClock:
    """A virtual clock for tests and the simulator: time moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._tick = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    async def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()
        # Let timers that became due run before the caller continues.
        for _ in range(10):
            await asyncio.sleep(0)

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        while self._now < when and not wake.is_set():
            tick = asyncio.ensure_future(self._tick.wait())
            woken = asyncio.ensure_future(wake.wait())
            _, pending = await asyncio.wait({tick, woken}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
