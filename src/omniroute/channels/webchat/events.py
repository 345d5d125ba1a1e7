"""Web chat events (past tense, typed, frozen)."""

from __future__ import annotations

from typing import Literal

from omniroute.core.events import DomainEvent


class CsatSubmitted(DomainEvent):
    """A customer rated a finished chat (once per conversation)."""

    type: Literal["webchat.csat_submitted"] = "webchat.csat_submitted"
    conversation_id: str
    widget_id: str
    queue_id: str
    agent_id: str | None
    rating: int
    comment: str


class OfflineMessageLeft(DomainEvent):
    """A visitor left a message while chat was closed; it waits in a queue for follow-up."""

    type: Literal["webchat.offline_message_left"] = "webchat.offline_message_left"
    conversation_id: str
    widget_id: str
    queue_id: str


class WidgetSettingsChanged(DomainEvent):
    type: Literal["webchat.widget_settings_changed"] = "webchat.widget_settings_changed"
    widget_id: str
    changed_by: str | None
