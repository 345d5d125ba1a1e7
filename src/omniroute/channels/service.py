"""The messaging pipeline every channel shares.

Inbound: an adapter verifies the webhook's signature and parses it; each item is stored in the
receipt log (deduplicated on the provider's id by a unique index) before the provider gets its 2xx;
a worker then turns receipts into customers, conversations and messages, one transaction each.

Outbound: when an agent or bot message is stored in a conversation that came from a channel, an
outbox row is written in the same transaction; the worker sends it through the adapter, retries
transient failures with backoff, and records sent / delivered / read / failed on the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError

from omniroute.attachments.model import UploaderKind
from omniroute.attachments.service import AttachmentService
from omniroute.bots.gate import BotGate
from omniroute.channels import codec, store
from omniroute.channels.events import ChannelAccountChanged
from omniroute.channels.media import filename_for
from omniroute.channels.port import (
    STATUS_RANK,
    Attachment,
    ChannelAdapter,
    ConversationEnded,
    ConversationStart,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedPayload,
    Media,
    MediaFetchFailed,
    MediaTooLarge,
    Outbound,
    PermanentSendError,
    QuickReply,
    ReceiptWatermark,
    SentTimestamp,
    SignatureError,
    StatusUpdate,
    TransientSendError,
    TypingSignal,
    WebhookRequest,
    WebhookResult,
)
from omniroute.channels.registry import AccountConfig, AdapterContext, ChannelRegistry
from omniroute.channels.store import AccountRow, OutboxRow, Receipt
from omniroute.conversations.model import (
    MAX_ATTACHMENTS_PER_MESSAGE,
    Conversation,
    Location,
    MessageAttachment,
    SenderKind,
)
from omniroute.conversations.service import ConversationService
from omniroute.conversations.store import Message
from omniroute.core.bus import BusReset
from omniroute.core.clock import Clock
from omniroute.core.db import Database
from omniroute.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from omniroute.core.ids import new_id
from omniroute.core.secretbox import SecretBox, SecretUnavailable
from omniroute.core.uow import EVENTS_TOPIC, Publisher, UnitOfWork
from omniroute.customers import service as customers
from omniroute.customers.model import Customer
from omniroute.routing.service import RoutingPlan, RoutingService

log = logging.getLogger(__name__)

#: Retries back off from 2 s, doubling, to at most 15 minutes; after 48 hours a message fails.
RETRY_BASE_SECONDS = 2.0
RETRY_CAP_SECONDS = 900.0
GIVE_UP_AFTER = timedelta(hours=48)
#: A claimed send that has not reported back within this lease is tried again (at least once).
SEND_LEASE = timedelta(seconds=120)
#: A receipt that fails is tried again after 30 s, doubling (30 s, 1, 2, 4 min); the fifth
#: failure dead-letters it.
RECEIPT_MAX_ATTEMPTS = 5
RECEIPT_RETRY_BASE_SECONDS = 30.0
BATCH = 50
#: How many senders' receipts are handled at once (each sender's in order).
RECEIPT_LANES = 8


def receipt_lane(receipt: Receipt) -> tuple[str, str]:
    """Receipts that must be handled in order share a lane: a sender's messages, typing and end
    of conversation; an account's delivery statuses. One that cannot be read goes alone."""
    try:
        item = codec.decode(receipt.kind, receipt.payload)
    except Exception:  # it fails again, with its reason, when it is handled
        return (receipt.account_id, f"unreadable:{receipt.id}")
    sender = getattr(item, "sender_address", None)
    return (receipt.account_id, f"from:{sender}" if isinstance(sender, str) else "statuses")


OUTBOUND_SENDERS = frozenset({SenderKind.AGENT, SenderKind.BOT})
STATUS_VALUES = frozenset(s.value for s in DeliveryStatus)
#: A customer's media download is tried three times (network backoff, not business time).
MEDIA_RETRY_DELAYS = (1.0, 4.0)


#: Per attachment index of an inbound message: its bytes, or why it has none ("too large"…).
FetchedMedia = dict[int, Media | str]


class WebhookRejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CredentialsUnavailable(DomainError):
    """An account's stored secrets cannot be read: ``OMNIROUTE_SECRET_KEY`` changed since they were
    sealed, or an ``env:NAME`` secret's variable is not set. Webhooks get 503 (the provider retries
    later; the reason is only logged), sends are retried with the reason shown to the agent, and an
    update says which secret to send again."""

    status = 503

    def __init__(self, account_id: str, detail: str) -> None:
        super().__init__("the channel account's credentials cannot be read; try again later")
        self.account_id = account_id
        self.detail = detail


def retry_delay(attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return float(min(max(retry_after, RETRY_BASE_SECONDS), RETRY_CAP_SECONDS))
    return float(min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_CAP_SECONDS))


def receipt_retry_delay(attempts: int) -> float:
    """Seconds before the next try of a receipt that failed ``attempts`` times."""
    return float(min(RECEIPT_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_CAP_SECONDS))


