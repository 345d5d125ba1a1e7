"""Conversations: the state machine (Dynamics' model) and message rules. Pure: no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from omniroute.core.errors import Conflict, InvalidInput, PayloadTooLarge


class ConversationState(StrEnum):
    OPEN = "open"  # waiting in a queue for an agent
    ACTIVE = "active"  # an agent has accepted it
    WAITING = "waiting"  # paused (customer away, agent put it on hold)
    WRAP_UP = "wrap_up"  # ended; the agent is finishing notes
    CLOSED = "closed"


class SenderKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


S = ConversationState
TRANSITIONS: dict[ConversationState, frozenset[ConversationState]] = {
    S.OPEN: frozenset({S.ACTIVE, S.CLOSED}),
    S.ACTIVE: frozenset({S.OPEN, S.WAITING, S.WRAP_UP}),
    S.WAITING: frozenset({S.ACTIVE, S.WRAP_UP, S.CLOSED}),
    S.WRAP_UP: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}

LIVE_STATES = frozenset({S.OPEN, S.ACTIVE, S.WAITING})


@dataclass(frozen=True)
class Conversation:
    id: str
    channel: str
    customer_id: str
    queue_id: str
    state: ConversationState
    created_at: datetime
    updated_at: datetime
    queued_at: datetime | None = None
    agent_id: str | None = None
    subject: str = ""
    prechat: dict[str, Any] = field(default_factory=dict)
    last_seq: int = 0
    ended_at: datetime | None = None
    ended_by: SenderKind | None = None
    closed_at: datetime | None = None
    channel_account_id: str | None = None  # the SMS number, WhatsApp account… it came through
    customer_address: str | None = None  # where replies go on that channel


def transition(conv: Conversation, to: ConversationState, now: datetime) -> Conversation:
    if to not in TRANSITIONS[conv.state]:
        msg = f"a conversation in state {conv.state.value} cannot become {to.value}"
        raise Conflict(msg)
    return replace(conv, state=to, updated_at=now)


def accept(conv: Conversation, agent_id: str, now: datetime) -> Conversation:
    return replace(transition(conv, S.ACTIVE, now), agent_id=agent_id)


def end(conv: Conversation, by: SenderKind, now: datetime) -> Conversation:
    """End the exchange. Queued conversations close at once (abandoned); others go to wrap-up."""
    target = S.CLOSED if conv.state is S.OPEN else S.WRAP_UP
    ended = replace(transition(conv, target, now), ended_at=now, ended_by=by)
    return replace(ended, closed_at=now) if target is S.CLOSED else ended


def close(conv: Conversation, now: datetime) -> Conversation:
    return replace(transition(conv, S.CLOSED, now), closed_at=now)


def check_can_post(conv: Conversation, sender: SenderKind, sender_id: str | None) -> None:
    if sender is SenderKind.CUSTOMER:
        if conv.state not in LIVE_STATES:
            raise Conflict("the conversation has ended")
    elif sender is SenderKind.AGENT:
        if conv.state not in (S.ACTIVE, S.WAITING):
            raise Conflict("only an active conversation takes agent messages")
        if conv.agent_id != sender_id:
            raise Conflict("this conversation is assigned to another agent")


@dataclass(frozen=True)
class MessageAttachment:
    """A file a message carries: a stored attachment (``id``) or a provider's link (``url``)."""

    filename: str
    content_type: str
    size: int | None = None
    id: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "url": self.url,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> MessageAttachment:
        size = data.get("size")
        return cls(
            filename=str(data.get("filename") or "file"),
            content_type=str(data.get("content_type") or "application/octet-stream"),
            size=int(size) if size is not None else None,
            id=data.get("id"),
            url=data.get("url"),
        )


#: At most this many files in one message.
MAX_ATTACHMENTS_PER_MESSAGE = 10
#: A place's name and address: enough for any real one (WhatsApp, Telegram venues), short enough
#: to show on one line.
MAX_LOCATION_NAME = 200
MAX_LOCATION_ADDRESS = 500
#: OpenStreetMap's zoom for a shared place: streets and house numbers.
MAP_ZOOM = 16


