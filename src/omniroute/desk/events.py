"""Desk events: quick replies written, disposition codes configured and chosen. They reach no
socket; the event log keeps them for audit and analytics (dispositions per queue and agent)."""

from __future__ import annotations

from typing import Literal

from omniroute.core.events import DomainEvent


class QuickReplyCreated(DomainEvent):
    type: Literal["desk.quick_reply_created"] = "desk.quick_reply_created"
    reply_id: str
    title: str
    shared: bool
    owner_id: str | None
    actor_id: str | None


class QuickReplyUpdated(DomainEvent):
    type: Literal["desk.quick_reply_updated"] = "desk.quick_reply_updated"
    reply_id: str
    title: str
    version: int
    actor_id: str | None


class QuickReplyDeleted(DomainEvent):
    type: Literal["desk.quick_reply_deleted"] = "desk.quick_reply_deleted"
    reply_id: str
    actor_id: str | None


class DispositionCodesChanged(DomainEvent):
    type: Literal["desk.disposition_codes_changed"] = "desk.disposition_codes_changed"
    queue_id: str
    required: bool
    codes: list[str]
    version: int
    actor_id: str | None


class DispositionRecorded(DomainEvent):
    """``agent_id`` and ``conversation_id`` are indexed by the event log (per agent, per conversation)."""

    type: Literal["desk.disposition_recorded"] = "desk.disposition_recorded"
    conversation_id: str
    queue_id: str
    code: str
    agent_id: str | None
