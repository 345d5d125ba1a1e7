"""Request and response bodies of the public API (they define the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from omniroute.conversations.model import (
    MAX_LOCATION_ADDRESS,
    MAX_LOCATION_NAME,
    Conversation,
    Location,
    check_location,
)
from omniroute.conversations.store import Message, Note
from omniroute.identity.model import MAX_BODY_TEMPLATE, MAX_TITLE_TEMPLATE, Preferences
from omniroute.routing.events import OfferCreated
from omniroute.routing.model import Presence
from omniroute.routing.store import Session


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageAttachmentOut(BaseModel):
    id: str | None = Field(
        default=None, description="a stored file: download it from the conversation's attachments route"
    )
    filename: str
    content_type: str
    size: int | None = None
    url: str | None = Field(default=None, description="a channel provider's link (media not stored here)")


class LocationOut(BaseModel):
    latitude: float = Field(description="WGS 84 degrees, -90 to 90")
    longitude: float = Field(description="WGS 84 degrees, -180 to 180")
    name: str | None = Field(default=None, description="the place's name, when known")
    address: str | None = Field(default=None, description="its address, when known")
    map_url: str = Field(description="the place on OpenStreetMap")

    @classmethod
    def of(cls, location: Location) -> LocationOut:
        return cls(**location.as_dict(), map_url=location.map_url)


class LocationIn(Strict):
    """A place to share. Out-of-range or non-numeric coordinates, and longer texts, answer 422."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    # Strict: a number, never a string or a boolean that happens to convert.
    latitude: float = Field(strict=True, ge=-90, le=90, description="WGS 84 degrees, -90 to 90")
    longitude: float = Field(strict=True, ge=-180, le=180, description="WGS 84 degrees, -180 to 180")
    name: str | None = Field(default=None, max_length=MAX_LOCATION_NAME, description="the place's name")
    address: str | None = Field(default=None, max_length=MAX_LOCATION_ADDRESS, description="its address")

    def checked(self) -> Location:
        return check_location(self.latitude, self.longitude, self.name, self.address)


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    seq: int
    sender_kind: str
    sender_name: str
    text: str
    created_at: datetime
    delivery_status: str | None = Field(
        default=None, description="for replies on provider channels: queued, sent, delivered, read, failed"
    )
    delivery_error: str | None = None
    attachments: list[MessageAttachmentOut] = Field(default_factory=list)
    location: LocationOut | None = Field(default=None, description="the place the message shares")

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            attachments=[MessageAttachmentOut(**a.as_dict()) for a in m.attachments],
            location=LocationOut.of(m.location) if m.location is not None else None,
            delivery_status=m.delivery_status,
            delivery_error=m.delivery_error,
            id=m.id,
            conversation_id=m.conversation_id,
            seq=m.seq,
            sender_kind=m.sender_kind.value,
            sender_name=m.sender_name,
            text=m.text,
            created_at=m.created_at,
        )


class ConversationOut(BaseModel):
    id: str
    channel: str
    state: str
    queue_id: str
    agent_id: str | None
    customer_id: str
    subject: str
    prechat: dict[str, Any]
    last_seq: int
    created_at: datetime
    ended_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(cls, c: Conversation) -> ConversationOut:
        return cls(
            id=c.id,
            channel=c.channel,
            state=c.state.value,
            queue_id=c.queue_id,
            agent_id=c.agent_id,
            customer_id=c.customer_id,
            subject=c.subject,
            prechat=c.prechat,
            last_seq=c.last_seq,
            created_at=c.created_at,
            ended_at=c.ended_at,
            closed_at=c.closed_at,
        )


class OfferOut(BaseModel):
    session_id: str
    conversation_id: str
    queue_id: str
    queue_name: str
    channel: str
    customer_name: str
    preview: str
    prechat: dict[str, Any]
    expires_at: datetime

    @classmethod
    def of(cls, e: OfferCreated) -> OfferOut:
        return cls(
            session_id=e.session_id,
            conversation_id=e.conversation_id,
            queue_id=e.queue_id,
            queue_name=e.queue_name,
            channel=e.channel,
            customer_name=e.customer_name,
            preview=e.preview,
            prechat=e.prechat,
            expires_at=e.expires_at,
        )


class QueueOut(BaseModel):
    id: str
    name: str
    description: str


class MeOut(BaseModel):
    id: str
    email: str
    display_name: str
    role: str
    presence: Presence = Field(description="the base presence routing works with")
    custom_presence: str | None = Field(default=None, description="the custom presence chosen, if any")
    queues: list[QueueOut]
    locale: str = "en"
    load: dict[str, int] = Field(default_factory=dict, description="open conversations per channel")
    capacity_profile: str | None = Field(default=None, description="the capacity profile id, if one is set")


