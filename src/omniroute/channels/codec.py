"""Inbound items to and from the JSON stored in the receipt log. Pure."""

from __future__ import annotations

import base64
from dataclasses import asdict
from datetime import datetime
from typing import Any

from omniroute.channels.port import (
    Attachment,
    ConversationEnded,
    ConversationStart,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedPayload,
    QuickReply,
    ReceiptWatermark,
    SentTimestamp,
    StatusUpdate,
    TypingSignal,
)
from omniroute.conversations.model import Location, MessageAttachment, check_location
from omniroute.core.errors import InvalidInput

#: Attachment references that are not links anyone could open (a Telegram file id, an email part).
LOCAL_SCHEMES = ("telegram-file:", "email-attachment:", "cid:", "inline:")


def encode(item: Inbound) -> tuple[str, str, dict[str, Any]]:
    """(kind, dedupe key, payload). Messages dedupe on the provider's id; receipts on id+status."""
    match item:
        case InboundMessage():
            payload = asdict(item)
            payload["sent_at"] = item.sent_at.isoformat() if item.sent_at else None
            payload["extra"] = dict(item.extra)
            payload["reply_context"] = dict(item.reply_context) if item.reply_context is not None else None
            payload["attachments"] = [_encode_attachment(a) for a in item.attachments]
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
        case ReceiptWatermark():
            up_to = item.up_to.isoformat()
            return (
                "watermark",
                f"watermark:{item.recipient_address}:{item.status.value}:{up_to}",
                {"recipient_address": item.recipient_address, "status": item.status.value, "up_to": up_to},
            )
        case SentTimestamp():
            return (
                "sent_at",
                f"sent_at:{item.provider_message_id}",
                {"provider_message_id": item.provider_message_id, "at": item.at.isoformat()},
            )
        case TypingSignal():
            return "typing", "", {"sender_address": item.sender_address, "is_typing": item.is_typing}
        case ConversationEnded():
            return "end", "", {"sender_address": item.sender_address}
        case ConversationStart():
            # Its own namespace: a start and a message may carry the same id on the service's side.
            payload = asdict(item)
            payload["context"] = dict(item.context)
            return "start", f"start:{item.provider_event_id}", payload
    msg = f"cannot store {item!r}"
    raise TypeError(msg)


def decode(kind: str, payload: dict[str, Any]) -> Inbound:
    if kind == "message":
        data = dict(payload)
        data["attachments"] = tuple(_decode_attachment(a) for a in data.get("attachments", ()))
        data["thread_keys"] = tuple(data.get("thread_keys", ()))
        data["location"] = _decode_location(data.get("location"))
        data["sent_at"] = datetime.fromisoformat(data["sent_at"]) if data.get("sent_at") else None
        return InboundMessage(**data)
    if kind == "status":
        return StatusUpdate(
            payload["provider_message_id"], DeliveryStatus(payload["status"]), payload.get("error")
        )
    if kind == "watermark":
        return ReceiptWatermark(
            payload["recipient_address"],
            DeliveryStatus(payload["status"]),
            datetime.fromisoformat(payload["up_to"]),
        )
    if kind == "sent_at":
        return SentTimestamp(payload["provider_message_id"], datetime.fromisoformat(payload["at"]))
    if kind == "typing":
        return TypingSignal(payload["sender_address"], bool(payload["is_typing"]))
    if kind == "end":
        return ConversationEnded(payload["sender_address"])
    if kind == "start":
        data = dict(payload)
        data["context"] = dict(data.get("context") or {})
        return ConversationStart(**data)
    msg = f"unknown receipt kind {kind!r}"
    raise ValueError(msg)


def _decode_location(value: Any) -> Location | None:
    """A stored location: ``{latitude, longitude, name, address}``, or the ``[lat, lon]`` pair
    receipts stored before locations had names (still pending after an upgrade)."""
    if isinstance(value, list | tuple) and len(value) == 2:
        value = {"latitude": value[0], "longitude": value[1]}
    return Location.of(value)


def received_location(latitude: Any, longitude: Any, name: Any = None, address: Any = None) -> Location:
    """A location from a provider's payload. Coordinates that are not numbers in range make the
    payload malformed (400, nothing stored); a name or address over the limit is shortened, a
    non-text one dropped: the place itself is what matters."""
    name = name if isinstance(name, str) else None
    address = address if isinstance(address, str) else None
    try:
        return check_location(latitude, longitude, name, address, cut=True)
    except InvalidInput as exc:
        raise MalformedPayload(f"location: {exc.reason}") from exc


