"""Our outbound message as a Send API ``POST /{page_id}/messages`` body. Pure.

What Messenger cannot show degrades, never silently drops content:

- quick replies: up to 13 become Messenger quick replies (titles over 20 characters are shortened
  with an ellipsis; the payload keeps the full id); more become numbered lines in the text;
- one attachment with no text becomes an attachment message; otherwise attachments become links in
  the text (a Send API message is either text or one attachment, and one call gives one message id);
- a location becomes a line naming the place and an OpenStreetMap link: the Send API has no
  location message (Meta retired location quick replies and location attachments).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omniroute.channels.codec import with_location
from omniroute.channels.messenger.window import RESPONSE, Messaging
from omniroute.channels.port import Attachment, Outbound, PermanentSendError, QuickReply

TEXT_LIMIT = 2000
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_LIMIT = 20
PAYLOAD_LIMIT = 1000


def build(message: Outbound, messaging: Messaging = RESPONSE) -> dict[str, Any]:
    """``messaging``: ``RESPONSE`` within 24 hours of the customer's message, or the
    ``MESSAGE_TAG`` + ``HUMAN_AGENT`` an agent's later reply needs (see :mod:`.window`)."""
    return {"recipient": {"id": message.to_address}, **messaging.fields(), "message": _content(message)}


def _content(message: Outbound) -> dict[str, Any]:
    said = with_location(message.text, message.location)
    text = with_links(said, message.attachments)
    if message.quick_replies:
        return _choices(text, message.quick_replies)
    if len(message.attachments) == 1 and not said:
        return _attachment(message.attachments[0])
    return {"text": _checked(text)}


def with_links(text: str, attachments: Sequence[Attachment]) -> str:
    if len(attachments) == 1 and not text:
        return ""  # sent as a native attachment
    lines = [text] if text else []
    lines += [f"{a.filename or a.content_type}: {a.url}" for a in attachments]
    return "\n".join(lines)


def _choices(text: str, choices: Sequence[QuickReply]) -> dict[str, Any]:
    payloads = [choice.id or choice.title for choice in choices]
    if text and len(choices) <= MAX_QUICK_REPLIES and all(0 < len(p) <= PAYLOAD_LIMIT for p in payloads):
        quick_replies = [
            {"content_type": "text", "title": _shorten(c.title), "payload": p}
            for c, p in zip(choices, payloads, strict=True)
        ]
        return {"text": _checked(text), "quick_replies": quick_replies}
    numbered = "\n".join(f"{i}. {c.title}" for i, c in enumerate(choices, start=1))
    return {"text": _checked(f"{text}\n\n{numbered}" if text else numbered)}


def _shorten(title: str) -> str:
    return title if len(title) <= QUICK_REPLY_TITLE_LIMIT else title[: QUICK_REPLY_TITLE_LIMIT - 1] + "…"


def _attachment(attachment: Attachment) -> dict[str, Any]:
    major = attachment.content_type.split("/", 1)[0]
    kind = major if major in ("image", "video", "audio") else "file"
    return {"attachment": {"type": kind, "payload": {"url": attachment.url, "is_reusable": False}}}


def _checked(text: str) -> str:
    if not text.strip():
        raise PermanentSendError("nothing to send: Messenger needs text or an attachment")
    if len(text) > TEXT_LIMIT:
        msg = f"the text is {len(text)} characters; Messenger accepts at most {TEXT_LIMIT} in one message"
        raise PermanentSendError(msg)
    return text


def message_id(answer: dict[str, Any]) -> str:
    """``message_id`` of the Send API's answer: the mid later receipts refer to."""
    mid = answer.get("message_id")
    if not isinstance(mid, str) or not mid:
        msg = "Messenger accepted the message without returning its id; delivery receipts cannot be matched"
        raise PermanentSendError(msg)
    return mid
