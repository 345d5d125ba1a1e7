"""The external bot protocol: activities in the style of the Bot Framework, signed with HMAC.

Outbound (Omniroute → the bot's endpoint), one HTTP POST per activity, JSON body:

- ``conversationUpdate`` when the bot gets a conversation (``membersAdded``: the customer),
- ``message`` for each customer message (``text``; ``id`` is the message id, so retries dedupe),
- ``typing`` while the customer types.

Each request carries ``Omniroute-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``
with the bot's secret (the same scheme as the custom channel). Any 2xx is success; anything else,
a timeout or a refused connection hands the conversation to a person at once.

Inbound (the bot → Omniroute): ``POST {serviceUrl}`` (the ``serviceUrl`` of every activity we sent,
``/api/v1/bots/{bot_id}/conversations/{conversation_id}/activities``), signed the same way, with
one activity: ``message`` (``text``), ``typing``, ``event`` named ``handoff.initiate`` (``value``:
``{"reason", "summary", "topic", "variables", …}``, passed on as the hand-off context) or
``endOfConversation``. A bot that stays silent for ``reply_timeout_seconds`` after a customer
message is handed off too. See docs/BOTS.md.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from omniroute.channels.custom.signing import HEADER as SIGNATURE_HEADER
from omniroute.channels.custom.signing import signature_header, verify
from omniroute.core.errors import InvalidInput, Unauthorized

HANDOFF_EVENT = "handoff.initiate"
MAX_BODY = 64_000  # bytes of one inbound activity


class ExternalBotError(Exception):
    """The bot's endpoint did not take the activity (the reason is safe to log and to show)."""


class Account(BaseModel):
    id: str
    name: str = ""
    role: Literal["user", "bot"]


class ConversationRef(BaseModel):
    id: str


class OutboundActivity(BaseModel):
    """What we POST. Field names follow the Bot Framework activity schema (camelCase)."""

    model_config = ConfigDict(populate_by_name=True)

    type: Literal["message", "typing", "conversationUpdate"]
    id: str
    timestamp: datetime
    channelId: str  # noqa: N815 - the wire name
    serviceUrl: str  # noqa: N815
    from_: Account = Field(alias="from")
    recipient: Account
    conversation: ConversationRef
    locale: str
    text: str | None = None
    membersAdded: list[Account] | None = None  # noqa: N815
    channelData: dict[str, Any] = Field(default_factory=dict)  # noqa: N815

    def body(self) -> bytes:
        return json.dumps(self.model_dump(mode="json", by_alias=True, exclude_none=True)).encode()


class InboundActivity(BaseModel):
    """What the bot sends back. Unknown Bot Framework fields are ignored, not refused."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["message", "typing", "event", "endOfConversation"]
    id: str | None = Field(default=None, max_length=200, description="dedupes retries of one activity")
    text: str | None = Field(default=None, max_length=20_000)
    name: str | None = Field(default=None, max_length=200)
    value: dict[str, Any] | None = None
    replyToId: str | None = Field(default=None, max_length=200)  # noqa: N815


def service_url(public_url: str, bot_id: str, conversation_id: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/bots/{bot_id}/conversations/{conversation_id}/activities"


def sign(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        SIGNATURE_HEADER: signature_header(secret, body, int(now.timestamp())),
    }


def check_signature(secret: str, body: bytes, header: str | None, now: datetime) -> None:
    reason = verify(secret, body, header, now.timestamp())
    if reason is not None:
        raise Unauthorized(reason)


def parse_inbound(body: bytes) -> InboundActivity:
    if len(body) > MAX_BODY:
        msg = f"an activity is at most {MAX_BODY} bytes"
        raise InvalidInput(msg)
    try:
        activity = InboundActivity.model_validate_json(body)
    except ValueError as exc:
        msg = f"not an activity: {exc}"
        raise InvalidInput(msg) from exc
    if activity.type == "message" and not (activity.text or "").strip():
        raise InvalidInput("a message activity needs text")
    if activity.type == "event" and activity.name != HANDOFF_EVENT:
        msg = f"unknown event {activity.name!r}; the only event is {HANDOFF_EVENT!r}"
        raise InvalidInput(msg)
    return activity


async def post_activity(
    http: httpx.AsyncClient,
    endpoint: str,
    secret: str,
    activity: OutboundActivity,
    *,
    timeout_seconds: float,
    now: datetime,
) -> None:
    body = activity.body()
    try:
        response = await http.post(
            endpoint, content=body, headers=sign(secret, body, now), timeout=httpx.Timeout(timeout_seconds)
        )
    except httpx.TimeoutException as exc:
        raise ExternalBotError("the bot's endpoint timed out") from exc
    except httpx.HTTPError as exc:
        msg = f"the bot's endpoint could not be reached ({type(exc).__name__})"
        raise ExternalBotError(msg) from exc
    if not 200 <= response.status_code < 300:
        msg = f"the bot's endpoint answered {response.status_code}"
        raise ExternalBotError(msg)


def _text(value: Any) -> str | None:
    return value[:120] if isinstance(value, str) and value.strip() else None


def handoff_context(value: dict[str, Any]) -> dict[str, Any]:
    """What a ``handoff.initiate`` event's value may tell the person and routing, in the shape of
    the built-in bots' context (``runtime.context``); anything else in the value is dropped."""
    found: dict[str, Any] = {}
    if isinstance(value.get("summary"), str):
        found["summary"] = value["summary"][:2000]
    topic = value.get("topic") or value.get("last_topic")
    if isinstance(topic, str):
        found["last_topic"] = topic[:120]
    if isinstance(value.get("topics"), list):
        found["topics"] = [str(t)[:120] for t in value["topics"][:20]]
    if isinstance(value.get("variables"), dict):
        found["variables"] = {str(k)[:64]: v for k, v in list(value["variables"].items())[:50]}
    if isinstance(value.get("sentiment"), int | float):
        found["sentiment"] = max(-1.0, min(1.0, float(value["sentiment"])))
    if value.get("language") in ("en", "es"):
        found["language"] = value["language"]
    return found


def handoff_queue(value: dict[str, Any]) -> str | None:
    return _text(value.get("queue"))
