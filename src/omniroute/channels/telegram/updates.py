"""Telegram ``Update`` JSON → our inbound items. Pure: no I/O, no clock.

Every item an update yields dedupes on the ``update_id`` (Telegram's redelivery key, DESIGN §3 rule 3),
callback queries included. The address is the chat id, which is also where replies go.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from omniroute.channels.codec import received_location
from omniroute.channels.port import (
    Attachment,
    ConversationEnded,
    Inbound,
    InboundMessage,
    MalformedPayload,
)
from omniroute.conversations.model import Location

#: Attachments keep the file_id only: the Bot API download URL embeds the bot token (see README).
FILE_SCHEME = "telegram-file:"
EDITED_PREFIX = "(edited) "

#: Message fields that carry one file, with the content type Telegram implies when it sends none.
_FILE_FIELDS: tuple[tuple[str, str], ...] = (
    ("document", "application/octet-stream"),
    ("audio", "audio/mpeg"),
    ("voice", "audio/ogg"),
    ("video", "video/mp4"),
    ("video_note", "video/mp4"),
    ("animation", "video/mp4"),
    ("sticker", "image/webp"),
)

#: Customer content we do not map: shown as a labelled placeholder rather than dropped silently.
_UNMAPPED_CONTENT = ("poll", "dice", "game", "story", "invoice", "paid_media", "giveaway")


@dataclass(frozen=True)
class ParsedUpdate:
    items: list[Inbound] = field(default_factory=list)
    #: A Bot API call to make in the webhook's answer (Telegram runs it after our 2xx).
    webhook_reply: dict[str, Any] | None = None


def file_ref(file_id: str) -> str:
    return f"{FILE_SCHEME}{file_id}"


def parse(body: bytes) -> ParsedUpdate:
    try:
        update = json.loads(body)
    except ValueError as exc:
        msg = f"body is not JSON: {exc}"
        raise MalformedPayload(msg) from exc
    if not isinstance(update, dict):
        raise MalformedPayload("an Update is a JSON object")
    update_id = update.get("update_id")
    if not _is_int(update_id):
        raise MalformedPayload("an Update needs an integer 'update_id'")
    key = str(update_id)
    if "message" in update:
        message = _message(update["message"], key, edited=False)
        return ParsedUpdate(items=[message] if message else [])
    if "edited_message" in update:
        message = _message(update["edited_message"], key, edited=True)
        return ParsedUpdate(items=[message] if message else [])
    if "callback_query" in update:
        return _callback(update["callback_query"], key)
    if "my_chat_member" in update:
        return ParsedUpdate(items=_membership(update["my_chat_member"]))
    # channel_post, inline_query, poll_answer…: not customer conversation; acknowledged and dropped.
    return ParsedUpdate()


def _message(raw: Any, key: str, *, edited: bool) -> InboundMessage | None:
    message = _object(raw, "message")
    chat = _object(message.get("chat"), "message.chat")
    if not _is_int(chat.get("id")) or not _is_int(message.get("message_id")):
        raise MalformedPayload("a message needs integer 'message_id' and 'chat.id'")
    chat_id = str(chat["id"])
    text = message.get("text") or message.get("caption") or ""
    if not isinstance(text, str):
        raise MalformedPayload("'text' and 'caption' must be strings")
    attachments = _attachments(message)
    location = _location(message)
    extra_text = _described_content(message)
    if extra_text:
        text = f"{text}\n{extra_text}" if text else extra_text
    if not text and not attachments and location is None:
        return None  # a service message (member joined, title changed, pinned…): not customer content
    if edited:
        text = EDITED_PREFIX + text
    sender = _dict(message.get("from"))
    reply = message.get("reply_to_message")
    return InboundMessage(
        provider_message_id=key,
        sender_address=chat_id,
        text=text,
        sender_name=_name(sender) or _name(chat),
        attachments=attachments,
        location=location,
        # A customer answering one of our messages points at its provider id "<chat>:<message_id>".
        reply_to=f"{chat_id}:{reply['message_id']}"
        if isinstance(reply, dict) and _is_int(reply.get("message_id"))
        else None,
        sent_at=_time(message.get("edit_date") if edited else message.get("date")),
        extra=_extra(chat, sender, message["message_id"]),
    )


def _callback(raw: Any, key: str) -> ParsedUpdate:
    query = _object(raw, "callback_query")
    if not isinstance(query.get("id"), str):
        raise MalformedPayload("a callback_query needs a string 'id'")
    # Answering stops the button's spinner; Telegram runs this call from our 2xx, after we stored it.
    answer = {"method": "answerCallbackQuery", "callback_query_id": query["id"]}
    data = query.get("data")
    sender = _object(query.get("from"), "callback_query.from")
    if not isinstance(data, str) or not data:
        return ParsedUpdate(webhook_reply=answer)  # a game button: nothing for an agent
    message = query.get("message") if isinstance(query.get("message"), dict) else None
    chat = message.get("chat") if message and isinstance(message.get("chat"), dict) else None
    if chat is not None and _is_int(chat.get("id")):
        chat_id = str(chat["id"])
    elif _is_int(sender.get("id")):
        chat_id = str(sender["id"])  # an inline-mode message has no chat: the user's private chat
    else:
        raise MalformedPayload("a callback_query needs 'message.chat.id' or 'from.id'")
    reply_to = None
    if message is not None and _is_int(message.get("message_id")):
        reply_to = f"{chat_id}:{message['message_id']}"
    return ParsedUpdate(
        items=[
            InboundMessage(
                provider_message_id=key,
                sender_address=chat_id,
                text=_button_title(message, data) or data,
                sender_name=_name(sender),
                reply_to=reply_to,
                extra={"callback_data": data, "user_id": sender.get("id")},
            )
        ],
        webhook_reply=answer,
    )


def _membership(raw: Any) -> list[Inbound]:
    """A private chat's user blocking the bot ends the conversation: replies could not arrive."""
    update = _object(raw, "my_chat_member")
    chat = _object(update.get("chat"), "my_chat_member.chat")
    new = update.get("new_chat_member")
    status = new.get("status") if isinstance(new, dict) else None
    if chat.get("type") == "private" and status == "kicked" and _is_int(chat.get("id")):
        return [ConversationEnded(str(chat["id"]))]
    return []


