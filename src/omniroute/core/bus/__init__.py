"""The bus port: fan committed events out to every node (fire-and-forget).

Pub/sub may drop messages when a node loses its connection; a subscription then yields
:data:`RESET` so that whoever holds client sockets makes those clients take a fresh snapshot.
Durable work never relies on the bus alone: the store is the source of truth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, final


@final
class BusReset:
    """Marker: messages may have been lost; consumers must resynchronise from the store."""

    def __repr__(self) -> str:
        return "RESET"


RESET = BusReset()

Message = dict[str, Any]


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[Message | BusReset]: ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    async def start(self) -> None:
        """Connect. Called once by the application lifespan."""
        ...

    async def close(self) -> None: ...

    async def publish(self, topic: str, message: Message) -> None:
        """Deliver ``message`` (JSON-serialisable) to current subscribers of ``topic`` on all nodes."""
        ...

    async def subscribe(self, topic: str) -> Subscription:
        """Subscribe; once this returns, every later publish to ``topic`` is delivered."""
        ...