class ChannelService:
    def __init__(
        self,
        *,
        db: Database,
        publisher: Publisher,
        conversations: ConversationService,
        routing: RoutingService,
        registry: ChannelRegistry,
        secrets: SecretBox,
        clock: Clock,
        public_url: str,
        http_factory: Any = httpx.AsyncClient,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.conversations = conversations
        self.routing = routing
        self.registry = registry
        self.secrets = secrets
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self._http_factory = http_factory
        self._http: httpx.AsyncClient | None = None
        self._adapters: dict[str, tuple[AccountRow, ChannelAdapter]] = {}
        #: Asked before new conversations are queued (bootstrap sets it): a bot may answer first.
        self.bots: BotGate | None = None
        #: Signs a public, expiring download URL for a stored attachment (bootstrap sets it), so
        #: providers can fetch the files agents send.
        self.attachment_links: Callable[[str], str] | None = None
        #: Where customers' media are kept (bootstrap sets it); without it they stay provider links.
        self.attachments: AttachmentService | None = None
        #: The quick replies a bot holding the conversation waits for (bootstrap sets it from the
        #: bot service): a bot's question goes out with them as the channel's buttons.
        self.bot_choices: Callable[[str], Awaitable[Sequence[str]]] | None = None
        #: Pauses between tries of a media download that failed for a reason that may heal.
        self.media_retry_delays: tuple[float, ...] = MEDIA_RETRY_DELAYS
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._background: list[asyncio.Task[None]] = []

    # -- accounts -------------------------------------------------------------------------------

    async def create_account(
        self,
        *,
        channel: str,
        name: str,
        settings: dict[str, Any],
        secrets: dict[str, str],
        default_queue_id: str | None,
    ) -> AccountRow:
        spec = self.registry.get(channel)
        if spec is None:
            known = ", ".join(s.channel for s in self.registry.channels())
            msg = f"unknown channel {channel!r}; known: {known}"
            raise InvalidInput(msg)
        missing = [k for k in spec.required_settings if not settings.get(k)]
        missing += [k for k in spec.required_secrets if not secrets.get(k)]
        if missing:
            msg = f"{channel} accounts need {', '.join(missing)}"
            raise InvalidInput(msg)
        problems = spec.validate(settings, secrets) if spec.validate is not None else []
        if problems:
            raise InvalidInput("; ".join(problems))
        await self._check_queue(default_queue_id)
        account = AccountRow(
            id=new_id(),
            channel=channel,
            name=name.strip()[:120],
            settings=settings,
            secrets={k: self.secrets.seal(v) for k, v in secrets.items()},
            default_queue_id=default_queue_id,
            enabled=True,
        )
        try:
            async with self.db.write() as conn:
                await store.insert_account(conn, account, self.clock.now())
        except IntegrityError as exc:
            msg = f"a {channel} account named {account.name!r} exists already"
            raise Conflict(msg) from exc
        return account

    async def update_account(
        self,
        account_id: str,
        *,
        actor_id: str | None,
        name: str | None = None,
        settings: dict[str, Any] | None = None,
        secrets: dict[str, str] | None = None,
        default_queue_id: str | None = None,
        clear_default_queue: bool = False,
        enabled: bool | None = None,
    ) -> AccountRow:
        """Change an account. ``settings`` replaces the settings; ``secrets`` replaces only the
        secrets it names (an empty value removes one), so an administrator can rotate one
        credential without retyping the others. The result is validated like a new account."""
        await self._check_queue(None if clear_default_queue else default_queue_id)
        async with self.publisher.unit_of_work() as uow:
            current = await store.get_account(uow.conn, account_id)
            if current is None:
                raise NotFound("unknown channel account")
            spec = self.registry.get(current.channel)
            if spec is None:
                msg = f"channel {current.channel!r} is not installed"
                raise NotFound(msg)
            sealed = dict(current.secrets)
            for key, value in (secrets or {}).items():
                if value:
                    sealed[key] = self.secrets.seal(value)
                else:
                    sealed.pop(key, None)
            new_settings = settings if settings is not None else current.settings
            missing = [k for k in spec.required_settings if not new_settings.get(k)]
            missing += [k for k in spec.required_secrets if k not in sealed]
            if missing:
                msg = f"{current.channel} accounts need {', '.join(missing)}"
                raise InvalidInput(msg)
            if spec.validate is not None:
                opened = {}
                for key, value in sealed.items():
                    try:
                        opened[key] = self.secrets.open(value)
                    except SecretUnavailable as exc:
                        msg = f"the stored secret {key!r} cannot be read ({exc}); send it again"
                        raise Conflict(msg) from exc
                problems = spec.validate(new_settings, opened)
                if problems:
                    raise InvalidInput("; ".join(problems))
            updated = AccountRow(
                id=current.id,
                channel=current.channel,
                name=name.strip()[:120] if name and name.strip() else current.name,
                settings=new_settings,
                secrets=sealed,
                default_queue_id=None
                if clear_default_queue
                else (default_queue_id if default_queue_id is not None else current.default_queue_id),
                enabled=current.enabled if enabled is None else enabled,
            )
            changed = [
                field
                for field, before, after in (
                    ("name", current.name, updated.name),
                    ("settings", current.settings, updated.settings),
                    ("secrets", current.secrets, updated.secrets),
                    ("default_queue_id", current.default_queue_id, updated.default_queue_id),
                    ("enabled", current.enabled, updated.enabled),
                )
                if before != after
            ]
            if changed:
                try:
                    await store.update_account(uow.conn, updated)
                except IntegrityError as exc:
                    msg = f"a {current.channel} account named {updated.name!r} exists already"
                    raise Conflict(msg) from exc
                uow.emit(
                    ChannelAccountChanged(
                        occurred_at=uow.clock.now(),
                        account_id=current.id,
                        channel=current.channel,
                        changed=changed,
                        actor_id=actor_id,
                    )
                )
        self.invalidate(account_id)
        return updated

    async def _check_queue(self, queue_id: str | None) -> None:
        """An unknown default queue is refused by name; the foreign key alone would fail as if the
        account's name were taken."""
        if queue_id is not None and queue_id not in {q.id for q in await self.routing.queues()}:
            msg = f"unknown queue {queue_id!r}"
            raise InvalidInput(msg)

    async def _forget_changed_accounts(self) -> None:
        """Other nodes changed an account: drop our cached adapter (it holds the old credentials)."""
        subscription = await self.publisher.bus.subscribe(EVENTS_TOPIC)
        try:
            async for item in subscription:
                if isinstance(item, BusReset):
                    self._adapters.clear()  # we may have missed a change
                elif item.get("type") == "channel_account.changed":
                    self.invalidate(str(item.get("account_id")))
        finally:
            await subscription.close()

    async def accounts(self) -> list[AccountRow]:
        async with self.db.read() as conn:
            return await store.list_accounts(conn)

    def webhook_url(self, account_id: str) -> str:
        return f"{self.public_url}/webhooks/{account_id}"

    async def adapter(self, account_id: str) -> tuple[AccountRow, ChannelAdapter]:
        cached = self._adapters.get(account_id)
        if cached is not None:
            return cached
        async with self.db.read() as conn:
            account = await store.get_account(conn, account_id)
        if account is None or not account.enabled:
            raise NotFound("unknown channel account")
        spec = self.registry.get(account.channel)
        if spec is None:
            msg = f"channel {account.channel!r} is not installed"
            raise NotFound(msg)
        config = AccountConfig(
            id=account.id,
            channel=account.channel,
            name=account.name,
            settings=account.settings,
            secrets=self._open_secrets(account),
            webhook_url=self.webhook_url(account.id),
        )
        adapter = spec.factory(AdapterContext(config=config, http=self.http, clock=self.clock))
        self._adapters[account_id] = (account, adapter)
        return account, adapter

    def _open_secrets(self, account: AccountRow) -> dict[str, str]:
        opened = {}
        for key, value in account.secrets.items():
            try:
                opened[key] = self.secrets.open(value)
            except SecretUnavailable as exc:
                detail = f"secret {key!r} of {account.channel} account {account.name!r}: {exc}"
                log.error("channel account %s unusable: %s", account.id, detail)
                raise CredentialsUnavailable(account.id, detail) from exc
        return opened

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self._http_factory(timeout=httpx.Timeout(10.0, connect=5.0))
        return self._http

    # -- inbound ---------------------------------------------------------------------------------

    async def receive(self, account_id: str, request: WebhookRequest) -> WebhookResult:
        """Verify, store each item once, answer. Processing happens after, in the worker."""
        account, adapter = await self.adapter(account_id)
        try:
            result = await adapter.handle_webhook(request)
        except SignatureError as exc:
            log.warning("%s webhook for %s refused: %s", account.channel, account.id, exc.reason)
            raise WebhookRejected(exc.status, exc.reason) from exc
        except MalformedPayload as exc:
            log.warning("%s webhook for %s malformed: %s", account.channel, account.id, exc)
            raise WebhookRejected(400, str(exc)) from exc
        if result.items:
            await self.ingest(account.id, result.items)
        return result

    async def ingest(self, account_id: str, items: Sequence[Inbound]) -> int:
        """Store verified items as receipts (deduplicated) and wake the worker; returns how many
        were new. For trusted in-process intake too (IMAP polling), which has no webhook to sign."""
        now = self.clock.now()
        receipts = []
        for item in items:  # ids in arrival order: the worker processes receipts in id order
            kind, key, payload = codec.encode(item)
            receipts.append(
                Receipt(
                    id=new_id(),
                    account_id=account_id,
                    dedupe_key=key or f"{kind}:{new_id()}",
                    kind=kind,
                    payload=payload,
                    received_at=now,
                    attempts=0,
                )
            )
        new = 0
        async with self.db.write() as conn:
            # Inserting in key order means two deliveries of overlapping batches wait for each
            # other on PostgreSQL instead of deadlocking.
            for receipt in sorted(receipts, key=lambda r: r.dedupe_key):
                new += await store.insert_receipt(conn, receipt)
        self._wake.set()
        return new

    def max_webhook_bytes(self, channel: str) -> int:
        spec = self.registry.get(channel)
        return spec.max_webhook_bytes if spec is not None else 1024 * 1024

    async def process_receipts(self) -> int:
        """Turn due receipts into conversation state; returns how many were handled.

        A receipt that fails is tried again later (:func:`receipt_retry_delay`); after
        :data:`RECEIPT_MAX_ATTEMPTS` tries it is dead-lettered: kept with its error for
        administrators (``GET /api/v1/admin/channel-accounts/{id}/dead-receipts``), logged, and no
        longer picked up, so failing receipts can never hold back the ones behind them."""
        return (await self._receipt_pass())[1]

    async def _receipt_pass(self) -> tuple[int, int]:
        """(how many receipts were tried, how many were handled).

        A batch is split into lanes, one per sender (statuses of an account share one): a lane
        is handled in arrival order, lanes side by side (:data:`RECEIPT_LANES` at once), so a
        slow media download or a provider's slow answer holds back only that sender's later
        messages, never everyone's."""
        async with self.db.read() as conn:
            pending = await store.pending_receipts(conn, self.clock.now(), BATCH, skip_locked=False)
        lanes: dict[tuple[str, str], list[Receipt]] = {}
        for receipt in pending:
            lanes.setdefault(receipt_lane(receipt), []).append(receipt)
        gate = asyncio.Semaphore(RECEIPT_LANES)

        async def run(lane: list[Receipt]) -> int:
            async with gate:
                return sum([await self._handle_receipt(receipt) for receipt in lane])

        handled = await asyncio.gather(*(run(lane) for lane in lanes.values()))
        return len(pending), sum(handled)

    async def _handle_receipt(self, receipt: Receipt) -> int:
        """1 when the receipt became conversation state, 0 when it failed (and will be retried)."""
        try:
            item = await self._named(receipt.account_id, codec.decode(receipt.kind, receipt.payload))
            # Downloads happen here, outside the transaction and long after the provider's 2xx.
            media = await self._fetch_media(receipt.account_id, item)
            async with self.publisher.unit_of_work() as uow:
                account, _ = await self.adapter(receipt.account_id)
                await self._apply(uow, account, item, media)
                await store.receipt_processed(uow.conn, receipt.id, uow.clock.now())
        except Exception as exc:
            await self._receipt_failed(receipt, exc)
            return 0
        return 1

    async def _receipt_failed(self, receipt: Receipt, exc: Exception) -> None:
        now = self.clock.now()
        attempts = receipt.attempts + 1
        if attempts >= RECEIPT_MAX_ATTEMPTS:
            log.error(
                "receipt %s (%s %s of account %s) dead-lettered after %d tries: %r",
                receipt.id,
                receipt.kind,
                receipt.dedupe_key,
                receipt.account_id,
                attempts,
                exc,
                exc_info=exc,
            )
            retry_at, dead_at = None, now
        else:
            log.warning("receipt %s failed (try %d): %r", receipt.id, attempts, exc, exc_info=exc)
            retry_at, dead_at = now + timedelta(seconds=receipt_retry_delay(attempts)), None
        async with self.db.write() as conn:
            await store.receipt_failed(conn, receipt.id, repr(exc), next_attempt_at=retry_at, dead_at=dead_at)

    async def dead_receipts(self, account_id: str, limit: int = 100) -> list[store.DeadReceipt]:
        """One account's dead-lettered receipts, newest first."""
        async with self.db.read() as conn:
            if await store.get_account(conn, account_id) is None:
                raise NotFound("unknown channel account")
            return await store.dead_receipts(conn, account_id, limit)

    async def requeue_receipt(self, account_id: str, receipt_id: str) -> None:
        """Give a dead-lettered receipt a fresh set of tries (after the cause was fixed)."""
        async with self.db.write() as conn:
            if not await store.requeue_receipt(conn, account_id, receipt_id):
                raise NotFound("no such dead-lettered receipt for this account")
        self._wake.set()

    async def _apply(
        self, uow: UnitOfWork, account: AccountRow, item: object, media: FetchedMedia | None = None
    ) -> None:
        match item:
            case InboundMessage():
                await self._inbound_message(uow, account, item, media)
            case StatusUpdate():
                await self._status(uow, account, item)
            case ReceiptWatermark():
                await self._watermark(uow, account, item)
            case SentTimestamp():
                await store.set_sent_at(uow.conn, account.id, item.provider_message_id, item.at)
            case TypingSignal():
                conv = await self._live(uow, account, item.sender_address)
                if conv is not None:
                    await self.conversations.typing(conv.id, SenderKind.CUSTOMER, item.is_typing)
            case ConversationEnded():
                conv = await self._live(uow, account, item.sender_address)
                if conv is not None:
                    await self.conversations.end_in(uow, conv, SenderKind.CUSTOMER, "Customer")
            case ConversationStart():
                await self._conversation_start(uow, account, item)

    async def _live(self, uow: UnitOfWork, account: AccountRow, address: str) -> Conversation | None:
        customer = await customers.resolve_customer(uow, account.channel, address, address)
        found = await self.conversations.live_for_customer(uow, customer.id, account.id)
        return await self.conversations.load(uow, found.id) if found else None

    async def _named(self, account_id: str, item: Inbound) -> Inbound:
        """A customer's message with the sender's name, when the provider gave only an address and
        the adapter can ask the provider (:class:`SenderNames`)."""
        if not isinstance(item, InboundMessage) or item.sender_name is not None:
            return item
        _, adapter = await self.adapter(account_id)
        lookup = getattr(adapter, "sender_name", None)
        if lookup is None:
            return item
        name = await lookup(item.sender_address)
        return replace(item, sender_name=name) if name else item

    # -- inbound media ---------------------------------------------------------------------------

    async def _fetch_media(self, account_id: str, item: Inbound) -> FetchedMedia | None:
        """Each attachment's bytes (given in the payload or downloaded by the adapter) or why
        there are none; None when nothing is to be stored (no store wired, no attachments)."""
        if self.attachments is None or not isinstance(item, InboundMessage) or not item.attachments:
            return None
        _, adapter = await self.adapter(account_id)
        fetch = getattr(adapter, "fetch_media", None)
        max_bytes = self.attachments.limits.max_bytes
        found: FetchedMedia = {}
        by_url: dict[str, Media | str] = {}
        for index, attachment in enumerate(item.attachments):
            if index >= MAX_ATTACHMENTS_PER_MESSAGE:
                found[index] = f"a message keeps at most {MAX_ATTACHMENTS_PER_MESSAGE} files"
            elif attachment.content is not None:
                found[index] = Media(attachment.content, attachment.content_type, attachment.filename)
            elif fetch is None:
                continue  # this channel cannot download: the provider's link stays
            elif attachment.size is not None and attachment.size > max_bytes:
                found[index] = "too large"
            elif attachment.url in by_url:
                found[index] = by_url[attachment.url]  # the same media twice: downloaded once
            else:
                found[index] = by_url[attachment.url] = await self._download(fetch, attachment, max_bytes)
        return found

    async def _download(
        self, fetch: Callable[[Attachment, int], Awaitable[Media]], attachment: Attachment, max_bytes: int
    ) -> Media | str:
        delays = list(self.media_retry_delays)
        while True:
            try:
                return await fetch(attachment, max_bytes)
            except MediaTooLarge:
                return "too large"
            except MediaFetchFailed as exc:
                if not exc.transient or not delays:
                    log.warning("media %s not fetched: %s", attachment.filename or attachment.url, exc.reason)
                    return "fetch failed"
            except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
                # An adapter's unexpected answer: worth another try, then a note.
                if not delays:
                    log.warning("media not fetched: %r", exc)
                    return "fetch failed"
            await asyncio.sleep(delays.pop(0))

    async def _store_media(
        self,
        files: AttachmentService,
        uow: UnitOfWork,
        conv: Conversation,
        msg: InboundMessage,
        media: FetchedMedia,
    ) -> tuple[list[str], list[MessageAttachment], dict[int, str | None]]:
        """Stored attachment ids, the provider links kept for the rest, and the outcome per index
        for the transcript (None: stored)."""
        ids: list[str] = []
        links: list[MessageAttachment] = []
        notes: dict[int, str | None] = {}
        kept = codec.attachments_of(msg)
        for index, attachment in enumerate(msg.attachments):
            got = media.get(index)
            if isinstance(got, Media):
                name = attachment.filename or got.filename or filename_for(got.content_type, str(index + 1))
                try:
                    upload = await files.upload_in(uow, conv, got.data, name, UploaderKind.CHANNEL, None)
                except PayloadTooLarge:
                    got = "too large"
                except UnsupportedMediaType:
                    got = "file type not accepted"
                except InvalidInput:
                    got = "empty file"
                else:
                    ids.append(upload.attachment.id)
                    notes[index] = None
                    continue
            if got is not None:
                notes[index] = got
            if index < MAX_ATTACHMENTS_PER_MESSAGE and not attachment.url.startswith(codec.LOCAL_SCHEMES):
                links.append(kept[index])
        return ids, links, notes

    async def _inbound_message(
        self, uow: UnitOfWork, account: AccountRow, msg: InboundMessage, media: FetchedMedia | None = None
    ) -> None:
        customer = await customers.resolve_customer(
            uow,
            account.channel,
            msg.sender_address,
            msg.sender_name or msg.sender_address,
            email=msg.sender_address if account.channel == "email" else None,
            # A From address proves nothing by itself: only the adapter's check makes it verified.
            sender_authenticated=msg.sender_authenticated,
        )
        conv: Conversation | None = None
        thread = await store.conversation_for_thread(
            uow.conn, account.id, [k for k in (msg.reply_to, *msg.thread_keys) if k]
        )
        if thread is not None:
            found = await self.conversations.load(uow, thread)
            # Thread keys are unguessable (provider ids, HMAC'd tokens): whoever has one was on the
            # thread, like a colleague in copy, so the message joins that conversation.
            conv = found if found.state.value in ("open", "active", "waiting") else None
        if conv is None:
            conv = await self.conversations.live_for_customer(uow, customer.id, account.id)
        plan = None
        if conv is None:
            conv, plan = await self._open(
                uow,
                account,
                customer,
                msg.sender_address,
                subject=msg.subject or msg.text[:200],
                prechat={"name": customer.display_name, "address": msg.sender_address},
                attributes={"message": {"text": msg.text, "subject": msg.subject or ""}},
                requested_queue=None,
            )
        conv = await self.conversations.load(uow, conv.id)
        stored: list[str] = []
        links: Sequence[MessageAttachment] = codec.attachments_of(msg)
        notes: dict[int, str | None] | None = None
        if media is not None and self.attachments is not None:
            stored, links, notes = await self._store_media(self.attachments, uow, conv, msg, media)
        await self.conversations.append(
            uow,
            conv,
            sender_kind=SenderKind.CUSTOMER,
            sender_id=customer.id,
            sender_name=customer.display_name,
            text=codec.fit_text(codec.as_text(msg, notes), self.conversations.max_message_bytes),
            idempotency_key=f"{account.channel}:{msg.provider_message_id}"[:300],
            attachment_ids=stored,
            links=links,
            location=msg.location,
        )
        await store.add_thread_keys(
            uow.conn, account.id, conv.id, [*msg.thread_keys, msg.provider_message_id], uow.clock.now()
        )
        if msg.reply_context is not None:
            await store.save_reply_context(
                uow.conn, account.id, conv.id, dict(msg.reply_context), uow.clock.now()
            )
        if plan is not None:
            await self._route_new(uow, account, conv, plan)

    async def _conversation_start(
        self, uow: UnitOfWork, account: AccountRow, start: ConversationStart
    ) -> None:
        """A conversation without a first message: routing (or a bot) starts now, with the
        service's context as the pre-chat answers. A sender whose conversation on this account is
        still in progress keeps it (the start changes nothing), so a repeated start is harmless."""
        customer = await customers.resolve_customer(
            uow,
            account.channel,
            start.sender_address,
            start.sender_name or start.sender_address,
            # The service's word only: stored as a contact to suggest duplicates, never a merge.
            email=start.email,
        )
        if await self.conversations.live_for_customer(uow, customer.id, account.id) is not None:
            return
        prechat: dict[str, Any] = {
            **start.context,
            "name": customer.display_name,
            "address": start.sender_address,
            **({"email": start.email} if start.email else {}),
            **({"phone": start.phone} if start.phone else {}),
        }
        subject = str(start.context.get("subject") or start.context.get("question") or "")
        conv, plan = await self._open(
            uow,
            account,
            customer,
            start.sender_address,
            subject=subject[:200],
            prechat=prechat,
            attributes={"message": {"text": "", "subject": subject}, "prechat": prechat},
            requested_queue=start.queue,
            prechat_queue=True,
        )
        await self._route_new(uow, account, await self.conversations.load(uow, conv.id), plan)

    async def _open(
        self,
        uow: UnitOfWork,
        account: AccountRow,
        customer: Customer,
        address: str,
        *,
        subject: str,
        prechat: dict[str, Any],
        attributes: dict[str, Any],
        requested_queue: str | None,
        prechat_queue: bool = False,
    ) -> tuple[Conversation, RoutingPlan]:
        """A new conversation of ``customer`` on the account, classified (``attributes`` besides
        the account and customer are what rules see) and stored ``open``; not routed yet."""
        conversation_id = new_id()
        plan = await self.routing.plan_work(
            uow,
            item_id=conversation_id,
            channel=account.channel,
            attributes={
                "account": account.name,
                "customer": {"id": customer.id, "name": customer.display_name},
                **attributes,
            },
            requested_queue=requested_queue,
            fallback_queue_id=account.default_queue_id,
        )
        conv = await self.conversations.start(
            uow,
            channel=account.channel,
            customer_id=customer.id,
            queue_id=plan.queue.id,
            subject=subject,
            # Like web chat's, a start's answers name the queue routing chose.
            prechat={**prechat, "queue": plan.queue.name} if prechat_queue else prechat,
            customer_token_hash=None,
            conversation_id=conversation_id,
            channel_account_id=account.id,
            customer_address=address,
        )
        return conv, plan

    async def _route_new(
        self, uow: UnitOfWork, account: AccountRow, conv: Conversation, plan: RoutingPlan
    ) -> None:
        """A new conversation to its bot, its queue, or (overflow) ended with the plan's message."""
        if self.bots is not None and await self.bots.take(uow, conv, plan):
            return
        # An overflow message goes out through the channel, so it speaks as the account.
        await self.routing.enqueue_or_end(
            uow, conv, plan, sender_kind=SenderKind.BOT, sender_name=account.name
        )

    async def _status(self, uow: UnitOfWork, account: AccountRow, update: StatusUpdate) -> None:
        row = await store.outbox_by_provider_id(uow.conn, account.id, update.provider_message_id)
        if row is None:
            return  # a receipt for something we did not send through this account
        # A row being sent ("sending") counts as queued; receipts arrive out of order, so a
        # message only ever moves forward, and "queued" is never a receipt.
        current = DeliveryStatus(row.status) if row.status in STATUS_VALUES else DeliveryStatus.QUEUED
        if update.status is DeliveryStatus.QUEUED or STATUS_RANK[update.status] <= STATUS_RANK[current]:
            return
        now = uow.clock.now()
        await store.update_outbox(uow.conn, row.id, now, status=update.status.value, error=update.error)
        await self.conversations.set_delivery(uow, row.message_id, update.status.value, update.error)

    async def _watermark(self, uow: UnitOfWork, account: AccountRow, mark: ReceiptWatermark) -> None:
        """Move every message to the recipient sent by ``up_to`` forward to the mark's status,
        whichever node sent it: the outbox (``sent_at``) is the record, not a process's memory."""
        if mark.status not in (DeliveryStatus.DELIVERED, DeliveryStatus.READ):
            return
        below = [s.value for s in DeliveryStatus if STATUS_RANK[s] < STATUS_RANK[mark.status]]
        below = [s for s in below if s != DeliveryStatus.QUEUED.value]  # accepted ones only
        now = uow.clock.now()
        for row in await store.outbox_sent_to(
            uow.conn, account.id, mark.recipient_address, mark.up_to, below
        ):
            await store.update_outbox(uow.conn, row.id, now, status=mark.status.value)
            await self.conversations.set_delivery(uow, row.message_id, mark.status.value, None)

    # -- outbound --------------------------------------------------------------------------------

    async def message_stored(self, uow: UnitOfWork, conv: Conversation, message: Message) -> None:
        """Outbox hook: queue agent and bot messages of channel conversations for sending."""
        if conv.channel_account_id is None or message.sender_kind not in OUTBOUND_SENDERS:
            return
        now = uow.clock.now()
        last = await self.conversations.last_customer_message(uow, conv.id)
        prefix = f"{conv.channel}:"
        answers = (
            last.idempotency_key[len(prefix) :]
            if last is not None and last.idempotency_key and last.idempotency_key.startswith(prefix)
            else None
        )
        payload = {
            "to": conv.customer_address or "",
            "text": message.text,
            "subject": conv.subject,
            "thread_keys": await store.keys_for_conversation(uow.conn, conv.id),
            "in_reply_to": answers,
            "customer_last_message_at": last.created_at.isoformat() if last is not None else None,
            "attachments": [a.as_dict() for a in message.attachments],
            "location": message.location.as_dict() if message.location is not None else None,
            # Who wrote it and where it sits: a bot's latest message gets the bot's quick replies.
            "sender_kind": message.sender_kind.value,
            "seq": message.seq,
        }
        await store.insert_outbox(
            uow.conn,
            OutboxRow(
                id=new_id(),
                account_id=conv.channel_account_id,
                conversation_id=conv.id,
                message_id=message.id,
                payload=payload,
                status=DeliveryStatus.QUEUED.value,
                attempts=0,
                due_at=now,
                provider_message_id=None,
                error=None,
            ),
            now,
        )
        await self.conversations.set_delivery(uow, message.id, DeliveryStatus.QUEUED.value, None)
        self._wake.set()

    async def send_due(self) -> int:
        """Claim due messages, send them, record the outcome. Returns how many were attempted."""
        now = self.clock.now()
        async with self.db.write() as conn:
            due = await store.due_outbox(conn, now, BATCH, skip_locked=not self.db.is_sqlite)
            for row in due:
                # The lease: another worker (or we, after a crash) retries only once it lapses.
                await store.update_outbox(conn, row.id, now, status="sending", due_at=now + SEND_LEASE)
        for row in due:
            await self._send_one(row)
        return len(due)

    async def _send_one(self, row: OutboxRow) -> None:
        try:
            _, adapter = await self.adapter(row.account_id)
            sent = await adapter.send(
                Outbound(
                    outbound_id=row.id,
                    conversation_id=row.conversation_id,
                    to_address=row.payload["to"],
                    text=row.payload["text"],
                    subject=row.payload.get("subject"),
                    thread_keys=tuple(row.payload.get("thread_keys", ())),
                    in_reply_to=row.payload.get("in_reply_to")
                    or (row.payload.get("thread_keys") or [None])[-1],
                    customer_last_message_at=_time(row.payload.get("customer_last_message_at")),
                    attachments=await self._outbound_attachments(
                        row.payload.get("attachments") or [],
                        with_bytes=getattr(adapter, "attachment_bytes", False) is True,
                    ),
                    reply_context=await self._reply_context(row.conversation_id),
                    quick_replies=await self._quick_replies(row),
                    location=Location.of(row.payload.get("location")),
                    template=row.payload.get("template"),
                    sender_kind=row.payload.get("sender_kind"),
                    progress=row.payload.get("progress"),
                )
            )
        except CredentialsUnavailable as exc:
            await self._retry_later(row, f"credentials cannot be read: {exc.detail}", None)
            return
        except TransientSendError as exc:
            await self._retry_later(row, str(exc), exc.retry_after_seconds, exc.progress)
            return
        except PermanentSendError as exc:
            await self._finish(row, DeliveryStatus.FAILED, None, str(exc))
            return
        except (httpx.HTTPError, OSError) as exc:
            await self._retry_later(row, f"network: {exc!r}", None)
            return
        await self._finish(row, DeliveryStatus.SENT, sent.provider_message_id, None)

    async def _quick_replies(self, row: OutboxRow) -> tuple[QuickReply, ...]:
        """The buttons to send with this message: the ones its payload names, or, for a bot's
        message that is still its latest in the conversation, the choices the bot waits for.

        Read at send time, after the bot's turn committed (its message and its new state commit
        together), so they are what the bot waits for now; an earlier message of the same turn
        goes without them. Buttons are a convenience: a failure to read them never holds a send.
        """
        named = row.payload.get("quick_replies")
        if isinstance(named, list) and named:
            return codec.quick_replies_of(named)
        seq = row.payload.get("seq")
        if self.bot_choices is None or row.payload.get("sender_kind") != SenderKind.BOT.value:
            return ()
        if not isinstance(seq, int):
            return ()
        try:
            later = await self.conversations.messages(row.conversation_id, after_seq=seq, limit=50)
            if any(m.sender_kind in OUTBOUND_SENDERS for m in later):
                return ()
            return codec.quick_replies_of(list(await self.bot_choices(row.conversation_id)))
        except Exception:
            log.exception("quick replies for %s not read; the message goes without them", row.message_id)
            return ()

    async def _reply_context(self, conversation_id: str) -> dict[str, Any] | None:
        async with self.db.read() as conn:
            return await store.reply_context(conn, conversation_id)

    async def _outbound_attachments(
        self, files: list[dict[str, Any]], *, with_bytes: bool = False
    ) -> tuple[Attachment, ...]:
        """Stored files become signed links made at send time (a retry gets a fresh expiry);
        adapters that declare ``attachment_bytes = True`` (email) also get the bytes."""
        out = []
        for f in files:
            url = f.get("url")
            if f.get("id") and self.attachment_links is not None:
                url = self.attachment_links(str(f["id"]))
            if url:
                kind = f.get("content_type") or "application/octet-stream"
                content = None
                if with_bytes and f.get("id") and self.attachments is not None:
                    with contextlib.suppress(NotFound):  # removed since: the link still says so
                        content = await self.attachments.content(str(f["id"]))
                out.append(Attachment(url, kind, f.get("filename"), f.get("size"), content))
        return tuple(out)

    async def _retry_later(
        self,
        row: OutboxRow,
        error: str,
        retry_after: float | None,
        progress: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue the row again after its backoff. ``progress`` (what the failed attempt achieved,
        e.g. the parts of a long message already accepted) is kept in the row's payload, in the
        same commit, so the next attempt resumes there on whichever node claims it."""
        now = self.clock.now()
        attempts = row.attempts + 1
        async with self.db.read() as conn:
            created = await store.outbox_created_at(conn, row.id)
        if created is not None and now - created > GIVE_UP_AFTER:
            await self._finish(
                replace(row, attempts=attempts),
                DeliveryStatus.FAILED,
                None,
                f"gave up after {attempts} attempts: {error}",
            )
            return
        due = now + timedelta(seconds=retry_delay(attempts, retry_after))
        kept = {"payload": {**row.payload, "progress": dict(progress)}} if progress is not None else {}
        async with self.publisher.unit_of_work() as uow:
            await store.update_outbox(
                uow.conn,
                row.id,
                now,
                status=DeliveryStatus.QUEUED.value,
                attempts=attempts,
                due_at=due,
                error=error[:1000],
                **kept,
            )
            await self.conversations.set_delivery(
                uow, row.message_id, DeliveryStatus.QUEUED.value, f"retrying: {error}"[:1000]
            )

    async def _finish(
        self, row: OutboxRow, status: DeliveryStatus, provider_id: str | None, error: str | None
    ) -> None:
        now = self.clock.now()
        async with self.publisher.unit_of_work() as uow:
            sent_at = None
            if status is DeliveryStatus.SENT:
                reported = (
                    await store.reported_sent_at(uow.conn, row.account_id, provider_id)
                    if provider_id
                    else None
                )
                sent_at = reported or now
            await store.update_outbox(
                uow.conn,
                row.id,
                now,
                status=status.value,
                provider_message_id=provider_id,
                attempts=row.attempts + 1,
                due_at=None,
                error=error[:1000] if error else None,
                **({"sent_at": sent_at} if sent_at is not None else {}),
            )
            if provider_id is not None:
                # In the same commit as "sent", so a reply that races the event still threads.
                await store.add_thread_keys(uow.conn, row.account_id, row.conversation_id, [provider_id], now)
            await self.conversations.set_delivery(uow, row.message_id, status.value, error)

    # -- the worker ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="omniroute-channels")
            self._background.append(
                asyncio.create_task(self._forget_changed_accounts(), name="omniroute-channel-accounts")
            )
            for spec in self.registry.channels():
                if spec.background is not None:
                    self._background.append(
                        asyncio.create_task(spec.background(self), name=f"omniroute-{spec.channel}")
                    )

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for _, adapter in self._adapters.values():
            await adapter.aclose()
        self._adapters.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                # Tried, not only handled: a batch of failures is followed at once by the next
                # batch (the failed ones now wait for their backoff).
                handled, _ = await self._receipt_pass()
                sent = await self.send_due()
            except Exception:
                log.exception("channel worker pass failed")
                handled = sent = 0
            if handled or sent:
                continue
            async with self.db.read() as conn:
                dues = [await store.next_outbox_due(conn), await store.next_receipt_due(conn)]
            next_due = min((d for d in dues if d is not None), default=None)
            await self.clock.sleep_until(next_due or self.clock.now() + timedelta(minutes=5), self._wake)

    async def run_once(self) -> tuple[int, int]:
        """One worker pass (tests and the CLI use it to drive the pipeline deterministically)."""
        return await self.process_receipts(), await self.send_due()

    def wake(self) -> None:
        """Something was queued outside the worker's own path: look at the outbox now."""
        self._wake.set()

    def invalidate(self, account_id: str) -> None:
        self._adapters.pop(account_id, None)


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
