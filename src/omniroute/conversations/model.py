"""Conversations: the state machine (Dynamics' model) and message rules. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from omniroute.core.errors import Conflict, InvalidInput, PayloadTooLarge


class ConversationState(StrEnum):
    OPEN = "open"  # waiting in a queue for an agent
    ACTIVE = "active"  # an agent has accepted it
    WAITING = "waiting"  # paused (customer away, agent put it on hold)
    WRAP_UP = "wrap_up"  # ended; the agent is finishing notes
    CLOSED = "closed"


class SenderKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


S = ConversationState
TRANSITIONS: dict[ConversationState, frozenset[ConversationState]] = {
    S.OPEN: frozenset({S.ACTIVE, S.CLOSED}),
    S.ACTIVE: frozenset({S.OPEN, S.WAITING, S.WRAP_UP}),
    S.WAITING: frozenset({S.ACTIVE, S.WRAP_UP, S.CLOSED}),
    S.WRAP_UP: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}

LIVE_STATES = frozenset({S.OPEN, S.ACTIVE, S.WAITING})


@dataclass(frozen=True)
class Conversation:
    id: str
    channel: str
    customer_id: str
    queue_id: str
    state: ConversationState
    created_at: datetime
    updated_at: datetime
    queued_at: datetime | None = None
    agent_id: str | None = None
    subject: str = ""
    prechat: dict[str, Any] = field(default_factory=dict)
    last_seq: int = 0
    ended_at: datetime | None = None
    ended_by: SenderKind | None = None
    closed_at: datetime | None = None
    channel_account_id: str | None = None  # the SMS number, WhatsApp account… it came through
    customer_address: str | None = None  # where replies go on that channel


def transition(conv: Conversation, to: ConversationState, now: datetime) -> Conversation:
    if to not in TRANSITIONS[conv.state]:
        msg = f"a conversation in state {conv.state.value} cannot become {to.value}"
        raise Conflict(msg)
    return replace(conv, state=to, updated_at=now)


def accept(conv: Conversation, agent_id: str, now: datetime) -> Conversation:
    return replace(transition(conv, S.ACTIVE, now), agent_id=agent_id)


def end(conv: Conversation, by: SenderKind, now: datetime) -> Conversation:
    """End the exchange. Queued conversations close at once (abandoned); others go to wrap-up."""
    target = S.CLOSED if conv.state is S.OPEN else S.WRAP_UP
    ended = replace(transition(conv, target, now), ended_at=now, ended_by=by)
    return replace(ended, closed_at=now) if target is S.CLOSED else ended


def close(conv: Conversation, now: datetime) -> Conversation:
    return replace(transition(conv, S.CLOSED, now), closed_at=now)


def check_can_post(conv: Conversation, sender: SenderKind, sender_id: str | None) -> None:
    if sender is SenderKind.CUSTOMER:
        if conv.state not in LIVE_STATES:
            raise Conflict("the conversation has ended")
    elif sender is SenderKind.AGENT:
        if conv.state not in (S.ACTIVE, S.WAITING):
            raise Conflict("only an active conversation takes agent messages")
        if conv.agent_id != sender_id:
            raise Conflict("this conversation is assigned to another agent")


@dataclass(frozen=True)
class MessageAttachment:
    """A file a message carries: a stored attachment (``id``) or a provider's link (``url``)."""

    filename: str
    content_type: str
    size: int | None = None
    id: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "url": self.url,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> MessageAttachment:
        size = data.get("size")
        return cls(
            filename=str(data.get("filename") or "file"),
            content_type=str(data.get("content_type") or "application/octet-stream"),
            size=int(size) if size is not None else None,
            id=data.get("id"),
            url=data.get("url"),
        )


#: At most this many files in one message.
MAX_ATTACHMENTS_PER_MESSAGE = 10


def check_body(text: str, max_bytes: int, attachments: int) -> str:
    """Text and/or attachments: a message with files may have no text."""
    if attachments > MAX_ATTACHMENTS_PER_MESSAGE:
        msg = f"a message carries at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments"
        raise InvalidInput(msg)
    if attachments and not text.strip():
        if len(text.encode()) > max_bytes:
            msg = f"message is larger than {max_bytes} bytes"
            raise PayloadTooLarge(msg)
        return ""
    return check_text(text, max_bytes)


def check_text(text: str, max_bytes: int) -> str:
    if len(text.encode()) > max_bytes:
        msg = f"message is larger than {max_bytes} bytes"
        raise PayloadTooLarge(msg)
    stripped = text.strip()
    if not stripped:
        raise InvalidInput("message text is empty")
    return stripped
