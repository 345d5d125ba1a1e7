"""Messenger webhooks (``object: page``) to our inbound items. Pure.

Shape: ``entry[]`` (``id`` = the Page) with ``messaging[]`` events, each with ``sender.id`` (the
customer's page-scoped id, PSID), ``recipient.id``, ``timestamp`` (ms) and one of ``message``,
``postback``, ``delivery`` or ``read``. Read receipts, and deliveries without ``mids``, are only a
watermark; they come back as :class:`Watermark` for the adapter to resolve against what it sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from omniroute.channels.codec import received_location
from omniroute.channels.meta_common.envelope import objects, text_field
from omniroute.channels.port import (
    Attachment,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedPayload,
    StatusUpdate,
)
from omniroute.conversations.model import Location

log = logging.getLogger(__name__)

#: Messenger names the kind of media but not its MIME type.
MEDIA_TYPES = {
    "image": "image/*",
    "sticker": "image/*",
    "video": "video/*",
    "reel": "video/*",
    "ig_reel": "video/*",
    "audio": "audio/*",
    "file": "application/octet-stream",
}


@dataclass(frozen=True)
class Watermark:
    """Every message of ours to ``recipient`` sent at or before ``up_to`` reached ``status``."""

    recipient: str
    status: DeliveryStatus
    up_to: datetime


@dataclass(frozen=True)
class Echo:
    """Meta's copy of a message the Page sent (ours or typed in Meta's inbox), with Meta's time."""

    mid: str
    at: datetime


@dataclass
class Parsed:
    items: list[Inbound] = field(default_factory=list)
    watermarks: list[Watermark] = field(default_factory=list)
    echoes: list[Echo] = field(default_factory=list)


def parse(document: dict[str, Any], *, page_id: str) -> Parsed:
    parsed = Parsed()
    for e, entry in enumerate(document["entry"]):
        if str(entry.get("id", "")) != page_id:
            # One Meta app has one callback URL for all its Pages; another Page's events are not ours.
            log.info("ignoring Messenger entry for page %r (this account is %r)", entry.get("id"), page_id)
            continue
        for m, event in enumerate(objects(entry.get("messaging"), f"entry[{e}].messaging")):
            _event(event, f"entry[{e}].messaging[{m}]", parsed)
    return parsed


def _event(event: dict[str, Any], where: str, parsed: Parsed) -> None:
    sender = _party(event.get("sender"), f"{where}.sender")
    at = _time(event.get("timestamp"))
    if isinstance(event.get("message"), dict):
        message = event["message"]
        if message.get("is_echo"):
            if message.get("mid") and at is not None:
                parsed.echoes.append(Echo(str(message["mid"]), at))
            return
        parsed.items.append(_message(message, sender, at, where))
    elif isinstance(event.get("postback"), dict):
        parsed.items.append(_postback(event["postback"], sender, at, event.get("timestamp")))
    elif isinstance(event.get("delivery"), dict):
        delivery = event["delivery"]
        mids = delivery.get("mids") or []
        if not isinstance(mids, list):
            msg = f"{where}.delivery.mids must be a list"
            raise MalformedPayload(msg)
        parsed.items.extend(StatusUpdate(str(mid), DeliveryStatus.DELIVERED) for mid in mids if mid)
        watermark = _time(delivery.get("watermark"))
        if watermark is not None:
            parsed.watermarks.append(Watermark(sender, DeliveryStatus.DELIVERED, watermark))
    elif isinstance(event.get("read"), dict):
        watermark = _time(event["read"].get("watermark"))
        if watermark is None:
            msg = f"{where}.read needs a numeric watermark"
            raise MalformedPayload(msg)
        parsed.watermarks.append(Watermark(sender, DeliveryStatus.READ, watermark))
    # Reactions, referrals, opt-ins, hand-overs…: nothing a conversation transcript needs.


def _message(message: dict[str, Any], sender: str, at: datetime | None, where: str) -> InboundMessage:
    mid = text_field(message.get("mid"), f"{where}.message.mid")
    raw_text = message.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    attachments, location, unshown, links = _attachments(
        objects(message.get("attachments"), f"{where}.message.attachments")
    )
    # A shared link is a web page, not a file: it stays a link in the text (never downloaded).
    text = "\n".join([text, *(line for url, line in links if url not in text)]).strip("\n")
    if not text and not attachments and location is None:
        text = f"[Messenger {', '.join(unshown) or 'empty'} message cannot be shown here]"
    quick_reply = message.get("quick_reply")
    replied = message.get("reply_to")
    reply_to = None
    if isinstance(quick_reply, dict) and quick_reply.get("payload"):
        reply_to = str(quick_reply["payload"])  # the id of the quick reply the customer tapped
    elif isinstance(replied, dict) and replied.get("mid"):
        reply_to = str(replied["mid"])  # the customer quoted this message
    return InboundMessage(
        provider_message_id=mid,
        sender_address=sender,
        text=text,
        attachments=attachments,
        location=location,
        reply_to=reply_to,
        sent_at=at,
    )


def _attachments(
    attachments: list[dict[str, Any]],
) -> tuple[tuple[Attachment, ...], Location | None, list[str], list[tuple[str, str]]]:
    found: dict[str, Attachment] = {}  # by URL: stickers arrive as both "sticker" and "image" for now
    location = None
    unshown = []
    links: list[tuple[str, str]] = []
    for attachment in attachments:
        kind = str(attachment.get("type", ""))
        raw_payload = attachment.get("payload")
        payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
        url = payload.get("url") or attachment.get("url")
        title = attachment.get("title") or payload.get("title")
        if kind in MEDIA_TYPES and isinstance(url, str) and url:
            filename = "sticker" if kind == "sticker" or payload.get("sticker_id") else title
            if url not in found or kind == "sticker":
                found[url] = Attachment(url=url, content_type=MEDIA_TYPES[kind], filename=filename or None)
        elif kind == "location" and isinstance(coordinates := payload.get("coordinates"), dict):
            # Legacy: Messenger no longer sends locations, but older threads and some clients do.
            # The title ("Ana's Location", "Pinned Location") is the only name it gives.
            lat, lon = coordinates.get("lat"), coordinates.get("long")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                location = received_location(lat, lon, title)
        elif kind == "fallback" and isinstance(url, str) and url:  # a shared link
            links.append((url, f"{title}: {url}" if title else url))
        else:
            unshown.append(kind or "unknown")
    return tuple(found.values()), location, unshown, links


def _postback(postback: dict[str, Any], sender: str, at: datetime | None, raw_time: Any) -> InboundMessage:
    """A tapped button (postback button, Get Started, persistent menu): the customer's choice."""
    payload = str(postback.get("payload") or "")
    title = str(postback.get("title") or "")
    mid = postback.get("mid")
    # Older postbacks have no mid; the sender and Meta's ms timestamp identify a tap as well.
    key = str(mid) if mid else f"postback:{sender}:{raw_time}"
    return InboundMessage(
        provider_message_id=key,
        sender_address=sender,
        text=title or payload or "[button]",
        reply_to=payload or None,
        sent_at=at,
        extra={"postback": True},
    )


def _party(value: Any, where: str) -> str:
    if not isinstance(value, dict):
        msg = f"{where} must be an object with an id"
        raise MalformedPayload(msg)
    return text_field(value.get("id"), f"{where}.id")


def _time(value: Any) -> datetime | None:
    """Messenger times are Unix milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
