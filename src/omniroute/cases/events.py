"""Case events (past tense, typed, frozen). Each is also a row of the case's activity history.

They carry ``customer_id`` so the customer's timeline can pick them up, and ``conversation_id``
where a conversation is involved, so the event log indexes them with that conversation. They use
``actor_id`` rather than ``agent_id``: the gateway sends ``agent_id`` events to that agent's sockets.
"""

from __future__ import annotations

from typing import Any, Literal

from omniroute.core.events import DomainEvent


class CaseEvent(DomainEvent):
    case_id: str
    number: str
    customer_id: str
    actor_id: str | None


class CaseCreated(CaseEvent):
    type: Literal["case.created"] = "case.created"
    title: str
    status: str
    priority: str
    owner_id: str | None
    queue_id: str | None
    sla_due_at: str
    #: The conversation it was created from, if any.
    conversation_id: str | None = None


class CaseUpdated(CaseEvent):
    type: Literal["case.updated"] = "case.updated"
    #: field → {"from": before, "to": after}, only the fields that changed.
    changes: dict[str, dict[str, Any]]
    version: int


class CaseLinked(CaseEvent):
    type: Literal["case.linked"] = "case.linked"
    conversation_id: str


class CaseUnlinked(CaseEvent):
    type: Literal["case.unlinked"] = "case.unlinked"
    conversation_id: str


class CaseNoteAdded(CaseEvent):
    type: Literal["case.note_added"] = "case.note_added"
    note_id: str
    author_name: str
    text: str


class CaseResolved(CaseEvent):
    type: Literal["case.resolved"] = "case.resolved"
    resolution: str
    resolution_type: str
    sla_met: bool
    version: int


class CaseReopened(CaseEvent):
    type: Literal["case.reopened"] = "case.reopened"
    previous_resolution: str | None
    version: int


class CaseCancelled(CaseEvent):
    type: Literal["case.cancelled"] = "case.cancelled"
    reason: str
    version: int
