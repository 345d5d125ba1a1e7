"""What the conversation slice needs from whoever assigns work (the routing slice implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from omniroute.conversations.model import Conversation, MessageAttachment, SenderKind
from omniroute.conversations.store import Message
from omniroute.core.uow import UnitOfWork


class AssignmentHooks(Protocol):
    async def conversation_ended(self, uow: UnitOfWork, conv: Conversation) -> None:
        """The exchange ended (customer left or agent ended); pending offers must be withdrawn."""
        ...

    async def conversation_closed(self, uow: UnitOfWork, conv: Conversation) -> None:
        """The conversation is closed; the agent's capacity is free."""
        ...


class MessageHooks(Protocol):
    async def message_stored(self, uow: UnitOfWork, conv: Conversation, message: Message) -> None:
        """A message was stored in the same transaction (channels queue it for the customer)."""
        ...


class AttachmentLinker(Protocol):
    async def attach(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        sender_kind: SenderKind,
        attachment_ids: Sequence[str],
        message_id: str,
    ) -> list[MessageAttachment]:
        """Check that the sender may send these stored files in this conversation and link them
        to the message, in the message's transaction (the attachments slice implements it)."""
        ...