def with_location(text: str, location: Location | None, *, marker: str = "📍") -> str:
    """``text`` followed by the place as channels without a map pin show it: a line naming it
    and an OpenStreetMap link (the place alone when there is no text)."""
    if location is None:
        return text
    lines = [text] if text.strip() else []
    lines += [location.line(marker), location.map_url]
    return "\n".join(lines)


def _encode_attachment(a: Attachment) -> dict[str, Any]:
    """Bytes delivered in the payload (email parts) travel base64-encoded in the receipt's JSON."""
    data: dict[str, Any] = {
        "url": a.url,
        "content_type": a.content_type,
        "filename": a.filename,
        "size": a.size,
    }
    if a.content is not None:
        data["content_b64"] = base64.b64encode(a.content).decode()
    return data


def _decode_attachment(data: dict[str, Any]) -> Attachment:
    raw = data.get("content_b64")
    return Attachment(
        url=str(data["url"]),
        content_type=str(data.get("content_type") or "application/octet-stream"),
        filename=data.get("filename"),
        size=data.get("size"),
        content=base64.b64decode(raw) if isinstance(raw, str) else None,
    )


def attachments_of(message: InboundMessage) -> tuple[MessageAttachment, ...]:
    """The provider's media as structured attachments of the message (links to the provider;
    fetching them into the attachment store is a separate step)."""
    return tuple(
        MessageAttachment(
            filename=a.filename or a.content_type, content_type=a.content_type, size=a.size, url=a.url
        )
        for a in message.attachments
    )


def as_text(message: InboundMessage, notes: dict[int, str | None] | None = None) -> str:
    """What the transcript shows. ``notes`` is the outcome per attachment index when the channel
    service tried to store the media: ``None`` (stored: the message carries the file itself, no
    line) or why it was not ("too large", "fetch failed"…: a visible line with the provider's
    link). Without ``notes`` every attachment is a labelled link. Locations are links too."""
    lines = [message.text] if message.text.strip() else []
    for index, a in enumerate(message.attachments):
        label = a.filename or a.content_type
        if notes is None or index not in notes:
            lines.append(f"[attachment: {label}] {a.url}")
        elif (why := notes[index]) is not None:
            link = "" if a.url.startswith(LOCAL_SCHEMES) else f" {a.url}"
            lines.append(f"[attachment not stored: {why}: {label}]{link}")
    if message.location is not None:
        lat, lon = message.location.latitude, message.location.longitude
        lines.append(f"[location: {lat:.6f}, {lon:.6f}]")
    if not lines and notes is not None and None in notes.values():
        return ""  # only files, all stored: the message shows them itself
    return "\n".join(lines) or "[empty message]"


def fit_text(text: str, max_bytes: int) -> str:
    """``text`` if it fits the transcript's ``max_bytes`` (UTF-8), else its beginning and a
    visible note saying how much was cut: a customer's long message is kept shortened, never
    refused after the provider was told it arrived (the same rule as email's long mails)."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    note = f"\n[… message shortened: {len(data)} bytes received, the transcript keeps {max_bytes}]"
    room = max(max_bytes - len(note.encode()), 0)
    # Cutting inside a multi-byte character drops that character rather than breaking it.
    return data[:room].decode("utf-8", "ignore").rstrip() + note


def quick_replies_of(values: list[Any]) -> tuple[QuickReply, ...]:
    """Quick replies from an outbox payload or a bot's choices: plain strings (the id is the
    text the customer's tap sends back) or ``{"id", "title"}`` objects; blanks and repeats are
    dropped, order kept."""
    found: dict[str, QuickReply] = {}
    for value in values:
        if isinstance(value, str):
            reply = QuickReply(id=value.strip(), title=value.strip())
        elif isinstance(value, dict):
            title = str(value.get("title") or value.get("id") or "").strip()
            reply = QuickReply(id=str(value.get("id") or title).strip(), title=title)
        else:
            continue
        if reply.title and reply.id not in found:
            found[reply.id] = reply
    return tuple(found.values())
