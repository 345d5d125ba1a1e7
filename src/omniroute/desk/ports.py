"""What the desk needs from other slices, as structural types (routing, customers and
conversations provide them; bootstrap plugs their services in)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from omniroute.conversations.model import Conversation
from omniroute.core.uow import UnitOfWork


class NamedQueue(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


class Queues(Protocol):
    async def queues(self) -> Sequence[NamedQueue]: ...


class NamedCustomer(Protocol):
    @property
    def display_name(self) -> str: ...


class CustomerProfile(Protocol):
    @property
    def customer(self) -> NamedCustomer: ...


class Customers(Protocol):
    async def profile(self, customer_id: str) -> CustomerProfile: ...


class Conversations(Protocol):
    async def load(self, uow: UnitOfWork, conversation_id: str) -> Conversation:
        """The conversation, locked for the rest of the unit of work."""
        ...
