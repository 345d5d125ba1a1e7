"""Routing events: offers, assignments, presence."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from omniroute.core.events import DomainEvent


class OfferCreated(DomainEvent):
    type: Literal["offer.created"] = "offer.created"
    session_id: str
    conversation_id: str
    agent_id: str
    queue_id: str
    queue_name: str
    channel: str
    customer_name: str
    preview: str
    prechat: dict[str, Any]
    expires_at: datetime


class OfferClosed(DomainEvent):
    """An offer ended without acceptance: rejected, timed out or withdrawn."""

    type: Literal["offer.closed"] = "offer.closed"
    session_id: str
    conversation_id: str
    agent_id: str
    reason: str


class ConversationAssigned(DomainEvent):
    type: Literal["conversation.assigned"] = "conversation.assigned"
    session_id: str
    conversation_id: str
    agent_id: str
    queue_id: str


class SessionClosed(DomainEvent):
    """An accepted session ended; the agent's capacity is free again."""

    type: Literal["session.closed"] = "session.closed"
    session_id: str
    conversation_id: str
    agent_id: str
    reason: str


class AgentPresenceChanged(DomainEvent):
    type: Literal["presence.changed"] = "presence.changed"
    agent_id: str
    presence: str
    previous: str
    custom_presence: str | None = None


class ConsultStarted(DomainEvent):
    """Another agent joined a conversation to help (read-only, no capacity used)."""

    type: Literal["consult.started"] = "consult.started"
    session_id: str
    conversation_id: str
    agent_id: str  # the consultant
    holder_id: str | None  # the agent handling the conversation
    agent_name: str = ""


class ConsultEnded(DomainEvent):
    type: Literal["consult.ended"] = "consult.ended"
    session_id: str
    conversation_id: str
    agent_id: str
    holder_id: str | None
    reason: str
