"""WhatsApp Cloud API webhooks (``object: whatsapp_business_account``) to our inbound items. Pure.

Shape: ``entry[].changes[]`` with ``field: "messages"`` and a ``value`` holding ``metadata``
(``phone_number_id``), ``contacts[]`` (``profile.name``, ``wa_id``), ``messages[]`` from customers
and ``statuses[]`` about our messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from omniroute.channels.whatsapp.errors import describe_status_errors
from omniroute.conversations.model import Location

log = logging.getLogger(__name__)

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
#: Types whose content is an object named after the type (``{"type": "text", "text": {...}}``).
STRUCTURED_TYPES = frozenset(
    {"text", *MEDIA_TYPES, "location", "interactive", "button", "reaction", "system"}
)
STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "played": DeliveryStatus.READ,  # a voice message was played: it was certainly seen
    "failed": DeliveryStatus.FAILED,
}

#: Turns a Graph media id into the URL that resolves it (``{graph_base}/{version}/{media_id}``).
MediaUrl = Callable[[str], str]


class _Content:
    """What one message says, whatever its type."""

    def __init__(self, text: str = "") -> None:
        self.text = text
        self.attachments: list[Attachment] = []
        self.location: Location | None = None
        self.choice: str | None = None  # the id of the button or list row the customer picked


def parse(document: dict[str, Any], *, phone_number_id: str, media_url: MediaUrl) -> list[Inbound]:
    items: list[Inbound] = []
    for e, entry in enumerate(document["entry"]):
        for c, change in enumerate(objects(entry.get("changes"), f"entry[{e}].changes")):
            if change.get("field") != "messages":
                continue  # template, quality and account updates are not conversations
            where = f"entry[{e}].changes[{c}].value"
            value = change.get("value")
            if not isinstance(value, dict):
                msg = f"{where} must be an object"
                raise MalformedPayload(msg)
            metadata = value.get("metadata")
            number = str(metadata.get("phone_number_id", "")) if isinstance(metadata, dict) else ""
            if number != phone_number_id:
                # One Meta app has one callback URL for all its numbers; another number's traffic
                # belongs to another account (or to none), never to this one.
                log.info(
                    "ignoring WhatsApp change for phone number %r (this account is %r)",
                    number,
                    phone_number_id,
                )
                continue
            names = _names(objects(value.get("contacts"), f"{where}.contacts"))
            for m, message in enumerate(objects(value.get("messages"), f"{where}.messages")):
                if message.get("group_id"):
                    # A group chat is not a one-to-one customer conversation; mixing it into the
                    # sender's own conversation would mislead the agent.
                    log.info("ignoring WhatsApp group message %s", message.get("id"))
                    continue
                items.append(_message(message, names, f"{where}.messages[{m}]", media_url))
            for s, status in enumerate(objects(value.get("statuses"), f"{where}.statuses")):
                update = _status(status, f"{where}.statuses[{s}]")
                if update is not None:
                    items.append(update)
            for error in objects(value.get("errors"), f"{where}.errors"):
                log.warning("WhatsApp reported an error for %s: %s", number, describe_status_errors([error]))
    return items


def _names(contacts: list[dict[str, Any]]) -> dict[str, str]:
    names = {}
    for contact in contacts:
        profile = contact.get("profile")
        name = profile.get("name") if isinstance(profile, dict) else None
        if contact.get("wa_id") and isinstance(name, str) and name.strip():
            names[str(contact["wa_id"])] = name.strip()
    return names


def _message(
    message: dict[str, Any], names: dict[str, str], where: str, media_url: MediaUrl
) -> InboundMessage:
    wamid = text_field(message.get("id"), f"{where}.id")
    sender = text_field(message.get("from"), f"{where}.from")
    kind = text_field(message.get("type"), f"{where}.type")
    context = message.get("context")
    quoted = str(context["id"]) if isinstance(context, dict) and context.get("id") else None
    content = _content(kind, message, where, media_url)
    extra: dict[str, Any] = {"type": kind}
    if quoted and content.choice:
        extra["context_id"] = quoted  # the message that carried the buttons
    return InboundMessage(
        provider_message_id=wamid,
        sender_address=sender,
        text=content.text,
        sender_name=names.get(sender),
        attachments=tuple(content.attachments),
        location=content.location,
        reply_to=content.choice or quoted,
        sent_at=_time(message.get("timestamp")),
        extra=extra,
    )


def _content(kind: str, message: dict[str, Any], where: str, media_url: MediaUrl) -> _Content:
    if kind == "contacts":
        return _Content(_contacts(message.get("contacts")))
    if kind not in STRUCTURED_TYPES:
        return _Content(_unsupported(kind, message))
    body = message.get(kind)
    if not isinstance(body, dict):
        msg = f"{where}: a {kind} message needs a '{kind}' object"
        raise MalformedPayload(msg)
    if kind == "text":
        return _Content(_raw(body.get("body")))
    if kind in MEDIA_TYPES:
        return _media(kind, body, where, media_url)
    if kind == "location":
        return _location(body, where)
    if kind == "interactive":
        return _interactive(body)
    if kind == "button":  # a quick-reply button of a template message
        content = _Content(_string(body.get("text")) or _string(body.get("payload")))
        content.choice = _string(body.get("payload")) or None
        return content
    if kind == "reaction":
        emoji = _string(body.get("emoji"))
        content = _Content(f"[reaction {emoji}]" if emoji else "[reaction removed]")
        content.choice = _string(body.get("message_id")) or None
        return content
    if kind == "contacts":
        return _Content(_contacts(message.get("contacts")))
    return _Content(_string(body.get("body")) or "[WhatsApp system message]")  # "system"


def _media(kind: str, body: dict[str, Any], where: str, media_url: MediaUrl) -> _Content:
    media_id = text_field(body.get("id"), f"{where}.{kind}.id")
    content_type = _string(body.get("mime_type")) or "application/octet-stream"
    filename = _string(body.get("filename")) or ("sticker" if kind == "sticker" else None)
    if kind == "audio" and body.get("voice") is True:
        filename = "voice message"
    content = _Content(_raw(body.get("caption")))
    content.attachments.append(
        Attachment(url=media_url(media_id), content_type=content_type, filename=filename)
    )
    return content


def _location(body: dict[str, Any], where: str) -> _Content:
    """``{"latitude", "longitude", "name"?, "address"?, "url"?}``: the place, structured; the text
    names it too, so a reader of the text alone still knows where."""
    latitude, longitude = body.get("latitude"), body.get("longitude")
    if not _is_number(latitude) or not _is_number(longitude):
        msg = f"{where}.location needs numeric latitude and longitude"
        raise MalformedPayload(msg)
    label = [_string(body.get(k)) for k in ("name", "address", "url")]
    content = _Content(" — ".join(part for part in label if part))
    try:
        content.location = received_location(
            latitude, longitude, _string(body.get("name")) or None, _string(body.get("address")) or None
        )
    except MalformedPayload as exc:
        msg = f"{where}.{exc}"
        raise MalformedPayload(msg) from None
    return content


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _interactive(body: dict[str, Any]) -> _Content:
    kind = _string(body.get("type"))
    reply = body.get(kind)
    if kind in ("button_reply", "list_reply") and isinstance(reply, dict):
        content = _Content(_string(reply.get("title")) or _string(reply.get("id")))
        content.choice = _string(reply.get("id")) or None
        return content
    if kind == "nfm_reply" and isinstance(reply, dict):  # a WhatsApp Flow's answer
        return _Content(_string(reply.get("body")) or f"[form reply] {_string(reply.get('response_json'))}")
    return _Content(f"[WhatsApp interactive reply '{kind or 'unknown'}' cannot be shown here]")


def _contacts(cards: Any) -> str:
    lines = []
    for card in cards if isinstance(cards, list) else []:
        if not isinstance(card, dict):
            continue
        name = card.get("name")
        formatted = _string(name.get("formatted_name")) if isinstance(name, dict) else ""
        phones = [_string(p.get("phone")) for p in card.get("phones") or () if isinstance(p, dict)]
        lines.append(" ".join(["[contact:", formatted or "unnamed", *(p for p in phones if p)]) + "]")
    return "\n".join(lines) or "[contact card]"


def _unsupported(kind: str, message: dict[str, Any]) -> str:
    errors = message.get("errors")
    if isinstance(errors, list) and errors and all(isinstance(e, dict) for e in errors):
        return f"[WhatsApp {kind} message cannot be shown here: {describe_status_errors(errors)}]"
    return f"[WhatsApp {kind} message cannot be shown here]"


def _status(status: dict[str, Any], where: str) -> StatusUpdate | None:
    wamid = text_field(status.get("id"), f"{where}.id")
    state = STATUSES.get(str(status.get("status")))
    if state is None:
        return None  # e.g. "deleted" or "warning": nothing the delivery state can show
    error = None
    if state is DeliveryStatus.FAILED:
        error = describe_status_errors(objects(status.get("errors"), f"{where}.errors"))
    return StatusUpdate(wamid, state, error)


def _string(value: Any) -> str:
    """A label or id: surrounding whitespace is noise."""
    return value.strip() if isinstance(value, str) else ""


def _raw(value: Any) -> str:
    """What the customer typed, exactly."""
    return value if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    """WhatsApp timestamps are Unix seconds, as a string."""
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
