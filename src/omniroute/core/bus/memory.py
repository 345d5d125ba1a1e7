"""The in-process bus for one node (the laptop default)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator

from omniroute.core.bus import BusReset, Message


class MemorySubscription:
    def __init__(self, bus: MemoryBus, topic: str) -> None:
        self._bus = bus
        self._topic = topic
        self._queue: asyncio.Queue[Message | BusReset | None] = asyncio.Queue()

    def _deliver(self, message: Message | BusReset | None) -> None:
        self._queue.put_nowait(message)

    async def __aiter__(self) -> AsyncIterator[Message | BusReset]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            yield item

    async def close(self) -> None:
        self._bus._remove(self._topic, self)
        self._deliver(None)


class MemoryBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[MemorySubscription]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                await sub.close()

    async def publish(self, topic: str, message: Message) -> None:
        for sub in list(self._subscribers.get(topic, ())):
            # A deep copy keeps subscribers from seeing each other's mutations, as over Redis.
            sub._deliver(copy.deepcopy(message))

    async def subscribe(self, topic: str) -> MemorySubscription:
        sub = MemorySubscription(self, topic)
        self._subscribers.setdefault(topic, []).append(sub)
        return sub

    def _remove(self, topic: str, sub: MemorySubscription) -> None:
        subs = self._subscribers.get(topic, [])
        if sub in subs:
            subs.remove(sub)
