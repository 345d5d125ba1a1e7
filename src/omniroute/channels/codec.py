"""Inbound items to and from the JSON stored in the receipt log. Pure."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from omniroute.channels.port import (
    Attachment,
    ConversationEnded,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    StatusUpdate,
    TypingSignal,
)


def encode(item: Inbound) -> tuple[str, str, dict[str, Any]]:
    """(kind, dedupe key, payload). Messages dedupe on the provider's id; receipts on id+status."""
    match item:
        case InboundMessage():
            payload = asdict(item)
            payload["sent_at"] = item.sent_at.isoformat() if item.sent_at else None
            payload["extra"] = dict(item.extra)
            return "message", f"msg:{item.provider_message_id}", payload
        case StatusUpdate():
            return (
                "status",
                f"status:{item.provider_message_id}:{item.status.value}",
                {
                    "provider_message_id": item.provider_message_id,
                    "status": item.status.value,
                    "error": item.error,
                },
            )
        case TypingSignal():
            return "typing", "", {"sender_address": item.sender_address, "is_typing": item.is_typing}
        case ConversationEnded():
            return "end", "", {"sender_address": item.sender_address}
    msg = f"cannot store {item!r}"
    raise TypeError(msg)


def decode(kind: str, payload: dict[str, Any]) -> Inbound:
    if kind == "message":
        data = dict(payload)
        data["attachments"] = tuple(Attachment(**a) for a in data.get("attachments", ()))
        data["thread_keys"] = tuple(data.get("thread_keys", ()))
        location = data.get("location")
        data["location"] = tuple(location) if location else None
        data["sent_at"] = datetime.fromisoformat(data["sent_at"]) if data.get("sent_at") else None
        return InboundMessage(**data)
    if kind == "status":
        return StatusUpdate(
            payload["provider_message_id"], DeliveryStatus(payload["status"]), payload.get("error")
        )
    if kind == "typing":
        return TypingSignal(payload["sender_address"], bool(payload["is_typing"]))
    if kind == "end":
        return ConversationEnded(payload["sender_address"])
    msg = f"unknown receipt kind {kind!r}"
    raise ValueError(msg)


def as_text(message: InboundMessage) -> str:
    """What the transcript shows. Attachments and locations stay visible as links until the
    message model carries them natively."""
    lines = [message.text] if message.text else []
    for a in message.attachments:
        label = a.filename or a.content_type
        lines.append(f"[attachment: {label}] {a.url}")
    if message.location is not None:
        lat, lon = message.location
        lines.append(f"[location: {lat:.6f}, {lon:.6f}]")
    return "\n".join(lines) or "[empty message]"