@dataclass(frozen=True)
class Location:
    """A place a message carries (a customer's pin, an agent's "we are here"): WGS 84 degrees, and
    the place's name and address when known. Built through :func:`check_location`."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "latitude": self.latitude,
            "longitude": self.longitude,
            "name": self.name,
            "address": self.address,
        }

    @classmethod
    def of(cls, data: Any) -> Location | None:
        """A stored location (the JSON of :meth:`as_dict`), or None when there is none."""
        if not isinstance(data, dict):
            return None
        try:
            return check_location(
                data.get("latitude"), data.get("longitude"), data.get("name"), data.get("address")
            )
        except InvalidInput:
            return None

    @property
    def label(self) -> str:
        """ "Name, address", either alone, or "" for a bare pin."""
        return ", ".join(part for part in (self.name, self.address) if part)

    @property
    def coordinates(self) -> str:
        return f"{degrees(self.latitude)}, {degrees(self.longitude)}"

    @property
    def map_url(self) -> str:
        """The place on OpenStreetMap (a link any phone or browser opens; no key, no tracking)."""
        lat, lon = degrees(self.latitude), degrees(self.longitude)
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map={MAP_ZOOM}/{lat}/{lon}"

    def line(self, marker: str = "📍") -> str:
        """One readable line: "📍 Name, address (lat, lon)"."""
        label = self.label
        text = f"{label} ({self.coordinates})" if label else self.coordinates
        return f"{marker} {text}" if marker else text


def degrees(value: float) -> str:
    """At most six decimals (about 10 cm), without trailing zeros: 40.41678, -3.7038, 0."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def check_location(
    latitude: Any, longitude: Any, name: Any = None, address: Any = None, *, cut: bool = False
) -> Location:
    """A valid location or InvalidInput with the reason: numeric, finite latitude -90..90 and
    longitude -180..180; name and address text within their limits (blank counts as none).
    ``cut``: over-long text is shortened instead of refused (what a provider delivered is kept,
    never refused after the fact)."""
    lat, lon = _number(latitude, "latitude"), _number(longitude, "longitude")
    if not -90 <= lat <= 90:
        raise InvalidInput("latitude must be between -90 and 90")
    if not -180 <= lon <= 180:
        raise InvalidInput("longitude must be between -180 and 180")
    return Location(
        latitude=lat,
        longitude=lon,
        name=_place_text(name, "name", MAX_LOCATION_NAME, cut=cut),
        address=_place_text(address, "address", MAX_LOCATION_ADDRESS, cut=cut),
    )


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{what} must be a number"
        raise InvalidInput(msg)
    return float(value)


def _place_text(value: Any, what: str, limit: int, *, cut: bool) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"the location's {what} must be text"
        raise InvalidInput(msg)
    text = " ".join(value.split())  # one line: a place's name never needs a line break
    if len(text) > limit:
        if not cut:
            msg = f"the location's {what} is longer than {limit} characters"
            raise InvalidInput(msg)
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def check_body(text: str, max_bytes: int, attachments: int, *, located: bool = False) -> str:
    """Text and/or attachments and/or a location: a message with files or a place may have no
    text."""
    if attachments > MAX_ATTACHMENTS_PER_MESSAGE:
        msg = f"a message carries at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments"
        raise InvalidInput(msg)
    if (attachments or located) and not text.strip():
        if len(text.encode()) > max_bytes:
            msg = f"message is larger than {max_bytes} bytes"
            raise PayloadTooLarge(msg)
        return ""
    return check_text(text, max_bytes)


def check_text(text: str, max_bytes: int) -> str:
    if len(text.encode()) > max_bytes:
        msg = f"message is larger than {max_bytes} bytes"
        raise PayloadTooLarge(msg)
    stripped = text.strip()
    if not stripped:
        raise InvalidInput("message text is empty")
    return stripped
