"""The channel adapter port: what every messaging channel (SMS, WhatsApp, Messenger, Telegram,
Teams, email, the custom channel API) implements, and the normalised messages that cross it.

An adapter only translates: it verifies a provider's webhook signature and turns the payload into
:class:`Inbound` items, and it sends an :class:`Outbound` message in the provider's API shape.
Storage, deduplication, conversations, retries and delivery states live in ``channels.service``,
the same for every channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from omniroute.conversations.model import Location


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # stored, waiting to be sent (or to be retried)
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"  # permanently; the agent sees why


#: A delivery receipt never moves a message backwards (a late "sent" after "read" is ignored).
STATUS_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.FAILED: 4,
}


@dataclass(frozen=True)
class Attachment:
    url: str
    content_type: str = "application/octet-stream"
    filename: str | None = None
    size: int | None = None
    #: The bytes themselves when the provider delivered them in the payload (email MIME parts)
    #: or, outbound, when the adapter asked for them (:attr:`MediaFetcher`'s ``attachment_bytes``).
    content: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class QuickReply:
    id: str
    title: str


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message as the provider delivered it."""

    provider_message_id: str
    sender_address: str  # phone number, WhatsApp id, PSID, Telegram chat id, email address…
    text: str
    sender_name: str | None = None
    attachments: tuple[Attachment, ...] = ()
    #: A place the customer shared (their pin, a venue), built with ``codec.received_location``.
    location: Location | None = None
    reply_to: str | None = None  # the provider id this answers (a button, an email In-Reply-To)
    thread_keys: tuple[str, ...] = ()  # extra keys that identify a thread (email References, subject token)
    subject: str | None = None
    sent_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: What a reply in this conversation needs besides the address (Teams: its serviceUrl). JSON
    #: values; the channel service keeps the latest per conversation and hands it back in
    #: :attr:`Outbound.reply_context`. None leaves the stored context as it is.
    reply_context: Mapping[str, Any] | None = None
    #: The provider checked that the sender owns ``sender_address`` beyond delivering the message
    #: (email: the receiving server's DMARC or aligned DKIM pass, ``email/authentication.py``).
    #: Read for channels whose address is forgeable (email); False proves nothing.
    sender_authenticated: bool = False


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery receipt for a message we sent."""

    provider_message_id: str
    status: DeliveryStatus
    error: str | None = None


@dataclass(frozen=True)
class ReceiptWatermark:
    """A receipt that names no message, only a time (Messenger's ``read``, and ``delivery``
    without ``mids``): every message of ours to ``recipient_address`` that the provider accepted
    at or before ``up_to`` reached ``status``. The channel service resolves it against the outbox."""

    recipient_address: str
    status: DeliveryStatus
    up_to: datetime


@dataclass(frozen=True)
class SentTimestamp:
    """The provider's own time for a message we sent (Messenger's echo), so watermarks compare
    like with like rather than against our clock."""

    provider_message_id: str
    at: datetime


@dataclass(frozen=True)
class TypingSignal:
    sender_address: str
    is_typing: bool = True


@dataclass(frozen=True)
class ConversationEnded:
    sender_address: str


@dataclass(frozen=True)
class ConversationStart:
    """A customer's conversation opened before they wrote anything (the custom channel's
    ``conversation.start``: the service shows "connecting you…" while routing starts). It is
    deduplicated on ``provider_event_id``; a sender with a conversation in progress on the account
    keeps that one. ``context`` becomes the conversation's pre-chat answers, as web chat's do."""

    provider_event_id: str
    sender_address: str
    sender_name: str | None = None
    email: str | None = None  # as the service gave it: never proof of the address
    phone: str | None = None
    context: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    queue: str | None = None  # a queue id or name, used when no routing rule decides


Inbound = (
    InboundMessage
    | StatusUpdate
    | TypingSignal
    | ConversationEnded
    | ConversationStart
    | ReceiptWatermark
    | SentTimestamp
)


@dataclass(frozen=True)
class WebhookRequest:
    """Exactly what arrived, so an adapter can check the signature over the raw bytes."""

    method: str
    url: str
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class WebhookResult:
    """What the adapter read, and what to answer the provider (some expect a specific body)."""

    items: Sequence[Inbound] = ()
    response_body: bytes = b""
    response_type: str = "text/plain"
    status: int = 200


@dataclass(frozen=True)
class Outbound:
    """One of our messages to a customer."""

    outbound_id: str
    conversation_id: str
    to_address: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    quick_replies: tuple[QuickReply, ...] = ()
    #: A place to share: a map pin where the channel has one (WhatsApp, Telegram), else a line
    #: with an OpenStreetMap link (``codec.with_location``); ``text`` may then be empty.
    location: Location | None = None
    subject: str | None = None
    in_reply_to: str | None = None  # the provider id of the customer's last message (threading)
    thread_keys: tuple[str, ...] = ()
    #: When the customer last wrote (messaging windows such as WhatsApp's 24 hours).
    customer_last_message_at: datetime | None = None
    #: The latest :attr:`InboundMessage.reply_context` of this conversation, read at send time.
    reply_context: Mapping[str, Any] | None = None
    #: A pre-approved template to send instead of free text (WhatsApp, outside its 24-hour
    #: window): ``{"name", "language", "parameters"}``; ``text`` is what it renders to.
    template: Mapping[str, Any] | None = None
    #: Who wrote it (``"agent"``, ``"bot"``; None when not known): Messenger's HUMAN_AGENT tag is
    #: for people only.
    sender_kind: str | None = None
    #: What an earlier attempt of this send recorded (:attr:`TransientSendError.progress`): an
    #: adapter that sends one message as several provider calls resumes after the parts the
    #: provider already accepted. None on the first attempt.
    progress: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Sent:
    provider_message_id: str


class SignatureError(Exception):
    """The webhook is not from the provider (bad, missing or stale signature): 401/403."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class MalformedPayload(Exception):
    """The signature is fine but the content is not what the provider sends: 400."""


