"""Conversation events (past tense, typed, frozen)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from omniroute.core.events import DomainEvent


class ConversationCreated(DomainEvent):
    type: Literal["conversation.created"] = "conversation.created"
    conversation_id: str
    channel: str
    customer_id: str
    queue_id: str
    prechat: dict[str, Any]


class ConversationQueued(DomainEvent):
    type: Literal["conversation.queued"] = "conversation.queued"
    conversation_id: str
    queue_id: str


class ConversationStateChanged(DomainEvent):
    type: Literal["conversation.state_changed"] = "conversation.state_changed"
    conversation_id: str
    from_state: str
    to_state: str
    agent_id: str | None
    reason: str


class MessagePosted(DomainEvent):
    type: Literal["message.posted"] = "message.posted"
    conversation_id: str
    message_id: str
    seq: int
    sender_kind: str
    sender_id: str | None
    sender_name: str
    text: str
    created_at: datetime
    #: The assigned agent when the message was stored: who must receive it live.
    agent_id: str | None
    #: Files the message carries: id (stored attachment) or url (provider link), filename,
    #: content_type, size.
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    #: The place the message shares: latitude, longitude, name, address (None: no place).
    location: dict[str, Any] | None = None


class MessageDeliveryChanged(DomainEvent):
    """An outbound message's delivery state moved (queued, sent, delivered, read, failed)."""

    type: Literal["message.delivery_changed"] = "message.delivery_changed"
    conversation_id: str
    message_id: str
    seq: int
    status: str
    error: str | None
    agent_id: str | None


class TypingChanged(DomainEvent):
    type: Literal["typing.changed"] = "typing.changed"
    conversation_id: str
    sender_kind: str
    is_typing: bool
    agent_id: str | None
    durable: ClassVar[bool] = False


class NoteAdded(DomainEvent):
    """An internal note: agents on the conversation see it, the customer never does."""

    type: Literal["note.added"] = "note.added"
    conversation_id: str
    note_id: str
    author_id: str
    author_name: str
    text: str
    created_at: datetime
    #: The assigned agent when the note was stored (consultants get it through their watch).
    agent_id: str | None
