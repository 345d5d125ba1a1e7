"""Our outbound message as a Cloud API ``POST /{phone_number_id}/messages`` body. Pure.

What WhatsApp cannot show degrades, never silently drops content:

- quick replies: up to 3 short ones become reply buttons; up to 10 become a list; more (or longer
  titles than WhatsApp allows) become numbered lines in the text;
- a template (the only message allowed outside the 24-hour window) goes as ``type: template``;
- one attachment becomes a media message (image, video, audio or document by link) with the text as
  its caption; several attachments, or a caption too long, become links in a text message;
- a location alone becomes a ``type: location`` message (a map pin with its name and address); with
  text, files or choices beside it (a pin carries none of them), it becomes a line with an
  OpenStreetMap link in the text, so one message still says everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omniroute.channels.codec import with_location
from omniroute.channels.port import Attachment, Outbound, PermanentSendError, QuickReply
from omniroute.channels.whatsapp import templates
from omniroute.conversations.model import Location

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
BUTTON_BODY_LIMIT = 1024
MAX_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
MAX_LIST_ROWS = 10
ROW_TITLE_LIMIT = 24
ROW_ID_LIMIT = 200
LIST_BUTTON_LIMIT = 20
#: WhatsApp shows these MIME types inline; anything else travels as a document.
INLINE_IMAGE = frozenset({"image/jpeg", "image/png"})
INLINE_VIDEO = frozenset({"video/mp4", "video/3gpp"})


def build(message: Outbound, *, list_button_label: str = "Options") -> dict[str, Any]:
    envelope = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.to_address}
    if message.template is not None:
        # The approved template goes as such; its rendered ``text`` is only the transcript's copy.
        try:
            return envelope | templates.cloud_api_template(message.template)
        except templates.TemplateRefused as exc:
            raise PermanentSendError(exc.reason) from exc
    location = message.location
    if location is not None and not (message.text.strip() or message.attachments or message.quick_replies):
        return envelope | _location(location)
    text = with_location(message.text, location)
    if message.quick_replies:
        return envelope | _choices(text, message.quick_replies, message.attachments, list_button_label)
    if len(message.attachments) == 1 and len(text) <= CAPTION_LIMIT:
        return envelope | _media(message.attachments[0], text)
    return envelope | _text(with_links(text, message.attachments))


def _location(location: Location) -> dict[str, Any]:
    """The Cloud API's location message; name and address are optional and left out when unknown."""
    place: dict[str, Any] = {"latitude": location.latitude, "longitude": location.longitude}
    if location.name:
        place["name"] = location.name
    if location.address:
        place["address"] = location.address
    return {"type": "location", "location": place}


def with_links(text: str, attachments: Sequence[Attachment]) -> str:
    lines = [text] if text else []
    lines += [f"{a.filename or a.content_type}: {a.url}" for a in attachments]
    return "\n".join(lines)


def _text(body: str) -> dict[str, Any]:
    if not body.strip():
        raise PermanentSendError("nothing to send: WhatsApp needs text, media or choices")
    if len(body) > TEXT_LIMIT:
        msg = f"the text is {len(body)} characters; WhatsApp accepts at most {TEXT_LIMIT} in one message"
        raise PermanentSendError(msg)
    # A link preview helps when the text carries links (e.g. attachments shown as links).
    return {"type": "text", "text": {"body": body, "preview_url": "https://" in body or "http://" in body}}


def _media(attachment: Attachment, caption: str) -> dict[str, Any]:
    if attachment.content_type in INLINE_IMAGE:
        kind = "image"
    elif attachment.content_type in INLINE_VIDEO:
        kind = "video"
    elif attachment.content_type.startswith("audio/") and not caption:
        kind = "audio"  # audio cannot carry a caption; with one it goes as a document
    else:
        kind = "document"
    media: dict[str, Any] = {"link": attachment.url}
    if caption and kind != "audio":
        media["caption"] = caption
    if kind == "document" and attachment.filename:
        media["filename"] = attachment.filename
    return {"type": kind, kind: media}


def _choices(
    text: str, choices: Sequence[QuickReply], attachments: Sequence[Attachment], list_label: str
) -> dict[str, Any]:
    body = with_links(text, attachments)
    ids = [choice.id or choice.title for choice in choices]
    distinct = len(set(ids)) == len(ids) and len({c.title for c in choices}) == len(choices)
    if body.strip() and distinct:
        if (
            _fits(choices, ids, MAX_BUTTONS, BUTTON_TITLE_LIMIT, BUTTON_ID_LIMIT)
            and len(body) <= BUTTON_BODY_LIMIT
        ):
            buttons = [
                {"type": "reply", "reply": {"id": id_, "title": c.title}}
                for id_, c in zip(ids, choices, strict=True)
            ]
            return {
                "type": "interactive",
                "interactive": {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}},
            }
        if _fits(choices, ids, MAX_LIST_ROWS, ROW_TITLE_LIMIT, ROW_ID_LIMIT) and len(body) <= TEXT_LIMIT:
            rows = [{"id": id_, "title": c.title} for id_, c in zip(ids, choices, strict=True)]
            action = {"button": list_label[:LIST_BUTTON_LIMIT], "sections": [{"rows": rows}]}
            return {
                "type": "interactive",
                "interactive": {"type": "list", "body": {"text": body}, "action": action},
            }
    numbered = "\n".join(f"{i}. {c.title}" for i, c in enumerate(choices, start=1))
    return _text(f"{body}\n\n{numbered}" if body else numbered)


def _fits(
    choices: Sequence[QuickReply], ids: Sequence[str], count: int, title_limit: int, id_limit: int
) -> bool:
    return len(choices) <= count and all(
        0 < len(c.title) <= title_limit and len(id_) <= id_limit for c, id_ in zip(choices, ids, strict=True)
    )


def message_id(answer: dict[str, Any]) -> str:
    """``messages[0].id`` of the Cloud API's answer: the wamid later statuses refer to."""
    messages = answer.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    if not isinstance(first, dict) or not isinstance(first.get("id"), str):
        msg = "WhatsApp accepted the message without returning its id; delivery receipts cannot be matched"
        raise PermanentSendError(msg)
    return str(first["id"])