def _attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    photos = message.get("photo")
    if isinstance(photos, list) and photos:
        # Telegram sends every size it made; the largest is the one worth showing.
        sizes = [p for p in photos if isinstance(p, dict) and isinstance(p.get("file_id"), str)]
        if sizes:
            best = max(sizes, key=_photo_area)
            found.append(Attachment(file_ref(best["file_id"]), "image/jpeg", "photo.jpg", _size(best)))
    for name, default_type in _FILE_FIELDS:
        item = message.get(name)
        if not isinstance(item, dict):
            continue
        if not isinstance(item.get("file_id"), str):
            msg = f"'{name}.file_id' must be a string"
            raise MalformedPayload(msg)
        mime = item.get("mime_type")
        content_type = mime if isinstance(mime, str) else default_type
        if name == "sticker" and (item.get("is_animated") or item.get("is_video")):
            content_type = "application/x-tgsticker" if item.get("is_animated") else "video/webm"
        found.append(Attachment(file_ref(item["file_id"]), content_type, _filename(name, item), _size(item)))
    return tuple(found)


def _filename(kind: str, item: dict[str, Any]) -> str:
    if isinstance(item.get("file_name"), str):
        return str(item["file_name"])
    if kind == "sticker":
        return f"sticker {item.get('emoji') or ''}".strip()
    if kind == "voice":
        return f"voice message ({_int(item.get('duration'))} s)"
    return kind.replace("_", " ")


def _location(message: dict[str, Any]) -> Location | None:
    """``location`` (a pin; a venue message carries it too) or ``venue.location``; a venue names
    the place (``title``, ``address``)."""
    venue = _dict(message.get("venue"))
    raw = message.get("location")
    if raw is None:
        raw = venue.get("location")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise MalformedPayload("'location' must be an object")
    lat, lon = raw.get("latitude"), raw.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float) or isinstance(lat, bool):
        raise MalformedPayload("a location needs numeric 'latitude' and 'longitude'")
    return received_location(lat, lon, venue.get("title"), venue.get("address"))


def _described_content(message: dict[str, Any]) -> str:
    """Content with no field of its own in our model, written out so the agent still sees it."""
    venue = message.get("venue")
    if isinstance(venue, dict):
        return f"[venue: {venue.get('title', '')}, {venue.get('address', '')}]"
    contact = message.get("contact")
    if isinstance(contact, dict):
        name = " ".join(str(contact[k]) for k in ("first_name", "last_name") if contact.get(k))
        return f"[contact: {name}, {contact.get('phone_number', '')}]"
    for kind in _UNMAPPED_CONTENT:
        if kind in message:
            return f"[Telegram {kind.replace('_', ' ')}: not shown here]"
    return ""


def _button_title(message: dict[str, Any] | None, data: str) -> str | None:
    """Telegram echoes the keyboard with the message, so the pressed button's label is known."""
    markup = message.get("reply_markup") if message else None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else ():
        for button in row if isinstance(row, list) else ():
            if isinstance(button, dict) and button.get("callback_data") == data:
                text = button.get("text")
                return text if isinstance(text, str) else None
    return None


def _name(who: dict[str, Any]) -> str | None:
    parts = [str(who[k]) for k in ("first_name", "last_name") if who.get(k)]
    if parts:
        return " ".join(parts)
    if who.get("title"):
        return str(who["title"])  # a group chat
    return f"@{who['username']}" if who.get("username") else None


def _extra(chat: dict[str, Any], sender: dict[str, Any], message_id: int) -> dict[str, Any]:
    extra: dict[str, Any] = {"chat_type": chat.get("type"), "message_id": message_id}
    if _is_int(sender.get("id")):
        extra["user_id"] = sender["id"]
    if sender.get("username"):
        extra["username"] = sender["username"]
    return extra


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if _is_int(value) else None


def _photo_area(size: dict[str, Any]) -> tuple[int, int]:
    return _int(size.get("width")) * _int(size.get("height")), _int(size.get("file_size"))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = f"'{where}' must be an object"
        raise MalformedPayload(msg)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: Any) -> int:
    return value if _is_int(value) else 0


def _size(item: dict[str, Any]) -> int | None:
    return item["file_size"] if _is_int(item.get("file_size")) else None
