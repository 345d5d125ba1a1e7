"""The custom channel API: connect any messaging service with a signed JSON webhook pair.

Inbound (the service → Omniroute): ``POST /webhooks/{account_id}`` with one event or
``{"events": [...]}``, signed with the account's ``inbound_secret``. Outbound (Omniroute → the
service): ``POST <outbound_url>`` signed with ``outbound_secret``. See docs/channels/custom.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from datetime import datetime
from typing import Any

import httpx

from omniroute.channels import media
from omniroute.channels.custom import signing
from omniroute.channels.port import (
    Attachment,
    ConversationEnded,
    ConversationStart,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedPayload,
    Media,
    Outbound,
    PermanentSendError,
    Sent,
    SignatureError,
    StatusUpdate,
    TransientSendError,
    TypingSignal,
    WebhookRequest,
    WebhookResult,
)
from omniroute.channels.registry import AdapterContext
from omniroute.conversations.model import Location, check_location
from omniroute.core.errors import InvalidInput

CHANNEL = "custom"
#: How an attachment sent inline (``data``) is referred to: it has no URL.
INLINE_SCHEME = "inline:sha256:"
#: ``conversation.start``: the service's context is shown to agents and read by routing rules
#: (``prechat.<key>``), so it is kept small and flat.
MAX_CONTEXT_KEYS = 50
MAX_CONTEXT_KEY = 64
MAX_CONTEXT_VALUE = 1000
#: Pre-chat answers the start fills from ``user`` and routing; the context cannot set them.
RESERVED_CONTEXT_KEYS = frozenset({"name", "address", "email", "phone", "queue"})
RECEIPT_STATUSES = {
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "sent": DeliveryStatus.SENT,
}


class CustomChannelAdapter:
    channel = CHANNEL

    def __init__(self, context: AdapterContext) -> None:
        self._ctx = context
        self._inbound_secret = context.config.secrets["inbound_secret"]
        self._outbound_secret = context.config.secrets["outbound_secret"]
        self._outbound_url = str(context.config.settings["outbound_url"])

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method != "POST":
            raise MalformedPayload("the custom channel takes POST only")
        problem = signing.verify(
            self._inbound_secret,
            request.body,
            request.headers.get(signing.HEADER),
            self._ctx.clock.now().timestamp(),
        )
        if problem:
            raise SignatureError(problem)
        try:
            document = json.loads(request.body)
        except ValueError as exc:
            msg = f"body is not JSON: {exc}"
            raise MalformedPayload(msg) from exc
        events = document.get("events") if isinstance(document, dict) and "events" in document else [document]
        if not isinstance(events, list) or not events:
            raise MalformedPayload("expected an event object or {'events': [...]} with at least one")
        items = [self._event(e, i) for i, e in enumerate(events)]
        return WebhookResult(items=items, response_body=b'{"ok":true}', response_type="application/json")

    def _event(self, event: Any, index: int) -> Inbound:
        if not isinstance(event, dict):
            msg = f"events[{index}] is not an object"
            raise MalformedPayload(msg)
        kind = event.get("type")
        if kind == "conversation.start":
            return _start(event, index)
        raw_sender = event.get("from")
        sender: dict[str, Any] = raw_sender if isinstance(raw_sender, dict) else {}
        address = str(sender.get("id", ""))
        if kind == "message":
            if not event.get("id") or not address:
                msg = f"events[{index}]: a message needs 'id' and 'from.id'"
                raise MalformedPayload(msg)
            text = event.get("text") or ""
            if not isinstance(text, str):
                msg = f"events[{index}]: 'text' must be a string"
                raise MalformedPayload(msg)
            return InboundMessage(
                provider_message_id=str(event["id"]),
                sender_address=address,
                text=text,
                sender_name=sender.get("name"),
                attachments=tuple(_attachment(a, index) for a in event.get("attachments") or ()),
                location=_location(event.get("location"), index),
                reply_to=event.get("reply_to"),
                sent_at=_time(event.get("sent_at"), index),
            )
        if kind == "status":
            status = RECEIPT_STATUSES.get(str(event.get("status")))
            if status is None or not event.get("message_id"):
                msg = f"events[{index}]: a status needs 'message_id' and one of {sorted(RECEIPT_STATUSES)}"
                raise MalformedPayload(msg)
            return StatusUpdate(str(event["message_id"]), status, event.get("error"))
        if kind in ("typing", "end"):
            if not address:
                msg = f"events[{index}]: '{kind}' needs 'from.id'"
                raise MalformedPayload(msg)
            if kind == "typing":
                return TypingSignal(address, bool(event.get("is_typing", True)))
            return ConversationEnded(address)
        msg = f"events[{index}]: unknown type {kind!r} (message, status, typing, end, conversation.start)"
        raise MalformedPayload(msg)

    async def send(self, message: Outbound) -> Sent:
        body = json.dumps(
            {
                "type": "message",
                "id": message.outbound_id,
                "conversation_id": message.conversation_id,
                "to": message.to_address,
                "text": message.text,
                "in_reply_to": message.in_reply_to,
                "attachments": [
                    {"url": a.url, "content_type": a.content_type, "filename": a.filename, "size": a.size}
                    for a in message.attachments
                ],
                # Buttons to offer (a bot's choices); sending a title back as a message answers.
                "quick_replies": [{"id": q.id, "title": q.title} for q in message.quick_replies],
                # A place to share, structured (``text`` may be empty then); ``map_url`` is a
                # ready-made link for services that show no map.
                "location": _location_json(message.location),
            }
        ).encode()
        header = signing.signature_header(self._outbound_secret, body, int(self._ctx.clock.now().timestamp()))
        try:
            response = await self._ctx.http.post(
                self._outbound_url,
                content=body,
                headers={"content-type": "application/json", "omniroute-signature": header},
            )
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"timeout: {exc!r}") from exc
        if response.status_code in (408, 429) or response.status_code >= 500:
            retry_after = response.headers.get("retry-after")
            raise TransientSendError(
                f"HTTP {response.status_code}",
                float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if response.status_code >= 400:
            raise PermanentSendError(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            provider_id = response.json().get("id")
        except ValueError:
            provider_id = None
        return Sent(str(provider_id or message.outbound_id))

    async def fetch_media(self, attachment: Attachment, max_bytes: int) -> Media:
        """The attachment's ``url`` as the service gave it: a plain GET, no credentials (use a
        signed or unguessable URL on your side, or send small files inline as ``data``). Hosts on
        private, loopback or link-local addresses are refused unless the account sets
        ``allow_private_media_hosts`` (see ``channels.media``)."""
        guard = media.HostGuard.for_settings(self._ctx.config.settings)
        got = await media.download(self._ctx.http, attachment.url, max_bytes=max_bytes, guard=guard)
        kind = attachment.content_type if got.content_type == "application/octet-stream" else got.content_type
        return Media(got.data, kind, attachment.filename)

    async def aclose(self) -> None:
        return None  # the shared HTTP client belongs to the channel service


def _start(event: dict[str, Any], index: int) -> ConversationStart:
    """``{"type": "conversation.start", "id", "user": {"id", "name", "email", "phone"},
    "context": {key: text | number | boolean}, "queue"}``; ``from`` is accepted for ``user``,
    as the other events name the sender."""
    where = f"events[{index}]"
    raw_user = event.get("user", event.get("from"))
    user: dict[str, Any] = raw_user if isinstance(raw_user, dict) else {}
    address = user.get("id")
    if (
        not event.get("id")
        or not isinstance(address, str | int)
        or isinstance(address, bool)
        or not str(address)
    ):
        msg = f"{where}: a conversation.start needs 'id' and 'user.id'"
        raise MalformedPayload(msg)
    name = _optional_text(user, "name", f"{where}: 'user.name'", 200)
    email = _optional_text(user, "email", f"{where}: 'user.email'", 254)
    if email is not None and "@" not in email:
        msg = f"{where}: 'user.email' is not an email address"
        raise MalformedPayload(msg)
    phone = _optional_text(user, "phone", f"{where}: 'user.phone'", 40)
    queue = _optional_text(event, "queue", f"{where}: 'queue'", 120)
    raw_context = event.get("context")
    raw_context = {} if raw_context is None else raw_context
    if not isinstance(raw_context, dict):
        msg = f"{where}: 'context' must be an object of key/value pairs"
        raise MalformedPayload(msg)
    if len(raw_context) > MAX_CONTEXT_KEYS:
        msg = f"{where}: 'context' has more than {MAX_CONTEXT_KEYS} keys"
        raise MalformedPayload(msg)
    context: dict[str, str | int | float | bool] = {}
    for key, value in raw_context.items():
        if not key.strip() or len(key) > MAX_CONTEXT_KEY:
            msg = f"{where}: context keys are 1 to {MAX_CONTEXT_KEY} characters"
            raise MalformedPayload(msg)
        if key in RESERVED_CONTEXT_KEYS:
            msg = f"{where}: context key {key!r} is reserved (use 'user' or 'queue')"
            raise MalformedPayload(msg)
        if isinstance(value, str):
            if len(value) > MAX_CONTEXT_VALUE:
                msg = f"{where}: context[{key!r}] is longer than {MAX_CONTEXT_VALUE} characters"
                raise MalformedPayload(msg)
            context[key] = value.strip()
        elif isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
            context[key] = value  # NaN or Infinity (Python's JSON reads them) could not be stored
        elif value is not None:  # null: not answered, like an empty pre-chat field
            msg = f"{where}: context[{key!r}] must be text, a number or a boolean"
            raise MalformedPayload(msg)
    return ConversationStart(
        provider_event_id=str(event["id"]),
        sender_address=str(address),
        sender_name=name,
        email=email,
        phone=phone,
        context=context,
        queue=queue,
    )


def _optional_text(data: dict[str, Any], key: str, label: str, limit: int) -> str | None:
    """A string field that may be missing, null or blank (all: None)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        msg = f"{label} must be text of at most {limit} characters"
        raise MalformedPayload(msg)
    return value.strip() or None


