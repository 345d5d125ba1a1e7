"""Customer events: identities joining a customer, profile edits, merges."""

from __future__ import annotations

from typing import Literal

from omniroute.core.events import DomainEvent


class CustomerIdentityLinked(DomainEvent):
    """A new channel address joined an existing customer because it proved the same phone or email."""

    type: Literal["customer.identity_linked"] = "customer.identity_linked"
    customer_id: str
    channel: str
    address: str
    reason: str


class CustomerUpdated(DomainEvent):
    type: Literal["customer.updated"] = "customer.updated"
    customer_id: str
    changed: list[str]
    actor_id: str | None


class CustomersMerged(DomainEvent):
    """Two records of one person became one; ``merged_id`` is kept as a tombstone."""

    type: Literal["customers.merged"] = "customers.merged"
    customer_id: str
    merged_id: str
    actor_id: str | None


class CustomerNoteAdded(DomainEvent):
    type: Literal["customer.note_added"] = "customer.note_added"
    customer_id: str
    note_id: str
    pinned: bool
    actor_id: str | None


class CustomerNoteChanged(DomainEvent):
    type: Literal["customer.note_changed"] = "customer.note_changed"
    customer_id: str
    note_id: str
    changed: list[str]
    version: int
    actor_id: str | None


class CustomerNoteDeleted(DomainEvent):
    type: Literal["customer.note_deleted"] = "customer.note_deleted"
    customer_id: str
    note_id: str
    actor_id: str | None
