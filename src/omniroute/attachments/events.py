"""Attachment events (for the event log: who stored which file where)."""

from __future__ import annotations

from typing import Literal

from omniroute.core.events import DomainEvent


class AttachmentUploaded(DomainEvent):
    type: Literal["attachment.uploaded"] = "attachment.uploaded"
    conversation_id: str
    attachment_id: str
    sha256: str
    size: int
    content_type: str
    filename: str
    uploaded_by_kind: str
    uploaded_by_id: str | None
