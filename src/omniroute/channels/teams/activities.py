"""Bot Framework activities (as Teams sends them) → our inbound items. Pure: no I/O.

The address is ``conversation.id``: a personal chat with the bot, a group chat or a channel thread.
Replies must go to the ``serviceUrl`` the activity came from: each message carries it in its
``reply_context`` (``{"service_url", "activity_id", "timestamp"}``), which the channel service keeps
per conversation and hands back with every outbound message (see ``route_of``).

Conversations stored before the reply context existed carry a *route key* among their thread keys
instead, ``teams-route|<timestamp>|<activity id>|<serviceUrl>``; ``latest_route`` still reads them.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from omniroute.channels.codec import received_location
from omniroute.channels.port import (
    Attachment,
    ConversationEnded,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedPayload,
    StatusUpdate,
    TypingSignal,
)
from omniroute.conversations.model import Location

READ_RECEIPT_EVENT = "application/vnd.microsoft.readReceipt"
FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
ROUTE_PREFIX = "teams-route|"


@dataclass(frozen=True)
class Route:
    """Where a reply to a conversation goes: its serviceUrl and the customer activity it answers."""

    service_url: str
    activity_id: str
    timestamp: str


def load(body: bytes) -> dict[str, Any]:
    try:
        activity = json.loads(body)
    except ValueError as exc:
        msg = f"body is not JSON: {exc}"
        raise MalformedPayload(msg) from exc
    if not isinstance(activity, dict):
        raise MalformedPayload("an Activity is a JSON object")
    return activity


def scoped_id(activity_id: str, conversation_id: str) -> str:
    """Teams message ids are millisecond timestamps, unique only within a conversation."""
    digest = hashlib.sha256(conversation_id.encode()).hexdigest()[:16]
    return f"{activity_id}@{digest}"


def route_key(route: Route) -> str:
    parts = (route.timestamp, route.activity_id)
    return ROUTE_PREFIX + "|".join(quote(p, safe="") for p in parts) + "|" + route.service_url


def context_of(route: Route) -> dict[str, str]:
    """A route as the JSON reply context the channel service stores for the conversation."""
    return {"service_url": route.service_url, "activity_id": route.activity_id, "timestamp": route.timestamp}


def route_of(reply_context: Mapping[str, Any] | None, thread_keys: tuple[str, ...]) -> Route | None:
    """Where to reply: the conversation's reply context, else (stored before it existed) the
    newest legacy route key among its thread keys."""
    if reply_context is not None:
        service_url = reply_context.get("service_url")
        if isinstance(service_url, str) and service_url.startswith(("https://", "http://")):
            activity_id = reply_context.get("activity_id")
            timestamp = reply_context.get("timestamp")
            return Route(
                service_url=service_url,
                activity_id=activity_id if isinstance(activity_id, str) else "",
                timestamp=timestamp if isinstance(timestamp, str) else "",
            )
    return latest_route(thread_keys)


def latest_route(thread_keys: tuple[str, ...]) -> Route | None:
    """The newest route among a conversation's thread keys (timestamps are ISO 8601 UTC: they sort)."""
    routes: list[Route] = []
    for key in thread_keys:
        if not key.startswith(ROUTE_PREFIX):
            continue
        parts = key.removeprefix(ROUTE_PREFIX).split("|", 2)
        if len(parts) == 3 and parts[2]:
            routes.append(
                Route(service_url=parts[2], activity_id=unquote(parts[1]), timestamp=unquote(parts[0]))
            )
    return max(routes, key=lambda r: r.timestamp) if routes else None


def parse(activity: dict[str, Any]) -> list[Inbound]:
    kind = activity.get("type")
    if not isinstance(kind, str) or not kind:
        raise MalformedPayload("an Activity needs a 'type'")
    conversation = _object(activity.get("conversation"), "conversation")
    conversation_id = conversation.get("id")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise MalformedPayload("an Activity needs 'conversation.id'")
    if kind == "message":
        return [_message(activity, conversation, conversation_id)]
    if kind == "typing":
        return [TypingSignal(conversation_id)]
    if kind == "endOfConversation":
        return [ConversationEnded(conversation_id)]
    if kind == "conversationUpdate" and _bot_removed(activity):
        return [ConversationEnded(conversation_id)]  # nobody left to reply to
    if kind == "installationUpdate" and activity.get("action") == "remove":
        return [ConversationEnded(conversation_id)]  # the user uninstalled the app
    if kind == "event" and activity.get("name") == READ_RECEIPT_EVENT:
        value = activity.get("value")
        last_read = value.get("lastReadMessageId") if isinstance(value, dict) else None
        if not isinstance(last_read, str) or not last_read:
            raise MalformedPayload("a read receipt needs 'value.lastReadMessageId'")
        return [StatusUpdate(scoped_id(last_read, conversation_id), DeliveryStatus.READ)]
    # conversationUpdate (members added), messageReaction, invoke…: acknowledged, nothing to store.
    return []