class AgentOut(BaseModel):
    id: str
    display_name: str
    role: str
    presence: Presence
    custom_presence: str | None = None


class LocaleIn(Strict):
    locale: str = Field(description="en or es")


NotifyMode = Literal["never", "always", "background"]


class PreferencesIn(Strict):
    """The workspace settings; a key left out goes back to its default (the document is replaced)."""

    sound: NotifyMode = Field(default="background", description="when an offer plays a sound")
    desktop: NotifyMode = Field(
        default="background", description="when an offer shows a desktop notification"
    )
    title_template: str = Field(
        default="",
        max_length=MAX_TITLE_TEMPLATE,
        description="the notification's title with {slugs}; empty for the default",
    )
    body_template: str = Field(
        default="",
        max_length=MAX_BODY_TEMPLATE,
        description="the notification's text with {slugs}; empty for the default",
    )


class PreferencesOut(BaseModel):
    sound: NotifyMode
    desktop: NotifyMode
    title_template: str
    body_template: str
    saved: bool = Field(description="false until the user first saves them (the values are the defaults)")

    @classmethod
    def of(cls, p: Preferences | None) -> PreferencesOut:
        shown = p or Preferences()
        return cls.model_validate({**shown.as_dict(), "saved": p is not None})


class SessionOut(BaseModel):
    user_id: str
    display_name: str
    role: str
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token on writes made with the session cookie; "
        "null for API tokens, which need none."
    )


class PresenceIn(Strict):
    presence: str = Field(
        min_length=1,
        max_length=63,
        description="a base presence (available, busy, busy_dnd, away, offline) or a custom presence id "
        "from the routing configuration",
    )


class PresenceOut(BaseModel):
    presence: Presence
    custom_presence: str | None = None


class PostMessageIn(Strict):
    text: str = Field(
        default="",
        description="Plain text; at most 28 KB (413 beyond). May be empty with attachments or a location.",
    )
    attachment_ids: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="files uploaded to this conversation first (POST …/attachments), sent with the text",
    )
    location: LocationIn | None = Field(
        default=None,
        description="a place to share: WhatsApp and Telegram show a map pin, other channels a map link",
    )
    client_message_id: str | None = Field(
        default=None,
        max_length=100,
        description="Idempotency key: retrying with the same id returns the stored message.",
    )


class TransferIn(Strict):
    queue_id: str | None = Field(default=None, description="the queue to wait in (default: the current one)")
    agent_id: str | None = Field(default=None, description="offer it to this colleague first")
    note: str = Field(
        default="", max_length=2000, description="for the record (routing trace), not the customer"
    )


class ConsultIn(Strict):
    agent_id: str = Field(description="the colleague (agent or supervisor) to bring in")


class ConsultOut(BaseModel):
    conversation_id: str
    agent_id: str
    agent_name: str
    session_id: str
    started_at: datetime

    @classmethod
    def of(cls, s: Session, agent_name: str) -> ConsultOut:
        return cls(
            conversation_id=s.conversation_id,
            agent_id=s.agent_id,
            agent_name=agent_name,
            session_id=s.id,
            started_at=s.offered_at,
        )


class PromoteOut(BaseModel):
    conversation: ConversationOut
    assigned: bool = Field(description="false: the consultant had no free capacity; it waits for them")


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=28_000)
    client_note_id: str | None = Field(default=None, max_length=300, description="idempotency key")


class NoteOut(BaseModel):
    id: str
    conversation_id: str
    author_id: str
    author_name: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, n: Note) -> NoteOut:
        return cls(
            id=n.id,
            conversation_id=n.conversation_id,
            author_id=n.author_id,
            author_name=n.author_name,
            text=n.text,
            created_at=n.created_at,
        )


class TypingIn(Strict):
    is_typing: bool = True


class StartChatIn(Strict):
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    question: str = Field(default="", max_length=4000)
    queue: str | None = Field(default=None, max_length=120)
    visitor_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class StartChatOut(BaseModel):
    conversation: ConversationOut
    token: str = Field(description="Bearer token for this conversation's customer side.")
    customer_name: str


class CustomerConversationOut(BaseModel):
    id: str
    state: str
    last_seq: int
    customer_name: str
    messages: list[MessageOut]


class PositionOut(BaseModel):
    waiting: bool = Field(description="false once an agent has the conversation (or it ended)")
    position: int | None = Field(default=None, description="1 = next in line")
    queue_length: int | None = None
    estimated_wait_seconds: float | None = Field(
        default=None, description="null while nobody who could take it is signed in"
    )


class WidgetConfigOut(BaseModel):
    name: str
    queues: list[QueueOut]


class ErrorOut(BaseModel):
    detail: str
