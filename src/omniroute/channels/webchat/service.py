"""Web chat: a visitor starts a conversation from the widget and holds a token for it."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from omniroute.channels.webchat import store
from omniroute.channels.webchat.model import (
    CHANNEL,
    Widget,
    check_origin,
    normalise_origin,
    read_prechat,
)
from omniroute.conversations.model import Conversation, SenderKind
from omniroute.conversations.service import ConversationService
from omniroute.conversations.store import Message
from omniroute.core.db import Database
from omniroute.core.errors import NotFound, Unauthorized
from omniroute.core.ids import hash_token, new_id, new_token
from omniroute.core.uow import Publisher
from omniroute.customers import service as customers
from omniroute.routing.service import RoutingService

#: Widgets change rarely; a node sees an edit made on another node within this many seconds.
WIDGET_CACHE_SECONDS = 30.0
CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class StartedChat:
    conversation: Conversation
    customer_token: str
    customer_name: str
    first_message: Message | None


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
        self._widgets: dict[str, tuple[float, Widget]] = {}
        self._tokens: OrderedDict[str, str] = OrderedDict()

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

    async def widget_for_origin(self, public_key: str, origin: str | None) -> Widget:
        widget = await self.widget(public_key)
        check_origin(widget, origin)
        return widget

    async def start(
        self,
        widget: Widget,
        *,
        visitor_id: str | None,
        name: str,
        email: str | None,
        question: str,
        queue: str | None,
    ) -> StartedChat:
        answers = read_prechat(name, email, question, queue)
        token = new_token()
        visitor = visitor_id or new_id()
        async with self.publisher.unit_of_work() as uow:
            customer = await customers.resolve_customer(
                uow, CHANNEL, f"{widget.id}:{visitor}", answers.name, answers.email
            )
            conversation_id = new_id()
            plan = await self.routing.plan_work(
                uow,
                item_id=conversation_id,
                channel=CHANNEL,
                attributes={
                    "prechat": {
                        "name": answers.name,
                        "email": answers.email or "",
                        "question": answers.question,
                        "queue": answers.queue or "",
                    },
                    "customer": {"id": customer.id, "name": customer.display_name},
                },
                requested_queue=answers.queue,
                fallback_queue_id=widget.default_queue_id,
            )
            prechat = {
                "name": answers.name,
                "email": answers.email or "",
                "question": answers.question,
                "queue": plan.queue.name,
            }
            conv = await self.conversations.start(
                uow,
                channel=CHANNEL,
                customer_id=customer.id,
                queue_id=plan.queue.id,
                subject=answers.question,
                prechat=prechat,
                customer_token_hash=hash_token(token),
                conversation_id=conversation_id,
            )
            if plan.end_message is None:
                await self.routing.enqueue(uow, conv, plan)
            first = None
            if answers.question:
                conv = await self.conversations.load(uow, conv.id)
                first, _ = await self.conversations.append(
                    uow,
                    conv,
                    sender_kind=SenderKind.CUSTOMER,
                    sender_id=customer.id,
                    sender_name=customer.display_name,
                    text=answers.question,
                    idempotency_key="prechat-question",
                )
            if plan.end_message is not None:
                # Overflow (e.g. out of hours): the customer reads why, and nothing is queued.
                await self.routing.record_plan(uow, conv, plan)
                conv = await self.conversations.load(uow, conv.id)
                await self.conversations.append(
                    uow,
                    conv,
                    sender_kind=SenderKind.SYSTEM,
                    sender_id=None,
                    sender_name="Omniroute",
                    text=plan.end_message,
                )
                await self.conversations.end_in(uow, conv, SenderKind.SYSTEM, "Omniroute")
        return StartedChat(
            conversation=conv,
            customer_token=token,
            customer_name=customer.display_name,
            first_message=first,
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
