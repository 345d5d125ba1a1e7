"""Web chat: widgets and their settings, a visitor's chat from the widget (pre-chat survey, identity
token, masking, CSAT, transcripts) and the offline message form."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from omniroute.bots.gate import BotGate
from omniroute.channels import store as channel_store
from omniroute.channels.webchat import csat_report, store
from omniroute.channels.webchat.availability import Availability, availability
from omniroute.channels.webchat.catalog import CATALOG, pick_language, strings_for
from omniroute.channels.webchat.csat_report import CsatFilter, CsatReport
from omniroute.channels.webchat.events import CsatSubmitted, OfflineMessageLeft, WidgetSettingsChanged
from omniroute.channels.webchat.identity_token import VerifiedCustomer, verify_identity_token
from omniroute.channels.webchat.masking import MaskingRules
from omniroute.channels.webchat.model import (
    CHANNEL,
    FREE_TEXT_TYPES,
    CsatResponse,
    CsatSummary,
    Widget,
    check_email_policy,
    check_offline_message,
    check_origin,
    check_rating,
    normalise_origin,
    read_answers,
    read_prechat,
)
from omniroute.channels.webchat.public_config import PublicConfig, PublicQueue, public_config
from omniroute.channels.webchat.settings import WidgetSettings
from omniroute.channels.webchat.transcript import TranscriptFile, as_text, transcript_file
from omniroute.conversations.model import (
    Conversation,
    ConversationState,
    SenderKind,
    check_body,
)
from omniroute.conversations.service import ConversationService
from omniroute.conversations.store import Message
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from omniroute.core.ids import hash_token, new_id, new_token
from omniroute.core.secretbox import ENV_PREFIX, SecretBox, SecretUnavailable
from omniroute.core.uow import Publisher, UnitOfWork
from omniroute.customers import service as customers
from omniroute.customers.model import Customer
from omniroute.routing.service import RoutingService

if TYPE_CHECKING:
    from datetime import datetime

    from omniroute.channels.service import ChannelService
    from omniroute.channels.store import AccountRow

#: Widgets change rarely; a node sees an edit made on another node within this many seconds.
WIDGET_CACHE_SECONDS = 30.0
CACHE_LIMIT = 10_000
MIN_SECRET_LENGTH = 32
#: Offline messages are read by a person later; a page of text is plenty.
MAX_OFFLINE_MESSAGE = 4000
ENDED_STATES = frozenset({ConversationState.WRAP_UP, ConversationState.CLOSED})
EMAIL_CHANNEL = "email"
TRANSCRIPT_KEY = "transcript-email:"


@dataclass(frozen=True)
class StartedChat:
    conversation: Conversation
    customer_token: str
    customer_name: str
    first_message: Message | None
    authenticated: bool = False


def settings_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def masking_rules(settings: WidgetSettings) -> MaskingRules:
    return MaskingRules.of(
        settings.masking.card_numbers, [(p.pattern, p.replacement) for p in settings.masking.patterns]
    )


class WebchatService:
    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        conversations: ConversationService,
        routing: RoutingService,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.conversations = conversations
        self.routing = routing
        #: Asked before new chats are queued (bootstrap sets it): a bot may answer first.
        self.bots: BotGate | None = None
        #: Signed, expiring download links for the files in transcripts (bootstrap sets it).
        self.attachment_links: Callable[[str], str] | None = None
        self._widgets: dict[str, tuple[float, Widget]] = {}
        self._tokens: OrderedDict[str, str] = OrderedDict()

    # -- widgets and their settings ---------------------------------------------------------------

    async def widget(self, public_key: str) -> Widget:
        """The widget for a public key, cached briefly: every widget request starts here."""
        hit = self._widgets.get(public_key)
        if hit is not None and time.monotonic() - hit[0] < WIDGET_CACHE_SECONDS:
            return hit[1]
        async with self.db.read() as conn:
            widget = await store.get_widget_by_key(conn, public_key)
        if widget is None:
            raise NotFound("unknown widget key")
        if len(self._widgets) >= CACHE_LIMIT:
            self._widgets.clear()
        self._widgets[public_key] = (time.monotonic(), widget)
        return widget

    async def widget_by_id(self, widget_id: str) -> Widget:
        async with self.db.read() as conn:
            widget = await store.get_widget(conn, widget_id)
        if widget is None:
            msg = f"no widget {widget_id}"
            raise NotFound(msg)
        return widget

    async def list_widgets(self) -> list[Widget]:
        async with self.db.read() as conn:
            return await store.list_widgets(conn)

    async def create_widget(
        self, name: str, allowed_origins: list[str], default_queue_id: str | None
    ) -> Widget:
        origins = tuple("*" if o == "*" else normalise_origin(o) for o in allowed_origins)
        widget = Widget(
            id=new_id(),
            name=name,
            public_key="pk_" + new_token(18),
            allowed_origins=origins,
            default_queue_id=default_queue_id,
        )
        async with self.db.write() as conn:
            await store.insert_widget(conn, widget, self.publisher.clock.now())
        return widget

    async def save_settings(self, widget_id: str, document: dict[str, Any], user_id: str | None) -> Widget:
        """Validate and store a widget's whole settings document (422 with every problem named)."""
        try:
            settings = WidgetSettings.model_validate(document)
        except ValidationError as exc:
            raise InvalidInput(settings_reason(exc)) from exc
        async with self.publisher.unit_of_work() as uow:
            widget = await store.get_widget(uow.conn, widget_id)
            if widget is None:
                msg = f"no widget {widget_id}"
                raise NotFound(msg)
            await store.save_settings(
                uow.conn, widget_id, uow.clock.now(), user_id, document=settings.model_dump(mode="json")
            )
            uow.emit(
                WidgetSettingsChanged(occurred_at=uow.clock.now(), widget_id=widget_id, changed_by=user_id)
            )
        self._widgets.pop(widget.public_key, None)
        return replace(widget, settings=settings)

    async def set_identity_secret(
        self, widget_id: str, secret: str | None, secrets: SecretBox, user_id: str | None
    ) -> str:
        """Store the HS256 secret the host site signs identity tokens with (a fresh random one when
        none is given, or an ``env:NAME`` reference). The plain value is returned this once."""
        value = secret if secret is not None else new_token(MIN_SECRET_LENGTH)
        if not value.startswith(ENV_PREFIX) and len(value) < MIN_SECRET_LENGTH:
            msg = f"the secret must have at least {MIN_SECRET_LENGTH} characters"
            raise InvalidInput(msg)
        async with self.db.write() as conn:
            widget = await store.get_widget(conn, widget_id)
            if widget is None:
                msg = f"no widget {widget_id}"
                raise NotFound(msg)
            await store.save_settings(
                conn, widget_id, self.publisher.clock.now(), user_id, identity_secret=secrets.seal(value)
            )
        self._widgets.pop(widget.public_key, None)
        return value

    async def widget_for_origin(self, public_key: str, origin: str | None) -> Widget:
        widget = await self.widget(public_key)
        check_origin(widget, origin)
        return widget

    # -- what the widget is told -------------------------------------------------------------------

    async def _queue_name(self, widget: Widget) -> str:
        queues = await self.routing.queues()
        chosen = next((q for q in queues if q.id == widget.default_queue_id), None)
        chosen = chosen or next((q for q in queues if q.is_default), None)
        chosen = chosen or (queues[0] if queues else None)
        if chosen is None:
            raise Conflict("no queue is configured")
        return chosen.name

    async def availability(self, widget: Widget) -> Availability:
        """Whether live chat is open now (routing's operating hours for the widget's queue)."""
        active = await self.routing.configs.active()
        return availability(active.config, await self._queue_name(widget), self.publisher.clock.now())

    async def client_config(
        self, widget: Widget, requested_language: str | None, channels: ChannelService
    ) -> PublicConfig:
        language = pick_language(widget.settings.language, requested_language)
        queues = [
            PublicQueue(id=q.id, name=q.name, description=q.description) for q in await self.routing.queues()
        ]
        return public_config(
            widget,
            language=language,
            queues=queues,
            availability=await self.availability(widget),
            email_transcripts_possible=await self._email_account(widget, channels) is not None,
        )

    # -- a live chat ---------------------------------------------------------------------------------

    def _identity(
        self, widget: Widget, token: str | None, secrets: SecretBox, now: datetime
    ) -> VerifiedCustomer | None:
        config = widget.settings.identity
        if not token:
            if config.mode == "required":
                raise Unauthorized("this widget needs an identity token from the host site")
            return None
        if config.mode == "off":
            raise InvalidInput("this widget does not accept identity tokens")
        if config.algorithm == "HS256":
            if widget.identity_secret is None:
                raise Conflict("no identity secret is set for this widget")
            try:
                key = secrets.open(widget.identity_secret)
            except SecretUnavailable as exc:
                msg = f"the widget's identity secret cannot be read: {exc}"
                raise Conflict(msg) from exc
        else:
            assert config.public_key is not None  # guaranteed by the settings' validation
            key = config.public_key
        return verify_identity_token(
            token,
            widget_key=widget.public_key,
            algorithm=config.algorithm,
            key=key,
            now=now,
            max_age_seconds=config.max_age_seconds,
            leeway_seconds=config.leeway_seconds,
        )

    async def start(
        self,
        widget: Widget,
        *,
        visitor_id: str | None,
        name: str,
        email: str | None,
        question: str,
        queue: str | None,
        answers: dict[str, Any] | None = None,
        language: str | None = None,
        identity_token: str | None = None,
        secrets: SecretBox | None = None,
    ) -> StartedChat:
        settings = widget.settings
        verified: VerifiedCustomer | None = None
        if secrets is not None:
            verified = self._identity(widget, identity_token, secrets, self.publisher.clock.now())
        elif identity_token or settings.identity.mode == "required":
            raise Conflict("identity tokens cannot be checked without the secret box")
        if verified is not None:
            name = verified.name or name
            email = verified.email or email
        rules = masking_rules(settings)
        survey = read_answers(settings.prechat.questions, answers or {})
        free_text = {q.id for q in settings.prechat.questions if q.type in FREE_TEXT_TYPES}
        survey = {k: rules.apply(v) if k in free_text else v for k, v in survey.items()}
        check_email_policy(settings.prechat.email, (email or "").strip() or None)
        answered = read_prechat(name, email, rules.apply(question), queue)
        language = language if language in CATALOG else None
        token = new_token()
        visitor = visitor_id or new_id()
        address = f"{widget.id}:user:{verified.subject}" if verified else f"{widget.id}:{visitor}"
        async with self.publisher.unit_of_work() as uow:
            customer = await customers.resolve_customer(
                uow,
                CHANNEL,
                address,
                answered.name,
                answered.email,
                # A signed identity token vouches for its email: the same person on email or SMS.
                email_verified=verified is not None and verified.email is not None,
            )
            prechat: dict[str, Any] = {
                "name": answered.name,
                "email": answered.email or "",
                "question": answered.question,
                "queue": answered.queue or "",
                **survey,
            }
            if language:
                prechat["language"] = language
            if verified:
                prechat["customer_ref"] = verified.subject
            conversation_id = new_id()
            plan = await self.routing.plan_work(
                uow,
                item_id=conversation_id,
                channel=CHANNEL,
                attributes=self._attributes(widget, prechat, customer, verified, offline=False),
                requested_queue=answered.queue,
                fallback_queue_id=widget.default_queue_id,
            )
            conv = await self.conversations.start(
                uow,
                channel=CHANNEL,
                customer_id=customer.id,
                queue_id=plan.queue.id,
                subject=answered.question,
                prechat={**prechat, "queue": plan.queue.name},
                customer_token_hash=hash_token(token),
                conversation_id=conversation_id,
            )
            taken = self.bots is not None and await self.bots.take(uow, conv, plan)
            if not taken and plan.end_message is None:
                await self.routing.enqueue(uow, conv, plan)
            first = None
            if answered.question:
                conv = await self.conversations.load(uow, conv.id)
                first, _ = await self.conversations.append(
                    uow,
                    conv,
                    sender_kind=SenderKind.CUSTOMER,
                    sender_id=customer.id,
                    sender_name=customer.display_name,
                    text=answered.question,
                    idempotency_key="prechat-question",
                )
            if not taken and plan.end_message is not None:
                # Overflow (e.g. out of hours): the customer reads why, after their question.
                conv = await self.routing.enqueue_or_end(uow, conv, plan)
        return StartedChat(
            conversation=conv,
            customer_token=token,
            customer_name=customer.display_name,
            first_message=first,
            authenticated=verified is not None,
        )

    @staticmethod
    def _attributes(
        widget: Widget,
        prechat: dict[str, Any],
        customer: Customer,
        verified: VerifiedCustomer | None,
        *,
        offline: bool,
    ) -> dict[str, Any]:
        """What classification rules see: ``prechat.<field or question id>``, ``customer.*``,
        ``widget.*`` and ``offline``."""
        return {
            "prechat": prechat,
            "customer": {
                "id": customer.id,
                "name": customer.display_name,
                "authenticated": verified is not None,
                "ref": verified.subject if verified else "",
            },
            "widget": {"id": widget.id, "name": widget.name},
            "offline": offline,
        }

    async def post_customer_message(
        self,
        widget: Widget,
        conversation_id: str,
        text: str,
        idempotency_key: str | None,
        attachment_ids: Sequence[str] = (),
    ) -> tuple[Message, bool]:
        """A customer's message, masked before it is stored (the original never reaches the store).
        It may carry files the customer uploaded to the conversation, with or without text."""
        # Before spending time on masking.
        check_body(text, self.conversations.max_message_bytes, len(set(attachment_ids)))
        return await self.conversations.post(
            conversation_id,
            sender_kind=SenderKind.CUSTOMER,
            text=masking_rules(widget.settings).apply(text) if text.strip() else text,
            idempotency_key=idempotency_key,
            attachment_ids=attachment_ids,
        )

    async def conversation_id_for_token(self, token: str) -> str:
        """The conversation a customer token opens. A token never moves, so this is cached."""
        token_hash = hash_token(token)
        conversation_id = self._tokens.get(token_hash)
        if conversation_id is not None:
            self._tokens.move_to_end(token_hash)
            return conversation_id
        conv = await self.conversations.by_customer_token(token_hash)
        if conv is None:
            raise Unauthorized("unknown or expired chat token")
        self._tokens[token_hash] = conv.id
        if len(self._tokens) > CACHE_LIMIT:
            self._tokens.popitem(last=False)
        return conv.id

    async def conversation_for_token(self, token: str) -> Conversation:
        return await self.conversations.get(await self.conversation_id_for_token(token))

    # -- after the chat: CSAT and transcripts ------------------------------------------------------

    async def submit_csat(
        self, widget: Widget, conversation_id: str, rating: int, comment: str
    ) -> tuple[CsatResponse, bool]:
        """Store the customer's rating once; a repeat returns the first answer. (response, created)"""
        if not widget.settings.csat.enabled:
            raise Conflict("this widget does not ask for ratings")
        clean = (
            check_rating(rating, comment) if widget.settings.csat.ask_comment else check_rating(rating, "")
        )
        clean = masking_rules(widget.settings).apply(clean)
        async with self.publisher.unit_of_work() as uow:
            conv = await self.conversations.load(uow, conversation_id)  # locks: one answer wins
            existing = await store.get_csat(uow.conn, conv.id)
            if existing is not None:
                return existing, False
            if conv.state not in ENDED_STATES:
                raise Conflict("a chat is rated once it has ended")
            response = CsatResponse(
                conversation_id=conv.id,
                widget_id=widget.id,
                queue_id=conv.queue_id,
                agent_id=conv.agent_id,
                rating=rating,
                comment=clean,
                submitted_at=uow.clock.now(),
            )
            await store.insert_csat(uow.conn, response)
            uow.emit(
                CsatSubmitted(
                    occurred_at=response.submitted_at,
                    conversation_id=conv.id,
                    widget_id=widget.id,
                    queue_id=conv.queue_id,
                    agent_id=conv.agent_id,
                    rating=rating,
                    comment=clean,
                )
            )
        return response, True

    async def csat_for(self, conversation_id: str) -> CsatResponse | None:
        async with self.db.read() as conn:
            return await store.get_csat(conn, conversation_id)

    async def csat_responses(
        self, where: CsatFilter, limit: int | None, *, with_comment: bool = False
    ) -> list[CsatResponse]:
        """Newest first; ``limit=None`` reads every one (the export: callers bound the period)."""
        async with self.db.read() as conn:
            return await store.list_csat(
                conn,
                queue_id=where.queue_id,
                agent_id=where.agent_id,
                widget_id=where.widget_id,
                since=where.since,
                until=where.until,
                limit=limit,
                with_comment=with_comment,
            )

    async def csat_summary(self, where: CsatFilter) -> list[CsatSummary]:
        async with self.db.read() as conn:
            return await store.summarise_csat(
                conn,
                queue_id=where.queue_id,
                agent_id=where.agent_id,
                widget_id=where.widget_id,
                since=where.since,
                until=where.until,
            )

    async def csat_report(self, where: CsatFilter) -> CsatReport:
        """The period's figures and daily trend (``where`` needs both ends of the period)."""
        assert where.since is not None
        assert where.until is not None
        async with self.db.read() as conn:
            ratings = await store.csat_ratings(
                conn,
                queue_id=where.queue_id,
                agent_id=where.agent_id,
                widget_id=where.widget_id,
                since=where.since,
                until=where.until,
            )
        return csat_report.report(ratings, where.since, where.until)

    async def _all_messages(self, conversation_id: str) -> list[Message]:
        found: list[Message] = []
        while True:
            page = await self.conversations.messages(conversation_id, found[-1].seq if found else 0)
            if not page:
                return found
            found.extend(page)

    async def transcript(
        self, widget: Widget, conversation_id: str, fmt: str, language: str | None
    ) -> TranscriptFile:
        if not widget.settings.transcript.download:
            raise Forbidden("transcript downloads are turned off for this widget")
        conv = await self.conversations.get(conversation_id)
        chosen = pick_language(widget.settings.language, language)
        strings = strings_for(chosen, widget.settings.texts)
        return transcript_file(
            fmt,
            title=strings["transcript_title"],
            started=strings["transcript_started"],
            conversation_id=conv.id,
            created_at=conv.created_at,
            messages=await self._all_messages(conv.id),
            language=chosen,
            link=self.attachment_links,
        )

    async def _email_account(self, widget: Widget, channels: ChannelService) -> AccountRow | None:
        wanted = widget.settings.transcript.email_account_id
        for account in await channels.accounts():
            if account.channel != EMAIL_CHANNEL or not account.enabled:
                continue
            if wanted is None or account.id == wanted:
                return account
        return None

    async def email_transcript(
        self,
        widget: Widget,
        conversation_id: str,
        address: str | None,
        language: str | None,
        channels: ChannelService,
    ) -> str:
        """Queue the transcript in the email channel's outbox (sent, retried and tracked like any
        email reply). Returns the address it goes to. A repeat with nothing new said is a no-op."""
        if not widget.settings.transcript.email:
            raise Forbidden("emailed transcripts are turned off for this widget")
        account = await self._email_account(widget, channels)
        if account is None:
            raise Conflict("transcripts cannot be emailed: no email account is configured")
        conv = await self.conversations.get(conversation_id)
        to = (address or str(conv.prechat.get("email") or "")).strip().lower()
        if not to:
            raise InvalidInput("give the email address to send the transcript to")
        if "@" not in to or len(to) > 254 or any(c.isspace() for c in to):
            raise InvalidInput("email is not valid")
        chosen = pick_language(widget.settings.language, language)
        strings = strings_for(chosen, widget.settings.texts)
        messages = await self._all_messages(conv.id)
        body = as_text(
            strings["transcript_title"],
            strings["transcript_started"],
            conv.created_at,
            messages,
            self.attachment_links,
        )
        # Keyed by the last thing said (our own notes aside): asking twice sends one email.
        said = max(
            (m.seq for m in messages if not (m.idempotency_key or "").startswith(TRANSCRIPT_KEY)), default=0
        )
        async with self.publisher.unit_of_work() as uow:
            conv = await self.conversations.load(uow, conv.id)
            note, created = await self.conversations.append(
                uow,
                conv,
                sender_kind=SenderKind.SYSTEM,
                sender_id=None,
                sender_name="Omniroute",
                text=strings["transcript_sent"].format(email=to),
                idempotency_key=f"{TRANSCRIPT_KEY}{to}:{said}",
            )
            if created:
                await self._queue_email(uow, account, conv.id, note, to, strings["transcript_title"], body)
        if created:
            channels.wake()
        return to

    async def _queue_email(
        self,
        uow: UnitOfWork,
        account: AccountRow,
        conversation_id: str,
        note: Message,
        to: str,
        subject: str,
        body: str,
    ) -> None:
        # Webchat is a package of the channels slice: it uses the channels' outbox directly, so the
        # worker sends, retries and reports the transcript like any email reply (on the note).
        now = uow.clock.now()
        await channel_store.insert_outbox(
            uow.conn,
            channel_store.OutboxRow(
                id=new_id(),
                account_id=account.id,
                conversation_id=conversation_id,
                message_id=note.id,
                payload={
                    "to": to,
                    "text": body,
                    "subject": subject,
                    "thread_keys": [],
                    "in_reply_to": None,
                    "customer_last_message_at": None,
                },
                status="queued",
                attempts=0,
                due_at=now,
                provider_message_id=None,
                error=None,
            ),
            now,
        )
        await self.conversations.set_delivery(uow, note.id, "queued", None)

    # -- the offline form --------------------------------------------------------------------------

    async def leave_offline_message(
        self,
        widget: Widget,
        *,
        visitor_id: str | None,
        name: str,
        email: str,
        message: str,
        language: str | None,
    ) -> Conversation:
        """While chat is closed: a conversation with the visitor's message, queued for follow-up
        (by email: there is no live customer to chat with)."""
        if not widget.settings.offline.enabled:
            raise Conflict("this widget has no offline form")
        clean_name, clean_email, clean_message = check_offline_message(
            name, email, message, MAX_OFFLINE_MESSAGE
        )
        clean_message = masking_rules(widget.settings).apply(clean_message)
        language = language if language in CATALOG else None
        address = f"{widget.id}:{visitor_id or new_id()}"
        async with self.publisher.unit_of_work() as uow:
            customer = await customers.resolve_customer(uow, CHANNEL, address, clean_name, clean_email)
            prechat: dict[str, Any] = {
                "name": clean_name,
                "email": clean_email,
                "question": clean_message,
                "queue": "",
                "offline": "yes",
            }
            if language:
                prechat["language"] = language
            conversation_id = new_id()
            plan = await self.routing.plan_work(
                uow,
                item_id=conversation_id,
                channel=CHANNEL,
                attributes=self._attributes(widget, prechat, customer, None, offline=True),
                requested_queue=None,
                fallback_queue_id=widget.default_queue_id,
            )
            # An offline message is follow-up work even when overflow would end a live chat.
            plan = replace(plan, end_message=None, trace=[*plan.trace, "offline message: kept for follow-up"])
            conv = await self.conversations.start(
                uow,
                channel=CHANNEL,
                customer_id=customer.id,
                queue_id=plan.queue.id,
                subject=clean_message,
                prechat={**prechat, "queue": plan.queue.name},
                customer_token_hash=None,
                conversation_id=conversation_id,
            )
            await self.routing.enqueue(uow, conv, plan)
            conv = await self.conversations.load(uow, conv.id)
            await self.conversations.append(
                uow,
                conv,
                sender_kind=SenderKind.CUSTOMER,
                sender_id=customer.id,
                sender_name=customer.display_name,
                text=clean_message,
                idempotency_key="offline-message",
            )
            uow.emit(
                OfflineMessageLeft(
                    occurred_at=uow.clock.now(),
                    conversation_id=conv.id,
                    widget_id=widget.id,
                    queue_id=conv.queue_id,
                )
            )
        return conv