def _message(activity: dict[str, Any], conversation: dict[str, Any], conversation_id: str) -> InboundMessage:
    activity_id = activity.get("id")
    sender = _object(activity.get("from"), "from")
    service_url = activity.get("serviceUrl")
    if not isinstance(activity_id, str) or not activity_id:
        raise MalformedPayload("a message activity needs an 'id'")
    if not isinstance(sender.get("id"), str):
        raise MalformedPayload("a message activity needs 'from.id'")
    if not isinstance(service_url, str) or not service_url.startswith(("https://", "http://")):
        raise MalformedPayload("a message activity needs an http(s) 'serviceUrl'")
    text = activity.get("text") or ""
    if not isinstance(text, str):
        raise MalformedPayload("'text' must be a string")
    text = _without_bot_mentions(text, activity).strip()
    if not text and isinstance(activity.get("value"), dict):
        text = _card_submission(activity["value"])
    sent_at = _time(activity.get("timestamp"))
    # One sortable form, so the newest route wins whatever precision Teams used.
    stamp = sent_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if sent_at else ""
    reply_to = activity.get("replyToId")
    return InboundMessage(
        provider_message_id=scoped_id(activity_id, conversation_id),
        sender_address=conversation_id,
        text=text,
        sender_name=sender.get("name") if isinstance(sender.get("name"), str) else None,
        attachments=_attachments(activity.get("attachments")),
        location=_location(activity.get("entities")),
        reply_to=scoped_id(reply_to, conversation_id) if isinstance(reply_to, str) and reply_to else None,
        sent_at=sent_at,
        extra=_extra(activity, conversation, sender),
        reply_context=context_of(Route(service_url, activity_id, stamp)),
    )


def _without_bot_mentions(text: str, activity: dict[str, Any]) -> str:
    """In channels and group chats the text starts with ``<at>Bot name</at>``: noise for an agent."""
    bot = activity.get("recipient")
    bot_id = bot.get("id") if isinstance(bot, dict) else None
    for entity in activity.get("entities") or ():
        if not isinstance(entity, dict) or entity.get("type") != "mention":
            continue
        mentioned = entity.get("mentioned")
        if (
            isinstance(mentioned, dict)
            and mentioned.get("id") == bot_id
            and isinstance(entity.get("text"), str)
        ):
            text = text.replace(entity["text"], "")
    return text


def _attachments(raw: Any) -> tuple[Attachment, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise MalformedPayload("'attachments' must be a list")
    found: list[Attachment] = []
    for item in raw:
        if not isinstance(item, dict):
            raise MalformedPayload("each attachment must be an object")
        content_type = item.get("contentType")
        name = item.get("name") if isinstance(item.get("name"), str) else None
        content = item.get("content")
        if content_type == FILE_DOWNLOAD_INFO and isinstance(content, dict):
            url = content.get("downloadUrl")
            if isinstance(url, str):
                guessed = mimetypes.guess_type(name or "")[0]
                found.append(Attachment(url, guessed or "application/octet-stream", name))
        elif content_type == "text/html":
            continue  # Teams repeats the message text as HTML; the plain text is already kept
        elif isinstance(content_type, str) and isinstance(item.get("contentUrl"), str):
            found.append(Attachment(item["contentUrl"], content_type, name))
    return tuple(found)


def _location(entities: Any) -> Location | None:
    """A ``GeoCoordinates`` entity (``latitude``, ``longitude``, optional ``name``)."""
    for entity in entities if isinstance(entities, list) else ():
        if isinstance(entity, dict) and entity.get("type") == "GeoCoordinates":
            lat, lon = entity.get("latitude"), entity.get("longitude")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                return received_location(lat, lon, entity.get("name"))
    return None


def _card_submission(value: dict[str, Any]) -> str:
    """An Adaptive Card's submitted fields, written out for the agent."""
    fields = ", ".join(f"{k}: {v}" for k, v in value.items() if not isinstance(v, dict | list))
    return f"[card response] {fields}".strip()


def _bot_removed(activity: dict[str, Any]) -> bool:
    bot = activity.get("recipient")
    bot_id = bot.get("id") if isinstance(bot, dict) else None
    removed = activity.get("membersRemoved")
    return (
        bool(bot_id)
        and isinstance(removed, list)
        and any(isinstance(m, dict) and m.get("id") == bot_id for m in removed)
    )


def _extra(activity: dict[str, Any], conversation: dict[str, Any], sender: dict[str, Any]) -> dict[str, Any]:
    tenant = _dict(_dict(activity.get("channelData")).get("tenant"))
    extra = {
        "channel_id": activity.get("channelId"),
        "service_url": activity.get("serviceUrl"),
        "conversation_type": conversation.get("conversationType"),
        "tenant_id": conversation.get("tenantId") or tenant.get("id"),
        "user_id": sender.get("id"),
        "aad_object_id": sender.get("aadObjectId"),
    }
    return {k: v for k, v in extra.items() if v is not None}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None  # a timestamp we cannot read is no reason to refuse the message
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = f"an Activity needs a '{where}' object"
        raise MalformedPayload(msg)
    return value