def _attachment(value: Any, index: int) -> Attachment:
    """``{"url", "content_type", "filename", "size"}`` (Omniroute downloads the URL) or
    ``{"data": "<base64>", "content_type", "filename"}`` (the bytes inline)."""
    if not isinstance(value, dict) or not (isinstance(value.get("url"), str) or "data" in value):
        msg = f"events[{index}]: attachments need a 'url' or base64 'data'"
        raise MalformedPayload(msg)
    content_type = str(value.get("content_type") or "application/octet-stream")
    filename = value.get("filename") if isinstance(value.get("filename"), str) else None
    if "data" in value:
        try:
            data = base64.b64decode(str(value["data"]), validate=True)
        except ValueError as exc:
            msg = f"events[{index}]: attachment 'data' is not base64"
            raise MalformedPayload(msg) from exc
        digest = hashlib.sha256(data).hexdigest()
        return Attachment(f"{INLINE_SCHEME}{digest}", content_type, filename, len(data), content=data)
    if not value["url"].startswith(("https://", "http://")):
        msg = f"events[{index}]: attachment 'url' must be http(s)"
        raise MalformedPayload(msg)
    size = value.get("size")
    return Attachment(
        url=value["url"],
        content_type=content_type,
        filename=filename,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
    )


def _location(value: Any, index: int) -> Location | None:
    """``{"latitude", "longitude", "name"?, "address"?}``: the service's values are checked as an
    agent's are (ranges, lengths); a bad one is refused with the reason."""
    if value is None:
        return None
    if not isinstance(value, dict):
        msg = f"events[{index}]: 'location' must be an object with latitude and longitude"
        raise MalformedPayload(msg)
    try:
        return check_location(
            value.get("latitude"), value.get("longitude"), value.get("name"), value.get("address")
        )
    except InvalidInput as exc:
        msg = f"events[{index}]: location: {exc.reason}"
        raise MalformedPayload(msg) from None


def _location_json(location: Location | None) -> dict[str, Any] | None:
    return None if location is None else {**location.as_dict(), "map_url": location.map_url}


def _time(value: Any, index: int) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        msg = f"events[{index}]: 'sent_at' is not an ISO 8601 time"
        raise MalformedPayload(msg) from exc