class TransientSendError(Exception):
    """Try again later (timeouts, 5xx, rate limits).

    ``progress`` (JSON values) is what this send achieved before it failed, e.g. the parts of a
    long message the provider accepted; the channel service keeps it with the outbox row and hands
    it back in :attr:`Outbound.progress` on the next attempt, on whichever node makes it."""

    def __init__(
        self,
        reason: str,
        retry_after_seconds: float | None = None,
        *,
        progress: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(reason)
        self.retry_after_seconds = retry_after_seconds
        self.progress = progress


class PermanentSendError(Exception):
    """Retrying will not help (invalid number, outside the messaging window, blocked)."""


@dataclass(frozen=True)
class Media:
    """A customer's file downloaded from the provider (see :class:`MediaFetcher`)."""

    data: bytes
    content_type: str = "application/octet-stream"
    filename: str | None = None


class MediaTooLarge(Exception):
    """The file is over the attachment size limit (known from a header or counted while reading)."""


class MediaFetchFailed(Exception):
    """The download did not work. ``transient``: worth trying again (timeouts, 5xx, 429)."""

    def __init__(self, reason: str, *, transient: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class MediaFetcher(Protocol):
    """An optional adapter capability: download an inbound :class:`Attachment` with the provider's
    credentials, so the channel service can keep it in the attachment store. Called by the
    worker after the webhook was answered, never while the provider waits."""

    async def fetch_media(self, attachment: Attachment, max_bytes: int) -> Media:
        """The bytes, at most ``max_bytes`` of them (raise MediaTooLarge beyond, MediaFetchFailed
        when the provider cannot serve them)."""
        ...


class SenderNames(Protocol):
    """An optional adapter capability: the name of a customer the provider's webhook names only by
    address (Messenger's PSID), asked of the provider. Called by the worker after the webhook was
    answered; never raises (no name is an answer)."""

    async def sender_name(self, address: str) -> str | None: ...


class ChannelAdapter(Protocol):
    """One configured account of one channel (a Twilio number, a WhatsApp business number…)."""

    channel: str

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify the signature first (raise SignatureError), then parse (raise MalformedPayload).

        Handshakes that store nothing (WhatsApp's ``hub.challenge``) return a result without items.
        """
        ...

    async def send(self, message: Outbound) -> Sent:
        """Send in the provider's API shape; raise TransientSendError or PermanentSendError."""
        ...

    async def aclose(self) -> None:
        """Release HTTP clients and connections."""
        ...
