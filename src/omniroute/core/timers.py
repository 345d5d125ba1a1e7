"""Durable timers: the due time lives in a store column; this heap only wakes us at the next one.

After a restart the owner reloads due times from the store (see ``RoutingService.load_timers``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from omniroute.core.clock import Clock

log = logging.getLogger(__name__)


class DueTimers:
    def __init__(self, clock: Clock, callback: Callable[[str], Awaitable[None]] | None = None) -> None:
        self._clock = clock
        self._callback = callback
        self._heap: list[tuple[datetime, str]] = []
        self._due: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def set_callback(self, callback: Callable[[str], Awaitable[None]]) -> None:
        self._callback = callback

    def schedule(self, key: str, due_at: datetime) -> None:
        self._due[key] = due_at
        heapq.heappush(self._heap, (due_at, key))
        self._wake.set()

    def cancel(self, key: str) -> None:
        self._due.pop(key, None)

    def pending(self) -> dict[str, datetime]:
        return dict(self._due)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="omniroute-timers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            # Drop cancelled or rescheduled entries lazily.
            while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
                heapq.heappop(self._heap)
            if not self._heap:
                await self._wake.wait()
                continue
            due_at, key = self._heap[0]
            if due_at > self._clock.now():
                await self._clock.sleep_until(due_at, self._wake)
                continue
            heapq.heappop(self._heap)
            self._due.pop(key, None)
            if self._callback is not None:
                try:
                    await self._callback(key)
                except Exception:
                    log.exception("timer %s failed", key)
