"""Voice events (past tense, typed, frozen): the audit trail of the registry and of every call."""

from __future__ import annotations

from typing import Literal

from omniroute.core.events import DomainEvent


class VoiceProviderChanged(DomainEvent):
    """A provider was created or changed (secrets and tokens are named, never included)."""

    type: Literal["voice_provider.changed"] = "voice_provider.changed"
    provider_id: str
    changed: list[str]
    actor_id: str | None


class VoiceAgentLinkChanged(DomainEvent):
    """An agent's id at a provider was set (``external_id``) or removed (None)."""

    type: Literal["voice_agent_link.changed"] = "voice_agent_link.changed"
    provider_id: str
    user_id: str
    external_id: str | None
    actor_id: str | None


class VoiceCallChanged(DomainEvent):
    """A call's folded state moved, or Omniroute attached something to it (a conversation, a
    disposition). ``agent_id`` is the Omniroute user on the call, when known."""

    type: Literal["voice.call_changed"] = "voice.call_changed"
    call_row_id: str
    provider_id: str
    call_id: str
    state: str
    previous_state: str
    outcome: str | None
    conversation_id: str | None
    customer_id: str | None
    agent_id: str | None
    reason: str
